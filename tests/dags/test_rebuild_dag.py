"""The rebuild DAG end to end with dag.test() on the embedded stack."""

from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.conftest import with_status

DAGS = Path(__file__).resolve().parents[2] / "dags"
T0 = datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc)


def get_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS / f"{dag_id}.py"))
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag(dag_id)


@pytest.mark.slow
def test_rebuild_serves_exactly_the_public_videos(airflow_db, settings, sample_slice):
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    videos = with_status(with_status(sample_slice, 7, "private"), 5, "deleted")
    public = {v.video_id: v for v in videos if v.status == "public"}
    assert 0 < len(public) < len(videos)
    with open_catalog(settings) as catalog:
        catalog.upsert_videos(videos)

    run = get_dag("vidvec_full_rebuild").test(logical_date=T0, run_conf={"shards": 3, "batch_size": 16})
    assert run.state == "success"

    with open_store(settings) as store:
        aliases = store.aliases()
        collection = aliases["videos"]
        assert collection.startswith("videos__usem3-") and collection.endswith("__20261129T020000Z")
        assert "videos__next" not in aliases
        assert store.metadata(collection)["state"] == "ready"
        points = [p for batch in store.scroll(collection) for p in batch]
    assert sorted(vid for vid, _, _ in points) == sorted(public)
    for vid, body, _ in points:
        v = public[vid]
        assert (body["language"], body["owner_id"], body["category"], body["status"]) == (
            v.language, v.owner_id, v.category, "public")
        assert body["model_id"].startswith("usem3-") and len(body["text_hash"]) == 32
        assert body["updated_at"] > 0 and body["published_at"] > 0
