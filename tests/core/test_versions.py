"""updated_at is a video's version and only grows: the one rule for writing a row over another."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from vidvec.core.types import Video
from vidvec.core.versions import REFUSED, UNCHANGED, WRITE, judge

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
