"""The write rule every engine and every batch translates (core/versions.py)."""

import pytest

from vidvec.core.points import tombstone
from vidvec.core.types import PointToWrite
from vidvec.core.versions import Version, VersionBound, purge_bound, replace_bound, supersedes, writes_over


def public(at: int, **extra) -> PointToWrite:
    return PointToWrite("a", [1.0], {"video_id": "a", "status": "public", "updated_at": at} | extra)


TIES = [  # (new, stored, lands): the rule's table, also run through each engine's own filter (tests/store)
    (("public", 101), ("deleted", 100), True),  # a newer version always lands
    (("deleted", 99), ("public", 100), False),  # an older one never does, tombstone or not
    (("private", 100), ("public", 100), True),  # same version: a tombstone wins the tie
    (("deleted", 100), ("public", 100), True),
    (("deleted", 100), ("private", 100), True),
    (("private", 100), ("deleted", 100), False),
    (("public", 100), ("private", 100), False),
    (("public", 100), ("deleted", 100), False),
    (("public", 100), ("public", 100), False),  # the version is the version: a retry changes nothing
    (("deleted", 100), ("deleted", 100), False),
]


@pytest.mark.parametrize("new, old, lands", TIES)
def test_at_one_version_status_decides_public_private_deleted(new, old, lands):
    assert supersedes(Version(*new), Version(*old)) is lands
    point = tombstone("a", new[0], new[1]) if new[0] != "public" else public(new[1])
    stored = {"video_id": "a", "status": old[0], "updated_at": old[1]}
    assert writes_over(point, stored, exists=True) is lands  # what Edge decides under its lock


def test_bounds_engines_translate_into_filters():
    assert replace_bound(public(100)) == VersionBound(100, ties=())
    assert replace_bound(tombstone("a", "private", 100)) == VersionBound(100, ties=("public",))
    assert replace_bound(tombstone("a", "deleted", 100)) == VersionBound(100, ties=("public", "private"))
    bound = purge_bound(100)  # a purge takes any status at or below its bound
    assert bound.admits(Version("deleted", 100)) and bound.admits(Version("public", 1))
    assert not bound.admits(Version("public", 101))


def test_a_point_without_a_vidvec_version_is_never_replaced_and_a_new_one_always_written():
    assert writes_over(public(100), None, exists=False)
    for stored in ({"video_id": "a"}, {"status": "public"}, {"status": "gone", "updated_at": 1},
                   {"status": "public", "updated_at": "1"}, {"status": "public", "updated_at": True}):
        assert Version.of(stored) is None
        assert not writes_over(tombstone("a", "deleted", 10**15), stored, exists=True)
        assert not purge_bound(10**15).admits(Version.of(stored))
