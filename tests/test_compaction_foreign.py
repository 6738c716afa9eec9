"""Compaction removes every point vidvec did not write, whatever it holds (issue 11 item 5).

Foreign points (another writer's, an older id scheme's, duplicates, points
without video_id or without a version) are written with the engine's own
client, as such a writer would; compaction must leave exactly the catalog's
public state under vidvec's ids, and a second run must find nothing to do.
"""

import uuid

import pytest

from tests.conftest import build_live
from tests.store.helpers import write_raw
from tests.test_cli import run as cli
from tests.test_compaction import NOW, RECENT, T0, assert_equals_public_catalog, compact, read_all
from vidvec.core.ids import point_id
from vidvec.core.types import to_micros

OLD_SCHEME = uuid.UUID("00000000-0000-5000-8000-000000000000")  # "an older id scheme": another namespace


def foreign_points(settings, videos):
    """Writes the drift; returns (ids of points that must go, the unknown video that must stay)."""
    from vidvec.store import open_store

    a, b, c = videos[0], videos[1], videos[2]
    with open_store(settings) as store:
        live = store.resolve(settings.live_alias)
        real = store.get_points(live, [a.video_id, c.video_id], with_vectors=True)
        dup = str(uuid.uuid4())
        older = str(uuid.uuid5(OLD_SCHEME, b.video_id))
        drift = [(dup, real[a.video_id]["vector"], real[a.video_id]["payload"]),  # a duplicate of a, public
                 (older, real[a.video_id]["vector"], {"video_id": b.video_id, "status": "public",
                                                      "updated_at": to_micros(NOW)}),  # newer, but not at b's id
                 (4242, [0.0, 1.0] + [0.0] * 510, {"status": "public", "title": "from another tool"}),
                 (str(uuid.uuid4()), [1.0] + [0.0] * 511, {"video_id": "gone", "status": "deleted",
                                                           "updated_at": to_micros(RECENT)}),
                 # at c's own id, but not a point vidvec writes (no version): replaced, then added back
                 (point_id(c.video_id), real[c.video_id]["vector"], {"video_id": c.video_id, "status": "public"}),
                 # at vidvec's id for a video the catalog does not know yet, inside the window: kept
                 (point_id("notInCatalog"), [0.5] * 512, {"video_id": "notInCatalog", "status": "public",
                                                          "updated_at": to_micros(RECENT)})]
        write_raw(store, live, drift)
    return [dup, older, 4242, drift[3][0]], "notInCatalog"  # (c's id comes back with vidvec's point)


@pytest.mark.slow
def test_compaction_purges_every_foreign_point_and_a_second_run_does_nothing(settings, sample_slice, embedder):
    build_live(settings, sample_slice, embedder, t0=T0)
    doomed, lagging = foreign_points(settings, sample_slice)
    dry = cli("compact", "--dry-run", "--as-of", NOW.isoformat(), home=settings.home)
    assert dry.returncode == 0, dry.stderr
    assert "5 purged (foreign 5), 0 repaired, 1 added" in dry.stdout
    assert "e.g. purge_foreign: " in dry.stdout and "4242 (no video_id)" in dry.stdout

    (rec,) = compact(settings, embedder)["reconciled"]
    assert rec["counts"]["purged_by_reason"] == {"foreign": 5} and rec["counts"]["added"] == 1
    assert rec["counts"]["kept"]["unknown_recent"] == 1
    from vidvec.store import open_store

    with open_store(settings) as store:
        live = store.resolve(settings.live_alias)
        ids = {p.id for page in store.scroll_points(live) for p in page}
        assert ids == {point_id(v.video_id) for v in sample_slice} | {point_id(lagging)}
        assert not ids & set(doomed)
        assert store.count_served(live) == len(sample_slice) + 1
    assert_equals_public_catalog(settings, {k: v for k, v in read_all(settings).items() if k != lagging}, embedder)
    again = compact(settings, embedder)["reconciled"][0]["counts"]
    assert (again["purged"], again["repaired"], again["added"], again["hidden"], again["skipped"]) == (0,) * 5
