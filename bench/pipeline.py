"""The real pipeline for benchmarks: catalog (DuckDB) -> rebuild steps -> the vector store (embedded)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from vidvec.catalog.factory import open_catalog
from vidvec.catalog.loader import read_csv
from vidvec.config import Settings
from vidvec.rebuild import create_target, finish, load_shard, plan_rebuild
from vidvec.store import CollectionSpec, open_store

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "include" / "data" / "videos.csv.gz"
SIB200 = Path("/work/shared/data/sib200_topic_parallel_12lang.csv.gz")
T0 = datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc)


def sample_videos(every: int = 1) -> list:
    """The sample catalog (7,841 real videos); every n-th one for quick runs."""
    return [v for v in read_csv(SAMPLE)][::every]




def build(settings: Settings, videos: list, embedder, recipe: str, alias: str) -> tuple[str, float]:
    """Load videos into the catalog and rebuild them behind alias; (collection, seconds)."""
    plan = plan_rebuild(live_alias=alias, t0=T0, run_id=f"bench-{alias}", model_id=embedder.model_id,
                        family=embedder.family, dim=embedder.dim, n_shards=1, recipe=recipe)
    spec = CollectionSpec(dim=embedder.dim)
    with open_catalog(settings) as catalog, open_store(settings) as store:
        catalog.upsert_videos(videos)
        start = time.perf_counter()
        create_target(store, plan, spec)
        load_shard(catalog, store, embedder, plan, 0)
        finish(catalog, store, plan, spec)
        seconds = time.perf_counter() - start
        # A rebuild promotes nothing (vidvec_promote does, after the audit): serve it directly.
        store.set_aliases({alias: plan.collection})
    return plan.collection, seconds


def read_vectors(store, name: str, video_ids: list[str]) -> np.ndarray:
    """The vectors the pipeline stored in Qdrant, in video_ids order."""
    found = {vid: vec for batch in store.scroll(name, with_vectors=True) for vid, _, vec in batch}
    return np.asarray([found[v] for v in video_ids], dtype=np.float32)


def settings_in(home: Path, store: str | None = None) -> Settings:
    """Embedded settings under a scratch home, whatever VIDVEC_* says; store picks the engine
    (edge | local; None = the default, Qdrant Edge)."""
    return Settings(home=home, catalog_path=None, qdrant_path=None, qdrant_url=None, store=store, edge_path=None)


def cpu_timed(fn, *args, **kwargs):
    """(result, CPU seconds of this process): per-core cost, robust to a shared machine."""
    start = time.process_time()
    out = fn(*args, **kwargs)
    return out, time.process_time() - start


def row(figure: str, value: float, unit: str, target: str | None = None) -> dict:
    return {"figure": figure, "value": float(value), "unit": unit, "target": target}
