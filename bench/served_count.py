"""What `count_served` costs against `count(public_only=True)`, and that it stays linear and flat.

`python -m bench.served_count [--sizes 50000,100000,200000] [--engine edge]` fills a collection
with N synthetic points (dim 64: the pass reads payloads, never vectors; 1% of them foreign
duplicates under other ids), then prints, per N, medians of 3 runs: the engine's exact filtered
count, `count_served` (one streaming scroll of `video_id` and `status`), their ratio, the time per
million points, and the Python heap peak of `count_served` (tracemalloc), which must not grow with N.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
import uuid

import numpy as np

from vidvec.config import load_settings
from vidvec.core.types import PointToWrite
from vidvec.store import CollectionSpec, open_store

DIM = 64


def fill(store, n: int) -> None:
    rng = np.random.default_rng(0)
    store.create_collection("c", CollectionSpec(dim=DIM), {"dim": DIM})
    for start in range(0, n, 2048):
        vecs = rng.standard_normal((min(2048, n - start), DIM)).tolist()
        store.insert_only("c", [PointToWrite(f"v{start + i}", vec, {
            "video_id": f"v{start + i}", "status": "public" if (start + i) % 10 else "deleted",
            "updated_at": start + i}) for i, vec in enumerate(vecs)], dim=DIM)
    foreign = [(str(uuid.uuid4()), [1.0] * DIM, {"video_id": f"v{i}", "status": "public", "updated_at": 1})
               for i in range(0, n, 100)]
    if store.capabilities.engine == "qdrant-edge":  # a foreign writer's points (bench only)
        from qdrant_edge import Point, UpdateOperation

        store._update("c", UpdateOperation.upsert_points([Point(*p) for p in foreign]))
    else:
        from qdrant_client import models

        store.client.upsert("c", [models.PointStruct(id=i, vector=v, payload=b) for i, v, b in foreign])


def median_seconds(fn, runs: int = 3) -> tuple[float, object]:
    times, value = [], None
    for _ in range(runs):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="50000,100000,200000")
    parser.add_argument("--engine", default="edge")
    parser.add_argument("--dir", default="/var/tmp")
    args = parser.parse_args()
    for n in map(int, args.sizes.split(",")):
        with tempfile.TemporaryDirectory(dir=args.dir) as home, \
                open_store(load_settings(home=home, store=args.engine)) as store:
            fill(store, n)
            counted, public = median_seconds(lambda: store.count("c", public_only=True))
            served_s, served = median_seconds(lambda: store.count_served("c"))
            tracemalloc.start()
            store.count_served("c")
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        print(f"{store.capabilities.label} N={n:,}: count(public) {public:,} in {counted * 1e3:.1f} ms; "
              f"count_served {served:,} in {served_s:.2f} s ({served_s / counted:,.0f}x; "
              f"{served_s * 1e6 / n:.1f} s per million points); heap peak {peak / 2**20:.1f} MiB", flush=True)


if __name__ == "__main__":
    main()
