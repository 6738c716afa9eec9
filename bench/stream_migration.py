"""Live migration under load: the sidecar applies a steady stream while an e5 rebuild runs, is audited and promoted.

One process, the embedded stack (Qdrant Edge, DuckDB): the sidecar runs in a
thread (bench/stream.py's `_Sidecar`) and holds the store; the rebuild, audit
and promotion run in the main thread on that same store (Edge serialises
writers) and a second DuckDB connection. A publisher thread offers a steady
RATE events/s, each a new video with a real sample title (every event needs
the encoder, in each family written). Phases, by the wall clock of each ack:
- before: `videos` (MUSE, recipe v1) is the only target;
- during: `videos__next` (e5, recipe titles-v1) exists: two families written
  while the shards load, the catch-up, the index build, the audit and the swap;
- after: e5 is live and the MUSE collection the alias left is written too
  (the rollback window), so two families still.
Per phase: events acked per second (sustained, at the offered rate: below it
means a backlog grew) and freshness p50/p99 (event entering the log to its
acknowledged write in every writable target).

    python bench/stream_migration.py [--quick] [--rate EVENTS_PER_S]
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(ROOT / "include") not in sys.path:
    sys.path.insert(0, str(ROOT / "include"))

from bench.stream import _pct, _Sidecar, _titles, home_log  # noqa: E402

RATE = 4  # events/s offered (--rate): e5 encodes ~50 titles/s per core, and the rebuild's encoder shares the cores
RECIPE = "titles-v1"


def _catalog_videos(n: int):
    from vidvec.catalog.loader import read_csv

    rows = [v for v in read_csv(ROOT / "include" / "data" / "videos.csv.gz")
            if not isinstance(v, Exception) and v.status == "public" and len(v.title) < 70]
    return sorted(rows, key=lambda v: v.video_id)[:n]


def _build_live(settings, videos, muse) -> None:
    """MUSE behind `videos`, built as the rebuild does (before the stream starts)."""
    from vidvec.catalog.factory import open_catalog
    from vidvec.rebuild import create_target, finish, load_shard, plan_rebuild
    from vidvec.store import open_store

    t0 = max(v.updated_at for v in videos)
    plan = plan_rebuild(live_alias="videos", t0=t0, run_id="bench-muse", model_id=muse.model_id,
                        family=muse.family, dim=muse.dim, n_shards=1, recipe="v1")
    with open_catalog(settings) as catalog, open_store(settings) as store:
        catalog.upsert_videos(videos)
        create_target(store, plan)
        load_shard(catalog, store, muse, plan, 0)
        finish(catalog, store, plan)
        store.set_aliases({"videos": plan.collection, "videos__next": None})


class _Publisher(threading.Thread):
    """RATE uploads/s until stopped, each a new video with a real title: the catalog row, then its thin event
    (as the platform does: a rebuild's count check and catch-up read the catalog)."""

    def __init__(self, settings, catalog, titles: list[str]):
        super().__init__(daemon=True)
        self.settings, self.titles, self.stop, self.sent = settings, titles, threading.Event(), 0
        self.catalog = catalog
        self.pause = threading.Event()  # set: no new uploads (see _finish)
        self._log = None

    def backlog(self) -> int:
        from vidvec.stream.local import LocalLog

        log = LocalLog(home_log(self.settings))
        try:
            return log.backlog()
        finally:
            log.close()

    def run(self) -> None:
        from vidvec.core.types import Video
        from vidvec.stream.local import LocalLog

        log, catalog = LocalLog(home_log(self.settings)), _own_connection(self.catalog)
        start = time.perf_counter()
        try:
            while not self.stop.is_set() and self.sent < len(self.titles):
                self.stop.wait(max(0.0, start + self.sent / RATE - time.perf_counter()))
                if self.pause.is_set():
                    start += 0.05  # the schedule moves on with the pause: no burst afterwards
                    time.sleep(0.05)
                    continue
                video = Video(f"live{self.sent}", self.titles[self.sent], language="en", owner_id=f"o{self.sent}",
                              category="bench", updated_at=datetime.now(timezone.utc))
                catalog.upsert_videos([video])
                log.publish([json.dumps({"video_id": video.video_id, "op": "upsert",
                                         "updated_at": video.updated_at.isoformat()}).encode()])
                self.sent += 1
        finally:
            log.close()
            catalog.con.close()


def _own_connection(catalog):
    """The sidecar's DuckDB catalog on a connection of this thread's own (cursor(): same database,
    its own transactions); one process may open the file once."""
    import copy

    mine = copy.copy(catalog)
    mine.con = catalog.con.cursor()
    return mine


def _finish(catalog, store, e5, plan, publisher, say, attempts: int = 2) -> float:
    """catch-up then finish; finish's exact count races the stream (uploads after the catch-up that the
    sidecar has not applied yet), so after `attempts` the publisher pauses until the sidecar's backlog is
    empty for one more try. Returns the seconds the stream was paused (0 if never)."""
    from vidvec.errors import VidvecError
    from vidvec.rebuild import catch_up, finish

    for attempt in range(1, attempts + 2):
        paused = attempt > attempts
        if paused:
            publisher.pause.set()
            since = time.perf_counter()
            while publisher.backlog():
                time.sleep(0.1)
        catch_up(catalog, store, e5, plan, 256)
        try:
            finish(catalog, store, plan, ready_timeout_s=600)
            return time.perf_counter() - since if paused else 0.0
        except VidvecError as exc:
            say(f"finish, attempt {attempt}: {exc}")
        finally:
            publisher.pause.clear()
    raise SystemExit("finish failed with the stream paused")


def _migrate(sidecar, publisher, e5, say) -> dict[str, float]:
    """Rebuild in e5 beside the stream, audit, promote; the wall clock of each step."""
    from vidvec.audit import run_audit
    from vidvec.core.gates import GatePolicy
    from vidvec.promote import promote
    from vidvec.rebuild import create_target, load_shard, plan_rebuild

    marks = {"start": time.perf_counter()}
    store, catalog = sidecar.store, _own_connection(sidecar.catalog)
    try:
        plan = plan_rebuild(live_alias="videos", t0=datetime.now(timezone.utc), run_id="bench-e5",
                            model_id=e5.model_id, family=e5.family, dim=e5.dim, n_shards=2, recipe=RECIPE)
        create_target(store, plan)
        for shard in plan.shards:
            load_shard(catalog, store, e5, plan, shard)
        marks["loaded"] = time.perf_counter()
        marks["paused"] = _finish(catalog, store, e5, plan, publisher, say)
        marks["built"] = time.perf_counter()
        audit = run_audit(catalog, store, "videos__next", at=datetime.now(timezone.utc), sample=100)
        say(f"audit of {plan.collection}: {'passed' if audit.passed else audit.failures}")
        # The count gate's tolerance is relative (0.001: 20,000 videos at 20M); on a few hundred videos it is
        # 0, and the uploads the sidecar has not applied yet would refuse the swap. 5% here.
        promote(catalog, store, plan.collection, alias="videos", at=datetime.now(timezone.utc), actor="bench",
                families=(e5.family,), force=() if audit.passed else ("audit",),
                policy=GatePolicy(count_tolerance=0.05))
        marks["promoted"] = time.perf_counter()
    finally:
        catalog.con.close()
    return marks


class _Observed(_Sidecar):
    """bench/stream.py's sidecar thread, keeping the sidecar (its store) and each ack's time and freshness."""

    def __init__(self, settings, embedders, **sc):
        super().__init__(settings, embedders, **sc)
        self.batches: list[tuple[float, list[float]]] = []
        self.sidecar = None

    def _acked(self, freshness: list[float]) -> None:
        self.batches.append((time.perf_counter(), list(freshness)))

    def _ready(self, sidecar, _ops):
        self.sidecar = sidecar
        super()._ready()


def _phase(side: _Observed, since: float, until: float) -> tuple[float, list[float]]:
    acks = [(t, f) for t, f in side.batches if since <= t < until]
    fresh = [x for _, f in acks for x in f]
    return len(fresh) / (until - since), fresh


def measure(n_videos: int, seconds: float, say=print) -> list[dict]:
    from bench.pipeline import settings_in
    from vidvec.config import load_settings
    from vidvec.embed import registry

    muse = registry.get_embedder(load_settings(), registry.USEM3)
    e5 = registry.get_embedder(load_settings(), registry.E5)
    videos = _catalog_videos(n_videos)
    titles = _titles(int(RATE * (seconds * 3 + 600)))
    with tempfile.TemporaryDirectory(prefix="vidvec-bench-migration-") as home:
        import os

        os.environ["VIDVEC_HOME"] = home
        settings = settings_in(Path(home))
        _build_live(settings, videos, muse)
        side = _Observed(settings, [muse, e5], alias_refresh_seconds=1.0).start()
        publisher = _Publisher(settings, side.sidecar.catalog, titles)
        publisher.start()
        try:
            time.sleep(seconds)
            say("before: measured; rebuilding in e5")
            # The rebuild's own encoder, as a DAG worker has one (the sidecar's stays its own).
            marks = _migrate(side.sidecar, publisher, registry.get_embedder(load_settings(), registry.E5), say)
            time.sleep(seconds)
        finally:
            publisher.stop.set()
            publisher.join()
            end = time.perf_counter()
            time.sleep(3)  # the last events' acks
            side.stop.set()
            side.thread.join()
    phases = {"before (MUSE only)": (marks["start"] - seconds, marks["start"]),
              "during (MUSE live + e5 building, audited, promoted)": (marks["start"], marks["promoted"]),
              "after (e5 live + MUSE rollback target)": (marks["promoted"], end)}
    rows = []
    for name, (a, b) in phases.items():
        rate, fresh = _phase(side, a, b)
        rows.append({"phase": name, "seconds": round(b - a, 1), "events_per_s": round(rate, 2),
                     "offered": RATE, "p50": round(_pct(fresh, 50), 3) if fresh else None,
                     "p99": round(_pct(fresh, 99), 3) if fresh else None, "events": len(fresh)})
    rows.append({"phase": f"e5 rebuild of {len(videos)} videos: load {marks['loaded'] - marks['start']:.1f} s, "
                          f"catch-up + index {marks['built'] - marks['loaded']:.1f} s "
                          f"(stream paused {marks['paused']:.1f} s for finish's exact count), audit + swap "
                          f"{marks['promoted'] - marks['built']:.1f} s", "seconds": None, "events_per_s": None,
                 "offered": None, "p50": None, "p99": None, "events": None})
    return rows


def run(quick: bool = False) -> list[dict]:
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    return measure(*((100, 10) if quick else (300, 30)))


def main() -> None:
    global RATE
    if "--rate" in sys.argv:
        RATE = float(sys.argv[sys.argv.index("--rate") + 1])
    rows = run(quick="--quick" in sys.argv)
    print("| phase | seconds | events/s acked (offered) | freshness p50 s | p99 s | events |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        rate = f"{r['events_per_s']} ({r['offered']})" if r["offered"] else ""
        print(f"| {r['phase']} | {r['seconds'] or ''} | {rate} | {r['p50'] or ''} | {r['p99'] or ''} | "
              f"{r['events'] or ''} |")


if __name__ == "__main__":
    main()
