"""Reproduce why vidvec never sends Edge a conditional upsert (qdrant-edge-py 0.9.0).

A child process writes batches to an EdgeShard and closes it; the parent kills
it (SIGKILL) while `close()` flushes, reopens the shard and checks every
acknowledged point. With `condition=` on the upserts, acknowledged writes come
back older (Edge logs the conditional operation as written and re-evaluates it
on WAL replay against a state whose payload index was flushed ahead of the
points; qdrant/qdrant#9575 and #9678 fixed the same on the server by resolving
such operations to ids before the WAL). Plain upserts lose nothing.

    python scripts/edge_conditional_wal.py            # both modes, 4 seeds each
    python scripts/edge_conditional_wal.py cond 3     # one mode, one seed

Measured here (two runs of 4 seeds; the kill moment varies): `cond` lost
acknowledged points in 1 and 3 of the 4 seeds (363 and up to 399 of 400 after
one kill); `plain` lost none in either run. vidvec's EdgeStore therefore reads the
stored versions, applies core/versions.py and writes plain upserts, under its
store lock (store/edge.py).
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from qdrant_edge import (
    Distance,
    EdgeConfig,
    EdgeShard,
    EdgeVectorParams,
    FieldCondition,
    Filter,
    PayloadSchemaType,
    Point,
    RangeFloat,
    UpdateOperation,
)

DIM, IDS = 32, [str(uuid.uuid5(uuid.NAMESPACE_DNS, str(i))) for i in range(400)]
CONFIG = EdgeConfig(vectors=EdgeVectorParams(size=DIM, distance=Distance.Cosine))


def child(path: str, seed: int, conditional: bool) -> None:
    rng, pick = np.random.default_rng(seed), random.Random(seed)
    shard = EdgeShard.load(path, CONFIG)
    version = int(time.time() * 1e6)
    for _ in range(20):
        version += 1
        chosen = pick.sample(range(len(IDS)), 48)
        points = [Point(IDS[i], rng.standard_normal(DIM).tolist(), {"updated_at": version}) for i in chosen]
        condition = Filter(must=[FieldCondition("updated_at", range=RangeFloat(lt=version))]) if conditional else None
        shard.update(UpdateOperation.upsert_points(points, condition=condition))
        print("\n".join(f"ack {i} {version}" for i in chosen), flush=True)
    print("closing 0 0", flush=True)
    shard.close()
    time.sleep(10)


def run(mode: str, seed: int) -> int:
    """Rounds of write + kill during close; returns the most acknowledged points found older."""
    path = Path(tempfile.mkdtemp(prefix="edge-wal-")) / "shard"
    shard = EdgeShard.create(str(path), CONFIG)
    shard.update(UpdateOperation.create_field_index("updated_at", PayloadSchemaType.Integer))
    shard.close()
    pick, acked, worst = random.Random(seed), {}, 0
    for round_ in range(10):
        proc = subprocess.Popen([sys.executable, __file__, "child", str(path), str(seed * 100 + round_), mode],
                                stdout=subprocess.PIPE, text=True)
        for line in proc.stdout:
            kind, i, version = line.split()
            if kind == "closing":
                time.sleep(pick.uniform(0, 0.02))
                break
            acked[int(i)] = int(version)
        proc.kill()
        proc.wait()
        shard = EdgeShard.load(str(path), CONFIG)
        got = {str(r.id): r.payload["updated_at"] for r in shard.retrieve(IDS, with_payload=True, with_vector=False)}
        shard.close()
        worst = max(worst, sum(got.get(IDS[i], 0) < v for i, v in acked.items()))
    shutil.rmtree(path.parent)
    return worst


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4] == "cond")
    else:
        modes = sys.argv[1:2] or ["cond", "plain"]
        seeds = [int(sys.argv[2])] if len(sys.argv) > 2 else [1, 2, 3, 4]
        for mode in modes:
            for seed in seeds:
                print(f"{mode} seed {seed}: at most {run(mode, seed)} acknowledged points lost after a kill")
