"""Apply catalog rows to one physical collection: the one write path for changes.

The rebuild's catch-up and the streaming sidecar both call `apply_videos`, so a
video changed while a rebuild runs is written by the same code either way:

- public -> its vector (a stored one when the text hash and model are
  unchanged, else the encoder's) and payload, written with `write_if_newer`;
- private / deleted -> a tombstone (status + updated_at) through the same
  conditional write, so an older, late update can never resurrect it.

Every write is conditional on the video's version (core/versions.py: a newer
updated_at, or at the same one a tombstone over a public point), so applying
the same rows twice, or out of order, converges to the newest version of each
video. The counts say what the store really wrote (`written` public points,
`tombstoned`), and `skipped` what it did not (not newer than what was there).

`apply_videos` = `plan_videos` (catalog reads), the encoder, `finish_embeddings`
(stores new vectors, builds points) and `write_prepared` (store). The sidecar
calls these steps itself, so the encoder works on one batch while the previous
one is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from vidvec.catalog.base import Catalog, StoredEmbedding
from vidvec.core.points import payload, tombstone
from vidvec.core.recipe import build_text, get_recipe, text_hash
from vidvec.core.types import PointToWrite, Video, to_micros
from vidvec.core.versions import Version, supersedes
from vidvec.embed.base import Embedder, check_family
from vidvec.errors import VidvecError
from vidvec.store import VectorStore


@dataclass
class Prepared:
    """What `write_prepared` writes: points (vectors and tombstones); counts of the vectors (encoded, reused)."""

    points: list[PointToWrite]
    counts: dict


@dataclass(frozen=True)
class Applied:
    """What one collection really got: the video ids written, and counts (written, tombstoned, skipped, ...)."""

    written_ids: frozenset[str]
    counts: dict


@dataclass
class Plan:
    """One collection's share of a batch before the encoder: texts, reusable vectors, what to encode."""

    recipe: str
    max_tokens: int | None  # the recipe's token budget: pass it to the encoder
    videos: list[Video]  # public, the newest version of each
    stones: list[PointToWrite]  # private / deleted: tombstones, no vector
    texts: list[str]
    hashes: list[str]
    vectors: dict[int, np.ndarray]  # index in videos -> a stored vector still valid for its text
    todo: list[int]  # indexes in videos still to encode


def plan_embeddings(videos: list[Video], catalog: Catalog, embedder: Embedder, recipe: str,
                    *, encode: bool = True, stones: list[PointToWrite] | None = None,
                    stored: dict[tuple[str, str], StoredEmbedding] | None = None) -> Plan:
    """Texts and the stored vectors of exactly these texts by this model (catalog reads only).

    `stored`: the videos' stored embeddings by (video_id, text_hash) when the
    caller read them already (a shard scan joins them); else the vector of each
    video's text is looked up. Another recipe's vector of the same video is
    never taken for this one's. With encode=False (reindex) a video without a
    matching stored vector is an error: reindex promises not to run the encoder.
    """
    spec = get_recipe(recipe)
    texts = [build_text(v, spec) for v in videos]
    hashes = [text_hash(t, spec) for t in texts]
    if stored is None:
        found = catalog.get_embeddings([v.video_id for v in videos], embedder.model_id, hashes)
        stored = {e.key: e for e in found.values()}
    vectors: dict[int, np.ndarray] = {i: stored[(v.video_id, hashes[i])].vector for i, v in enumerate(videos)
                                      if (v.video_id, hashes[i]) in stored}
    todo = [i for i in range(len(videos)) if i not in vectors]
    if todo and not encode:
        sample = ", ".join(videos[i].video_id for i in todo[:5])
        raise VidvecError(
            f"reindex: {len(todo)} of {len(videos)} videos have no stored {embedder.model_id!r} vector "
            f"for their current recipe {recipe!r} text (e.g. {sample}); run mode=reembed")
    return Plan(recipe, spec.max_tokens, videos, stones or [], texts, hashes, vectors, todo)


def encode_plan(plan: Plan, embedder: Embedder):
    """The encoder on the plan's texts still to encode, within the recipe's token budget.

    Nothing to encode never reaches the encoder (a reindex promises not to call it).
    """
    if not plan.todo:
        return []
    return embedder.encode([plan.texts[i] for i in plan.todo], max_tokens=plan.max_tokens)


def finish_embeddings(plan: Plan, fresh, catalog: Catalog, embedder: Embedder, now: datetime) -> Prepared:
    """Store the fresh vectors (one per plan.todo, in order; embedded_at = now) and build the points."""
    vectors = dict(plan.vectors)
    vectors.update(zip(plan.todo, fresh, strict=True))
    videos, hashes = plan.videos, plan.hashes
    if plan.todo:
        catalog.put_embeddings(StoredEmbedding(
            videos[i].video_id, embedder.model_id, hashes[i], vectors[i], videos[i].updated_at, now)
            for i in plan.todo)
    points = [PointToWrite(v.video_id, vectors[i].tolist(), payload(v, embedder.model_id, hashes[i]))
              for i, v in enumerate(videos)]
    return Prepared(points + plan.stones, {"encoded": len(plan.todo), "reused": len(points) - len(plan.todo)})


def embed_videos(videos: list[Video], catalog: Catalog, embedder: Embedder, recipe: str,
                 now: datetime, *, encode: bool = True,
                 stored: dict[tuple[str, str], StoredEmbedding] | None = None) -> tuple[list[PointToWrite], int]:
    """Points for videos, reusing stored vectors whose text hash and model are unchanged.

    New vectors are stored in `video_embeddings` (embedded_at = now). With
    encode=False (reindex) a video without a matching stored vector is an
    error: reindex promises not to run the encoder. Returns (points, texts encoded).
    """
    plan = plan_embeddings(videos, catalog, embedder, recipe, encode=encode, stored=stored)
    prepared = finish_embeddings(plan, encode_plan(plan, embedder), catalog, embedder, now)
    return prepared.points, len(plan.todo)


def latest_versions(videos: list[Video]) -> list[Video]:
    """One row per video, by the one write rule (core/versions.py): newest, and at one version a tombstone."""
    latest: dict[str, Video] = {}
    for v in videos:
        if v.video_id not in latest or supersedes(Version.of_video(v), Version.of_video(latest[v.video_id])):
            latest[v.video_id] = v
    return list(latest.values())


def plan_videos(catalog: Catalog, embedder: Embedder, videos: list[Video], recipe: str,
                *, encode: bool = True) -> Plan:
    """Newest versions; tombstones for the non-public; texts and reusable vectors for the rest."""
    videos = latest_versions(videos)
    stones = [tombstone(v.video_id, v.status, to_micros(v.updated_at)) for v in videos if v.status != "public"]
    return plan_embeddings([v for v in videos if v.status == "public"], catalog, embedder, recipe,
                           encode=encode, stones=stones)


def prepare_videos(catalog: Catalog, embedder: Embedder, videos: list[Video], recipe: str, now: datetime,
                   *, encode: bool = True) -> Prepared:
    """Everything before the store (catalog and encoder, never the store): plan, encode, finish."""
    plan = plan_videos(catalog, embedder, videos, recipe, encode=encode)
    return finish_embeddings(plan, encode_plan(plan, embedder), catalog, embedder, now)


def write_prepared(store: VectorStore, collection: str, prepared: Prepared, dim: int) -> Applied:
    """The conditional writes (wait=True), and what they really did: {"written", "tombstoned", "skipped"}."""
    done = store.write_if_newer(collection, prepared.points, dim=dim)
    stones = sum(p.video_id in done and p.payload["status"] != "public" for p in prepared.points)
    return Applied(frozenset(done), {"written": len(done) - stones, "tombstoned": stones,
                                     "skipped": len(prepared.points) - len(done)})


def apply_videos(catalog: Catalog, store: VectorStore, embedder: Embedder, collection: str,
                 videos: list[Video], recipe: str, now: datetime, *, encode: bool = True) -> Applied:
    """Write each video's current state into `collection` where it supersedes what is there.

    Refuses a collection of another vector-space family. Counts: written,
    tombstoned, skipped (what the store really did), encoded, reused.
    """
    check_family(embedder, store.metadata(collection).get("family", "<unknown>"), collection)
    prepared = prepare_videos(catalog, embedder, videos, recipe, now, encode=encode)
    applied = write_prepared(store, collection, prepared, embedder.dim)
    return Applied(applied.written_ids, applied.counts | prepared.counts)
