"""Reconcile planning: every row of the decision table, and its safety over random inputs."""

import random

import pytest

from vidvec.core.reconcile import Version, decide, merge, plan_batch

CUT = 1_000  # now - window, microseconds


def v(status, at):
    return Version(status, at)


@pytest.mark.parametrize("row, point, expected", [
    (v("public", 500), None, ("add", "missing", None)),
    (v("deleted", 500), None, ("none", "absent", None)),
    (v("public", 500), v("public", 400), ("repair", "stale", None)),
    (v("public", 500), v("deleted", 400), ("repair", "stale", None)),  # re-published
    (v("public", 500), v("public", 500), ("keep", "in_sync", None)),
    (v("public", 500), v("public", 600), ("keep", "ahead", None)),  # the stream is newer
    (v("deleted", 500), v("public", 600), ("keep", "ahead", None)),  # re-published by the stream
    (v("deleted", 500), v("public", 400), ("purge", "deleted", 500)),  # old deletion: point goes
    (v("private", 500), v("public", 500), ("purge", "private", 500)),
    (v("deleted", 500), v("deleted", 500), ("purge", "tombstone", 500)),  # old tombstone
    (v("deleted", 500), v("private", 300), ("purge", "tombstone", 500)),
    (v("deleted", 2000), v("public", 1500), ("hide", "deleted", None)),  # recent: tombstone it
    (v("private", 2000), v("public", 2000), ("hide", "private", None)),  # same version: a tombstone wins
    (v("deleted", 2000), v("private", 2000), ("hide", "tombstone", None)),  # ...deleted over private too
    (v("private", 2000), v("deleted", 2000), ("keep", "tombstone", None)),  # ...never private over deleted
    (v("public", 2000), v("private", 2000), ("keep", "tombstone_tie", None)),  # ...nor public over either
    (v("deleted", 2000), v("private", 1500), ("hide", "tombstone", None)),  # refresh the tombstone
    (v("deleted", 2000), v("deleted", 2000), ("keep", "tombstone", None)),  # inside the window
    (None, v("public", 999), ("purge", "unknown", 999)),
    (None, v("deleted", 10), ("purge", "unknown", 10)),
    (None, v("public", 1000), ("keep", "unknown_recent", None)),  # the catalog may lag
    (None, None, ("none", "absent", None)),
])
def test_decision_table(row, point, expected):
    assert decide(row, point, CUT) == expected


def test_plan_batch_groups_and_counts():
    rows = {"a": v("public", 5), "b": v("deleted", 5), "c": v("public", 5), "d": v("public", 5)}
    points = {"a": v("public", 4), "b": v("public", 5), "c": v("public", 5), "z": v("public", 1)}
    plan = plan_batch(rows, points, CUT)
    assert plan.repair == ["a"] and plan.add == ["d"] and plan.hide == []
    assert plan.purge == {"b": 5, "z": 1}
    assert plan.counts() == {"purged": 2, "purged_by_reason": {"deleted": 1, "unknown": 1}, "repaired": 1,
                             "added": 1, "hidden": 0, "skipped": 0, "kept": {"in_sync": 1}}
    done = plan.done(purged={"z"}, written={"d"})  # b and a lost to newer writes meanwhile
    assert (done.purge, done.repair, done.add, done.skipped) == ({"z": 1}, [], ["d"], 2)
    assert done.counts()["purged_by_reason"] == {"unknown": 1}
    building = plan_batch(rows, points, CUT, allow_add=False)
    assert building.add == [] and building.kept["missing_while_building"] == 1
    total = merge(merge({}, plan.counts()), plan.counts())
    assert total["purged"] == 4 and total["purged_by_reason"] == {"deleted": 2, "unknown": 2}


def test_random_plans_never_undo_a_newer_point_and_converge():
    """Whatever the inputs: a bound never lets a purge take a point newer than both sides,
    a point newer than its row is never touched, and applying the plan leaves public
    points exactly where the catalog says public."""
    rng = random.Random(7)
    statuses = ("public", "private", "deleted")
    for _ in range(3000):
        row = v(rng.choice(statuses), rng.randrange(0, 3000)) if rng.random() < 0.9 else None
        point = v(rng.choice(statuses), rng.randrange(0, 3000)) if rng.random() < 0.8 else None
        action, _, bound = decide(row, point, CUT)
        if point and row and point.updated_at > row.updated_at:
            assert action == "keep"
        if action == "purge":
            assert bound >= point.updated_at
            assert row is None or (row.status != "public" and bound == max(row.updated_at, point.updated_at))
            assert row is not None or point.updated_at < CUT
        # After applying: a public point iff the catalog (or a newer stream write) says public.
        after = {"add": row, "repair": row, "hide": row, "purge": None}.get(action, point)
        if after is not None and row is not None and after.updated_at <= row.updated_at:
            assert (after.status == "public") == (row.status == "public") or (
                action == "keep" and point.status != "public" and point.updated_at == row.updated_at)
        if row and row.status == "public" and (point is None or point.updated_at <= row.updated_at):
            assert after is not None and after.status == "public" or (point and point.updated_at == row.updated_at)


def test_points_not_at_vidvec_id_or_without_a_version_are_foreign():
    from vidvec.core.ids import point_id
    from vidvec.core.reconcile import split_points
    from vidvec.core.types import StoredPoint

    body = {"video_id": "a", "status": "public", "updated_at": 5}
    page = [StoredPoint(point_id("a"), body), StoredPoint(point_id("b"), body | {"video_id": "b", "status": "deleted"}),
            StoredPoint("0b7e2f1c-4d9a-4e3c-8a2b-0e9f1d8c7b6a", body),  # a duplicate of a under another id
            StoredPoint(7, {"status": "public"}),  # no video_id, an integer id
            StoredPoint(point_id("c"), {"video_id": "c", "status": "public"}),  # vidvec's id, no version
            StoredPoint(point_id("d"), {"video_id": "e", "status": "public", "updated_at": 1}),  # names another
            StoredPoint("x", {"video_id": "not valid!", "status": "public", "updated_at": 1})]
    ours, foreign = split_points(page)
    assert ours == {"a": v("public", 5), "b": v("deleted", 5)}
    assert foreign == {"0b7e2f1c-4d9a-4e3c-8a2b-0e9f1d8c7b6a": "a", 7: "", point_id("c"): "c",
                       point_id("d"): "e", "x": "not valid!"}
    plan = plan_batch({}, {}, CUT)
    plan.foreign = foreign
    assert plan.counts()["purged"] == 5 and plan.counts()["purged_by_reason"] == {"foreign": 5}
