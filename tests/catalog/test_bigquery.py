"""BigQueryCatalog against a real BigQuery emulator (local-bigquery) in its own process.

Reads rows back through google-cloud-bigquery (REST) and the Storage Read API
(gRPC). MERGEs run one at a time: the emulator fails concurrent MERGE.
"""

import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from google.cloud import bigquery as bq

from vidvec.catalog import Promotion, StoredEmbedding, shard_of
from vidvec.catalog.base import fingerprint
from vidvec.catalog.duckdb import DuckDBCatalog
from vidvec.core.types import Video
from vidvec.errors import VidvecError

NOW = datetime(2026, 11, 29, tzinfo=timezone.utc)


def scan_all(catalog, n: int, as_of: datetime, batch_size: int = 256, **kw) -> dict[str, int]:
    """video_id -> the shard that returned it."""
    seen = {}
    for shard in range(n):
        for batch in catalog.scan_shard(shard, n, as_of=as_of, batch_size=batch_size, **kw):
            assert 0 < len(batch) <= batch_size
            for v in batch:
                assert v.video_id not in seen
                seen[v.video_id] = shard
    return seen


def test_factory_opens_bigquery(bq_settings):
    from vidvec.catalog.bigquery import BigQueryCatalog
    from vidvec.catalog.factory import open_catalog

    with open_catalog(bq_settings) as catalog:
        assert isinstance(catalog, BigQueryCatalog)
        assert catalog.create_schema()[0] == f"local.{bq_settings.bigquery_dataset}.videos"
        assert catalog.count() == 0


def test_farm_fingerprint_and_shards_equal_duckdb(bq_catalog, sample_slice, tmp_path):
    ids = [v.video_id for v in sample_slice]
    rows = bq_catalog._query("SELECT id, FARM_FINGERPRINT(id) AS f FROM UNNEST(@ids) AS id",
                             [bq.ArrayQueryParameter("ids", "STRING", ids)])
    assert {r["id"]: r["f"] for r in rows} == {i: fingerprint(i) for i in ids}

    videos = [replace(v, status="deleted") if i % 9 == 0 else v for i, v in enumerate(sample_slice)]
    bq_catalog.upsert_videos(videos)
    with DuckDBCatalog(tmp_path / "c.duckdb") as duck:
        duck.upsert_videos(videos)
        for n in (3, 7):
            in_bq = scan_all(bq_catalog, n, NOW)
            assert in_bq == scan_all(duck, n, NOW)
            assert in_bq == {v.video_id: shard_of(v.video_id, n) for v in videos if v.status == "public"}
        assert bq_catalog.count(as_of=NOW) == duck.count(as_of=NOW) == len(in_bq)


def test_merge_upsert_is_idempotent_and_round_trips(bq_catalog, sample_slice):
    videos = sample_slice[:20]
    assert bq_catalog.upsert_videos(videos) == 20
    bq_catalog.upsert_videos(videos)  # a retried task
    assert bq_catalog.count() == 20
    assert bq_catalog.get_videos([v.video_id for v in videos] + ["missing"]) == {v.video_id: v for v in videos}

    changed = replace(videos[0], title="new title", status="private", tags=(), transcript=None,
                      updated_at=videos[0].updated_at + timedelta(microseconds=1))
    bq_catalog.upsert_videos([videos[0], changed])  # the last row for a key wins
    got = bq_catalog.get_videos([changed.video_id])[changed.video_id]
    assert got == changed
    assert bq_catalog.count() == 19 and bq_catalog.count(statuses=("private",)) == 1


def test_timestamps_round_trip_to_the_microsecond(bq_catalog):
    v = Video("ts-1", "t", tags=("a", "b"), language="fr", published_at=None,
              updated_at=datetime(2026, 3, 1, 12, 30, 45, 123456, tzinfo=timezone.utc))
    naive = Video("ts-2", "t", published_at=datetime(2001, 2, 3, 4, 5, 6, 7),
                  updated_at=datetime(2026, 1, 1, 0, 0, 0, 1))  # naive means UTC
    bq_catalog.upsert_videos([v, naive])
    got = bq_catalog.get_videos(["ts-1", "ts-2"])
    assert got["ts-1"] == v
    assert got["ts-2"].updated_at == datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=timezone.utc)
    assert got["ts-2"].published_at == datetime(2001, 2, 3, 4, 5, 6, 7, tzinfo=timezone.utc)


def test_scan_reads_one_batch_at_a_time(bq_catalog, sample_slice):
    bq_catalog.upsert_videos(sample_slice)
    batches = list(bq_catalog.scan_shard(0, 1, as_of=NOW, batch_size=10))
    assert [len(b) for b in batches] == [10] * (len(sample_slice) // 10) + [len(sample_slice) % 10]
    ids = [v.video_id for b in batches for v in b]
    assert sorted(ids) == sorted(v.video_id for v in sample_slice)  # each row once; no order promised


@pytest.mark.parametrize("shard,n", [(3, 3), (-1, 3), (0, 0), (0, 5000)])
def test_bad_shards_are_refused(bq_catalog, shard, n):
    with pytest.raises(VidvecError):
        next(bq_catalog.scan_shard(shard, n, as_of=NOW))


def test_reads_as_of_t0_see_the_table_as_it_was(bq_catalog, sample_slice):
    first, second, backfilled = sample_slice[:3]
    bq_catalog.upsert_videos([first, second])
    time.sleep(1.1)
    t0 = datetime.now(timezone.utc)
    time.sleep(1.1)
    # After T0: first is edited, second is deleted, and a row whose updated_at
    # predates T0 arrives late. The table as of T0 has none of it.
    bq_catalog.upsert_videos([replace(first, title="edited", updated_at=t0 - timedelta(seconds=30)),
                              replace(second, status="deleted", updated_at=t0 + timedelta(seconds=1)),
                              replace(backfilled, updated_at=t0 - timedelta(days=1))])
    at_t0 = {v.video_id: v for b in bq_catalog.scan_shard(0, 1, as_of=t0) for v in b}
    assert at_t0 == {first.video_id: first, second.video_id: second}
    assert bq_catalog.count(as_of=t0) == 2
    # Outside the time-travel window only the updated_at filter applies.
    old = {v.video_id for b in bq_catalog.scan_shard(0, 1, as_of=t0 + timedelta(days=30)) for v in b}
    assert old == {first.video_id, backfilled.video_id}


def test_embeddings_round_trip_and_merge(bq_catalog):
    rng = np.random.default_rng(6)
    vec = rng.standard_normal(512).astype(np.float32)
    rows = [StoredEmbedding(f"v{i}", "m1", f"h{i}", vec + i, NOW, NOW + timedelta(microseconds=i)) for i in range(5)]
    assert bq_catalog.put_embeddings(rows) == 5
    newer = replace(rows[0], text_hash="h-new", vector=vec * 2, embedded_at=NOW + timedelta(seconds=1))
    bq_catalog.put_embeddings([newer, replace(rows[1], vector=vec * 3)])  # a new text; the same text again
    got = bq_catalog.get_embeddings(["v0", "v1", "zzz"], "m1")
    assert set(got) == {"v0", "v1"}
    assert got["v0"].text_hash == "h-new" and got["v0"].vector.dtype == np.float32  # the newest, without hashes
    np.testing.assert_array_equal(got["v0"].vector, vec * 2)  # FLOAT64 holds float32 exactly
    # one row per (video, model, text): the first text of v0 is kept beside the new one
    older = bq_catalog.get_embeddings(["v0", "v1"], "m1", ["h0", "h-new"])
    assert set(older) == {"v0"} and np.array_equal(older["v0"].vector, vec)
    np.testing.assert_array_equal(got["v1"].vector, vec * 3)  # the same text again: replaced
    bq_catalog.put_embeddings([StoredEmbedding("v0", "e5", "h0", np.ones(384, np.float32), NOW, NOW)])
    assert bq_catalog.get_embeddings(["v0"], "e5")["v0"].vector.shape == (384,)
    # pruning's two calls: the keys embedded before a time, and a delete of some
    keys = [k for batch in bq_catalog.iter_embedding_keys(NOW + timedelta(milliseconds=1), batch_size=3)
            for k in batch]
    assert sorted((k.video_id, k.model_id, k.text_hash) for k in keys) == sorted(
        [(f"v{i}", "m1", f"h{i}") for i in range(5)] + [("v0", "e5", "h0")])
    assert bq_catalog.delete_embeddings([k for k in keys if k.video_id == "v0"]) == 2
    assert bq_catalog.get_embeddings(["v0"], "m1")["v0"].text_hash == "h-new"  # embedded after `before`: kept
    assert bq_catalog.get_embeddings(["v0"], "e5") == {}
    assert got["v1"].embedded_at == NOW + timedelta(microseconds=1) and got["v1"].source_updated_at == NOW
    assert bq_catalog.get_embeddings(["v0"], "other-model") == {}


def test_shard_scan_with_embeddings_equals_duckdb(bq_catalog, sample_slice, tmp_path):
    videos = [replace(v, status="private") if i % 7 == 0 else v for i, v in enumerate(sample_slice[:30])]
    rng = np.random.default_rng(8)
    rows = [StoredEmbedding(v.video_id, "m1", f"h-{v.video_id}", rng.standard_normal(512).astype(np.float32),
                            NOW, NOW) for v in videos[::3]]
    rows.append(StoredEmbedding(videos[1].video_id, "m2", "other", np.ones(512, np.float32), NOW, NOW))
    rows.append(replace(rows[1], text_hash="another-recipe", vector=rows[1].vector * 2))  # videos[3], public
    bq_catalog.upsert_videos(videos)
    bq_catalog.put_embeddings(rows)
    with DuckDBCatalog(tmp_path / "c.duckdb") as duck:
        duck.upsert_videos(videos)
        duck.put_embeddings(rows)
        for shard in range(2):
            got = {}
            for catalog in (bq_catalog, duck):
                pairs = list(catalog.scan_shard_with_embeddings(shard, 2, as_of=NOW, model_id="m1", batch_size=4))
                assert all(0 < len(batch) <= 4 for batch, _ in pairs)
                got[catalog] = ({v.video_id: v for batch, _ in pairs for v in batch},
                                {vid: e for _, stored in pairs for vid, e in stored.items()})
            (bq_rows, bq_vec), (duck_rows, duck_vec) = got[bq_catalog], got[duck]
            assert bq_rows == duck_rows and bq_vec.keys() == duck_vec.keys()
            assert all(bq_vec[k].text_hash == duck_vec[k].text_hash == k[1] for k in bq_vec)
            assert shard != shard_of(videos[3].video_id, 2) or (videos[3].video_id, "another-recipe") in bq_vec
            assert all(np.array_equal(bq_vec[k].vector, duck_vec[k].vector) for k in bq_vec)


def test_embeddings_read_through_the_storage_read_api(bq_catalog):
    vec = np.linspace(-1, 1, 512, dtype=np.float32)
    bq_catalog.put_embeddings([StoredEmbedding(f"s{i}", "m1", "h", vec * i, NOW, NOW) for i in range(3)])
    assert bq_catalog.read_client is not None
    # list_rows never prefetches a page, so to_arrow reads through a Storage Read session.
    table = bq_catalog.client.list_rows(bq_catalog.table("video_embeddings")).to_arrow(
        bqstorage_client=bq_catalog.read_client)
    got = {r["video_id"]: r["vector"] for r in table.to_pylist()}
    assert sorted(got) == ["s0", "s1", "s2"]
    np.testing.assert_array_equal(np.asarray(got["s2"], dtype=np.float32), vec * 2)


def test_promotions_history_newest_first(bq_catalog):
    t = NOW
    bq_catalog.record_promotion(Promotion("videos", "c1", None, t, "cli"))
    bq_catalog.record_promotion(Promotion("videos", "c2", "c1", t + timedelta(hours=1), "run-1", ("recall",)))
    bq_catalog.record_promotion(Promotion("videos", "c2", "c1", t + timedelta(hours=1), "run-1", ("recall",)))
    bq_catalog.record_promotion(Promotion("videos_b", "c3", None, t + timedelta(hours=2), "cli"))
    got = bq_catalog.promotions("videos")
    assert [(p.collection, p.previous, p.forced) for p in got] == [("c2", "c1", ("recall",)), ("c1", None, ())]
    assert [p.alias for p in bq_catalog.promotions()] == ["videos_b", "videos", "videos"]
    assert [p.alias for p in bq_catalog.promotions(limit=1)] == ["videos_b"]


def test_shard_counts_and_changes_since_equal_duckdb(bq_catalog, sample_slice, tmp_path):
    later = [replace(sample_slice[0], updated_at=NOW + timedelta(minutes=2), status="deleted"),
             replace(sample_slice[1], updated_at=NOW + timedelta(minutes=1), status="private"),
             replace(sample_slice[2], updated_at=NOW + timedelta(minutes=3))]
    videos = [*later, *sample_slice[3:]]
    bq_catalog.upsert_videos(videos)
    with DuckDBCatalog(tmp_path / "c.duckdb") as duck:
        duck.upsert_videos(videos)
        for shard in range(3):
            assert bq_catalog.count_shard(shard, 3, as_of=NOW) == duck.count_shard(shard, 3, as_of=NOW)
        changed = [[v.video_id for v in b] for b in bq_catalog.changes_since(NOW, batch_size=2)]
        assert changed == [[v.video_id for v in b] for b in duck.changes_since(NOW, batch_size=2)]
    assert changed == [[later[1].video_id, later[0].video_id], [later[2].video_id]]


# -- the audit's warehouse calls: the same answers as DuckDB ---------------------------
def audit_fixture(videos):
    """Videos with some deleted / private, embeddings of m1 for all and of m2 for one."""
    videos = [replace(v, status="deleted") if i % 7 == 0 else replace(v, status="private") if i % 11 == 5
              else v for i, v in enumerate(videos)]
    rng = np.random.default_rng(3)
    rows = [StoredEmbedding(v.video_id, "m1", "h", rng.standard_normal(512).astype(np.float32), NOW, NOW)
            for v in videos]
    return videos, rows + [replace(rows[1], model_id="m2")]


def embeddings_by_id(catalog, model_id, batch_size, **kw):
    out, sizes = {}, []
    for ids, langs, matrix, hashes in catalog.iter_embeddings(model_id, batch_size, **kw):
        assert hashes == ["h"] * len(ids)
        assert matrix.dtype == np.float32 and matrix.shape == (len(ids), 512)
        sizes.append(len(ids))
        out.update((vid, (lang, row.tobytes())) for vid, lang, row in zip(ids, langs, matrix, strict=True))
    assert sizes[:-1] == [batch_size] * (len(sizes) - 1) and 0 < sizes[-1] <= batch_size
    return out


def test_audit_reads_equal_duckdb(bq_catalog, sample_slice, tmp_path):
    videos, embeddings = audit_fixture(sample_slice)
    bq_catalog.upsert_videos(videos)
    bq_catalog.put_embeddings(embeddings)
    public = {v.video_id: v for v in videos if v.status == "public"}
    with DuckDBCatalog(tmp_path / "c.duckdb") as duck:
        duck.upsert_videos(videos)
        duck.put_embeddings(embeddings)
        got = embeddings_by_id(bq_catalog, "m1", 10)
        assert got == embeddings_by_id(duck, "m1", 10) and sorted(got) == sorted(public)
        both = ("public", "private")
        assert embeddings_by_id(bq_catalog, "m1", 7, statuses=both) == embeddings_by_id(duck, "m1", 7, statuses=both)
        assert list(bq_catalog.iter_embeddings("nope")) == list(duck.iter_embeddings("nope")) == []

        counts = bq_catalog.embedded_language_counts("m1")
        assert counts == duck.embedded_language_counts("m1") and sum(counts.values()) == len(public)
        assert bq_catalog.embedded_language_counts("m2") == duck.embedded_language_counts("m2")
        lang = next(iter(counts))
        assert bq_catalog.sample_ids(lang, 0, 1, "m1") == duck.sample_ids(lang, 0, 1, "m1") == []
        for lang in counts:
            for seed in (0, 7):
                # the full seeded order, and what both engines must draw from it
                order = sorted((vid for vid, v in public.items() if v.language == lang),
                               key=lambda vid: (fingerprint(vid + str(seed)), vid))
                for n in (3, 100):
                    assert bq_catalog.sample_ids(lang, n, seed, "m1") == duck.sample_ids(lang, n, seed, "m1") \
                        == order[:n]


def test_iter_embeddings_streams_through_the_storage_read_api(bq_catalog, monkeypatch):
    vec = np.linspace(-1, 1, 512, dtype=np.float32)
    bq_catalog.upsert_videos([Video(f"s{i}", "t", language="fr", updated_at=NOW) for i in range(25)])
    bq_catalog.put_embeddings([StoredEmbedding(f"s{i}", "m1", "h", vec * i, NOW, NOW) for i in range(25)])
    sessions = []
    real = bq_catalog.read_client.create_read_session
    monkeypatch.setattr(bq_catalog.read_client, "create_read_session",
                        lambda *a, **kw: sessions.append(1) or real(*a, **kw))
    chunks = list(bq_catalog.iter_embeddings("m1", batch_size=10))
    assert [len(ids) for ids, *_ in chunks] == [10, 10, 5] and sessions
    got = {vid: row for ids, _, m, _ in chunks for vid, row in zip(ids, m, strict=True)}
    np.testing.assert_array_equal(got["s3"], vec * 3)


def test_audit_rows_merge_and_summaries_equal_duckdb(bq_catalog, tmp_path):
    from vidvec.catalog.base import AuditRow

    row = AuditRow("a1", "c1", "m", "qdrant-local exact", 10, 50, "overall", False, 50, 1.0,
                   1.0, 0.0, 0.0, True, True, NOW, 3)
    batches = [[row, replace(row, filtered=True, recall=0.97),
                replace(row, slice="language=fr", queries=0, recall=None, passed=False)],
               [replace(row, audit_id="a2", audited_at=NOW + timedelta(hours=1), recall=0.5, coverage=0.9,
                        passed=False, audit_passed=False), replace(row, audit_id="a3", collection="c2")],
               [replace(row, filtered=True, recall=0.95)]]  # a retry replaces its row, never duplicates
    with DuckDBCatalog(tmp_path / "c.duckdb") as duck:
        for batch in batches:  # one MERGE at a time: the emulator fails concurrent ones
            assert bq_catalog.record_audit(batch) == duck.record_audit(batch) == len(batch)
        a1 = bq_catalog.audit_rows("a1")
        assert a1 == duck.audit_rows("a1") and len(a1) == 3
        assert [(r.filtered, r.slice, r.recall) for r in a1] == [
            (False, "language=fr", None), (False, "overall", 1.0), (True, "overall", 0.95)]
        assert bq_catalog.audit_rows("none") == duck.audit_rows("none") == []
        for kw in ({}, {"collection": "c1"}, {"collection": "c2"}, {"limit": 1}, {"collection": "x"}):
            assert bq_catalog.audits(**kw) == duck.audits(**kw), kw
        assert [(a.audit_id, a.passed, a.recall, a.filtered_recall) for a in bq_catalog.audits("c1")] == [
            ("a2", False, 0.5, None), ("a1", True, 1.0, 0.95)]
        canary = replace(row, audit_id="k1", kind="canary", target="videos", coverage=None, staleness=None,
                         mismatch=None, served_p50_ms=0.5, served_p99_ms=2.5, unindexed=0.3,
                         audited_at=NOW + timedelta(hours=2))
        assert bq_catalog.record_audit([canary]) == duck.record_audit([canary]) == 1
        assert bq_catalog.audit_rows("k1") == duck.audit_rows("k1") == [canary]
        for kw in ({"kind": "canary"}, {"kind": "audit"}, {"since": NOW + timedelta(minutes=30)}):
            assert bq_catalog.audits(**kw) == duck.audits(**kw), kw
        assert [a.audit_id for a in bq_catalog.audits(kind="canary")] == ["k1"]


def test_approvals_equal_duckdb(bq_catalog, tmp_path):
    from tests.catalog.test_warehouse_audits import approvals_fixture

    with DuckDBCatalog(tmp_path / "d.duckdb") as duck:
        for a in approvals_fixture():
            bq_catalog.record_approval(a)
            duck.record_approval(a)
        assert bq_catalog.approvals() == duck.approvals()
        assert bq_catalog.approvals("videos_b") == duck.approvals("videos_b")


def test_long_transcripts_travel_in_requests_bigquery_accepts(bq_catalog, sample_slice):
    """5 MiB transcripts in any script: MERGE statements are bounded by bytes (10 MB a request), not rows alone."""
    import json

    from vidvec.core.limits import BIGQUERY_REQUEST_BYTES, TRANSCRIPT_BYTES

    cyrillic = ("Длинный доклад о реках. " * 120_000)[: TRANSCRIPT_BYTES // 2]  # 2 bytes a character
    japanese = ("日本語の長い講演です。" * 160_000)[: TRANSCRIPT_BYTES // 3]
    long = [replace(sample_slice[i], transcript=t, tags=("Тег", "タグ") * 100, description="Описание " * 1000)
            for i, t in enumerate((cyrillic, japanese, cyrillic[:-1] + "!"))]
    videos = long + [replace(v, video_id=f"{v.video_id}-{k}") for k in range(5) for v in sample_slice[3:63]]
    sizes = []
    real = bq_catalog.client._connection.api_request

    def measured(method, path, data=None, **kw):
        if data is not None and path.endswith(("/queries", "/jobs")):
            sizes.append(len(json.dumps(data)))
        return real(method, path, data=data, **kw)

    bq_catalog.client._connection.api_request = measured
    try:
        assert bq_catalog.upsert_videos(videos) == len(videos)
    finally:
        bq_catalog.client._connection.api_request = real
    assert max(sizes) <= BIGQUERY_REQUEST_BYTES and len(sizes) >= 3, sizes  # one 5 MiB row a request
    got = bq_catalog.get_videos(v.video_id for v in videos)
    assert got == {v.video_id: v for v in videos}


def test_the_largest_valid_video_fits_one_merge_request():
    """Every field at its limit in 4-byte characters (the worst case for the request) fits one MERGE."""
    import json

    from vidvec.catalog.bigquery import _video_row
    from vidvec.catalog.bigquery_schema import VIDEOS, merge_batches, merge_sql
    from vidvec.core import limits

    wide = "\U0001F3B5"  # 4 bytes of UTF-8, 12 of escaped JSON
    worst = Video("v" * limits.VIDEO_ID_CHARS, wide * limits.TITLE_CHARS, description=wide * limits.DESCRIPTION_CHARS,
                  tags=(wide * limits.TAG_CHARS,) * limits.TAGS, transcript=wide * (limits.TRANSCRIPT_BYTES // 4),
                  language=wide * limits.LANGUAGE_CHARS, owner_id=wide * limits.NAME_CHARS,
                  category=wide * limits.NAME_CHARS, published_at=NOW, updated_at=NOW)
    limits.check_fields(vars(worst))  # valid
    (batch,) = merge_batches("rows", VIDEOS, [_video_row(worst)])
    body = {"query": merge_sql("p.d.videos", VIDEOS, ("video_id",)), "queryParameters": [batch.to_api_repr()]}
    assert len(json.dumps(body)) <= limits.BIGQUERY_REQUEST_BYTES
