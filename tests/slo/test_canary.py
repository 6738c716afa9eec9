"""`vidvec canary` as a user runs it: rows of kind canary, latency and the unindexed share, exit 1 on a miss."""

from tests.conftest import build_live
from tests.test_cli import run


def test_vidvec_canary_records_its_rows_and_exits_1_when_recall_drops(settings, sample_slice, embedder):
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    name = build_live(settings, sample_slice, embedder)
    done = run("canary", "--sample", "24", home=settings.home)
    assert done.returncode == 0, done.stderr
    assert "PASSED (qdrant-edge hnsw m=16 ef_construct=100 hnsw_ef=100, 24 queries)" in done.stdout
    assert "unindexed 100.0%" in done.stdout  # 64 vectors: below the indexing threshold, every query scans them
    with open_store(settings) as store:
        store.delete_points(name, [v.video_id for v in sample_slice[::2]])
    failed = run("canary", "videos", "--sample", "24", home=settings.home)
    assert failed.returncode == 1 and "failed: recall@10 overall" in failed.stdout
    with open_catalog(settings, read_only=True) as catalog:
        canaries = catalog.audits(name, kind="canary")
    assert [c.passed for c in canaries] == [False, True] and all(c.served_p50_ms > 0 for c in canaries)
    assert not [a for a in canaries if a.coverage is not None]
