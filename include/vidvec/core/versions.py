"""A video's version: its updated_at, and at one updated_at its status. The one write rule.

A version is a status and `updated_at` (epoch microseconds for points). One
rule decides every write path alike: the catalog loader (`judge`), the
store's conditional write on every engine, the batch (`newest_per_video`,
`apply.latest_versions`), the sidecar, the rebuild's catch-up and
compaction's plan (`core/reconcile.py`):

- a newer `updated_at` replaces an older one, whatever the statuses; an older
  one never replaces a newer one;
- at the same `updated_at` a tombstone wins: statuses rank public < private <
  deleted, and only a higher one replaces a lower one. So a same-version
  change public -> private, public -> deleted or private -> deleted lands;
  deleted -> private, or anything -> public, does not;
- the same status at the same version is the same version: a retry changes
  nothing, and a content change (a new title) needs a newer `updated_at`.

For catalog rows, `judge(current, incoming)` applies it for any writer of
rows (the CSV loader today): a same-version row that is otherwise changed is
refused ("changed without a newer updated_at"), the same row is unchanged.

For points, a stored point without a version vidvec wrote (no `updated_at`,
or a status outside public/private/deleted) is never replaced by a
conditional write; compaction removes it. Engines that take filters (a Qdrant
server, local mode) turn a `VersionBound` into a filter on the stored point;
Qdrant Edge decides with `admits` under its store lock. A purge deletes a
point only while its version is still at or below the bound compaction
planned, so a write that landed after the plan survives. A point that does
not exist yet is always written.
"""

from __future__ import annotations

from dataclasses import dataclass

from vidvec.core.types import STATUSES, PointToWrite, Video, to_micros

WRITE, UNCHANGED, REFUSED = "write", "unchanged", "refused"
# Precedence at one version: a later status in this order wins a tie (a tombstone wins).
STATUS_RANK = {status: rank for rank, status in enumerate(STATUSES)}  # public 0 < private 1 < deleted 2


@dataclass(frozen=True)
class Version:
    """A video's version: its status and updated_at (epoch microseconds)."""

    status: str
    updated_at: int

    @classmethod
    def parse(cls, status: object, updated_at: object) -> Version | None:
        """The version a stored point carries; None when it is not one vidvec writes."""
        if status not in STATUS_RANK or isinstance(updated_at, bool) or not isinstance(updated_at, int):
            return None
        return cls(status, updated_at)

    @classmethod
    def of(cls, payload: dict | None) -> Version | None:
        return cls.parse((payload or {}).get("status"), (payload or {}).get("updated_at"))

    @classmethod
    def of_video(cls, video: Video) -> Version:
        """A catalog row's version."""
        return cls(video.status, to_micros(video.updated_at))


@dataclass(frozen=True)
class VersionBound:
    """Stored versions a write or purge may touch: an older updated_at, or the same one with a status in `ties`."""

    updated_at: int
    ties: tuple[str, ...] = ()  # stored statuses replaced at the very same updated_at

    def admits(self, stored: Version | None) -> bool:
        """Whether a stored point of this version may be replaced (or purged)."""
        if stored is None:
            return False
        return stored.updated_at < self.updated_at or (
            stored.updated_at == self.updated_at and stored.status in self.ties)


def outranked_by(status: str) -> tuple[str, ...]:
    """The statuses `status` replaces at the same version (public: none; deleted: public, private)."""
    return tuple(s for s in STATUSES if STATUS_RANK[s] < STATUS_RANK[status])


def bound_of(version: Version) -> VersionBound:
    """The stored versions a write of `version` replaces."""
    return VersionBound(version.updated_at, outranked_by(version.status))


def supersedes(new: Version, old: Version | None) -> bool:
    """Whether `new` replaces `old` (the rule above); nothing replaces a point without a version."""
    return bound_of(new).admits(old)


def judge(current: Video | None, incoming: Video) -> tuple[str, str]:
    """(WRITE | UNCHANGED | REFUSED, reason) for writing catalog row `incoming` where `current` is held."""
    if current is None or incoming.updated_at > current.updated_at:
        return WRITE, "newer"
    if incoming.updated_at < current.updated_at:
        return REFUSED, (f"older than the catalog's version of {incoming.video_id} "
                         f"({incoming.updated_at.isoformat()} < {current.updated_at.isoformat()}); kept the catalog's")
    if incoming == current:
        return UNCHANGED, "same version, same row"
    if supersedes(Version.of_video(incoming), Version.of_video(current)):
        return WRITE, f"{incoming.status} at the same version: a tombstone wins"
    return REFUSED, (f"{incoming.video_id} changed without a newer updated_at "
                     f"({incoming.updated_at.isoformat()}); kept the catalog's row")


def replace_bound(point: PointToWrite) -> VersionBound:
    """The stored versions a write of `point` replaces."""
    version = Version.of(point.payload)
    if version is None:
        raise ValueError(f"point {point.video_id} carries no status/updated_at: not a vidvec write")
    return bound_of(version)


def purge_bound(bound: int) -> VersionBound:
    """The stored versions a planned purge deletes: at or below the planned bound, any status."""
    return VersionBound(int(bound), STATUSES)


def writes_over(point: PointToWrite, stored: dict | None, exists: bool) -> bool:
    """Whether a conditional write of point goes through, given the stored payload (an engine deciding itself)."""
    return not exists or replace_bound(point).admits(Version.of(stored))
