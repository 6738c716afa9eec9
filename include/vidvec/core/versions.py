"""A video's version is its updated_at, and it only grows: the one write rule.

For catalog rows, `judge(current, incoming)` decides for any writer of rows
(the CSV loader today; the sidecar's writes follow the same order in the store):

- no current row, or a newer updated_at: write it;
- the same version and the same row: unchanged (reloading a file changes nothing);
- the same version, hiding the video (private or deleted) where the current row
  shows it (or deleting a private one): write it, because at equal versions a
  tombstone wins (a late, equal-versioned "public" can then never undo it);
- the same version otherwise changed (a new title, or re-publishing a hidden
  video): refused, "changed without a newer updated_at"; the current row stays;
- an older version: refused; nothing moves a video back to an older version.

For points, a point carries the video's version (`updated_at`, epoch
microseconds). Every engine turns a `VersionBound` into its own filter on the
stored point (a Qdrant `Range`), or decides with it itself (Edge):

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

from vidvec.core.types import PointToWrite, Video

WRITE, UNCHANGED, REFUSED = "write", "unchanged", "refused"
# At equal versions the higher rank wins: a tombstone over a public row, a deletion over all.
STATUS_RANK = {"public": 0, "private": 1, "deleted": 2}


def judge(current: Video | None, incoming: Video) -> tuple[str, str]:
    """(WRITE | UNCHANGED | REFUSED, reason) for writing `incoming` where `current` is held."""
    if current is None or incoming.updated_at > current.updated_at:
        return WRITE, "newer"
    if incoming.updated_at < current.updated_at:
        return REFUSED, (f"older than the catalog's version of {incoming.video_id} "
                         f"({incoming.updated_at.isoformat()} < {current.updated_at.isoformat()}); kept the catalog's")
    if incoming == current:
        return UNCHANGED, "same version, same row"
    if STATUS_RANK[incoming.status] > STATUS_RANK[current.status]:
        return WRITE, f"{incoming.status} at the same version: a tombstone wins"
    return REFUSED, (f"{incoming.video_id} changed without a newer updated_at "
                     f"({incoming.updated_at.isoformat()}); kept the catalog's row")


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
