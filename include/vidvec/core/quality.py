"""Retrieval quality: category precision@k (the benchmarks' figure) and the overlap of two top-k lists.

Category precision@k: for each query video q, take its k nearest neighbours by
cosine among the videos of OTHER channels (owner_id != owner_id(q); q itself
is excluded with its channel); precision(q) = (number of those k whose
category == category(q)) / k. The catalog figure is the mean over all
queries. Same-channel videos are left out because a channel's uploads share a
category and near-identical wording, which would reward copying the channel
rather than finding the topic. bench/ computes it exactly over matrices
(`top_k_other_owner`, `category_precision`); `vidvec compare` over what a
collection serves (`served_precision`: a store query with other_owners=True).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_BLOCK = 1024


def top_k_other_owner(vectors: np.ndarray, owners: Sequence[str], k: int,
                      queries: Sequence[int] | None = None) -> np.ndarray:
    """(len(queries), k) indices of each query's k nearest videos from other owners, best first."""
    owners_arr = np.asarray(owners)
    rows = np.arange(len(vectors)) if queries is None else np.asarray(queries)
    out = np.empty((len(rows), k), dtype=np.int64)
    for start in range(0, len(rows), _BLOCK):
        q = rows[start:start + _BLOCK]
        scores = vectors[q] @ vectors.T
        scores[owners_arr[q][:, None] == owners_arr[None, :]] = -np.inf  # own channel, and itself
        part = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
        out[start:start + len(q)] = np.take_along_axis(part, order, axis=1)
    return out


def category_precision(neighbours: np.ndarray, categories: Sequence[str],
                       queries: Sequence[int] | None = None) -> float:
    """Mean share of each query's neighbours (rows of indices) that share its category."""
    cats = np.asarray(categories)
    rows = np.arange(len(neighbours)) if queries is None else np.asarray(queries)
    return float((cats[neighbours] == cats[rows][:, None]).mean())


def served_precision(category: str | None, neighbour_categories: Sequence[str | None], k: int) -> float:
    """One query's precision@k over the neighbours a collection served (fewer than k count as misses)."""
    return sum(c == category for c in neighbour_categories[:k]) / k


def overlap(a: Sequence[str], b: Sequence[str], k: int) -> float:
    """|top-k of a ∩ top-k of b| / k: 1.0 when two spaces serve the same neighbours (in any order)."""
    return len(set(a[:k]) & set(b[:k])) / k
