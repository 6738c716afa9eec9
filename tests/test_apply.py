"""apply_videos: the one write path of the catch-up and the streaming sidecar."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from vidvec.apply import apply_videos
from vidvec.rebuild import create_target, plan_rebuild

T0 = datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc)


def test_apply_writes_newest_versions_tombstones_and_reuses_vectors(settings, catalog, store, embedder,
                                                                     sample_slice):
    plan = plan_rebuild(live_alias="videos", t0=T0, run_id="r", model_id=embedder.model_id,
                        family=embedder.family, dim=embedder.dim, n_shards=1, recipe="v1")
    create_target(store, plan)
    name = plan.collection
    a, b, c = sample_slice[:3]
    newer_a = replace(a, title="newer", updated_at=a.updated_at + timedelta(hours=1))
    counts = apply_videos(catalog, store, embedder, name,
                          [newer_a, a, b, replace(c, status="deleted")], "v1", T0)
    assert counts == {"written": 2, "tombstoned": 1, "encoded": 2, "reused": 0}
    got = store.get_points(name, [a.video_id, b.video_id, c.video_id])
    assert got[a.video_id]["payload"]["updated_at"] == int(newer_a.updated_at.timestamp() * 1e6)
    assert got[c.video_id]["payload"]["status"] == "deleted"
    assert set(catalog.get_embeddings([a.video_id, b.video_id], embedder.model_id)) == {a.video_id, b.video_id}
    again = apply_videos(catalog, store, embedder, name, [newer_a, b], "v1", T0)  # a retry
    assert again == {"written": 2, "tombstoned": 0, "encoded": 0, "reused": 2}
    assert store.count(name, public_only=True) == 2
