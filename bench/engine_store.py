"""One engine's store figures on one data set, each step in a child process of its own.

`measure(job)` runs three children one after the other (spawned: clean peak RSS,
nothing cached from the parent):
1. load: create the collection (payload indexes, HNSW off), write every point
   new with `insert_only` in batches of 256 (timed: new points/s), build the
   index and wait until ready (timed), query `similar` unfiltered and
   language-filtered (latency per call; the served ids for recall), then
   conditional overwrites (`write_if_newer`, each point one version newer) and
   tombstones (`write_if_newer` of status deleted), both in batches of 256;
   close (Edge flushes); disk used.
2. reopen: open the store and answer one `similar` (timed: a clean reopen);
   then, on an engine with a WAL, `churn_rounds` rounds of overwriting every
   point (many writes, never flushed) and SIGKILL: the WAL keeps them all.
3. recover (after a churn only): open + first `similar` again, so the WAL is
   replayed (timed); checks that every point holds its last acknowledged version.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.engine_data import Dataset, points
from bench.scale import du

NAME = "bench"
BATCH = 256


@dataclass
class Job:
    engine: str
    settings: object  # vidvec.config.Settings (picklable): home and engine
    data: Dataset
    queries: list[int]  # indexes into data
    passes: int = 1  # query passes (latency percentiles per pass; the median is quoted)
    overwrites: int = 0
    tombstones: int = 0
    churn_rounds: int = 0
    collection: str = NAME
    spec: dict = field(default_factory=dict)  # CollectionSpec fields


def rss_mb(key: str = "VmHWM") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def disk_mb(path: Path) -> float:
    """MB the files under path occupy on disk (allocated blocks, as du counts)."""
    return du(path) / 2**20


def _store(job: Job):
    from vidvec.store import make_store

    return make_store(job.settings)


def _timed_writes(write, batches: list) -> float:
    """points/s of write(batch) over the batches (0 when there is nothing to write)."""
    n = sum(len(b) for b in batches)
    start = time.perf_counter()
    for batch in batches:
        write(batch)
    return n / (time.perf_counter() - start) if n else 0.0


def _newer(pts: list, by: int) -> list:
    from vidvec.core.types import PointToWrite

    return [PointToWrite(p.video_id, p.vector, p.payload | {"updated_at": p.payload["updated_at"] + by})
            for p in pts]


def _queries(store, job: Job) -> dict:
    ids = [job.data.payloads[q]["video_id"] for q in job.queries]
    out: dict = {}
    for filtered in (False, True):
        passes, served = [], []
        for _ in range(job.passes):
            wall, cpu, served = [], [], []
            for q, vid in zip(job.queries, ids, strict=True):
                language = job.data.languages[q] if filtered else None
                start, start_cpu = time.perf_counter(), time.process_time()
                hits = store.similar(job.collection, vid, 10, language=language)
                wall.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)  # every thread of this process: Edge's too
                served.append([h.video_id for h in hits])
            passes.append([np.percentile(x, p) * 1e3 for x in (wall, cpu) for p in (50, 99)])
        key = "filtered" if filtered else "unfiltered"
        med = np.median(np.asarray(passes), axis=0)
        out[key] = {"p50_ms": float(med[0]), "p99_ms": float(med[1]), "cpu_p50_ms": float(med[2]),
                    "cpu_p99_ms": float(med[3]), "served": served}
    return out


def _load(job: Job) -> dict:
    from vidvec.core.points import tombstone
    from vidvec.store import CollectionSpec

    matrix = job.data.vectors()
    spec = CollectionSpec(**job.spec)
    before = rss_mb("VmRSS")
    store = _store(job)
    try:
        store.create_collection(job.collection, spec, {"dim": spec.dim, "index": spec.as_dict()})
        batches = [points(job.data, i, i + BATCH, matrix) for i in range(0, job.data.n, BATCH)]
        out = {"new_per_s": _timed_writes(lambda b: store.insert_only(job.collection, b, dim=spec.dim), batches)}
        start = time.perf_counter()
        store.build_index(job.collection, spec)
        store.wait_ready(job.collection, timeout_s=7200)
        out["build_s"] = time.perf_counter() - start
        index = store.index_state(job.collection)
        out |= {"index": index.describe(), "indexed": index.indexed_vectors, "points": index.points}
        out["queries"], out["query_ids"] = _queries(store, job), list(job.queries)
        flat = [p for b in batches for p in b]
        over = [_newer(flat[i:i + BATCH], 1) for i in range(0, job.overwrites, BATCH)]
        out["overwrite_per_s"] = _timed_writes(lambda b: store.write_if_newer(job.collection, b, dim=spec.dim), over)
        last = flat[len(flat) - job.tombstones:]
        stones = [[tombstone(p.video_id, "deleted", p.payload["updated_at"] + 2) for p in last[i:i + BATCH]]
                  for i in range(0, job.tombstones, BATCH)]
        out["tombstone_per_s"] = _timed_writes(
            lambda b: store.write_if_newer(job.collection, b, dim=spec.dim), stones)
    finally:
        store.close()
    return out | {"rss_before_mb": before, "peak_rss_mb": rss_mb(), "disk_mb": _disk(job)}


def _disk(job: Job) -> float | None:
    return None if job.engine == "server" else disk_mb(Path(job.settings.home))


def _reopen(job: Job, conn) -> None:
    """Clean reopen timed; then many writes never flushed, and SIGKILL (what a crash leaves)."""
    probe = job.data.payloads[job.queries[0]]["video_id"]
    start = time.perf_counter()
    store = _store(job)
    store.similar(job.collection, probe, 10)
    out = {"reopen_s": time.perf_counter() - start, "disk_mb": _disk(job)}
    if not job.churn_rounds:
        store.close()
        conn.send(out)
        return
    matrix = job.data.vectors()
    rates = []
    for r in range(job.churn_rounds):
        batches = [_newer(points(job.data, i, i + BATCH, matrix), 10 + r) for i in range(0, job.data.n, BATCH)]
        rates.append(_timed_writes(lambda b: store.write_if_newer(job.collection, b), batches))
    conn.send(out | {"churn_writes": job.churn_rounds * job.data.n, "churn_per_s": float(np.median(rates)),
                     "disk_before_kill_mb": _disk(job)})
    conn.close()
    os.kill(os.getpid(), signal.SIGKILL)  # no close, no flush: the WAL holds every churn write


def _recover(job: Job) -> dict:
    start = time.perf_counter()
    store = _store(job)
    try:
        first = job.data.payloads[job.queries[0]]["video_id"]
        store.similar(job.collection, first, 10)
        seconds = time.perf_counter() - start
        sample = [job.data.payloads[i] for i in range(0, job.data.n, max(job.data.n // 500, 1))]
        got = store.versions(job.collection, [p["video_id"] for p in sample])
        last = 10 + job.churn_rounds - 1
        kept = sum(1 for p in sample if got.get(p["video_id"], (None, 0))[1] >= p["updated_at"] + last)
    finally:
        store.close()
    return {"recover_s": seconds, "versions_kept": kept / len(sample), "disk_mb": _disk(job)}


def _child(target, job: Job, conn) -> None:
    if target == "reopen":
        _reopen(job, conn)
        return
    conn.send((_load if target == "load" else _recover)(job))
    conn.close()


def _run(target: str, job: Job) -> dict:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(target, job, child))
    proc.start()
    child.close()
    try:
        got = parent.recv()
    except EOFError:
        proc.join()
        raise RuntimeError(f"{job.engine} {target} child failed (exit {proc.exitcode})") from None
    proc.join()
    return got


def measure(job: Job) -> dict:
    """The three steps (module docstring) for one engine and data set; figures as a dict."""
    out = _run("load", job)
    reopen = _run("reopen", job)
    out |= {k: v for k, v in reopen.items() if k != "disk_mb"}
    if job.churn_rounds:
        out |= {"recover": _run("recover", job)}
    return out
