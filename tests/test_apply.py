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
    done = apply_videos(catalog, store, embedder, name,
                        [newer_a, a, b, replace(c, status="deleted")], "v1", T0)
    assert done.counts == {"written": 2, "tombstoned": 1, "skipped": 0, "encoded": 2, "reused": 0}
    assert done.written_ids == {a.video_id, b.video_id, c.video_id}
    got = store.get_points(name, [a.video_id, b.video_id, c.video_id])
    assert got[a.video_id]["payload"]["updated_at"] == int(newer_a.updated_at.timestamp() * 1e6)
    assert got[c.video_id]["payload"]["status"] == "deleted"
    assert set(catalog.get_embeddings([a.video_id, b.video_id], embedder.model_id)) == {a.video_id, b.video_id}
    again = apply_videos(catalog, store, embedder, name, [newer_a, b], "v1", T0)  # a retry
    assert again.counts == {"written": 0, "tombstoned": 0, "skipped": 2, "encoded": 0, "reused": 2}
    assert store.count(name, public_only=True) == 2
    # The same version again, now private: it lands (a tombstone wins a tie); a public reload does not.
    hidden = apply_videos(catalog, store, embedder, name, [replace(b, status="private"), newer_a], "v1", T0)
    assert hidden.counts == {"written": 0, "tombstoned": 1, "skipped": 1, "encoded": 0, "reused": 1}
    assert store.versions(name, [b.video_id]) == {b.video_id: ("private", int(b.updated_at.timestamp() * 1e6))}
    back = apply_videos(catalog, store, embedder, name, [replace(b, title="changed, same version")], "v1", T0)
    assert back.counts["skipped"] == 1 and back.written_ids == set()
    assert store.count(name, public_only=True) == 1


def test_latest_versions_follow_the_tie_rule_whatever_the_order(sample_slice):
    from vidvec.apply import latest_versions

    v = sample_slice[0]
    private, deleted = replace(v, status="private"), replace(v, status="deleted")
    for rows in ([v, private], [private, v]):
        assert latest_versions(rows) == [private]
    for rows in ([deleted, private, v], [v, private, deleted]):
        assert latest_versions(rows) == [deleted]
    newer = replace(v, updated_at=v.updated_at + timedelta(seconds=1))
    assert latest_versions([deleted, newer]) == [newer]
