"""Compaction on the real embedded stack: catalog rows and points read back after each run."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import build_live
from vidvec.catalog.base import Promotion
from vidvec.core.naming import collection_name
from vidvec.core.points import payload, tombstone
from vidvec.core.recipe import build_text, text_hash
from vidvec.core.types import PointToWrite, to_micros

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc)
NOW = datetime(2026, 11, 29, 4, 0, tzinfo=timezone.utc)  # the run's logical time
OLD = T0 + timedelta(days=1)  # catalog changes the stream missed, older than the 7-day window
RECENT = NOW - timedelta(days=1)  # inside the window


def inject_drift(settings, videos):
    """Catalog changes the store never saw, points lost and junk left behind. Returns the ids by kind."""
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    ids = [v.video_id for v in videos]
    kinds = {"deleted": ids[0:5], "private": ids[5:9], "stale": ids[9:14], "missing": ids[14:18],
             "old_tombstone": ids[18:20], "recent_delete": ids[20:22], "republished": ids[22:24]}
    by_id = {v.video_id: v for v in videos}
    changed = [replace(by_id[i], status="deleted", updated_at=OLD) for i in kinds["deleted"]]
    changed += [replace(by_id[i], status="private", updated_at=OLD) for i in kinds["private"]]
    changed += [replace(by_id[i], title=by_id[i].title + " (remastered)", updated_at=OLD) for i in kinds["stale"]]
    changed += [replace(by_id[i], status="deleted", updated_at=OLD) for i in kinds["old_tombstone"]]
    changed += [replace(by_id[i], status="deleted", updated_at=RECENT) for i in kinds["recent_delete"]]
    changed += [replace(by_id[i], status="public", updated_at=OLD) for i in kinds["republished"]]
    with open_catalog(settings) as catalog, open_store(settings) as store:
        live = store.resolve(settings.live_alias)
        catalog.upsert_videos(changed)
        store.delete_points(live, kinds["missing"])
        store.write_if_newer(live, [tombstone(i, "deleted", to_micros(OLD)) for i in kinds["old_tombstone"]])
        # An old private tombstone for a video the catalog has public again (republished).
        store.write_if_newer(live, [tombstone(i, "private", to_micros(T0)) for i in kinds["republished"]])
        ghost = PointToWrite("ghostOld", [0.0, 1.0] + [0.0] * 510,
                             {"video_id": "ghostOld", "status": "public", "updated_at": to_micros(T0)})
        store.write_if_newer(live, [ghost, tombstone("ghostTomb", "deleted", to_micros(T0))])
    return kinds, live


def read_all(settings, name=None):
    from vidvec.store import open_store

    with open_store(settings) as store:
        name = name or store.resolve(settings.live_alias)
        return {vid: (body, vec) for batch in store.scroll(name, with_vectors=True) for vid, body, vec in batch}


def assert_equals_public_catalog(settings, points, embedder, extra_ids=()):
    """Public points are exactly the catalog's public rows: ids, payloads and vectors."""
    from vidvec.catalog.factory import open_catalog

    with open_catalog(settings, read_only=True) as catalog:
        rows = catalog.get_videos(points.keys() | {v for batch in catalog.scan_shard(
            0, 1, as_of=NOW, batch_size=10_000) for v in [x.video_id for x in batch]})
        stored = catalog.get_embeddings(rows, embedder.model_id)
    public = {k: v for k, v in rows.items() if v.status == "public"}
    served = {k: body for k, (body, _) in points.items() if body["status"] == "public"}
    assert sorted(served) == sorted(public)
    for vid, video in public.items():
        body, vec = points[vid]
        assert body == payload(video, embedder.model_id, text_hash(build_text(video)))
        assert stored[vid].text_hash == body["text_hash"]
        want = stored[vid].vector / np.linalg.norm(stored[vid].vector)
        assert np.allclose(vec, want, atol=1e-5)
    assert sorted(k for k in points if k not in served) == sorted(extra_ids)


def compact(settings, embedder, **opts):
    from vidvec.catalog.factory import open_catalog
    from vidvec.compaction import run
    from vidvec.params import CompactOptions
    from vidvec.store import open_store

    with open_catalog(settings) as catalog, open_store(settings) as store:
        return run(catalog, store, lambda meta: embedder, settings.live_alias, NOW, CompactOptions.parse(opts))


@pytest.mark.slow
def test_compaction_converges_to_the_catalogs_public_state(settings, sample_slice, embedder):
    build_live(settings, sample_slice, embedder, t0=T0)
    kinds, live = inject_drift(settings, sample_slice)
    stale_before = read_all(settings)
    result = compact(settings, embedder, snapshot=True)
    (rec,) = result["reconciled"]
    assert rec["collection"] == live
    assert rec["counts"]["purged_by_reason"] == {"deleted": 5, "private": 4, "tombstone": 2, "unknown": 2}
    assert (rec["counts"]["repaired"], rec["counts"]["added"], rec["counts"]["hidden"]) == (7, 4, 2)
    assert rec["encoded"] == 5  # the stale texts; missing and republished reuse stored vectors
    points = read_all(settings)
    # Recent deletions keep a tombstone at the catalog's version; everything else is public.
    assert_equals_public_catalog(settings, points, embedder, extra_ids=kinds["recent_delete"])
    for vid in kinds["recent_delete"]:
        assert points[vid][0] == {"video_id": vid, "status": "deleted", "updated_at": to_micros(RECENT)}
    for vid in kinds["stale"]:
        assert points[vid][0]["text_hash"] != stale_before[vid][0]["text_hash"]
        assert points[vid][0]["updated_at"] == to_micros(OLD)
    assert rec["before"] == {"points": 64 - 4 + 2, "public": 64 - 4 - 2 - 2 + 1}  # + ghostOld
    assert rec["after"] == {"points": len(points), "public": len(points) - 2}
    snap, vac = result["snapshot"], result["vacuum"][0]
    shot = snap["detail"]
    assert snap["created"] and snap["collection"] == live and Path(shot["location"]).is_file()
    assert vac["applied"] is True and vac["detail"]["deleted_threshold"] == 0.01  # 13 of 62 purged: a large purge
    text = result["summary"]
    assert f"snapshot: {shot['name']} of {live}, {shot['size']:,} bytes at {shot['location']}" in text
    assert "13 purged (deleted 5, private 4, tombstone 2, unknown 2), 7 repaired, 4 added" in text
    assert f"points {rec['before']['points']} -> {rec['after']['points']}" in text
    # A second run finds nothing to do.
    again = compact(settings, embedder)["reconciled"][0]["counts"]
    assert (again["purged"], again["repaired"], again["added"], again["hidden"]) == (0, 0, 0, 0)


class CountingCatalog:
    """A catalog that counts its lookups by id (each one reads a whole table in DuckDB)."""

    def __init__(self, inner):
        self.inner, self.calls = inner, {"get_videos": 0, "get_embeddings": 0}

    def __getattr__(self, attr):
        return getattr(self.inner, attr)

    def get_videos(self, ids):
        self.calls["get_videos"] += 1
        return self.inner.get_videos(ids)

    def get_embeddings(self, ids, model_id, text_hashes=None):
        self.calls["get_embeddings"] += 1
        return self.inner.get_embeddings(ids, model_id, text_hashes)


@pytest.mark.slow
def test_reconcile_looks_up_the_catalog_once_not_once_per_batch(settings, sample_slice, embedder):
    """16 scan batches of 4 rows and 18 pages of points; the rewrites' catalog lookups run together."""
    from vidvec.catalog.factory import open_catalog
    from vidvec.compaction import reconcile
    from vidvec.params import CompactOptions
    from vidvec.store import open_store

    build_live(settings, sample_slice, embedder, t0=T0)
    kinds, live = inject_drift(settings, sample_slice)
    with open_catalog(settings) as inner, open_store(settings) as store:
        catalog = CountingCatalog(inner)
        done = reconcile(catalog, store, lambda meta: embedder, live, NOW, CompactOptions(batch_size=4))
    assert done.counts["purged_by_reason"] == {"deleted": 5, "private": 4, "tombstone": 2, "unknown": 2}
    assert (done.counts["repaired"], done.counts["added"], done.counts["hidden"]) == (7, 4, 2)
    assert catalog.calls == {"get_videos": 0, "get_embeddings": 1}
    assert_equals_public_catalog(settings, read_all(settings), embedder, extra_ids=kinds["recent_delete"])


def test_catalog_ids_hold_exactly_the_ids_added():
    from vidvec.catalog.base import CatalogIds

    ids = CatalogIds()
    ids.add(f"v{i}" for i in range(0, 1000, 2))
    ids.add(["x", "y"])
    ids.freeze()
    asked = [f"v{i}" for i in range(1000)] + ["x", "z", ""]
    assert ids.holds(asked).tolist() == [i % 2 == 0 for i in range(1000)] + [True, False, False]
    empty = CatalogIds()
    empty.freeze()
    assert empty.holds(["a"]).tolist() == [False]


@pytest.mark.slow
def test_compaction_after_a_drain_undoes_no_stream_write(settings, sample_slice, embedder):
    """The stream is ahead of the catalog: every write it made survives compaction, byte for byte.

    (Embedded mode: the sidecar drains and closes the path, then compaction runs.)
    """
    build_live(settings, sample_slice, embedder, t0=T0)
    kinds, live = inject_drift(settings, sample_slice)
    by_id = {v.video_id: v for v in sample_slice}
    later = NOW + timedelta(minutes=5)
    stream = [tombstone(i, "deleted", to_micros(later)) for i in kinds["stale"][:2]]  # deleted after the edit
    stream += [PointToWrite(i, [0.5] * 512, payload(replace(by_id[i], updated_at=later), "m", "h"))
               for i in kinds["deleted"][:2] + kinds["missing"][:1] + kinds["private"][:1]]  # re-published
    stream.append(PointToWrite("brandNew1", [0.25] * 512, {"video_id": "brandNew1", "status": "public",
                                                           "updated_at": to_micros(later)}))  # not yet in catalog
    stream.append(tombstone("brandNew2", "deleted", to_micros(RECENT)))
    from vidvec.store import open_store

    with open_store(settings) as store:
        store.write_if_newer(live, stream)  # the drain
        drained = store.get_points(live, [p.video_id for p in stream], with_vectors=True)
    assert len(drained) == len(stream)
    compact(settings, embedder)
    after = read_all(settings)
    for p in stream:
        assert after[p.video_id][0] == drained[p.video_id]["payload"], p.video_id
        got, want = np.array(after[p.video_id][1]), np.array(drained[p.video_id]["vector"])
        assert np.allclose(got / np.linalg.norm(got), want / np.linalg.norm(want))


@pytest.mark.slow
def test_purge_never_deletes_a_point_written_after_the_plan(settings, sample_slice, embedder):
    """The conditional delete itself: a stream write landing between plan and purge survives."""
    from vidvec.store import open_store

    build_live(settings, sample_slice[:4], embedder, t0=T0)
    a, b = sample_slice[0].video_id, sample_slice[1].video_id
    with open_store(settings) as store:
        live = store.resolve("videos")
        bounds = {a: to_micros(OLD), b: to_micros(OLD)}  # planned: both older than the catalog deletion
        store.write_if_newer(live, [tombstone(b, "deleted", to_micros(NOW))])  # the stream, meanwhile
        store.delete_if_not_newer(live, bounds)
        assert sorted(store.get_points(live, [a, b])) == [b]


def seed_collections(settings, embedder, live=None):
    """Old and new collections around a live one, a rollback target and a build in progress.

    Their points are recent and unknown to the catalog, so reconciliation keeps them.
    """
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import CollectionSpec, open_store

    def name(days):
        return collection_name("videos", embedder.model_id, NOW - timedelta(days=days))

    spec = CollectionSpec(dim=8)
    made = {"live": name(1), "rollback": name(40), "building": name(50), "newest2": name(2),
            "expired": name(30), "failed": name(20), "young_failed": name(3), "next": name(60),
            "custom": "legacy_videos", "ab": collection_name("videos_b", embedder.model_id, NOW - timedelta(days=90))}
    states = {"building": "building", "next": "building", "failed": "failed", "young_failed": "failed"}
    with open_catalog(settings) as catalog, open_store(settings) as store:
        for key, coll in made.items():
            if key == "live" and live:
                made["live"] = live
                continue
            store.create_collection(coll, spec, {"state": states.get(key, "ready"), "dim": 8})
            store.insert_only(coll, [PointToWrite(f"v{i}", [1.0] * 8, {"video_id": f"v{i}", "status": "public",
                                                                       "updated_at": to_micros(NOW)})
                                     for i in range(3)], dim=8)
        store.set_aliases({"videos": made["live"], "videos__next": made["next"], "videos_b": made["ab"]})
        catalog.record_promotion(Promotion("videos", made["expired"], made["rollback"], NOW - timedelta(days=9), "t"))
        # three days ago: past the rollback window (48 h), so the rollback target is kept but no longer written
        catalog.record_promotion(Promotion("videos", made["live"], made["rollback"], NOW - timedelta(days=3), "t"))
    return made


def test_retention_drops_exactly_the_planned_collections(settings, embedder):
    from vidvec.store import open_store

    made = seed_collections(settings, embedder)
    result = compact(settings, embedder, keep_newest=2, min_age_days=7, snapshot=False)
    plan = {d["name"]: d for d in result["retention"]["decisions"]}
    assert {k: plan[v]["reason"] for k, v in made.items()} == {
        "live": "alias", "rollback": "rollback", "building": "building", "newest2": "newest",
        "expired": "expired", "failed": "expired", "young_failed": "young", "next": "alias",
        "custom": "undated", "ab": "alias"}
    with open_store(settings) as store:
        left = {s.name for s in store.collections()}
        assert store.aliases() == {"videos": made["live"], "videos__next": made["next"], "videos_b": made["ab"]}
    assert sorted(result["retention"]["dropped"]) == sorted([made["expired"], made["failed"]])
    assert left == set(made.values()) - {made["expired"], made["failed"]}
    assert "2 collections (6 points) were dropped" in result["summary"]
    assert "space: 10 collections, 30 points" in result["summary"]
    assert "-> 8 collections, 24 points" in result["summary"]


def store_state(settings):
    from vidvec.store import open_store

    with open_store(settings) as store:
        return ({s.name: s.metadata for s in store.collections()}, store.aliases(),
                {s.name: sorted((vid, repr(body), repr(vec)) for b in store.scroll(s.name, with_vectors=True)
                                for vid, body, vec in b) for s in store.collections()})


@pytest.mark.slow
def test_dry_run_changes_nothing_and_prints_the_plan(settings, sample_slice, embedder):
    import json

    from tests.test_cli import run as cli

    seed_collections(settings, embedder, live=build_live(settings, sample_slice, embedder, t0=T0))
    inject_drift(settings, sample_slice)
    before = store_state(settings)
    done = cli("compact", "--dry-run", "--as-of", NOW.isoformat(), "--keep-newest", "2", home=settings.home)
    assert done.returncode == 0, done.stderr
    assert store_state(settings) == before
    assert "DRY RUN: nothing changed" in done.stdout
    assert "13 purged (deleted 5, private 4, tombstone 2, unknown 2), 7 repaired, 4 added" in done.stdout
    assert "2 collections (6 points) would be dropped" in done.stdout
    assert "e.g. purge: " in done.stdout and "e.g. repair: " in done.stdout
    assert "snapshot: not taken: snapshot Param is off" not in done.stdout
    done = cli("compact", "--dry-run", "--json", "--as-of", NOW.isoformat(), "--keep-newest", "2",
               home=settings.home)
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert store_state(settings) == before
    done = cli("compact", "--json", "--as-of", NOW.isoformat(), "--keep-newest", "2", home=settings.home)
    assert done.returncode == 0, done.stderr
    real = json.loads(done.stdout)
    assert real["reconciled"][0]["counts"] == plan["reconciled"][0]["counts"]
    assert real["retention"]["dropped"] == [d["name"] for d in plan["retention"]["decisions"] if d["drop"]]
    assert cli("compact", "--as-of", "yesterday", home=settings.home).returncode == 2
    assert cli("compact", "--tombstone-days", "-1", home=settings.home).returncode == 2
