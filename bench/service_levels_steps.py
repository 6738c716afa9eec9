"""Steps of bench/service_levels.py, each in a fresh process like an Airflow task (bench/scale_steps.py's
runner: wall, CPU and peak memory of the step alone): `python -m bench.service_levels_steps STEP HOME ARGS OUT`."""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench import scale_steps
from bench.scale_steps import T0, _stores

CANARY_AT = T0 + timedelta(hours=5)


def canary(home: str, args: dict) -> dict:
    """`vidvec canary` as the hourly DAG runs it: 100 queries on the live alias."""
    from vidvec.canary import run_canary

    stack, settings, catalog, store = _stores(home)
    with stack:
        result = run_canary(catalog, store, settings.live_alias, at=CANARY_AT + timedelta(minutes=args.get("run", 0)),
                            sample=args.get("sample", 100))
    overall = {s.filtered: s for s in result.slices if s.slice == "overall"}
    return {"queries": result.sample_size, "recall": overall[False].recall, "filtered_recall": overall[True].recall,
            "served_p50_ms": overall[False].served_p50_ms, "served_p99_ms": overall[False].served_p99_ms,
            "filtered_p50_ms": overall[True].served_p50_ms, "filtered_p99_ms": overall[True].served_p99_ms,
            "unindexed": result.unindexed, "passed": result.passed}


def stream_events(home: str, args: dict) -> dict:
    """Setup: new uploads (a share of n, real texts) and deletions, written to the catalog and announced by
    events, as `vidvec catalog load` does (the canary's truth then knows the new videos too)."""
    from dataclasses import replace

    from vidvec.core.events import Event, encode_event
    from vidvec.stream.local import LocalLog

    n, now = args["n"], datetime.now(timezone.utc).replace(microsecond=0)
    stack, _, catalog, _ = _stores(home)
    with stack:
        templates = list(catalog.get_videos([f"s{i:08d}" for i in range(0, 2000)]).values())
        uploads = [replace(t, video_id=f"new{i:07d}", title=f"{t.title} · upload {i}", updated_at=now,
                           published_at=now)
                   for i, t in zip(range(int(n * args["uploads"])), _cycle(templates), strict=False)]
        doomed = catalog.get_videos(f"s{i:08d}" for i in random.Random(23).sample(range(n), int(n * args["deletes"])))
        deletes = [replace(v, status="deleted", updated_at=now) for v in doomed.values()]
        catalog.upsert_videos(uploads + deletes)
    upserts = [encode_event(Event(video_id=v.video_id, op="upsert", updated_at=now)) for v in uploads]
    removals = [encode_event(Event(video_id=v.video_id, op="delete", updated_at=now)) for v in deletes]
    events = [e for pair in zip(upserts, removals + [None] * len(upserts), strict=False) for e in pair if e]
    log = LocalLog(Path(home) / "events.sqlite")
    try:
        log.publish(events)
    finally:
        log.close()
    return {"uploads": len(uploads), "deletes": len(deletes)}


def _cycle(items):
    while True:
        yield from items


def sidecar(home: str, args: dict) -> dict:
    """The sidecar drains the events, keeping the index (args keep) or not; each keeper run's pause recorded."""
    from vidvec.stream import keeper
    from vidvec.stream.ops import Metrics
    from vidvec.stream.runner import run_sidecar
    from vidvec.stream.settings import load_sidecar_settings

    runs: list[dict] = []
    tend = keeper.IndexKeeper.tend
    keeper.IndexKeeper.tend = lambda self, names: runs.extend(tend(self, names)) or []  # record, bench only
    metrics = Metrics()
    run_sidecar(scale_steps._settings(home), load_sidecar_settings(
        drain=True, http_port=0, drain_idle_seconds=args.get("idle", 10), keep_index=args["keep"]), metrics=metrics)
    counts = {s.labels["result"]: int(s.value) for m in metrics.registry.collect() for s in m.samples
              if s.name == "vidvec_sidecar_events_total" and s.value}
    pauses = sorted(r["seconds"] for r in runs)
    return {"events": counts, "keeper_runs": len(runs), "pauses_s": pauses,
            "segments_after": [r["segments"] for r in runs][-1:]}


def similar(home: str, args: dict) -> dict:
    """scale_steps.similar's timing over videos still served: 1,000 seeded public ones (a stream deleted some)."""
    import numpy as np

    def timed(vid: str, language: str | None) -> float:
        start = time.perf_counter()
        store.similar(settings.live_alias, vid, k=10, language=language)
        return (time.perf_counter() - start) * 1000

    stack, settings, catalog, store = _stores(home)
    with stack:
        pool = [f"s{i:08d}" for i in random.Random(5).sample(range(args["n"]), args["queries"] * 2)]
        rows = catalog.get_videos(pool)
        ids = [vid for vid in pool if rows[vid].status == "public"][:args["queries"]]
        cold = [timed(vid, None) for vid in ids]
        warm = {"unfiltered": [], "filtered": []}
        for vid in ids:
            warm["unfiltered"].append(timed(vid, None))
            warm["filtered"].append(timed(vid, rows[vid].language))
    pct = lambda ms: {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}  # noqa: E731
    return {"queries": len(ids), "cold": pct(cold)} | {key: pct(ms) for key, ms in warm.items()}


def index_state(home: str, args: dict) -> dict:
    stack, settings, _, store = _stores(home)
    with stack:
        name = store.resolve(settings.live_alias)
        state, status = store.index_state(name), store.status(name)
        return {"points": state.points, "indexed": state.indexed_vectors,
                # indexed counts replaced versions too until a vacuum drops them: never below 0 here
                "unindexed": max(state.points - (state.indexed_vectors or 0), 0), "status": list(status),
                "segments": scale_steps._segments(store, name)}


scale_steps.STEPS.update({f.__name__: f for f in (canary, stream_events, sidecar, similar, index_state)})

if __name__ == "__main__":
    scale_steps.main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4])
