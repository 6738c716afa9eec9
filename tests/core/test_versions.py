"""The one version rule (core/versions.py): for rows (judge), for points (bounds), at ties."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from vidvec.core.points import tombstone
from vidvec.core.types import PointToWrite, Video
from vidvec.core.versions import (
    REFUSED,
    UNCHANGED,
    WRITE,
    Version,
    VersionBound,
    judge,
    purge_bound,
    replace_bound,
    supersedes,
    writes_over,
)

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
