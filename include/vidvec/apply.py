"""Apply catalog rows to one physical collection: the one write path for changes.

The rebuild's catch-up and the streaming sidecar both call `apply_videos`, so a
video changed while a rebuild runs is written by the same code either way:

- public -> its vector (a stored one when the text hash and model are
  unchanged, else the encoder's) and payload, written with `write_if_newer`;
- private / deleted -> a tombstone (status + updated_at) through the same
  conditional write, so an older, late update can never resurrect it.

Every write is conditional on updated_at, so applying the same rows twice, or
out of order, converges to the newest version of each video.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from vidvec.catalog.base import Catalog, StoredEmbedding
from vidvec.core.points import payload, tombstone
from vidvec.core.recipe import build_text, get_recipe, text_hash
from vidvec.core.types import PointToWrite, Video, to_micros
from vidvec.embed.base import Embedder, check_family
from vidvec.errors import VidvecError
from vidvec.store.qdrant import VectorStore


def embed_videos(videos: list[Video], catalog: Catalog, embedder: Embedder, recipe: str,
                 now: datetime, *, encode: bool = True) -> tuple[list[PointToWrite], int]:
    """Points for videos, reusing stored vectors whose text hash and model are unchanged.

    New vectors are stored in `video_embeddings` (embedded_at = now). With
    encode=False (reindex) a video without a matching stored vector is an
    error: reindex promises not to run the encoder. Returns (points, texts encoded).
    """
    spec = get_recipe(recipe)
    texts = [build_text(v, spec) for v in videos]
    hashes = [text_hash(t, spec) for t in texts]
    stored = catalog.get_embeddings([v.video_id for v in videos], embedder.model_id)
    vectors: dict[int, np.ndarray] = {i: stored[v.video_id].vector for i, v in enumerate(videos)
                                      if v.video_id in stored and stored[v.video_id].text_hash == hashes[i]}
    todo = [i for i in range(len(videos)) if i not in vectors]
    if todo and not encode:
        sample = ", ".join(videos[i].video_id for i in todo[:5])
        raise VidvecError(
            f"reindex: {len(todo)} of {len(videos)} videos have no stored {embedder.model_id!r} vector "
            f"for their current recipe {recipe!r} text (e.g. {sample}); run mode=reembed")
    if todo:
        fresh = embedder.encode([texts[i] for i in todo], max_tokens=spec.max_tokens)
        vectors.update(zip(todo, fresh, strict=True))
        catalog.put_embeddings(StoredEmbedding(
            videos[i].video_id, embedder.model_id, hashes[i], vectors[i], videos[i].updated_at, now)
            for i in todo)
    points = [PointToWrite(v.video_id, vectors[i].tolist(), payload(v, embedder.model_id, hashes[i]))
              for i, v in enumerate(videos)]
    return points, len(todo)


def latest_versions(videos: list[Video]) -> list[Video]:
    """One row per video: the newest (a batch of events may hold several versions)."""
    latest: dict[str, Video] = {}
    for v in videos:
        if v.video_id not in latest or v.updated_at > latest[v.video_id].updated_at:
            latest[v.video_id] = v
    return list(latest.values())


def apply_videos(catalog: Catalog, store: VectorStore, embedder: Embedder, collection: str,
                 videos: list[Video], recipe: str, now: datetime, *, encode: bool = True) -> dict:
    """Write each video's current state into `collection` if it is newer than what is there.

    Refuses a collection of another vector-space family. Returns counts
    {"written", "tombstoned", "encoded", "reused"}.
    """
    check_family(embedder, store.metadata(collection).get("family", "<unknown>"), collection)
    videos = latest_versions(videos)
    public = [v for v in videos if v.status == "public"]
    points, encoded = embed_videos(public, catalog, embedder, recipe, now, encode=encode)
    stones = [tombstone(v.video_id, v.status, to_micros(v.updated_at)) for v in videos if v.status != "public"]
    store.write_if_newer(collection, points + stones, dim=embedder.dim)
    return {"written": len(points), "tombstoned": len(stones), "encoded": encoded,
            "reused": len(points) - encoded}
