"""The nightly rebuild, step by step; the DAG calls these one task each.

plan -> create (collection + next alias, state building) -> load shards (the
catalog as of T0, insert-only) -> catch up (changes after T0, conditional
writes and tombstones) -> finish (exact count, index built, ready, state
ready). The live alias is never moved here: promotion is another DAG's job,
after an audit. Every step is safe to retry: names and ids are deterministic,
bulk writes are insert-only, catch-up writes are conditional on updated_at.

Modes: `reembed` encodes every text whose (model, text hash) has no stored
vector; `reindex` only reads `video_embeddings` and fails loudly when a video's
current text has no stored vector (it must never run the encoder).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from vidvec.apply import apply_videos, embed_videos
from vidvec.catalog.base import Catalog
from vidvec.core.naming import collection_name, validate_name
from vidvec.core.recipe import get_recipe
from vidvec.embed.base import Embedder, check_family
from vidvec.errors import VidvecError
from vidvec.progress import Progress
from vidvec.store import CollectionSpec, VectorStore

log = logging.getLogger(__name__)
MODES = ("reembed", "reindex")
BUILDING, READY, FAILED = "building", "ready", "failed"


def plan_rebuild(*, live_alias: str, t0: datetime, run_id: str, model_id: str, family: str,
                 dim: int, n_shards: int, recipe: str, mode: str = "reembed", index: dict | None = None) -> dict:
    """A JSON-safe plan; t0 is the run's logical time, never now()."""
    if t0.tzinfo is None:
        raise VidvecError("t0 must be timezone-aware")
    if not 1 <= n_shards <= 256:
        raise VidvecError(f"shards must be in 1..256, got {n_shards}")
    if mode not in MODES:
        raise VidvecError(f"mode must be one of {MODES}, got {mode!r}")
    validate_name(live_alias, "alias")
    get_recipe(recipe)
    index = dict(index or {})
    try:
        CollectionSpec(dim=dim, **index)  # unknown or out-of-range index settings fail here, not mid-run
    except TypeError as exc:
        raise VidvecError(f"bad index settings {index}: {exc}") from None
    return {
        "collection": collection_name(live_alias, model_id, t0),
        "live_alias": live_alias,
        "next_alias": f"{live_alias}__next",
        "t0": t0.astimezone(timezone.utc).isoformat(),
        "run_id": run_id, "mode": mode,
        "model_id": model_id, "family": family, "dim": dim, "recipe": recipe,
        "index": index,
        "shards": list(range(n_shards)),
    }


def spec_of(plan: dict) -> CollectionSpec:
    return CollectionSpec(dim=plan["dim"], **plan.get("index", {}))


def create_target(store: VectorStore, plan: dict, spec: CollectionSpec | None = None) -> None:
    """Create the collection (state building) and point `<live>__next` at it.

    A retried task finds its own collection; any other existing collection of
    that name (another run's, or one users are served from) is refused.
    """
    name = plan["collection"]
    if store.exists(name):
        owner = store.metadata(name).get("run_id")
        if owner != plan["run_id"] or store.aliases().get(plan["live_alias"]) == name:
            raise VidvecError(f"{name} already exists (run {owner!r}); refusing to rebuild into it")
    store.create_collection(name, spec or spec_of(plan), metadata={
        "model_id": plan["model_id"], "family": plan["family"], "dim": plan["dim"],
        "recipe": plan["recipe"], "t0": plan["t0"], "run_id": plan["run_id"], "mode": plan["mode"],
        "index": plan["index"], "state": BUILDING,
    })
    store.set_aliases({plan["next_alias"]: name})


def load_shard(catalog: Catalog, store: VectorStore, embedder: Embedder, plan: dict,
               shard: int, batch_size: int = 256) -> dict:
    """Stream one shard of the catalog as of T0 into the new collection (insert-only)."""
    name = plan["collection"]
    check_family(embedder, store.metadata(name)["family"], name)
    t0 = datetime.fromisoformat(plan["t0"])
    n_shards = len(plan["shards"])
    total = catalog.count_shard(shard, n_shards, as_of=t0)
    progress = Progress(f"{plan['mode']} shard {shard}/{n_shards}", total=total, log=log)
    rows = encoded = 0
    # The stored vectors come with the rows (one joined scan, not a lookup per batch).
    for videos, stored in catalog.scan_shard_with_embeddings(shard, n_shards, as_of=t0, model_id=embedder.model_id,
                                                             batch_size=batch_size):
        points, n_encoded = embed_videos(videos, catalog, embedder, plan["recipe"], t0,
                                         encode=plan["mode"] == "reembed", stored=stored)
        store.insert_only(name, points, dim=plan["dim"])
        rows += len(videos)
        encoded += n_encoded
        progress.update(len(videos))
    progress.done()
    return {"shard": shard, "rows": rows, "encoded": encoded, "reused": rows - encoded}


def catch_up(catalog: Catalog, store: VectorStore, embedder: Embedder, plan: dict,
             batch_size: int = 256) -> dict:
    """Replay catalog changes after T0 (any status) with conditional writes and tombstones."""
    t0 = datetime.fromisoformat(plan["t0"])
    progress = Progress("catch-up", total=None, log=log)
    counts = {"written": 0, "tombstoned": 0, "encoded": 0, "reused": 0}
    for videos in catalog.changes_since(t0, batch_size=batch_size):
        done = apply_videos(catalog, store, embedder, plan["collection"], videos, plan["recipe"], t0,
                            encode=plan["mode"] == "reembed")
        counts = {k: counts[k] + done[k] for k in counts}
        progress.update(len(videos))
    progress.done()
    return counts


def finish(catalog: Catalog, store: VectorStore, plan: dict, spec: CollectionSpec | None = None, *,
           ready_timeout_s: float = 600) -> dict:
    """Verify the exact count, build the index, wait until ready, mark the collection ready.

    Leaves `<live>__next` on the collection; the live alias is not touched.
    """
    name = plan["collection"]
    expected = catalog.count()  # after catch-up the collection mirrors the catalog's current state
    actual = store.count(name, public_only=True)
    if actual != expected:
        store.update_metadata(name, state=FAILED)
        raise VidvecError(f"{name} holds {actual} public points, the catalog {expected} public videos")
    store.build_index(name, spec or spec_of(plan))
    store.wait_ready(name, timeout_s=ready_timeout_s)
    store.update_metadata(name, state=READY)
    index = store.index_state(name)
    log.info("%s ready: %s, %s of %s vectors indexed", name, index.describe(), index.indexed_vectors, index.points)
    return {"collection": name, "points": actual, "engine": index.describe()}


def mark_failed(store: VectorStore, plan: dict) -> bool:
    """After a run failed for good: flag its half-built collection for cleanup (never a live one)."""
    name = plan["collection"]
    if not store.exists(name) or store.aliases().get(plan["live_alias"]) == name:
        return False
    if store.metadata(name).get("run_id") != plan["run_id"]:
        return False
    store.update_metadata(name, state=FAILED)
    return True
