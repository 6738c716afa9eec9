"""The physical collections behind the sidecar's aliases, refreshed periodically.

The sidecar writes collections, never aliases: during a rebuild both `videos`
and `videos__next` resolve (two targets); after a promotion the map is
refreshed and the old collection is no longer written. Each target carries the
model family, dimension and recipe recorded in its metadata.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from vidvec.errors import VidvecError
from vidvec.store import VectorStore


@dataclass(frozen=True)
class Target:
    collection: str
    aliases: tuple[str, ...]
    model_id: str
    family: str
    dim: int
    recipe: str


class TargetMap:
    def __init__(self, store: VectorStore, aliases: tuple[str, ...], refresh_seconds: float):
        self.store = store
        self.aliases = aliases
        self.refresh_seconds = refresh_seconds
        self._targets: list[Target] | None = None
        self._at = 0.0

    def get(self) -> list[Target]:
        if self._targets is None or time.monotonic() - self._at >= self.refresh_seconds:
            self.refresh()
        return self._targets

    def invalidate(self) -> None:
        self._targets = None

    def refresh(self) -> list[Target]:
        by_alias = self.store.aliases()
        grouped: dict[str, list[str]] = {}
        for alias in self.aliases:
            if alias in by_alias:
                grouped.setdefault(by_alias[alias], []).append(alias)
        self._targets = [self._target(name, tuple(aliases)) for name, aliases in sorted(grouped.items())]
        self._at = time.monotonic()
        return self._targets

    def _target(self, name: str, aliases: tuple[str, ...]) -> Target:
        meta = self.store.metadata(name)
        missing = [k for k in ("family", "dim", "recipe") if k not in meta]
        if missing:
            raise VidvecError(f"collection {name} (behind {', '.join(aliases)}) lacks metadata "
                              f"{', '.join(missing)}: it was not made by vidvec")
        return Target(name, aliases, str(meta.get("model_id", "")), str(meta["family"]),
                      int(meta["dim"]), str(meta["recipe"]))
