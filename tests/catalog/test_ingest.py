"""Loading parsed rows into a real DuckDB catalog: batches bounded by bytes, long transcripts whole."""

from datetime import datetime, timezone

from vidvec.catalog.duckdb import DuckDBCatalog
from vidvec.catalog.ingest import load_rows
from vidvec.catalog.loader import BadRow, Row
from vidvec.core.limits import TRANSCRIPT_BYTES
from vidvec.core.types import Video

T = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Counting(DuckDBCatalog):
    writes: list[int]

    def upsert_videos(self, videos):
        videos = list(videos)
        self.writes.append(len(videos))
        return super().upsert_videos(videos)


def test_rows_are_written_in_batches_bounded_by_bytes_as_well_as_rows(tmp_path, monkeypatch):
    import vidvec.catalog.ingest as ingest

    monkeypatch.setattr(ingest, "BATCH_BYTES", 12_000)
    rows = [Row(i + 2, Video(f"v{i}", "t", description="d" * 5000, updated_at=T)) for i in range(7)]
    with Counting(tmp_path / "c.duckdb") as catalog:
        catalog.writes = []
        done = load_rows(catalog, rows + [BadRow(9, "broken")], report=lambda bad: None, batch_rows=1000)
        assert catalog.writes == [3, 3, 1] and (done.loaded, done.bad) == (7, 1)
        assert catalog.count() == 7


def test_a_five_mib_transcript_is_stored_whole(tmp_path):
    talk = ("長い講演の書き起こしです。" * 150_000)[: TRANSCRIPT_BYTES // 3]
    with DuckDBCatalog(tmp_path / "c.duckdb") as catalog:
        load_rows(catalog, [Row(2, Video("talk", "A talk", transcript=talk, updated_at=T))], report=print)
        assert catalog.get_videos(["talk"])["talk"].transcript == talk
