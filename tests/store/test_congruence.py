"""Congruence: the same operations on every engine give the same state and answers.

qdrant-client local mode is exact brute force, so it is the reference: Edge
(and a server when configured) must hold the same points, payloads, counts,
aliases and metadata, and return the same top-k and scores: before the index
is built (a plain scan), and after it, through the HNSW graph (thresholds at
their minimum) searched with an ef above the point count, which is exhaustive.
"""

from __future__ import annotations

import numpy as np

from tests.store.helpers import write_raw
from vidvec.core.points import tombstone
from vidvec.core.types import PointToWrite
from vidvec.store import CollectionSpec

DIM = 16
LANGS = ("en", "fr", "ja", "pt")


def points(rng: np.random.Generator, n: int, version: int, start: int = 0) -> list[PointToWrite]:
    out = []
    for i in range(start, start + n):
        body = {"video_id": f"v{i}", "status": "public", "language": LANGS[i % 4], "owner_id": f"o{i % 7}",
                "category": f"c{i % 3}", "published_at": None if i % 5 == 0 else 1_700_000_000_000_000 + i,
                "updated_at": version + i, "model_id": "m", "text_hash": f"h{i}"}
        out.append(PointToWrite(f"v{i}", rng.standard_normal(DIM).tolist(), body))
    return out


def scenario(store) -> dict:
    """Every kind of write the pipeline makes, then everything observable through the interface."""
    rng = np.random.default_rng(7)
    # Thresholds at their minimum: the HNSW graph is built and every search goes through it;
    # hnsw_ef above the point count makes the graph search exhaustive, so exact on every engine.
    spec = CollectionSpec(dim=DIM, hnsw_m=16, ef_construct=64, hnsw_ef=256, full_scan_threshold_kb=1,
                          indexing_threshold_kb=1)
    store.create_collection("a", spec, {"state": "building", "dim": DIM, "family": "f"})
    store.create_collection("b", spec, {"state": "ready"})
    store.insert_only("a", points(rng, 200, 1_000), dim=DIM)  # bulk load
    store.insert_only("a", points(rng, 50, 5, start=150), dim=DIM)  # a retried shard: changes nothing
    newer, older = points(rng, 30, 9_000, start=0), points(rng, 30, 10, start=30)
    store.write_if_newer("a", newer + older, dim=DIM)  # catch-up: 30 replace, 30 stale are skipped
    store.write_if_newer("a", points(rng, 10, 100, start=300), dim=DIM)  # new videos
    store.write_if_newer("a", [tombstone(f"v{i}", "deleted", 50_000) for i in range(60, 70)]
                         + [tombstone("v71", "private", 1)], dim=DIM)  # v71: older than the point, no-op
    # Ties (core/versions.py): at one version a tombstone wins; a same-version public write changes nothing.
    ties = [store.write_if_newer("a", [tombstone("v72", "private", 1_072), tombstone("v73", "deleted", 1_073)],
                                 dim=DIM),
            store.write_if_newer("a", [tombstone("v73", "private", 1_073), tombstone("v72", "deleted", 1_072),
                                       points(rng, 1, 1_000, start=74)[0]], dim=DIM)]
    purged = store.delete_if_not_newer("a", {f"v{i}": 1_000 + i for i in range(80, 90)}
                                       | {f"v{i}": 999 for i in range(90, 95)})  # 80-89 go; 90-94 are newer
    store.delete_points("a", ["v199", "v305"])
    write_raw(store, "a", [(123456, rng.standard_normal(DIM).tolist(), {"status": "public", "from": "elsewhere"})])
    foreign = {"raw_ids": sorted(str(p.id) for page in store.scroll_points("a", batch=50, fields=["status"])
                                 for p in page), "served": store.count_served("a"),
               "public": store.count("a", public_only=True)}
    store.delete_ids("a", [123456])
    store.update_metadata("a", state="ready")
    store.set_aliases({"videos": "a", "videos__next": "b"})
    store.set_aliases({"videos__next": None, "videos_b": "a"})
    store.create_collection("gone", spec, {})
    store.set_aliases({"old": "gone"})
    store.drop_collection("gone")  # its alias goes with it
    observed = {"before_index": answers(store, rng)}
    store.build_index("a", spec)
    store.wait_ready("a", timeout_s=60, poll_s=0.05)
    observed["after_index"] = answers(store, np.random.default_rng(7))
    index = store.index_state("a")
    assert index.exact or index.indexed_vectors == index.points == 198  # the graph really is there
    return observed | {
        "ties": [sorted(t) for t in ties], "purged": sorted(purged), "foreign": foreign,
        "points": {vid: (body, np.round(np.asarray(vector), 5).tolist())
                   for page in store.scroll("a", batch=64, with_vectors=True) for vid, body, vector in page},
        "counts": (store.count("a"), store.count("a", public_only=True), store.count("b")),
        "versions": store.versions("a", [f"v{i}" for i in range(0, 320, 7)]),
        "aliases": store.aliases(), "resolved": store.resolve("videos_b"),
        "metadata": {name: store.metadata(name) for name in ("a", "b")},
        "listing": [(s.name, s.aliases, s.points, s.metadata) for s in store.collections()],
        "status": store.status("a"),
    }


def answers(store, rng) -> list:
    """(top-10 ids, scores) for queries unfiltered and by language, and for `similar`."""
    out = []
    for q in range(12):
        vector = rng.standard_normal(DIM)
        hits = store.search("videos", vector, k=10, language=LANGS[q % 4] if q % 2 else None)
        out.append(([h.video_id for h in hits], [h.score for h in hits]))
    for vid in ("v1", "v33", "v120"):
        hits = store.similar("videos", vid, k=10, language="fr" if vid == "v33" else None)
        out.append(([h.video_id for h in hits], [h.score for h in hits]))
    return out


def test_every_engine_ends_in_the_same_state_with_the_same_answers(engines):
    assert {"edge", "local"} <= set(engines)
    results = {name: scenario(store) for name, store in engines.items()}
    reference = results.pop("local")
    assert reference["counts"] == (200 + 10 - 10 - 2, 200 + 10 - 10 - 10 - 2 - 2, 0)
    assert reference["ties"] == [["v72", "v73"], ["v72"]] and reference["purged"] == [f"v{i}" for i in range(80, 90)]
    assert reference["foreign"]["served"] == 200 + 10 - 10 - 10 - 2 - 2 == reference["foreign"]["public"]
    assert len(reference["foreign"]["raw_ids"]) == 200 + 10 - 10 - 2 + 1
    assert [reference["points"][v][0]["status"] for v in ("v72", "v73", "v74")] == ["deleted", "deleted", "public"]
    assert reference["versions"]["v0"] == ("public", 9_000) and reference["versions"]["v63"] == ("deleted", 50_000)
    assert reference["aliases"] == {"videos": "a", "videos_b": "a"} and reference["status"] == ("green", "ok")
    for name, got in results.items():
        for key, want in reference.items():
            if key in ("before_index", "after_index"):
                assert [ids for ids, _ in got[key]] == [ids for ids, _ in want], (name, key)
                assert np.allclose([s for _, s in got[key]], [s for _, s in want], atol=1e-5), (name, key)
            elif key == "points":
                assert got[key].keys() == want.keys(), name
                for vid, (body, vector) in want.items():
                    assert got[key][vid][0] == body, (name, vid)
                    assert np.allclose(got[key][vid][1], vector, atol=1e-4), (name, vid)
            else:
                assert got[key] == want, (name, key)
