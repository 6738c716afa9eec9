"""The audit meets a real index: all 7,841 sample videos in Qdrant Edge, once with a
deliberately weak HNSW index (m=4, ef_construct=8, hnsw_ef=8) and once with m=16.

The weak index serves neighbours the exact kNN does not: the audit reports it, names
the engine and index, and promotion is refused on the audit gate. The same content
with m=16 passes and is promoted. Stored vectors are the real encoder's (titles, once
per session); both collections are built by the rebuild's own steps in reindex mode.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from vidvec.core.recipe import build_text, get_recipe, text_hash

RECIPE = "titles-v1"
T_WEAK = datetime(2026, 11, 28, 2, tzinfo=timezone.utc)
T_GOOD = datetime(2026, 11, 29, 2, tzinfo=timezone.utc)
AT = datetime(2026, 11, 29, 6, tzinfo=timezone.utc)
WEAK = {"hnsw_m": 4, "ef_construct": 8, "hnsw_ef": 8}


@pytest.fixture(scope="session")
def title_embeddings(sample_videos, embedder):
    """video_id -> (text hash, vector) of every sample video's title, encoded once per session."""
    spec = get_recipe(RECIPE)
    texts = [build_text(v, spec) for v in sample_videos]
    vectors = embedder.encode(texts, max_tokens=spec.max_tokens)
    return {v.video_id: (text_hash(t, spec), vec) for v, t, vec in zip(sample_videos, texts, vectors, strict=True)}


def rebuild(catalog, store, embedder, t0: datetime, index: dict) -> str:
    from vidvec.rebuild import create_target, finish, load_shard, plan_rebuild

    plan = plan_rebuild(live_alias="videos", t0=t0, run_id=f"index-{t0:%d}", model_id=embedder.model_id,
                        family=embedder.family, dim=embedder.dim, n_shards=1, recipe=RECIPE, mode="reindex",
                        index=index)
    create_target(store, plan)
    load_shard(catalog, store, embedder, plan, 0, batch_size=1000)
    finish(catalog, store, plan)
    return plan.collection


@pytest.mark.slow
def test_a_weak_index_fails_the_audit_and_promotion_and_m16_passes(settings, sample_videos, embedder,
                                                                    title_embeddings):
    from vidvec.audit import run_audit
    from vidvec.catalog.base import StoredEmbedding
    from vidvec.catalog.factory import open_catalog
    from vidvec.promote import PromotionRefused, promote
    from vidvec.report import markdown
    from vidvec.store import open_store

    with open_catalog(settings) as catalog, open_store(settings) as store:
        catalog.upsert_videos(sample_videos)
        catalog.put_embeddings(StoredEmbedding(v.video_id, embedder.model_id, *title_embeddings[v.video_id],
                                               v.updated_at, T_WEAK) for v in sample_videos)
        weak = rebuild(catalog, store, embedder, T_WEAK, WEAK)
        state = store.index_state(weak)
        assert (state.m, state.ef_construct, state.hnsw_ef) == (4, 8, 8)
        assert state.indexed_vectors == state.points == len(sample_videos)  # served by the graph, not a scan

        result = run_audit(catalog, store, weak, at=AT, k=10, sample=300, seed=0)
        recall = {s.filtered: s.recall for s in result.slices if s.slice == "overall"}
        assert recall[False] < 0.85 and not result.passed
        assert (result.coverage, result.staleness, result.mismatch) == (1.0, 0.0, 0.0)  # the content is right
        assert any(f.startswith("recall@10 overall unfiltered") for f in result.failures)
        assert result.engine == "qdrant-edge hnsw m=4 ef_construct=8 hnsw_ef=8"
        assert {r.engine for r in catalog.audit_rows(result.audit_id)} == {result.engine}
        report = markdown(result, "recall.png")
        assert "engine **qdrant-edge hnsw m=4 ef_construct=8 hnsw_ef=8**" in report
        assert f"{len(sample_videos):,} of {len(sample_videos):,} vectors indexed" in report
        with pytest.raises(PromotionRefused, match="gate 'audit'") as refused:
            promote(catalog, store, weak, alias="videos", at=AT + timedelta(minutes=1), actor="test",
                    families=(embedder.family,))
        assert [g for g in ("ready", "count", "audit", "family") if f"gate '{g}'" in str(refused.value)] == ["audit"]

        # The same vectors and audit sample through the audit's own hnsw_ef: a wider search finds more.
        wider = run_audit(catalog, store, weak, at=AT + timedelta(minutes=2), sample=300, seed=0, hnsw_ef=128)
        assert wider.engine == "qdrant-edge hnsw m=4 ef_construct=8 hnsw_ef=128"
        assert next(s.recall for s in wider.slices if s.slice == "overall" and not s.filtered) > recall[False]

        good = rebuild(catalog, store, embedder, T_GOOD, {"hnsw_m": 16})
        passed = run_audit(catalog, store, good, at=AT, k=10, sample=300, seed=0)
        assert passed.passed, passed.failures
        assert passed.engine == "qdrant-edge hnsw m=16 ef_construct=100 hnsw_ef=100"
        assert next(s.recall for s in passed.slices if s.slice == "overall" and not s.filtered) >= 0.97
        done = promote(catalog, store, good, alias="videos", at=AT + timedelta(minutes=3), actor="test",
                       families=(embedder.family,))
        assert done.collection == good and store.aliases()["videos"] == good
