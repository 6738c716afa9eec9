"""The audit's ground truth for one collection: each public video's stored vector of its
current text under the collection's recipe, by the collection's model.

`video_embeddings` holds a row per (video, model, text): with two recipes of one
model live side by side (an A/B of recipes) a video has two vectors of one
model, and only the one of its current text under this collection's recipe is
what this collection should serve. The exact kNN reads every row of the model
and keeps those `CurrentTexts` names; a lookup by id asks for the text hash of
each video's current text.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from vidvec.catalog.base import Catalog, StoredEmbedding, fingerprint, scan_all
from vidvec.core.recipe import Recipe, build_text, get_recipe, text_hash
from vidvec.core.types import Video

LEGACY_RECIPE = "v1"  # what a collection made before recipes were recorded was built with


def collection_recipe(metadata: dict) -> Recipe:
    return get_recipe(metadata.get("recipe") or LEGACY_RECIPE)


def current_hash(video: Video, recipe: Recipe) -> str:
    return text_hash(build_text(video, recipe), recipe)


def _key(video_id: str, digest: str) -> int:
    """64 bits of (video, text): the id's fingerprint xor the hash's first 16 hex digits, as a signed int64."""
    value = (fingerprint(video_id) & 0xFFFF_FFFF_FFFF_FFFF) ^ int(digest[:16], 16)
    return value - (1 << 64) if value >= (1 << 63) else value


class CurrentTexts:
    """Every public catalog video's current (video, text hash) under one recipe: 8 bytes a video."""

    def __init__(self, catalog: Catalog, recipe: Recipe, batch_size: int = 1000):
        parts = [np.fromiter((_key(v.video_id, current_hash(v, recipe)) for v in videos if v.status == "public"),
                             dtype=np.int64) for videos in scan_all(catalog, batch_size)]
        self._sorted = np.sort(np.concatenate(parts or [np.empty(0, np.int64)]))

    def __len__(self) -> int:
        return len(self._sorted)

    def holds(self, video_ids: Iterable[str], hashes: Iterable[str]) -> np.ndarray:
        """One bool per row: is it the vector of its video's current text?"""
        keys = np.fromiter((_key(v, h) for v, h in zip(video_ids, hashes, strict=True)), dtype=np.int64)
        if not len(self._sorted):
            return np.zeros(len(keys), dtype=bool)
        at = np.searchsorted(self._sorted, keys).clip(max=len(self._sorted) - 1)
        return self._sorted[at] == keys


def true_embeddings(catalog: Catalog, model_id: str, recipe: Recipe,
                    video_ids: Iterable[str]) -> dict[str, StoredEmbedding]:
    """video_id -> the stored vector of its current text (absent: no such vector, or not in the catalog)."""
    videos = catalog.get_videos(video_ids)
    ids = list(videos)
    return catalog.get_embeddings(ids, model_id, [current_hash(videos[v], recipe) for v in ids])
