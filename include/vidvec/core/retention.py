"""Which physical collections to drop (pure).

A collection is protected, whatever its name or age, when it carries any alias
(live, `__next`, A/B), is the recorded rollback target of an alias (the newest
promotion's `previous`), is being built (metadata state `building`), or cannot
be dated: only names vidvec made (`<base>__<model>__<stamp>`) have a trusted
age, so a collection named otherwise is never dropped automatically (drop it
by hand if it is yours).

The rest are grouped by base name; within a group the newest `keep_newest`
collections that are not `failed` are kept, and of the others, those at least
`min_age_days` old are dropped. A failed build never counts towards the newest
N (it is no rollback target), but it too waits out the minimum age.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from vidvec.core.naming import parse_collection_name
from vidvec.core.types import BUILDING, FAILED
from vidvec.errors import VidvecError

KEEP_REASONS = ("alias", "rollback", "building", "undated", "newest", "young")


@dataclass(frozen=True)
class Candidate:
    """What retention needs to know about one physical collection."""

    name: str
    aliases: tuple[str, ...] = ()
    state: str | None = None  # metadata state: building | ready | failed
    points: int = 0


@dataclass(frozen=True)
class Decision:
    name: str
    drop: bool
    reason: str  # one of KEEP_REASONS, or "expired" for a drop
    stamp: datetime | None = None
    points: int = 0


def plan_retention(collections: list[Candidate], rollback_targets: set[str], now: datetime,
                   keep_newest: int, min_age_days: float) -> list[Decision]:
    """One decision per collection, sorted by name."""
    if now.tzinfo is None:
        raise VidvecError("retention needs a timezone-aware now")
    if not (isinstance(keep_newest, int) and keep_newest >= 1):
        raise VidvecError(f"keep_newest must be an integer >= 1, got {keep_newest!r}")
    if not min_age_days >= 0:
        raise VidvecError(f"min_age_days must be >= 0, got {min_age_days!r}")
    cutoff = now - timedelta(days=min_age_days)
    groups: dict[str, list[tuple[datetime, Candidate]]] = {}
    decisions = []
    for c in collections:
        parsed = parse_collection_name(c.name)
        reason = _protected(c, rollback_targets, parsed is not None)
        if reason:
            decisions.append(Decision(c.name, False, reason, parsed[2] if parsed else None, c.points))
        if parsed:  # protected ones still count towards the newest N of their group
            groups.setdefault(parsed[0], []).append((parsed[2], c))
    decided = {d.name for d in decisions}
    for members in groups.values():
        members.sort(key=lambda sc: (sc[0], sc[1].name), reverse=True)
        newest = {c.name for _, c in [sc for sc in members if sc[1].state != FAILED][:keep_newest]}
        for stamp, c in members:
            if c.name in decided:
                continue
            if c.name in newest:
                decisions.append(Decision(c.name, False, "newest", stamp, c.points))
            elif stamp > cutoff:
                decisions.append(Decision(c.name, False, "young", stamp, c.points))
            else:
                decisions.append(Decision(c.name, True, "expired", stamp, c.points))
    return sorted(decisions, key=lambda d: d.name)


def _protected(c: Candidate, rollback_targets: set[str], dated: bool) -> str | None:
    if c.aliases:
        return "alias"
    if c.name in rollback_targets:
        return "rollback"
    if c.state == BUILDING:
        return "building"
    if not dated:
        return "undated"
    return None


def rollback_targets(promotions: Iterable[Any]) -> set[str]:  # catalog.base.Promotion
    """The newest promotion's `previous` for every alias (promotions newest first)."""
    seen: dict[str, str | None] = {}
    for p in sorted(promotions, key=lambda p: p.promoted_at, reverse=True):
        seen.setdefault(p.alias, p.previous)
    return {prev for prev in seen.values() if prev}


class AliasMove(Protocol):
    """What the window reads of a recorded promotion (catalog.base.Promotion has these)."""

    alias: str
    previous: str | None
    promoted_at: datetime


def rollback_window(promotions: Iterable[AliasMove], now: datetime, hours: float) -> dict[str, str]:
    """Collections still kept fresh as a rollback target: collection -> the alias that left it.

    For each alias, its newest move's `previous`, while that move is younger
    than `hours` (0 = no window: the old collection stops being written at the
    swap). After a rollback the newest move is the rollback itself, so the
    collection rolled away from is the one kept fresh for the window.
    """
    if now.tzinfo is None:
        raise VidvecError("the rollback window needs a timezone-aware now")
    newest: dict[str, AliasMove] = {}
    for p in sorted(promotions, key=lambda p: p.promoted_at, reverse=True):
        newest.setdefault(p.alias, p)
    since = now - timedelta(hours=hours)
    return {p.previous: alias for alias, p in sorted(newest.items())
            if p.previous and hours > 0 and p.promoted_at >= since}
