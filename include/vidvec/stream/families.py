"""One embedder per vector-space family in the sidecar process, made when a target first needs it.

Each target is written with the embedder of the family its collection
recorded (embed/registry.embedder_for): `videos` on MUSE and `videos__next`
on e5 are two families, two embedders, loaded once each for the life of the
process. A family no installed embedder makes raises `NoEmbedder`, which the
sidecar turns into an unwritable target (stream/degraded.py), never a stop.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import ExitStack
from typing import TYPE_CHECKING

from vidvec.embed.base import Embedder
from vidvec.embed.registry import NoEmbedder, embedder_for
from vidvec.stream.encoding import sidecar_encoder

if TYPE_CHECKING:
    from vidvec.config import Settings
    from vidvec.stream.targets import Target


class Embedders:
    """settings: where the registry looks (None: only the given embedders); given: preloaded (tests, benches),
    used as they are. An embedder made here encodes on `cores` worker processes (0: every core) whose
    lifetime is `stack`'s (the sidecar's); without a stack it encodes in this process."""

    def __init__(self, settings: Settings | None, given: Iterable[Embedder] = (), cores: int = 0,
                 stack: ExitStack | None = None):
        self.settings, self.cores, self.stack = settings, cores, stack
        self._by_family: dict[str, Embedder] = {e.family: e for e in given}

    def for_target(self, target: Target) -> Embedder:
        """The embedder of the target's family (made once); NoEmbedder when none is installed."""
        found = self._by_family.get(target.family)
        if found is None:
            if self.settings is None:
                raise NoEmbedder(f"no embedder makes {target.family!r} vectors in this process "
                                 f"(given: {', '.join(self._by_family) or 'none'})")
            found = embedder_for(target.family, target.model_id or None, self.settings)
            if self.stack is not None:
                found = self.stack.enter_context(sidecar_encoder(found, self.cores))
            self._by_family[target.family] = found
        return found

    @property
    def loaded(self) -> dict[str, Embedder]:
        return dict(self._by_family)
