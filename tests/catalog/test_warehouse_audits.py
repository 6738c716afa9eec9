"""What the audit reads from and writes to the DuckDB warehouse."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import numpy as np

from vidvec.catalog.base import AuditRow, StoredEmbedding

NOW = datetime(2026, 11, 29, tzinfo=timezone.utc)


def test_iter_embeddings_streams_public_videos_of_one_model_in_chunks(catalog, sample_slice):
    videos = [replace(v, status="deleted") if i % 5 == 0 else v for i, v in enumerate(sample_slice)]
    catalog.upsert_videos(videos)
    rng = np.random.default_rng(0)
    vectors = {v.video_id: rng.standard_normal(512).astype(np.float32) for v in videos}
    catalog.put_embeddings(StoredEmbedding(v.video_id, "m1", "h", vectors[v.video_id], NOW, NOW) for v in videos)
    catalog.put_embeddings([StoredEmbedding(videos[1].video_id, "m2", "h", vectors[videos[1].video_id], NOW, NOW)])
    chunks = list(catalog.iter_embeddings("m1", batch_size=10))
    assert [len(ids) for ids, *_ in chunks][:-1] == [10] * (len(chunks) - 1)
    public = {v.video_id: v for v in videos if v.status == "public"}
    seen = [vid for ids, *_ in chunks for vid in ids]
    assert sorted(seen) == sorted(public)
    assert all(hashes == ["h"] * len(ids) for ids, _, _, hashes in chunks)
    for ids, langs, matrix, _ in chunks:
        assert matrix.dtype == np.float32 and matrix.shape == (len(ids), 512)
        for vid, lang, row in zip(ids, langs, matrix, strict=True):
            assert lang == public[vid].language
            np.testing.assert_array_equal(row, vectors[vid])
    counts = catalog.embedded_language_counts("m1")
    assert sum(counts.values()) == len(public) and catalog.embedded_language_counts("m2") == {
        videos[1].language: 1}
    lang = max(counts, key=counts.get)
    sample = catalog.sample_ids(lang, 3, 7, "m1")
    assert len(sample) == 3 and all(public[v].language == lang for v in sample)
    assert catalog.sample_ids(lang, 3, 7, "m1") == sample  # seeded: reproducible
    assert catalog.sample_ids(lang, 100, 7, "m1") != catalog.sample_ids(lang, 100, 8, "m1")


def test_audit_rows_round_trip_and_summaries_newest_first(catalog):
    row = AuditRow("a1", "c1", "m", "qdrant-local exact", 10, 50, "overall", False, 50, 1.0,
                   1.0, 0.0, 0.0, True, True, NOW, 3)
    rows = [row, replace(row, filtered=True, recall=0.97),
            replace(row, slice="language=fr", queries=5, recall=0.8, passed=False)]
    assert catalog.record_audit(rows) == 3
    assert catalog.record_audit(rows) == 3  # a retry replaces, never duplicates
    later = replace(row, audit_id="a2", audited_at=NOW + timedelta(hours=1), recall=0.5,
                    coverage=0.9, passed=False, audit_passed=False)
    catalog.record_audit([later, replace(row, audit_id="a3", collection="c2")])
    assert sorted(catalog.audit_rows("a1"), key=lambda r: (r.filtered, r.slice)) == sorted(
        rows, key=lambda r: (r.filtered, r.slice))
    got = catalog.audits("c1")
    assert [(a.audit_id, a.passed, a.recall, a.filtered_recall, a.coverage) for a in got] == [
        ("a2", False, 0.5, None, 0.9), ("a1", True, 1.0, 0.97, 1.0)]
    assert {a.collection for a in catalog.audits()} == {"c1", "c2"}


def approvals_fixture():
    from vidvec.catalog.base import Approval

    first = Approval("run-1", "videos", "c1", False, NOW, "admin", "recall on ja too low")
    return [first, replace(first, approved=True, reason="looked again: fine"),  # a retry: the last answer wins
            Approval("run-2", "videos_b", "c2", False, NOW + timedelta(hours=1), None, "", timed_out=True),
            Approval("run-3", "videos", "c3", True, NOW + timedelta(hours=2), "ops", "")]


def test_approvals_round_trip_newest_first_one_per_run(catalog):
    for a in approvals_fixture():
        catalog.record_approval(a)
    got = catalog.approvals()
    assert [(a.run_id, a.approved, a.responded_by, a.reason, a.timed_out) for a in got] == [
        ("run-3", True, "ops", "", False), ("run-2", False, None, "", True),
        ("run-1", True, "admin", "looked again: fine", False)]
    assert [a.run_id for a in catalog.approvals("videos", limit=1)] == ["run-3"]
    assert got[-1].decided_at == NOW


def test_canary_rows_round_trip_and_audits_filter_by_kind_and_time(catalog):
    audit = AuditRow("a1", "c1", "m", "qdrant-edge hnsw", 10, 400, "overall", False, 400, 0.99, 1.0, 0.0, 0.0,
                     True, True, NOW, 0, "audit", "videos__next", 0.0, 0.4, 1.5, 0.0)
    canary = AuditRow("k1", "c1", "m", "qdrant-edge hnsw", 10, 100, "overall", False, 100, 0.9, None, None, None,
                      False, False, NOW + timedelta(hours=1), 0, "canary", "videos", None, 0.5, 2.5, 0.3)
    catalog.record_audit([audit, canary])
    assert catalog.audit_rows("k1") == [canary] and catalog.audit_rows("a1") == [audit]
    assert [a.audit_id for a in catalog.audits("c1")] == ["k1", "a1"]
    (summary,) = catalog.audits("c1", kind="canary")
    assert (summary.kind, summary.target, summary.coverage, summary.served_p99_ms, summary.unindexed) == (
        "canary", "videos", None, 2.5, 0.3)
    assert [a.audit_id for a in catalog.audits(kind="audit")] == ["a1"]
    assert [a.audit_id for a in catalog.audits(since=NOW + timedelta(minutes=1))] == ["k1"]


def test_a_warehouse_made_before_canaries_gains_their_columns(tmp_path):
    import duckdb

    from vidvec.catalog.duckdb import DuckDBCatalog

    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:  # recall_audits as first released: coverage NOT NULL, no kind
        con.execute("CREATE TABLE recall_audits (audit_id VARCHAR NOT NULL, collection VARCHAR NOT NULL, "
                    "model_id VARCHAR NOT NULL, engine VARCHAR NOT NULL, k INTEGER NOT NULL, sample_size INTEGER "
                    "NOT NULL, slice VARCHAR NOT NULL, filtered BOOLEAN NOT NULL, queries INTEGER NOT NULL, "
                    "recall DOUBLE, coverage DOUBLE NOT NULL, staleness DOUBLE NOT NULL, mismatch DOUBLE NOT NULL, "
                    "passed BOOLEAN NOT NULL, audit_passed BOOLEAN NOT NULL, audited_at TIMESTAMPTZ NOT NULL, "
                    "seed BIGINT NOT NULL, PRIMARY KEY (audit_id, slice, filtered))")
        con.execute("INSERT INTO recall_audits VALUES ('old', 'c1', 'm', 'e', 10, 5, 'overall', false, 5, 1.0, "
                    "1.0, 0.0, 0.0, true, true, '2026-11-01 00:00:00+00', 0)")
    with DuckDBCatalog(path) as catalog:
        catalog.record_audit([AuditRow("k1", "c1", "m", "e", 10, 5, "overall", False, 5, 0.8, None, None, None,
                                       False, False, NOW, 0, "canary")])
        assert [(a.audit_id, a.kind) for a in catalog.audits()] == [("k1", "canary"), ("old", "audit")]
