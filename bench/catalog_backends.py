"""DuckDB vs the BigQuery emulator through the same Catalog calls, side by side.

    python bench/catalog_backends.py [--repeats 3]

Needs .venv-bq (`make bq-emulator`). The emulator's speed says nothing about
BigQuery's; the figures show the shape of vidvec's calls (rows per MERGE,
pages per scan) and what the BigQuery tests cost.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "include")]

from tests.emulators import BQ_VENV, free_port, stop, wait_for_port  # noqa: E402

from vidvec.catalog.base import StoredEmbedding  # noqa: E402
from vidvec.catalog.loader import read_csv  # noqa: E402

T0 = datetime(2026, 11, 29, tzinfo=timezone.utc)


@contextmanager
def emulator(tmp: Path):
    import os
    import subprocess

    rest, grpc = free_port(), free_port()
    log = tmp / "bq.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(BQ_VENV / "bin" / "local-bigquery"), "serve", "--host", "127.0.0.1",
                                 "--port", str(rest), "--grpc-port", str(grpc), "--data-dir", str(tmp / "bq")],
                                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "HOME": str(BQ_VENV / "home")})
    try:
        wait_for_port(rest, proc, 90, log)
        wait_for_port(grpc, proc, 30, log)
        yield f"http://127.0.0.1:{rest}", f"127.0.0.1:{grpc}"
    finally:
        stop(proc)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def workload(catalog, videos, embeddings) -> dict[str, float]:
    ids = [e.video_id for e in embeddings]
    return {
        "upsert videos": timed(lambda: catalog.upsert_videos(videos)),
        "scan 4 shards (batch 256)": timed(lambda: [b for s in range(4) for b in catalog.scan_shard(s, 4, as_of=T0)]),
        "put embeddings": timed(lambda: catalog.put_embeddings(embeddings)),
        "get embeddings": timed(lambda: catalog.get_embeddings(ids, "m")),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--embeddings", type=int, default=1000)
    args = parser.parse_args()
    from vidvec.catalog.bigquery import open_bigquery
    from vidvec.catalog.duckdb import DuckDBCatalog
    from vidvec.config import load_settings

    videos = list(read_csv(ROOT / "include" / "data" / "videos.csv.gz"))
    rng = np.random.default_rng(0)
    embeddings = [StoredEmbedding(v.video_id, "m", "h", rng.standard_normal(512).astype(np.float32), T0, T0)
                  for v in videos[:args.embeddings]]
    results: dict[str, dict[str, list[float]]] = {"duckdb": {}, "bigquery-emulator": {}}
    with tempfile.TemporaryDirectory() as tmp, emulator(Path(tmp)) as (rest, grpc):
        for i in range(args.repeats):
            with DuckDBCatalog(Path(tmp) / f"d{i}.duckdb") as duck:
                for k, v in workload(duck, videos, embeddings).items():
                    results["duckdb"].setdefault(k, []).append(v)
            settings = load_settings(catalog="bigquery", bigquery_project="local", bigquery_endpoint=rest,
                                     bigquery_storage_endpoint=grpc, bigquery_dataset=f"b{uuid.uuid4().hex[:8]}")
            with open_bigquery(settings) as bq:
                bq.create_schema()
                for k, v in workload(bq, videos, embeddings).items():
                    results["bigquery-emulator"].setdefault(k, []).append(v)
    print(f"{len(videos)} videos, {len(embeddings)} embeddings x 512, median of {args.repeats}")
    print(f"{'step':28} {'duckdb s':>10} {'emulator s':>11} {'ratio':>7}")
    for step in results["duckdb"]:
        d, b = (statistics.median(results[k][step]) for k in ("duckdb", "bigquery-emulator"))
        print(f"{step:28} {d:10.3f} {b:11.3f} {b / d:7.1f}")


if __name__ == "__main__":
    main()
