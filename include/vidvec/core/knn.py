"""Exact top-k by inner product over chunks, in bounded memory (pure numpy).

Memory is one score block (at most 128 MB) plus (queries x k) running
results, whatever the number of vectors. Per block, one matrix product; then a
compare against a floor for each query's k-th best (its running k-th best, or
while warming up the k-th best of the block's first columns) keeps only the
few candidates that can still enter, and argpartition merges those. Almost
nothing passes the compare, so the cost stays close to the matrix product's
(bench/audit_knn.py measures it).
"""

from __future__ import annotations

import numpy as np

from vidvec.errors import VidvecError

BLOCK_SCORES = 1 << 25  # scores per matrix product (128 MB of float32): large products run fastest
PROBE = 2048  # columns whose k-th best seeds the threshold while warming up


class RunningTopK:
    def __init__(self, queries: np.ndarray, k: int):
        if queries.ndim != 2:
            raise VidvecError("queries must be a 2-d array")
        if k < 1:
            raise VidvecError(f"k must be >= 1, got {k}")
        self.queries = np.ascontiguousarray(queries, dtype=np.float32)
        self.k = k
        n = len(self.queries)
        self.scores = np.full((n, k), -np.inf, dtype=np.float32)
        self.ids = np.full((n, k), -1, dtype=np.int64)
        self._buffer = np.empty((n, 0), dtype=np.float32)  # grown by _block
        self._mask = np.empty((n, 0), dtype=bool)
        self.seen = 0

    def push(self, vectors: np.ndarray, ids: np.ndarray | None = None) -> None:
        """Fold one chunk in; ids default to running row numbers over all chunks."""
        n_vec = len(vectors)
        if n_vec == 0:
            return
        ids = np.arange(self.seen, self.seen + n_vec) if ids is None else np.asarray(ids, dtype=np.int64)
        self.seen += n_vec
        vectors = np.asarray(vectors, dtype=np.float32)
        step = min(max(BLOCK_SCORES // len(self.queries), 1024), 1 << 17)
        for start in range(0, n_vec, step):
            part = vectors[start:start + step]
            block = self._block(len(part))
            np.matmul(self.queries, part.T, out=block)
            self._merge(block, ids[start:start + step])

    def _block(self, n_vec: int) -> np.ndarray:
        # one reused score buffer and mask: equal sub-blocks never allocate again
        if self._buffer.shape[1] < n_vec:
            self._buffer = np.empty((len(self.queries), n_vec), dtype=np.float32)
            self._mask = np.empty((len(self.queries), n_vec), dtype=bool)
        return self._buffer[:, :n_vec]

    def _floor(self, block: np.ndarray) -> np.ndarray:
        """Per query, a score the final k-th best cannot be below."""
        floor = self.scores.min(axis=1)  # the running k-th best (-inf until k were seen)
        width = min(block.shape[1], PROBE)
        if width >= self.k and not np.isfinite(floor).all():
            # warming up: the k-th best of a few columns is already a lower bound
            probe = np.partition(block[:, :width], width - self.k, axis=1)[:, width - self.k]
            floor = np.maximum(floor, probe)
        return floor

    def _merge(self, block: np.ndarray, ids: np.ndarray) -> None:
        mask = np.greater_equal(block, self._floor(block)[:, None], out=self._mask[:, :block.shape[1]])
        if not mask.any():
            return
        rows, cols = np.divmod(np.flatnonzero(mask), block.shape[1])  # 1-d: several times faster
        # each query's few candidates side by side, padded with -inf
        counts = np.bincount(rows, minlength=len(block))
        pos = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
        cand_s = np.full((len(block), int(counts.max())), -np.inf, dtype=np.float32)
        cand_i = np.full(cand_s.shape, -1, dtype=np.int64)
        cand_s[rows, pos] = block[rows, cols]
        cand_i[rows, pos] = ids[cols]
        all_s = np.concatenate([self.scores, cand_s], axis=1)
        all_i = np.concatenate([self.ids, cand_i], axis=1)
        top = np.argpartition(-all_s, self.k - 1, axis=1)[:, :self.k]
        self.scores = np.take_along_axis(all_s, top, axis=1)
        self.ids = np.take_along_axis(all_i, top, axis=1)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (queries x k), best first; id -1 where fewer than k were seen."""
        order = np.argsort(-self.scores, axis=1, kind="stable")
        return np.take_along_axis(self.scores, order, axis=1), np.take_along_axis(self.ids, order, axis=1)
