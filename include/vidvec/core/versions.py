"""Which version of a video may replace, or purge, which point: the one write rule.

A point carries the video's version (`updated_at`, epoch microseconds). Every
engine turns a `VersionBound` into its own filter on the stored point (a
Qdrant `Range`, an Edge `RangeFloat`), so the rule is decided here once:

- a write (public point or tombstone) replaces a stored point only while the
  stored version is strictly older than its own: a retry of the same version
  changes nothing, and a late, older update never undoes a newer one;
- a purge deletes a point only while its version is still at or below the
  bound compaction planned, so a write that landed after the plan survives.

A point that does not exist yet is always written; a stored point without
`updated_at` (not vidvec's) is never replaced by a conditional write.
"""

from __future__ import annotations

from dataclasses import dataclass

from vidvec.core.types import PointToWrite


@dataclass(frozen=True)
class VersionBound:
    """Stored points a conditional write or purge may touch: updated_at < bound (or <= when inclusive)."""

    updated_at: int
    inclusive: bool = False

    def admits(self, stored_updated_at: int | None) -> bool:
        """Whether a stored point of this version may be replaced (or purged)."""
        if stored_updated_at is None:
            return False
        return stored_updated_at <= self.updated_at if self.inclusive else stored_updated_at < self.updated_at


def replace_bound(point: PointToWrite) -> VersionBound:
    """The stored versions a write of `point` replaces: strictly older ones."""
    return VersionBound(int(point.payload["updated_at"]))


def purge_bound(bound: int) -> VersionBound:
    """The stored versions a planned purge deletes: at or below the planned bound."""
    return VersionBound(int(bound), inclusive=True)


def writes_over(point: PointToWrite, stored_updated_at: int | None, exists: bool) -> bool:
    """Whether a conditional write of point goes through, for an engine that decides it itself."""
    return not exists or replace_bound(point).admits(stored_updated_at)
