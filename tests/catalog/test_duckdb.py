from dataclasses import replace
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from vidvec.catalog.base import StoredEmbedding, fingerprint, shard_of
from vidvec.catalog.duckdb import DuckDBCatalog
from vidvec.errors import VidvecError

NOW = datetime(2026, 11, 29, tzinfo=timezone.utc)


def test_round_trip_on_a_real_file(tmp_path, sample_slice):
    path = tmp_path / "c.duckdb"
    with DuckDBCatalog(path) as cat:
        assert cat.upsert_videos(sample_slice) == len(sample_slice)
    with DuckDBCatalog(path, read_only=True) as cat:
        got = cat.get_videos([v.video_id for v in sample_slice])
    assert got == {v.video_id: v for v in sample_slice}


def test_upsert_replaces_by_id(catalog, sample_slice):
    v = sample_slice[0]
    catalog.upsert_videos([v])
    catalog.upsert_videos([replace(v, title="new title", status="private")])
    assert catalog.get_videos([v.video_id])[v.video_id].title == "new title"
    assert catalog.count(statuses=("private",)) == 1
    assert catalog.count() == 0


def test_shards_partition_the_catalog_and_respect_as_of(catalog, sample_slice):
    late = replace(sample_slice[0], updated_at=NOW + timedelta(days=1))
    hidden = replace(sample_slice[1], status="deleted")
    catalog.upsert_videos([late, hidden, *sample_slice[2:]])
    seen = []
    for shard in range(3):
        for batch in catalog.scan_shard(shard, 3, as_of=NOW, batch_size=7):
            assert len(batch) <= 7
            assert all(shard_of(v.video_id, 3) == shard for v in batch)
            seen += [v.video_id for v in batch]
    assert sorted(seen) == sorted(v.video_id for v in sample_slice[2:])
    assert catalog.count(as_of=NOW) == len(sample_slice) - 2


def test_shard_matches_bigquery_farm_fingerprint():
    # The examples of BigQuery's FARM_FINGERPRINT reference page, and one from
    # a published BigQuery run: SELECT FARM_FINGERPRINT("alphabet").
    assert fingerprint("1footrue") == -1541654101129638711
    assert fingerprint("2applefalse") == 2794438866806483259
    assert fingerprint("3true") == -4880158226897771312
    assert fingerprint("alphabet") == -2427165924636348523
    assert shard_of("alphabet", 10) == 2427165924636348523 % 10


@pytest.mark.parametrize("shard,n", [(3, 3), (-1, 3), (0, 0), (0, 5000)])
def test_bad_shards_are_refused(catalog, shard, n):
    with pytest.raises(VidvecError):
        next(catalog.scan_shard(shard, n, as_of=NOW))


def test_embeddings_round_trip_and_replace(catalog):
    vec = np.arange(512, dtype=np.float32) / 512
    row = StoredEmbedding("abc", "m1", "h1", vec, NOW, NOW)
    catalog.put_embeddings([row])
    catalog.put_embeddings([replace(row, text_hash="h2", vector=vec * 2)])
    got = catalog.get_embeddings(["abc", "zzz"], "m1")
    assert list(got) == ["abc"]
    assert got["abc"].text_hash == "h2"
    np.testing.assert_array_equal(got["abc"].vector, vec * 2)
    assert catalog.get_embeddings(["abc"], "other-model") == {}


def test_promotions_history_newest_first(catalog):
    from vidvec.catalog import Promotion

    t = NOW
    catalog.record_promotion(Promotion("videos", "c1", None, t, "cli"))
    catalog.record_promotion(Promotion("videos", "c2", "c1", t + timedelta(hours=1), "run-1", ("recall",)))
    catalog.record_promotion(Promotion("videos_b", "c3", None, t + timedelta(hours=2), "cli"))
    got = catalog.promotions("videos")
    assert [(p.collection, p.previous, p.forced) for p in got] == [("c2", "c1", ("recall",)), ("c1", None, ())]
    assert [p.alias for p in catalog.promotions()] == ["videos_b", "videos", "videos"]


def test_shard_counts_match_the_scans_and_changes_since_sees_every_status(catalog, sample_slice):
    later = [replace(sample_slice[0], updated_at=NOW + timedelta(minutes=2), status="deleted"),
             replace(sample_slice[1], updated_at=NOW + timedelta(minutes=1), status="private"),
             replace(sample_slice[2], updated_at=NOW + timedelta(minutes=3))]
    catalog.upsert_videos([*later, *sample_slice[3:]])
    for shard in range(4):
        scanned = sum(len(b) for b in catalog.scan_shard(shard, 4, as_of=NOW))
        assert catalog.count_shard(shard, 4, as_of=NOW) == scanned
    assert sum(catalog.count_shard(s, 4, as_of=NOW) for s in range(4)) == len(sample_slice) - 3
    batches = list(catalog.changes_since(NOW, batch_size=2))
    assert [len(b) for b in batches] == [2, 1]
    assert [v.video_id for b in batches for v in b] == [later[i].video_id for i in (1, 0, 2)]  # oldest first
    assert list(catalog.changes_since(NOW + timedelta(minutes=3))) == []
    with pytest.raises(VidvecError):
        next(catalog.changes_since(datetime(2026, 1, 1)))


def test_both_catalogs_hold_the_columns_of_a_video(tmp_path):
    """core.types.VIDEO_FIELDS is the one column list: DuckDB's table and BigQuery's schema hold exactly it."""
    from vidvec.catalog.bigquery_schema import VIDEOS
    from vidvec.catalog.duckdb import DuckDBCatalog
    from vidvec.core.types import VIDEO_FIELDS

    with DuckDBCatalog(tmp_path / "c.duckdb") as catalog:
        columns = [r[1] for r in catalog.con.execute("PRAGMA table_info('videos')").fetchall()]
    assert tuple(columns) == VIDEO_FIELDS + ("fingerprint",)
    assert tuple(f.name for f in VIDEOS) == VIDEO_FIELDS


def test_a_repeated_video_in_one_upsert_keeps_its_last_row(tmp_path):
    from datetime import datetime, timezone

    from vidvec.catalog.duckdb import DuckDBCatalog
    from vidvec.core.types import Video

    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with DuckDBCatalog(tmp_path / "c.duckdb") as catalog:
        catalog.upsert_videos([Video("a", "first", updated_at=t), Video("a", "last", updated_at=t)])
        assert catalog.get_videos(["a"])["a"].title == "last"  # DuckDB alone kept "first"
