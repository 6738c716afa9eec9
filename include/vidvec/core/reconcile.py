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
| public                | public at the same version     | keep                            |
| public                | tombstone at the same version  | keep (a tombstone wins a tie)   |
| deleted/private, old  | not newer                      | purge (bound: the row's version)  |
| deleted/private, new  | the row's write supersedes it  | hide (tombstone at the row's version) |
| deleted/private, new  | a tombstone it does not supersede | keep                         |
| deleted/private       | missing                        | nothing                         |
| unknown               | older than the window          | purge (bound: the point's version) |
| unknown               | inside the window              | keep (the catalog may lag the stream) |

"Supersedes" is `core/versions.py`'s rule, the one every write path uses: a
newer updated_at, or the same one with a status ranking higher (public <
private < deleted). Points that are not vidvec's (no video_id, an id other
than `point_id(video_id)`, no version) are purged by id whatever they hold
(`foreign`): vidvec never writes them, so no window applies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Set
from dataclasses import dataclass, field

from vidvec.core.ids import at_vidvec_id
from vidvec.core.types import StoredPoint
from vidvec.core.versions import Version, supersedes

PUBLIC = "public"


@dataclass
class Plan:
    """Actions for one batch; counts add up across batches with `merge`."""

    purge: dict[str, int] = field(default_factory=dict)  # video_id -> delete if updated_at <= bound
    purge_reasons: dict[str, str] = field(default_factory=dict)  # video_id -> deleted | private | tombstone | unknown
    foreign: dict = field(default_factory=dict)  # raw point id -> the video_id it names ("" if none): delete by id
    repair: list[str] = field(default_factory=list)
    add: list[str] = field(default_factory=list)
    hide: list[str] = field(default_factory=list)
    kept: Counter = field(default_factory=Counter)  # in_sync | ahead | unknown_recent | tombstone | tombstone_tie
    skipped: int = 0  # planned, not done: a newer write landed first, or the point was gone

    def counts(self) -> dict:
        reasons = Counter(self.purge_reasons.values()) + Counter({"foreign": len(self.foreign)})
        return {"purged": len(self.purge) + len(self.foreign), "purged_by_reason": dict(sorted(reasons.items())),
                "repaired": len(self.repair), "added": len(self.add), "hidden": len(self.hide),
                "skipped": self.skipped, "kept": dict(sorted(self.kept.items()))}

    def done(self, purged: Set[str], written: Set[str]) -> Plan:
        """This plan narrowed to what the store did (video ids purged and written); the rest is skipped.

        Foreign points are deleted by id, unconditionally: all of them count as done.
        """
        out = Plan(purge={v: b for v, b in self.purge.items() if v in purged},
                   purge_reasons={v: r for v, r in self.purge_reasons.items() if v in purged},
                   foreign=dict(self.foreign), kept=Counter(self.kept),
                   repair=[v for v in self.repair if v in written], add=[v for v in self.add if v in written],
                   hide=[v for v in self.hide if v in written])
        planned, did = self.counts(), out.counts()
        out.skipped = self.skipped + sum(planned[k] - did[k] for k in ("purged", "repaired", "added", "hidden"))
        return out


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
    lands = supersedes(row, point)  # would the catalog row's own write replace this point?
    if row.status == PUBLIC:
        if lands:
            return "repair", "stale", None
        return "keep", "in_sync" if point.status == PUBLIC else "tombstone_tie", None
    reason = "tombstone" if point.status != PUBLIC else row.status
    if row.updated_at < cutoff:
        return "purge", reason, row.updated_at
    return ("hide", reason, None) if lands else ("keep", "tombstone", None)


def split_points(page: list[StoredPoint]) -> tuple[dict[str, Version], dict[str | int, str]]:
    """(video_id -> version of vidvec's points, raw id -> the video_id a foreign point names, "" if none).

    vidvec's: at `point_id(video_id)` with a version vidvec writes. Everything
    else is foreign, whatever its payload says.
    """
    ours: dict[str, Version] = {}
    foreign: dict[str | int, str] = {}
    for p in page:
        version = Version.of(p.payload)
        if version is not None and isinstance(p.video_id, str) and at_vidvec_id(p.id, p.video_id):
            ours[p.video_id] = version
        else:
            foreign[p.id] = p.video_id if isinstance(p.video_id, str) else ""
    return ours, foreign


def plan_batch(rows: dict[str, Version], points: dict[str, Version], cutoff: int,
               allow_add: bool = True) -> Plan:
    """Decide for every video in either mapping (rows: the catalog; points: the store)."""
    plan = Plan()
    for video_id in sorted(rows.keys() | points.keys()):
        action, reason, bound = decide(rows.get(video_id), points.get(video_id), cutoff)
        if action == "purge":
            assert bound is not None, "decide() bounds every purge"
            plan.purge[video_id] = bound
            plan.purge_reasons[video_id] = reason
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
            inner: Counter[str] = Counter(out.get(key, {}))
            inner.update(value)
            out[key] = dict(sorted(inner.items()))
        else:
            out[key] = out.get(key, 0) + value
    return out
