"""The DuckDB warehouse at scale: vectors per (video, model, text), the migration of old files, joined shard
scans, bounded memory."""

import json
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import datetime, timezone

import duckdb
import numpy as np
import pytest

from vidvec.catalog.base import StoredEmbedding, shard_of
from vidvec.catalog.duckdb import DuckDBCatalog
from vidvec.errors import VidvecError

NOW = datetime(2026, 11, 29, tzinfo=timezone.utc)
OLD_SCHEMA = """
CREATE TABLE video_embeddings (video_id VARCHAR NOT NULL, model_id VARCHAR NOT NULL, text_hash VARCHAR NOT NULL,
    vector {vector} NOT NULL, source_updated_at TIMESTAMPTZ NOT NULL, embedded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (video_id, model_id));
"""


def vector_type(path) -> str:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT data_type FROM information_schema.columns WHERE table_name = 'video_embeddings' "
                           "AND column_name = 'vector'").fetchone()[0]
    finally:
        con.close()


def primary_key(path) -> list[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT constraint_column_names FROM duckdb_constraints() WHERE table_name = "
                           "'video_embeddings' AND constraint_type = 'PRIMARY KEY'").fetchone()[0]
    finally:
        con.close()


def old_file(path, vectors: dict[str, list[float]], vector: str = "FLOAT[]") -> None:
    con = duckdb.connect(str(path))
    con.execute(OLD_SCHEMA.format(vector=vector))
    for vid, vec in vectors.items():
        con.execute("INSERT INTO video_embeddings VALUES (?, 'm1', 'h', ?, ?, ?)", [vid, vec, NOW, NOW])
    con.close()


@pytest.mark.parametrize("vector", ["FLOAT[]", "FLOAT[512]"])
def test_a_file_of_the_old_shape_is_migrated_with_every_vector(tmp_path, vector):
    path = tmp_path / "old.duckdb"
    vectors = {f"v{i}": (np.arange(512, dtype=np.float32) * (i + 1) / 512).tolist() for i in range(3)}
    old_file(path, vectors, vector)
    assert primary_key(path) == ["video_id", "model_id"] and vector_type(path) == vector
    with DuckDBCatalog(path) as cat:
        got = cat.get_embeddings(list(vectors), "m1", ["h"] * 3)
        # the new key: another text of the same video and model is a row of its own
        cat.put_embeddings([StoredEmbedding("v0", "m1", "h2", np.zeros(512, np.float32), NOW, NOW)])
        assert cat.get_embeddings(["v0"], "m1", ["h"])["v0"].vector[1] > 0
    assert primary_key(path) == ["video_id", "model_id", "text_hash"] and vector_type(path) == "FLOAT[]"
    for vid, vec in vectors.items():
        np.testing.assert_array_equal(got[vid].vector, np.asarray(vec, dtype=np.float32))
    with DuckDBCatalog(path) as cat:  # a second open finds nothing to do
        assert len(cat.get_embeddings(list(vectors), "m1", ["h"] * 3)) == 3
        assert cat.con.execute("SELECT count(*) FROM video_embeddings").fetchone()[0] == 4


def test_put_embeddings_keeps_each_model_at_its_own_size_and_refuses_a_mixed_model(catalog):
    catalog.put_embeddings([StoredEmbedding("a", "muse", "h", np.ones(512, dtype=np.float32), NOW, NOW),
                            StoredEmbedding("a", "e5", "h", np.ones(384, dtype=np.float32), NOW, NOW)])
    assert catalog.get_embeddings(["a"], "muse")["a"].vector.shape == (512,)
    assert catalog.get_embeddings(["a"], "e5")["a"].vector.shape == (384,)
    with pytest.raises(VidvecError, match="two sizes"):
        catalog.put_embeddings([StoredEmbedding("b", "m1", "h", np.ones(8, dtype=np.float32), NOW, NOW),
                                StoredEmbedding("c", "m1", "h", np.ones(9, dtype=np.float32), NOW, NOW)])


def test_shard_scan_with_embeddings_joins_each_row_to_its_models_vector(catalog, sample_slice):
    videos = [replace(v, status="deleted") if i % 9 == 0 else v for i, v in enumerate(sample_slice)]
    catalog.upsert_videos(videos)
    rng = np.random.default_rng(0)
    with_vector = {v.video_id: rng.standard_normal(512).astype(np.float32) for v in videos[::2]}
    catalog.put_embeddings(StoredEmbedding(vid, "m1", f"h-{vid}", vec, NOW, NOW) for vid, vec in with_vector.items())
    catalog.put_embeddings([StoredEmbedding(videos[1].video_id, "m2", "other", np.ones(512, np.float32), NOW, NOW)])
    for shard in range(3):
        batches = list(catalog.scan_shard_with_embeddings(shard, 3, as_of=NOW, model_id="m1", batch_size=5))
        plain = [v for batch in catalog.scan_shard(shard, 3, as_of=NOW, batch_size=5) for v in batch]
        assert all(len(rows) <= 5 for rows, _ in batches)
        assert sorted(v.video_id for rows, _ in batches for v in rows) == sorted(v.video_id for v in plain)
        by_id = {v.video_id: v for v in plain}
        for rows, stored in batches:
            assert all(shard_of(v.video_id, 3) == shard and v == by_id[v.video_id] for v in rows)
            assert set(stored) == {(v.video_id, f"h-{v.video_id}") for v in rows if v.video_id in with_vector}
            for (vid, _), e in stored.items():  # m2's row is not m1's
                assert (e.model_id, e.text_hash, e.embedded_at) == ("m1", f"h-{vid}", NOW)
                np.testing.assert_array_equal(e.vector, with_vector[vid])


def test_the_memory_limit_setting_reaches_duckdb(tmp_path):
    with DuckDBCatalog(tmp_path / "c.duckdb", memory_limit="300MB") as cat:
        limit = cat.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limit in ("286.1 MiB", "300.0 MB")


STREAM = textwrap.dedent("""
    import json, sys
    from datetime import datetime, timezone
    from vidvec.catalog.duckdb import DuckDBCatalog

    def rss_mb():
        return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024

    path, limit = sys.argv[1], sys.argv[2]
    with DuckDBCatalog(path, memory_limit=limit) as cat:
        before, rows = rss_mb(), 0
        for name in sys.argv[3].split(","):
            if name == "scan":
                for videos, stored in cat.scan_shard_with_embeddings(
                        0, 1, as_of=datetime.max.replace(tzinfo=timezone.utc), model_id="m1", batch_size=512):
                    rows += len(stored)
            else:
                for ids, _, matrix, _ in cat.iter_embeddings("m1", batch_size=4096):
                    rows += len(ids)
        print(json.dumps({"rows": rows, "grew_mb": rss_mb() - before}))
""")


def big_warehouse(path, n: int) -> None:
    """n public videos with m1 vectors, written straight into DuckDB (fast, like bench/scale_data.py)."""
    import pyarrow as pa

    rng = np.random.default_rng(3)
    with DuckDBCatalog(path) as cat:
        cat.con.execute("INSERT INTO videos SELECT 'v' || i, 'title ' || i, '', [], NULL, 'en', 'o', 'c', 'public', "
                        "NULL, TIMESTAMPTZ '2026-11-01 00:00:00+00', 0 FROM range($n) t(i)", {"n": n})
        for start in range(0, n, 50_000):
            ids = [f"v{i}" for i in range(start, min(start + 50_000, n))]
            flat = rng.standard_normal(len(ids) * 512, dtype=np.float32)
            table = pa.table({"video_id": ids, "model_id": ["m1"] * len(ids), "text_hash": ["h"] * len(ids),
                              "vector": pa.FixedSizeListArray.from_arrays(pa.array(flat), 512),
                              "source_updated_at": pa.array([NOW] * len(ids), pa.timestamp("us", "UTC")),
                              "embedded_at": pa.array([NOW] * len(ids), pa.timestamp("us", "UTC"))})
            cat.con.register("incoming", table)
            cat.con.execute("INSERT INTO video_embeddings SELECT * FROM incoming")
            cat.con.unregister("incoming")


@pytest.mark.slow
def test_streaming_a_large_warehouse_holds_memory_flat_under_the_limit(tmp_path):
    """300k vectors (600 MB of floats) streamed twice, by the shard scan and the audit's reader,
    in a fresh process: its peak RSS grows by about the memory limit, not by the table."""
    path = tmp_path / "big.duckdb"
    big_warehouse(path, 300_000)
    script = tmp_path / "stream.py"
    script.write_text(STREAM)
    grew = {}
    for limit in ("200MB", "4GB"):
        done = subprocess.run([sys.executable, str(script), str(path), limit, "scan,audit"], capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        got = json.loads(done.stdout)
        assert got["rows"] == 600_000
        grew[limit] = got["grew_mb"]
    assert grew["200MB"] < 450, grew  # the cap (200 MB) plus batches and Arrow buffers
    assert grew["4GB"] > grew["200MB"] + 200, grew  # without a cap, DuckDB keeps what it read
