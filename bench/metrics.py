"""Retrieval quality maths over L2-normalised vectors (exact, blockwise matrix products).

Category precision@k, the figure quoted in BENCHMARKS.md, is defined once in
include/vidvec/core/quality.py (`vidvec compare` uses the same definition).
"""

from __future__ import annotations

import numpy as np

from vidvec.core.quality import category_precision, top_k_other_owner

__all__ = ["category_precision", "top_k_other_owner", "top1_accuracy"]
_BLOCK = 1024


def top1_accuracy(source: np.ndarray, target: np.ndarray) -> float:
    """Share of rows i of source whose nearest row of target is row i (parallel sentences)."""
    hits = 0
    for start in range(0, len(source), _BLOCK):
        best = np.argmax(source[start:start + _BLOCK] @ target.T, axis=1)
        hits += int((best == np.arange(start, start + len(best))).sum())
    return hits / len(source)
