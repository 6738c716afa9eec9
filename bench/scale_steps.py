"""One step of bench/scale.py in this process: `python -m bench.scale_steps STEP HOME ARGS_JSON OUT_JSON`.

Each step calls what the DAG task of the same name calls (vidvec.rebuild,
vidvec.audit, vidvec.promote, vidvec.compaction, the sidecar's run_sidecar),
opening the catalog and the store as the task does and closing them after.
It runs in a fresh process, like an Airflow task, so its peak RSS is its own
(VmHWM of /proc/self/status; getrusage's ru_maxrss would carry over the
parent's peak across exec); OUT_JSON gets the step's result, wall and CPU
seconds, and peak memory: RSS, and its anonymous part sampled every 50 ms
(file-backed pages of the store's memory-mapped segments count in RSS, but
the kernel can drop them when memory is short).
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for _d in ("include", "plugins"):
    if str(ROOT / _d) not in sys.path:
        sys.path.insert(0, str(ROOT / _d))

T0 = datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc)  # the rebuild's logical time
AUDIT_AT = T0 + timedelta(hours=4)
COMPACT_AT = T0 + timedelta(days=2)  # the compaction run's logical time (its "now")
OLD = COMPACT_AT - timedelta(days=10)  # drift older than the tombstone window (7 days)
CATCH_UP_EVERY = 1000  # one video in 1,000 changes (metadata only) after T0, before the catch-up
# The sidecar's 10,000 events: text edits, metadata-only changes, new uploads, deletions, privatisations.
SIDECAR_MIX = (("edit", 4000), ("touch", 2000), ("new", 2000), ("delete", 1500), ("private", 500))
# Compaction's drift, per 10,000 videos (1% in all): deleted and private in the catalog, stale points
# (a new category; a new title for one in ten), points lost from the store, points of unknown videos.
DRIFT_MIX = (("deleted", 25), ("private", 15), ("stale", 27), ("stale_text", 3), ("removed", 20), ("unknown", 10))


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class Peak:
    """Peak anonymous RSS, sampled (the kernel keeps only the total's peak, VmHWM)."""

    def __init__(self):
        self.anon_kb = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            self.anon_kb = max(self.anon_kb, status_kb("RssAnon"))
            time.sleep(0.05)


def _settings(home: str):
    from vidvec.config import load_settings

    return load_settings(home=home)


def _stores(home: str):
    from contextlib import ExitStack

    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    settings = _settings(home)
    stack = ExitStack()
    catalog = stack.enter_context(open_catalog(settings))
    store = stack.enter_context(open_store(settings))
    return stack, settings, catalog, store


def _plan(home: str) -> dict:
    from vidvec.rebuild import RebuildPlan

    return RebuildPlan.from_xcom(json.loads((Path(home) / "bench-plan.json").read_text()))


def make_catalog(home: str, args: dict) -> dict:
    """Setup: the synthetic catalog and its stored vectors (bench/scale_data.py)."""
    from bench.scale_data import build_catalog

    path = Path(home) / "vidvec.duckdb"
    return build_catalog(path, args["n"], log=lambda m: None) | {"embeddings_bytes": embeddings_size(path)}


def embeddings_size(path: Path) -> dict:
    """Bytes of `video_embeddings` alone, copied into a fresh DuckDB file: FLOAT[512] (as stored) and FLOAT[]."""
    import duckdb

    out = {}
    for kind, cast in (("float512", "vector"), ("float_list", "vector::FLOAT[]")):
        copy = path.with_name(f"embeddings-{kind}.duckdb")
        con = duckdb.connect(str(copy), config={"memory_limit": "512MB"})  # the source opens read-only
        try:
            con.execute(f"ATTACH '{path}' AS src (READ_ONLY)")
            con.execute("CREATE TABLE e AS SELECT video_id, model_id, text_hash, "
                        f"{cast} AS vector, source_updated_at, embedded_at FROM src.video_embeddings")
            con.execute("DETACH src")
        finally:
            con.close()
        out[kind] = copy.stat().st_size
        copy.unlink()
    return out


# -- the rebuild (mode=reindex), as vidvec_full_rebuild's tasks ---------------------
def plan_create(home: str, args: dict) -> dict:
    from vidvec.embed import get_embedder
    from vidvec.rebuild import create_target, plan_rebuild

    stack, settings, _, store = _stores(home)
    with stack:
        embedder = get_embedder(settings)
        plan = plan_rebuild(live_alias=settings.live_alias, t0=T0, run_id="bench-scale", model_id=embedder.model_id,
                            family=embedder.family, dim=embedder.dim, n_shards=args["shards"], recipe="v2",
                            mode="reindex", index=args.get("index") or {})
        create_target(store, plan)
    (Path(home) / "bench-plan.json").write_text(json.dumps(plan.to_xcom()))
    return {"collection": plan.collection, "index": plan.index}


def load_shard(home: str, args: dict) -> dict:
    from vidvec.embed import get_embedder
    from vidvec.rebuild import load_shard as load

    stack, settings, catalog, store = _stores(home)
    with stack:
        embedder = get_embedder(settings)
        done = load(catalog, store, embedder, _plan(home), args["shard"], args.get("batch_size", 256))
        return done.to_xcom() | {"encoder_calls": embedder.calls}


def change_after_t0(home: str, args: dict) -> dict:
    """Setup: one video in CATCH_UP_EVERY gets a new category after T0 (its text, so its vector, unchanged)."""
    from vidvec.catalog.factory import open_catalog

    with open_catalog(_settings(home)) as catalog:
        ids = [f"s{i:08d}" for i in range(7, args["n"], CATCH_UP_EVERY)]
        rows = catalog.get_videos(ids)
        catalog.upsert_videos(replace(v, category=v.category + " (moved)", updated_at=T0 + timedelta(hours=1))
                              for v in rows.values())
    return {"changed": len(rows)}


def catch_up(home: str, args: dict) -> dict:
    from vidvec.embed import get_embedder
    from vidvec.rebuild import catch_up as replay

    stack, settings, catalog, store = _stores(home)
    with stack:
        return replay(catalog, store, get_embedder(settings), _plan(home), args.get("batch_size", 256)).to_xcom()


def finish(home: str, args: dict) -> dict:
    from vidvec.rebuild import finish as finish_rebuild

    stack, _, catalog, store = _stores(home)
    with stack:
        done = finish_rebuild(catalog, store, _plan(home), ready_timeout_s=86400)
        return done.to_xcom() | {"segments": _segments(store, done.collection)}


def _segments(store, name: str):
    shard = getattr(store, "_shard", None)
    return shard(name).info().segments_count if shard else None


# -- audit, promote, similar ----------------------------------------------------------
def audit(home: str, args: dict) -> dict:
    from vidvec.audit import run_audit

    stack, settings, catalog, store = _stores(home)
    with stack:
        result = run_audit(catalog, store, settings.next_alias, at=AUDIT_AT, k=10, sample=args["sample"], seed=0,
                           hnsw_ef=args.get("hnsw_ef"))
    overall = {s.filtered: s.recall for s in result.slices if s.slice == "overall"}
    return {"passed": result.passed, "failures": result.failures, "recall": overall.get(False),
            "filtered_recall": overall.get(True), "coverage": result.coverage, "engine": result.engine,
            "queries": result.sample_size}


def promote(home: str, args: dict) -> dict:
    from vidvec.embed.registry import identity
    from vidvec.promote import as_json
    from vidvec.promote import promote as move

    stack, settings, catalog, store = _stores(home)
    with stack:
        collection = store.resolve(settings.next_alias)
        done = move(catalog, store, collection, alias=settings.live_alias, at=AUDIT_AT + timedelta(minutes=5),
                    actor="bench-scale", family=identity(settings).family)
    return as_json(done) if done else {}


def similar(home: str, args: dict) -> dict:
    """`similar` latency through the live alias: seeded queries, unfiltered and language-filtered.

    The first pass (every query unfiltered, right after opening: the segments' pages not yet
    touched) is reported as `cold`; then the timed pass asks each query unfiltered and filtered
    in turn, so the two modes share the machine's state alike.
    """
    import numpy as np

    def pct(ms: list[float]) -> dict:
        return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}

    def timed(vid: str, language: str | None) -> float:
        start = time.perf_counter()
        store.similar(settings.live_alias, vid, k=10, language=language)
        return (time.perf_counter() - start) * 1000

    stack, settings, catalog, store = _stores(home)
    with stack:
        ids = [f"s{i:08d}" for i in random.Random(5).sample(range(args["n"]), args["queries"])]
        languages = {v.video_id: v.language for v in catalog.get_videos(ids).values()}
        cold = [timed(vid, None) for vid in ids]
        warm = {"unfiltered": [], "filtered": []}
        for vid in ids:
            warm["unfiltered"].append(timed(vid, None))
            warm["filtered"].append(timed(vid, languages[vid]))
    return {"cold": pct(cold)} | {key: pct(ms) for key, ms in warm.items()}


# -- compaction, as vidvec_compaction's tasks -------------------------------------------
def inject_drift(home: str, args: dict) -> dict:
    """Setup: 1% of the catalog drifted from the live collection (what the stream missed)."""
    from vidvec.core.types import PointToWrite, to_micros

    stack, settings, catalog, store = _stores(home)
    with stack:
        live = store.resolve(settings.live_alias)
        picks = _picks(args["n"], [(k, c * args["n"] // 10_000) for k, c in DRIFT_MIX], seed=11)
        rows = catalog.get_videos(sum(picks.values(), []))
        changed = [replace(rows[i], status="deleted", updated_at=OLD) for i in picks["deleted"]]
        changed += [replace(rows[i], status="private", updated_at=OLD) for i in picks["private"]]
        changed += [replace(rows[i], category="re-labelled", updated_at=OLD) for i in picks["stale"]]
        changed += [replace(rows[i], title=rows[i].title + " (edited)", updated_at=OLD) for i in picks["stale_text"]]
        catalog.upsert_videos(changed)
        store.delete_points(live, picks["removed"])
        got = store.get_points(live, picks["unknown"], with_vectors=True)
        store.delete_points(live, picks["unknown"])
        store.insert_only(live, [PointToWrite(f"ghost{vid}", p["vector"], p["payload"] | {
            "video_id": f"ghost{vid}", "updated_at": to_micros(OLD)}) for vid, p in got.items()])
    return {k: len(v) for k, v in picks.items()}


def _picks(n: int, sizes, seed: int) -> dict[str, list[str]]:
    """Disjoint seeded samples of synthetic video ids, (kind, how many) each; none of the catch-up's."""
    pool = [i for i in random.Random(seed).sample(range(n), sum(s for _, s in sizes) * 2) if i % CATCH_UP_EVERY != 7]
    out, at = {}, 0
    for kind, size in sizes:
        out[kind] = [f"s{i:08d}" for i in pool[at:at + size]]
        at += size
    return out


def compaction_survey(home: str, args: dict) -> dict:
    from vidvec import compaction

    stack, _, __, store = _stores(home)
    with stack:
        return {"collections": len(compaction.survey(store).collections)}


def compaction_reconcile(home: str, args: dict) -> dict:
    from vidvec import compaction
    from vidvec.embed import get_embedder
    from vidvec.params import CompactOptions

    stack, settings, catalog, store = _stores(home)
    with stack:
        done = [compaction.reconcile(catalog, store, lambda meta: get_embedder(settings), name, COMPACT_AT,
                                     CompactOptions()) for name in compaction.targets(store, settings.live_alias)]
    (Path(home) / "bench-reconciled.json").write_text(json.dumps([d.to_xcom() for d in done]))
    return {"counts": done[0].counts, "encoded": done[0].encoded, "before": done[0].before, "after": done[0].after}


def compaction_vacuum(home: str, args: dict) -> dict:
    from vidvec import compaction
    from vidvec.params import CompactOptions

    reconciled = [compaction.Reconciled.from_xcom(d)
                  for d in json.loads((Path(home) / "bench-reconciled.json").read_text())]
    stack, _, __, store = _stores(home)
    with stack:
        return {"vacuum": [v.to_xcom() for v in compaction.vacuum(store, reconciled, CompactOptions())]}


# -- the sidecar ------------------------------------------------------------------------
def publish_events(home: str, args: dict) -> dict:
    """Setup: the catalog changes and their 10,000 events in the local log (what `vidvec catalog load` does)."""
    from vidvec.core.events import Event, encode_event
    from vidvec.stream.local import LocalLog

    now = datetime.now(timezone.utc).replace(microsecond=0)
    picks = _picks(args["n"], SIDECAR_MIX, seed=17)
    stack, settings, catalog, _ = _stores(home)
    events = []
    with stack:
        rows = catalog.get_videos(sum((picks[k] for k in ("edit", "touch", "private")), []))
        changed = [replace(rows[i], title=f"{rows[i].title} (update)", updated_at=now) for i in picks["edit"]]
        changed += [replace(rows[i], owner_id=rows[i].owner_id + "+", updated_at=now) for i in picks["touch"]]
        changed += [replace(rows[i], status="private", updated_at=now) for i in picks["private"]]
        catalog.upsert_videos(changed)
        events += [encode_event(Event(video_id=v.video_id, op="upsert", updated_at=now)) for v in changed]
    template = rows[picks["edit"][0]]
    events += [json.dumps({"video_id": f"new{vid}", "op": "upsert", "updated_at": now.isoformat(),
                           "title": f"{template.title} · new {vid}", "tags": list(template.tags),
                           "language": template.language, "status": "public"}).encode() for vid in picks["new"]]
    events += [encode_event(Event(video_id=vid, op="delete", updated_at=now)) for vid in picks["delete"]]
    log = LocalLog(Path(home) / "events.sqlite")
    try:
        log.publish(events)
    finally:
        log.close()
    return {"events": len(events)}


def sidecar(home: str, args: dict) -> dict:
    from vidvec.stream.ops import Metrics
    from vidvec.stream.runner import run_sidecar
    from vidvec.stream.settings import load_sidecar_settings

    metrics = Metrics()
    run_sidecar(_settings(home), load_sidecar_settings(drain=True, http_port=0, drain_idle_seconds=1),
                metrics=metrics)
    counts = {s.labels["result"]: int(s.value) for m in metrics.registry.collect() for s in m.samples
              if s.name == "vidvec_sidecar_events_total"}
    return {"events": counts}


STEPS = {f.__name__: f for f in (make_catalog, plan_create, load_shard, change_after_t0, catch_up, finish, audit,
                                 promote, similar, inject_drift, compaction_survey, compaction_reconcile,
                                 compaction_vacuum, publish_events, sidecar)}


def main(step: str, home: str, args: dict, out: str) -> None:
    peak = Peak()
    start, cpu0 = time.perf_counter(), os.times()
    result = STEPS[step](home, args)
    cpu1 = os.times()
    Path(out).write_text(json.dumps({
        "result": result, "wall_s": time.perf_counter() - start,
        "cpu_s": (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system),
        "peak_rss_mb": status_kb("VmHWM") / 1024,
        "peak_anon_mb": max(peak.anon_kb, status_kb("RssAnon")) / 1024}, default=str))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4])
