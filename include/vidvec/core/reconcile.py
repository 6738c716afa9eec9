"""What compaction does to each point, given the catalog row and the point (pure).

Both sides are reduced to a `Version`: (status, updated_at in epoch
microseconds). The catalog is the source of truth, but the stream may be
ahead of it, so a point newer than its catalog row is never touched. Every
purge carries a bound: the store deletes the point only if its updated_at is
still <= the bound, so a stream write that lands between plan and purge
survives.

The tombstone window is how long late, out-of-order events may still arrive:
inside it a deleted or private video keeps a tombstone (status + updated_at)
that those events cannot undo; past it the point goes entirely.

| catalog row           | point                          | action                          |
| --------------------- | ------------------------------ | ------------------------------- |
| any                   | newer than the row             | ahead (keep: the stream is newer) |
| public                | missing                        | add                             |
| public                | older                          | repair                          |
| public                | same version                   | keep                            |
| deleted/private, old  | not newer                      | purge (bound: the row's version)  |
| deleted/private, new  | older, or public at same version | hide (tombstone at the row's version) |
| deleted/private, new  | tombstone at the row's version | keep                            |
| deleted/private       | missing                        | nothing                         |
| unknown               | older than the window          | purge (bound: the point's version) |
| unknown               | inside the window              | keep (the catalog may lag the stream) |
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

PUBLIC = "public"


@dataclass(frozen=True)
class Version:
    status: str
    updated_at: int  # epoch microseconds


@dataclass
class Plan:
    """Actions for one batch; counts add up across batches with `merge`."""

    purge: dict[str, int] = field(default_factory=dict)  # video_id -> delete if updated_at <= bound
    purge_reasons: Counter = field(default_factory=Counter)  # deleted | private | tombstone | unknown
    repair: list[str] = field(default_factory=list)
    add: list[str] = field(default_factory=list)
    hide: list[str] = field(default_factory=list)
    kept: Counter = field(default_factory=Counter)  # in_sync | ahead | unknown_recent | tombstone

    def counts(self) -> dict:
        return {"purged": len(self.purge), "purged_by_reason": dict(sorted(self.purge_reasons.items())),
                "repaired": len(self.repair), "added": len(self.add), "hidden": len(self.hide),
                "kept": dict(sorted(self.kept.items()))}


def decide(row: Version | None, point: Version | None, cutoff: int) -> tuple[str, str, int | None]:
    """(action, reason, purge bound) for one video; cutoff = now - window, in microseconds."""
    if point is None:
        return ("add", "missing", None) if row and row.status == PUBLIC else ("none", "absent", None)
    if row is None:
        if point.updated_at < cutoff:
            return "purge", "unknown", point.updated_at
        return "keep", "unknown_recent", None
    if point.updated_at > row.updated_at:
        return "keep", "ahead", None
    if row.status == PUBLIC:
        # Same version but a tombstone: a conditional write cannot replace it; left as is.
        return ("repair", "stale", None) if point.updated_at < row.updated_at else ("keep", "in_sync", None)
    reason = "tombstone" if point.status != PUBLIC else row.status
    if row.updated_at < cutoff:
        return "purge", reason, row.updated_at
    if point.updated_at < row.updated_at:
        return "hide", reason, None
    if point.status == PUBLIC:  # public at the very version the catalog calls non-public
        return "purge", reason, row.updated_at
    return "keep", "tombstone", None


def plan_batch(rows: dict[str, Version], points: dict[str, Version], cutoff: int,
               allow_add: bool = True) -> Plan:
    """Decide for every video in either mapping (rows: the catalog; points: the store)."""
    plan = Plan()
    for video_id in sorted(rows.keys() | points.keys()):
        action, reason, bound = decide(rows.get(video_id), points.get(video_id), cutoff)
        if action == "purge":
            plan.purge[video_id] = bound
            plan.purge_reasons[reason] += 1
        elif action == "add" and allow_add:
            plan.add.append(video_id)
        elif action == "add":
            plan.kept["missing_while_building"] += 1
        elif action in ("repair", "hide"):
            getattr(plan, action).append(video_id)
        elif action == "keep":
            plan.kept[reason] += 1
    return plan


def merge(total: dict, counts: dict) -> dict:
    """Add one batch's counts() into a running total (same shape)."""
    out = dict(total)
    for key, value in counts.items():
        if isinstance(value, dict):
            inner = Counter(out.get(key, {}))
            inner.update(value)
            out[key] = dict(sorted(inner.items()))
        else:
            out[key] = out.get(key, 0) + value
    return out
