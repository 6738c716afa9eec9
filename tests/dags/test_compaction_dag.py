"""The compaction DAG end to end with dag.test() on a small slice with injected drift."""

import pytest

from tests.conftest import build_live
from tests.dags.test_rebuild_dag import get_dag
from tests.test_compaction import NOW, T0, assert_equals_public_catalog, inject_drift, read_all, store_state

CONF = {"tombstone_days": 7, "keep_newest": 2, "min_age_days": 7, "snapshot": True}


@pytest.mark.slow
def test_compaction_dag_dry_run_then_real_run(airflow_db, settings, sample_slice, embedder):
    build_live(settings, sample_slice, embedder, t0=T0)
    kinds, live = inject_drift(settings, sample_slice)
    dag = get_dag("vidvec_compaction")
    before = store_state(settings)

    dry = dag.test(logical_date=NOW, run_conf=CONF | {"dry_run": True})
    assert dry.state == "success"
    assert store_state(settings) == before

    run = dag.test(logical_date=NOW.replace(hour=5), run_conf=CONF | {"dry_run": False})
    assert run.state == "success"
    points = read_all(settings)
    assert_equals_public_catalog(settings, points, embedder, extra_ids=kinds["recent_delete"])
    assert "ghostOld" not in points and "ghostTomb" not in points
