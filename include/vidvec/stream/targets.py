"""The physical collections behind the sidecar's aliases, refreshed periodically.

The sidecar writes collections, never aliases. It feeds:
- its aliases (default: the live alias and `<live>__next`), and, when no list
  is configured, every alias a promotion was recorded for (A/B aliases such
  as `videos_b`) and that alias's `__next`;
- the rollback target of each of those aliases while its newest promotion is
  younger than the rollback window (core/retention.rollback_window), so a
  rollback restores a fresh space.
During a rebuild `videos` and `videos__next` resolve to two targets; after a
promotion the map is refreshed and the collection the alias left stays a
target for the window. Each target carries the model, family, dimension and
recipe recorded in its metadata: the sidecar writes it in that family.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from vidvec.catalog.base import Promotion
from vidvec.core.naming import next_alias
from vidvec.core.retention import rollback_window
from vidvec.core.types import STREAM_GAP_KEY
from vidvec.errors import VidvecError
from vidvec.store import VectorStore

GAP_KEY = STREAM_GAP_KEY

@dataclass(frozen=True)
class Target:
    collection: str
    aliases: tuple[str, ...]
    model_id: str
    family: str
    dim: int
    recipe: str
    rollback_of: tuple[str, ...] = ()  # aliases that left this collection within the window
    gap_since: str = ""  # events missed since this version (stream/degraded.py); "" = none

    @property
    def label(self) -> str:
        """How logs, /readyz and metrics name it: its aliases, else `<alias>@rollback`."""
        return ",".join(self.aliases) or ",".join(f"{a}@rollback" for a in self.rollback_of)


class TargetMap:
    """aliases: fed always; promotions (a callable, e.g. catalog.promotions) adds promoted aliases
    (when follow_promoted) and the rollback targets within window_hours."""

    def __init__(self, store: VectorStore, aliases: tuple[str, ...], refresh_seconds: float, *,
                 promotions: Callable[[], list] | None = None, window_hours: float = 0.0,
                 follow_promoted: bool = False, now: Callable[[], datetime] | None = None):
        self.store = store
        self.aliases = aliases
        self.refresh_seconds = refresh_seconds
        self.promotions, self.window_hours, self.follow_promoted = promotions, window_hours, follow_promoted
        self.now = now or (lambda: datetime.now(timezone.utc))
        self._targets: list[Target] | None = None
        self._at = 0.0
        self._aliases: dict[str, str] | None = None  # the alias map of the last refresh
        self._history: list = []  # promotions as last read: re-read only when the alias map changed
        self._seen_moves: list[Promotion] = []  # alias moves this process saw itself (see refresh)

    def get(self) -> list[Target]:
        if self._targets is None or time.monotonic() - self._at >= self.refresh_seconds:
            self.refresh()
        return self._targets

    @property
    def current(self) -> list[Target]:
        """The last resolved targets, without refreshing (safe to read from another thread)."""
        return list(self._targets or [])

    def invalidate(self) -> None:
        self._targets = None

    def refresh(self) -> list[Target]:
        """Every move changes the alias map, so promotions are re-read only when it changed. A move seen
        here counts at once, before (or without) its promotion record: promote() moves the alias, then
        records it, and a refresh in between must not drop the collection the alias left."""
        by_alias = self.store.aliases()
        if by_alias != self._aliases:
            now = self.now()
            self._seen_moves += [Promotion(a, c, self._aliases[a], now, "seen by the sidecar")
                                 for a, c in by_alias.items() if self._aliases and self._aliases.get(a, c) != c]
            self._history = self.promotions() if self.promotions else []
            self._aliases = by_alias
        history = self._history + self._seen_moves
        fed = list(self.aliases)
        if self.follow_promoted:
            fed += [a for p in history for a in (p.alias, next_alias(p.alias))]
        grouped: dict[str, list[str]] = {}
        for alias in dict.fromkeys(fed):
            if alias in by_alias:
                grouped.setdefault(by_alias[alias], []).append(alias)
        fed_set = set(fed)
        left = {}  # collection -> aliases that left it within the window (and that this sidecar feeds)
        for collection, alias in rollback_window(history, self.now(), self.window_hours).items():
            if alias in fed_set and self.store.exists(collection):
                left.setdefault(collection, []).append(alias)
        names = sorted(set(grouped) | set(left))
        self._targets = [self._target(n, tuple(grouped.get(n, ())), tuple(left.get(n, ()))) for n in names]
        self._at = time.monotonic()
        return self._targets

    def _target(self, name: str, aliases: tuple[str, ...], rollback_of: tuple[str, ...]) -> Target:
        meta = self.store.metadata(name)
        missing = [k for k in ("family", "dim", "recipe") if k not in meta]
        if missing:
            raise VidvecError(f"collection {name} (behind {', '.join(aliases or rollback_of)}) lacks metadata "
                              f"{', '.join(missing)}: it was not made by vidvec")
        return Target(name, aliases, str(meta.get("model_id", "")), str(meta["family"]),
                      int(meta["dim"]), str(meta["recipe"]), rollback_of, str(meta.get(GAP_KEY) or ""))
