"""A writer the kill -9 test runs as a subprocess: writes batches to an Edge store forever.

Prints `try <video_id> <version>` before each write and `ack <video_id> <version>`
only after the write returned (what a caller may rely on), flushing stdout each
time. Versions grow with every batch. Every few batches it builds or vacuums the
index, so a kill can land inside an optimize too.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

from vidvec.core.points import tombstone
from vidvec.core.types import PointToWrite
from vidvec.errors import StoreInUse
from vidvec.store import CollectionSpec

DIM, VIDEOS, BATCH = 32, 400, 48
SPEC = CollectionSpec(dim=DIM, indexing_threshold_kb=1, full_scan_threshold_kb=1)


def open_edge(root: Path):
    from vidvec.store.edge import EdgeStore

    for _ in range(100):  # the previous writer's lock is released when the kernel reaps it
        try:
            return EdgeStore(root)
        except StoreInUse:
            time.sleep(0.05)
    return EdgeStore(root)


def batch(rng: random.Random, version: int) -> list[PointToWrite]:
    out = []
    for vid in rng.sample([f"k{i}" for i in range(VIDEOS)], BATCH):
        if rng.random() < 0.15:
            out.append(tombstone(vid, "deleted", version))
        else:
            out.append(PointToWrite(vid, [rng.gauss(0, 1) for _ in range(DIM)],
                                    {"video_id": vid, "status": "public", "language": "en", "updated_at": version}))
    return out


def main(root: str, seed: str) -> None:
    rng = random.Random(int(seed))
    store = open_edge(Path(root))
    store.create_collection("c", SPEC, {"state": "ready"})
    version = int(time.time() * 1e6)
    for n in range(10**9):
        version += 1
        points = batch(rng, version)
        print("\n".join(f"try {p.video_id} {version}" for p in points), flush=True)
        store.write_if_newer("c", points, dim=DIM)
        print("\n".join(f"ack {p.video_id} {version}" for p in points), flush=True)
        if n % 14 == 6:
            store.build_index("c", SPEC)
        elif n % 14 == 13:
            store.vacuum("c", deleted_threshold=0.01)


if __name__ == "__main__":
    main(*sys.argv[1:])
