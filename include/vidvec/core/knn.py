"""Exact top-k by inner product over chunks, in bounded memory (pure numpy).

Memory is one (queries x chunk) score block plus (queries x k) running
results, whatever the number of vectors. Per chunk, one matrix product; then a
cheap compare against each query's current k-th best score keeps only the few
candidates that can still enter, and argpartition merges those: once the
running top-k has warmed up, almost nothing passes the compare, so the cost
stays close to the matrix product's (bench/audit_knn.py measures it).
"""

from __future__ import annotations

import numpy as np

from vidvec.errors import VidvecError


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
        self._buffer: np.ndarray | None = None
        self.seen = 0

    def push(self, vectors: np.ndarray, ids: np.ndarray | None = None) -> None:
        """Fold one chunk in; ids default to running row numbers over all chunks."""
        n_vec = len(vectors)
        if n_vec == 0:
            return
        ids = np.arange(self.seen, self.seen + n_vec) if ids is None else np.asarray(ids, dtype=np.int64)
        self.seen += n_vec
        block = self._block(n_vec)
        np.matmul(self.queries, np.asarray(vectors, dtype=np.float32).T, out=block)
        self._merge(block, ids)

    def _block(self, n_vec: int) -> np.ndarray:
        # one reused score buffer: chunks of equal size never allocate again
        if self._buffer is None or self._buffer.shape[1] < n_vec:
            self._buffer = np.empty((len(self.queries), n_vec), dtype=np.float32)
        return self._buffer[:, :n_vec]

    def _merge(self, block: np.ndarray, ids: np.ndarray) -> None:
        mask = block > self.scores.min(axis=1, keepdims=True)  # can still enter the top-k
        n_cand = int(np.count_nonzero(mask))
        if n_cand == 0:
            return
        if n_cand > 4 * self.k * len(block):  # early chunks: most pass, take each row's top-k
            width = min(self.k, block.shape[1])
            part = np.argpartition(-block, width - 1, axis=1)[:, :width]
            cand_s, cand_i = np.take_along_axis(block, part, axis=1), ids[part]
        else:  # warmed up: a few candidates per row, side by side, padded with -inf
            rows, cols = np.nonzero(mask)
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
