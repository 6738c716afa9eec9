"""The write rule every engine translates (core/versions.py)."""

from vidvec.core.points import tombstone
from vidvec.core.types import PointToWrite
from vidvec.core.versions import VersionBound, purge_bound, replace_bound, writes_over


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
