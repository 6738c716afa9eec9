"""`airflow dags test vidvec_full_rebuild`, as an Airflow user tries a DAG: exit 0 with nothing set.

Airflow 3.3.2's dag.test() fails a run with a deadline as it succeeds
(vidvec_airflow.deadline_for_scheduled_runs says why); the test run goes
without it, while the DAG the scheduler reads keeps it. That a scheduler run
past its deadline raises the alert is tested with a real scheduler and
triggerer in tests/dags/test_airflow_rest.py.
"""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

AIRFLOW = str(Path(sys.executable).parent / "airflow")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_dags_test_of_the_rebuild_exits_0_in_the_default_environment(airflow_db, settings, sample_slice):
    from airflow.models.dagrun import DagRun
    from airflow.models.deadline import Deadline
    from airflow.models.deadline_alert import DeadlineAlert
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    with open_catalog(settings) as catalog:
        catalog.upsert_videos(sample_slice[:24])
    env = os.environ | {"VIDVEC_HOME": str(settings.home)}  # no other VIDVEC_* (conftest clears them)
    assert not [v for v in env if v.startswith("VIDVEC_") and v not in ("VIDVEC_HOME",)
                and not v.startswith("VIDVEC_TEST_")]
    done = subprocess.run([AIRFLOW, "dags", "test", "vidvec_full_rebuild"], env=env, capture_output=True,
                          text=True, timeout=540)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "state=success" in output or "successful" in output

    with open_store(settings) as store:  # the run really rebuilt the space
        collection = store.aliases()["videos__next"]
        assert store.count(collection) == len({v.video_id for v in sample_slice[:24] if v.status == "public"})
    with create_session() as session:
        run = session.scalars(select(DagRun).where(DagRun.dag_id == "vidvec_full_rebuild")
                              .order_by(DagRun.id.desc())).first()
        assert run.state == "success" and run.run_id == store_run_id(settings, collection)
        # No deadline is left behind to fire for this test run later...
        assert session.scalars(select(Deadline).where(Deadline.dagrun_id == run.id)).all() == []
        # ...and the DAG the scheduler reads (written by this same `dags test`) keeps its deadline.
        serialized = SerializedDagModel.get("vidvec_full_rebuild", session=session)
        (alert,) = session.scalars(select(DeadlineAlert)
                                   .where(DeadlineAlert.serialized_dag_id == serialized.id)).all()
        assert alert.interval["__data__"] == timedelta(hours=6).total_seconds()
        assert alert.callback_def["__data__"]["path"] == "vidvec_airflow.rebuild_deadline_missed"


def store_run_id(settings, collection: str) -> str:
    from vidvec.store import open_store

    with open_store(settings) as store:
        return store.metadata(collection)["run_id"]
