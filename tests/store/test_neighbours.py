"""Recommender queries (NeighbourQuery) on every engine, against an exact numpy reference.

The collection's HNSW graph is built with thresholds at their minimum and
searched with an ef above the point count (exhaustive, as in the congruence
test), so every engine must return exactly the reference's ids, in order,
and its scores: filters, min_score, negative examples (both strategies), MMR
and max_per_owner, alone and combined.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from vidvec.core.points import tombstone
from vidvec.core.query import NeighbourQuery
from vidvec.core.types import PointToWrite
from vidvec.errors import NotFound, VidvecError
from vidvec.query import similar_videos
from vidvec.store import CollectionSpec

DIM, N = 16, 160
SPEC = CollectionSpec(dim=DIM, hnsw_m=16, ef_construct=64, hnsw_ef=512, full_scan_threshold_kb=1,
                      indexing_threshold_kb=1)
T0 = 1_700_000_000_000_000
HIDDEN = {"v3": "deleted", "v4": "private"}


def body(i: int) -> dict:
    owner = f"o{i % 4}" if i % 3 else f"o{4 + i // 3 % 9}"  # four busy channels, nine smaller ones
    return {"video_id": f"v{i}", "status": "public", "language": ("en", "fr", "ja")[i % 3], "owner_id": owner,
            "category": f"c{i % 4}", "published_at": None if i % 11 == 0 else T0 + i * 1000,
            "updated_at": 10 + i, "model_id": "m", "text_hash": f"h{i}"}


@pytest.fixture
def col(store):
    rng = np.random.default_rng(3)
    # clustered vectors: neighbours share owners and categories, as real ones do
    centres = rng.standard_normal((8, DIM))
    vectors = np.array([centres[i % 8] + 0.9 * rng.standard_normal(DIM) for i in range(N)])
    store.create_collection("c", SPEC, {"dim": DIM})
    store.insert_only("c", [PointToWrite(f"v{i}", vectors[i].tolist(), body(i)) for i in range(N)], dim=DIM)
    store.write_if_newer("c", [tombstone(v, status, 10**6) for v, status in HIDDEN.items()], dim=DIM)
    store.build_index("c", SPEC)
    store.wait_ready("c", timeout_s=60, poll_s=0.05)
    return store, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


# -- the reference ------------------------------------------------------------------------------
def eligible(q: int, query: NeighbourQuery) -> list[int]:
    me, scope = body(q), query.scope(f"v{q}", body(q)["owner_id"])
    out = []
    for i in range(N):
        b = body(i)
        if f"v{i}" in HIDDEN or f"v{i}" in scope.exclude_ids or b["owner_id"] in scope.exclude_owners:
            continue
        if query.language and b["language"] != query.language:
            continue
        if query.categories and b["category"] not in query.categories:
            continue
        if scope.published_from or scope.published_to:
            t = b["published_at"]
            if t is None or t < (scope.published_from or 0) or (scope.published_to and t >= scope.published_to):
                continue
        out.append(i)
    assert me  # the query video itself is never eligible (exclude_ids)
    return out


def ranked(unit: np.ndarray, q: int, query: NeighbourQuery) -> list[tuple[int, float]]:
    """(index, similarity to q) best first, before MMR and the owner cap."""
    ids = eligible(q, query)
    negs = [int(v[1:]) for v in query.negative]
    sims = unit[ids] @ unit[q]
    if negs and query.strategy == "average_vector":
        probe = 2 * unit[q] - unit[negs].mean(axis=0)
        order = np.argsort(-(unit[ids] @ probe / np.linalg.norm(probe)))
        return [(ids[j], float(sims[j])) for j in order]
    keep = np.ones(len(ids), bool)
    if negs:  # best_score: only points nearer the video than every negative example
        keep &= sims > (unit[ids] @ unit[negs].T).max(axis=1)
    if query.min_score is not None:
        keep &= sims >= query.min_score
    order = [j for j in np.argsort(-sims) if keep[j]]
    return [(ids[j], float(sims[j])) for j in order]


def mmr(unit: np.ndarray, q: int, pool: list[tuple[int, float]], lam: float, k: int) -> list[int]:
    pool = list(pool)
    chosen = [pool.pop(0)]
    while pool and len(chosen) < k:
        score = [lam * s - (1 - lam) * max(float(unit[i] @ unit[c]) for c, _ in chosen) for i, s in pool]
        chosen.append(pool.pop(int(np.argmax(score))))
    return [i for i, _ in chosen]


def reference(unit: np.ndarray, q: int, query: NeighbourQuery) -> list[int]:
    order = ranked(unit, q, query)
    if query.diversity is not None:
        return mmr(unit, q, order[:query.candidates], query.diversity, query.k)
    if query.max_per_owner:
        taken, count = [], {}
        for i, _ in order:
            owner = body(i)["owner_id"]
            if count.get(owner, 0) < query.max_per_owner and len(taken) < query.k:
                taken.append(i)
                count[owner] = count.get(owner, 0) + 1
        order = [(i, s) for i, s in order if i in taken]
    return [i for i, _ in order[:query.k]]


def ask(store, q: int, **options):
    return similar_videos(store, "c", f"v{q}", **options)


def check(col, q: int, **options) -> list:
    """The engine's answer equals the reference, scores included; returns the hits."""
    store, unit = col
    found = ask(store, q, **options)
    want = reference(unit, q, NeighbourQuery.parse(options))
    assert [h.video_id for h in found.hits] == [f"v{i}" for i in want], options
    if not (options.get("negative") and options.get("strategy") == "average_vector"):
        assert np.allclose([h.score for h in found.hits], unit[want] @ unit[q], atol=1e-4), options
    return list(found.hits)


# -- the tests --------------------------------------------------------------------------------------
def test_a_plain_query_is_exactly_similar(col):
    store, _ = col
    for q, language in ((1, None), (2, "fr"), (5, "ja")):
        found = ask(store, q, k=12, language=language)
        served = store.similar("c", f"v{q}", k=12, language=language)
        assert [(h.video_id, round(h.score, 5)) for h in found.hits] == [
            (h.video_id, round(h.score, 5)) for h in served]
        assert found.confident
    check(col, 1, k=12)


def test_every_filter_is_the_engines_payload_filter(col):
    store, _ = col
    hits = check(col, 7, k=20, categories=("c1", "c2"), other_owners=True, exclude_owners=("o5", "o9"))
    assert {h.payload["category"] for h in hits} <= {"c1", "c2"}
    assert not {h.payload["owner_id"] for h in hits} & {body(7)["owner_id"], "o5", "o9"}
    window = {"published_after": "2023-11-14T22:13:20.050+00:00",
              "published_before": "2023-11-14T22:13:20.120+00:00"}
    hits = check(col, 10, k=100, **window)  # T0 + 50 ms .. T0 + 120 ms: v50..v119, none without a date
    assert hits and all(T0 + 50_000 <= h.payload["published_at"] < T0 + 120_000 for h in hits)
    assert len(hits) == sum(1 for i in range(50, 120) if i % 11)
    check(col, 8, k=15, language="en", categories=("c0",), max_per_owner=2)
    assert not {h.video_id for h in ask(store, 1, k=N).hits} & set(HIDDEN)  # tombstones are never served


def test_min_score_drops_weak_neighbours_and_says_when_to_fall_back(col):
    store, unit = col
    plain = ask(store, 9, k=10).hits
    floor = plain[4].score - 1e-6
    weak = ask(store, 9, k=10, min_score=floor)
    assert [h.video_id for h in weak.hits] == [h.video_id for h in plain[:5]] and not weak.confident
    assert ask(store, 9, k=5, min_score=floor).confident
    assert ask(store, 9, k=10, min_score=1.0).hits == () and not ask(store, 9, k=1, min_score=1.0).confident
    check(col, 9, k=10, min_score=0.2, diversity=0.6)
    check(col, 9, k=10, min_score=0.2, max_per_owner=1)


def test_negative_examples_steer_away_with_either_strategy(col):
    store, unit = col
    plain = ask(store, 12, k=10).hits
    negative = plain[0].video_id
    hits = check(col, 12, k=10, negative=(negative,))
    away = unit[int(negative[1:])]
    assert all(float(unit[int(h.video_id[1:])] @ unit[12]) > float(unit[int(h.video_id[1:])] @ away) for h in hits)
    assert negative not in {h.video_id for h in hits}
    check(col, 12, k=10, negative=(negative, plain[3].video_id), min_score=0.1)
    check(col, 12, k=10, negative=(negative,), strategy="average_vector")
    check(col, 12, k=10, negative=(negative,), max_per_owner=1)
    check(col, 12, k=8, negative=(negative,), diversity=0.5, candidates=30)


def test_diversity_is_mmr_over_the_candidate_pool(col):
    store, unit = col
    assert [h.video_id for h in ask(store, 20, diversity=1.0).hits] == [h.video_id for h in ask(store, 20).hits]
    hits = check(col, 20, k=10, diversity=0.4, candidates=60)
    spread = lambda hs: np.mean([unit[int(a.video_id[1:])] @ unit[int(b.video_id[1:])]  # noqa: E731
                                 for a in hs for b in hs if a is not b])
    assert spread(hits) < spread(ask(store, 20, k=10).hits) - 0.05


def test_max_per_owner_caps_each_channel(col):
    store, _ = col
    plain = ask(store, 30, k=10).hits
    assert max(list(h.payload["owner_id"] for h in plain).count(o) for o in {h.payload["owner_id"] for h in plain}) > 2
    for cap in (1, 2):
        hits = check(col, 30, k=10, max_per_owner=cap)
        owners = [h.payload["owner_id"] for h in hits]
        assert len(hits) == 10 and max(owners.count(o) for o in owners) == cap
    assert len(check(col, 30, k=40, max_per_owner=1)) == 13  # thirteen channels in all


def test_a_query_needs_a_served_video_and_served_examples(col):
    store, _ = col
    with pytest.raises(NotFound, match="video 'nope' is not in 'c'"):
        similar_videos(store, "c", "nope")
    with pytest.raises(NotFound, match="video 'v3' is deleted in 'c'"):
        similar_videos(store, "c", "v3", max_per_owner=1)
    with pytest.raises(NotFound, match="negative example 'v4' is private in 'c'"):
        ask(store, 1, negative=("v4",))
    with pytest.raises(VidvecError, match="cannot be its own negative example"):
        ask(store, 1, negative=("v1",))


def test_an_engine_without_a_capability_refuses_in_one_line(col):
    store, _ = col
    caps = store.capabilities
    store.capabilities = replace(caps, mmr=False, recommend=False)
    try:
        with pytest.raises(VidvecError, match=f"^{caps.engine} cannot diversify results"):
            ask(store, 1, diversity=0.5)
        with pytest.raises(VidvecError, match=f"^{caps.engine} has no recommend query"):
            ask(store, 1, negative=("v2",))
        assert ask(store, 1, max_per_owner=1).hits  # the rest still works
    finally:
        store.capabilities = caps
