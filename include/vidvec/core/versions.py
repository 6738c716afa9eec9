"""A video's version is its updated_at, and it only grows: what writing a row over another means.

`judge(current, incoming)` decides for any writer of catalog rows (the CSV
loader today; the sidecar's writes follow the same order in the store):

- no current row, or a newer updated_at: write it;
- the same version and the same row: unchanged (reloading a file changes nothing);
- the same version, hiding the video (private or deleted) where the current row
  shows it (or deleting a private one): write it, because at equal versions a
  tombstone wins (a late, equal-versioned "public" can then never undo it);
- the same version otherwise changed (a new title, or re-publishing a hidden
  video): refused, "changed without a newer updated_at"; the current row stays;
- an older version: refused; nothing moves a video back to an older version.
"""

from __future__ import annotations

from vidvec.core.types import Video

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
