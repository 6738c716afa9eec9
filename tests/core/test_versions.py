"""updated_at is a video's version and only grows: the rule for rows (judge) and for points (bounds)."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from vidvec.core.points import tombstone
from vidvec.core.types import PointToWrite, Video
from vidvec.core.versions import REFUSED, UNCHANGED, WRITE, VersionBound, judge, purge_bound, replace_bound, writes_over

T = datetime(2026, 1, 1, tzinfo=timezone.utc)
HELD = Video("v", "title", tags=("a",), status="public", updated_at=T)


@pytest.mark.parametrize("current, incoming, action, says", [
    (None, HELD, WRITE, "newer"),
    (HELD, replace(HELD, title="new", updated_at=T + timedelta(seconds=1)), WRITE, "newer"),
    (HELD, replace(HELD), UNCHANGED, "same"),
    (HELD, replace(HELD, status="private"), WRITE, "a tombstone wins"),
    (HELD, replace(HELD, status="deleted", title="gone"), WRITE, "a tombstone wins"),
    (replace(HELD, status="private"), replace(HELD, status="deleted"), WRITE, "a tombstone wins"),
    (HELD, replace(HELD, title="changed"), REFUSED, "changed without a newer updated_at"),
    (replace(HELD, status="deleted"), replace(HELD, status="public"), REFUSED, "changed without a newer"),
    (replace(HELD, status="deleted"), replace(HELD, status="private"), REFUSED, "changed without a newer"),
    (HELD, replace(HELD, title="older", updated_at=T - timedelta(days=1)), REFUSED, "older than the catalog's"),
], ids=["new", "newer", "identical", "private", "deleted", "private-to-deleted", "new-title", "re-publish",
        "undelete-to-private", "older"])
def test_what_a_row_written_over_another_does(current, incoming, action, says):
    got, reason = judge(current, incoming)
    assert got == action and says in reason


def test_a_write_replaces_only_a_strictly_older_version():
    point = PointToWrite("a", [1.0], {"video_id": "a", "status": "public", "updated_at": 100})
    bound = replace_bound(point)
    assert bound == VersionBound(100, inclusive=False)
    assert bound.admits(99) and not bound.admits(100) and not bound.admits(101)
    assert not bound.admits(None)  # a point without a version is not vidvec's: never overwritten
    assert replace_bound(tombstone("a", "deleted", 100)) == bound  # today tombstones follow the same rule


def test_a_new_point_is_always_written_an_existing_one_only_over_an_older_version():
    point = PointToWrite("a", [1.0], {"video_id": "a", "status": "public", "updated_at": 100})
    assert writes_over(point, None, exists=False)
    assert writes_over(point, 99, exists=True) and not writes_over(point, 100, exists=True)
    assert not writes_over(point, None, exists=True)


def test_a_purge_takes_a_point_only_at_or_below_its_bound():
    bound = purge_bound(100)
    assert bound.admits(100) and bound.admits(1) and not bound.admits(101) and not bound.admits(None)
