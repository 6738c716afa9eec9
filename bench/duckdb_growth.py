"""The DuckDB warehouse file after a bulk load, and after small updates: `python -m bench.duckdb_growth [N]`.

Builds bench/scale_data.py's catalog of N videos (default 300,000) with
stored vectors, then updates one video in 1,000 through the real catalog
(`upsert_videos`, as `vidvec catalog load` does), twice, printing the file's
size after each step. Measured (bench/scale.py's "disk after" grew the same
way): the first update after a bulk load about doubles the file (DuckDB
writes the changed row groups anew at checkpoint and keeps the freed blocks
for reuse, never shrinking the file); the second grows it no further.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "include")]


def main(n: int) -> None:
    from bench.scale_data import build_catalog
    from bench.scale_steps import T0
    from vidvec.catalog.duckdb import DuckDBCatalog

    os.environ.setdefault("VIDVEC_SCALE_DIR", "/tmp/vidvec-scale")  # the sample vectors' cache
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        path = Path(tmp) / "vidvec.duckdb"
        build_catalog(path, n, log=lambda m: None)
        print(f"{n:,} videos, bulk loaded: {path.stat().st_size / 2**20:,.0f} MB", flush=True)
        ids = [f"s{i:08d}" for i in range(7, n, 1000)]
        for attempt in (1, 2):
            catalog = DuckDBCatalog(path)
            try:
                rows = catalog.get_videos(ids)
                later = T0 + timedelta(hours=attempt)
                catalog.upsert_videos(replace(v, category=f"{v.category} ({attempt})", updated_at=later)
                                      for v in rows.values())
            finally:
                catalog.close()
            size = path.stat().st_size / 2**20
            print(f"after updating {len(rows):,} videos (update {attempt}): {size:,.0f} MB", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300_000)
