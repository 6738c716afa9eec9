"""The nightly rebuild, step by step; the DAG calls these one task each.

plan -> create (collection + next alias) -> load shards -> finish. Every step
is safe to retry: names and ids are deterministic, bulk writes are insert-only.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import numpy as np

from vidvec.catalog.base import Catalog, StoredEmbedding
from vidvec.core.naming import collection_name
from vidvec.core.points import payload
from vidvec.core.recipe import build_text, get_recipe, text_hash
from vidvec.core.types import PointToWrite, Video
from vidvec.embed.base import Embedder, check_family
from vidvec.errors import VidvecError
from vidvec.progress import Progress
from vidvec.store.qdrant import CollectionSpec, VectorStore

log = logging.getLogger(__name__)


def plan_rebuild(*, live_alias: str, t0: datetime, run_id: str, model_id: str, family: str,
                 dim: int, n_shards: int, recipe: str) -> dict:
    """A JSON-safe plan; t0 is the run's logical time, never now()."""
    if t0.tzinfo is None:
        raise VidvecError("t0 must be timezone-aware")
    if not 1 <= n_shards <= 256:
        raise VidvecError(f"shards must be in 1..256, got {n_shards}")
    get_recipe(recipe)
    return {
        "collection": collection_name(live_alias, model_id, t0),
        "live_alias": live_alias,
        "next_alias": f"{live_alias}__next",
        "t0": t0.astimezone(timezone.utc).isoformat(),
        "run_id": run_id,
        "model_id": model_id,
        "family": family,
        "dim": dim,
        "recipe": recipe,
        "shards": list(range(n_shards)),
    }


def create_target(store: VectorStore, plan: dict, spec: CollectionSpec) -> None:
    store.create_collection(plan["collection"], spec, metadata={
        "model_id": plan["model_id"], "family": plan["family"], "dim": plan["dim"],
        "recipe": plan["recipe"], "t0": plan["t0"], "run_id": plan["run_id"], "state": "building",
    })
    store.set_aliases({plan["next_alias"]: plan["collection"]})


def embed_videos(videos: list[Video], catalog: Catalog, embedder: Embedder,
                 recipe: str, now: datetime) -> tuple[list[PointToWrite], int]:
    """Points for videos, reusing stored vectors whose text and model are unchanged.

    Returns (points, number of texts encoded).
    """
    spec = get_recipe(recipe)
    texts = [build_text(v, spec) for v in videos]
    hashes = [text_hash(t, spec) for t in texts]
    stored = catalog.get_embeddings([v.video_id for v in videos], embedder.model_id)
    vectors: dict[int, np.ndarray] = {i: stored[v.video_id].vector for i, v in enumerate(videos)
                                      if v.video_id in stored and stored[v.video_id].text_hash == hashes[i]}
    todo = [i for i in range(len(videos)) if i not in vectors]
    if todo:
        fresh = embedder.encode([texts[i] for i in todo], max_tokens=spec.max_tokens)
        vectors.update(zip(todo, fresh, strict=True))
        catalog.put_embeddings(StoredEmbedding(
            videos[i].video_id, embedder.model_id, hashes[i], vectors[i], videos[i].updated_at, now)
            for i in todo)
    points = [PointToWrite(v.video_id, vectors[i].tolist(), payload(v, embedder.model_id, hashes[i]))
              for i, v in enumerate(videos)]
    return points, len(todo)


def load_shard(catalog: Catalog, store: VectorStore, embedder: Embedder, plan: dict,
               shard: int, batch_size: int = 256) -> dict:
    """Stream one shard of the catalog as of T0 into the new collection."""
    name = plan["collection"]
    check_family(embedder, store.metadata(name)["family"], name)
    t0 = datetime.fromisoformat(plan["t0"])
    n_shards = len(plan["shards"])
    progress = Progress(f"shard {shard}/{n_shards}", total=None, log=log)
    rows = encoded = 0
    for videos in catalog.scan_shard(shard, n_shards, as_of=t0, batch_size=batch_size):
        points, n_encoded = embed_videos(videos, catalog, embedder, plan["recipe"], t0)
        store.insert_only(name, points, dim=plan["dim"])
        rows += len(videos)
        encoded += n_encoded
        progress.update(len(videos))
    progress.done()
    return {"shard": shard, "rows": rows, "encoded": encoded}


def finish(catalog: Catalog, store: VectorStore, plan: dict, spec: CollectionSpec) -> dict:
    """Verify the exact count, build the index, mark ready, swap the live alias."""
    name = plan["collection"]
    expected = catalog.count(as_of=datetime.fromisoformat(plan["t0"]))
    actual = store.count(name, public_only=True)
    if actual != expected:
        store.update_metadata(name, state="failed")
        raise VidvecError(f"{name} holds {actual} public points, the catalog {expected} as of T0")
    store.build_index(name, spec)
    store.update_metadata(name, state="ready")
    previous = store.set_aliases({plan["live_alias"]: name, plan["next_alias"]: None})
    return {"collection": name, "points": actual, "previous": previous.get(plan["live_alias"])}
