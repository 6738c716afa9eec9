"""The nightly rebuild's deadline alert: its interval comes from the setting, its callback reports."""

import asyncio
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.dags.test_rebuild_dag import get_dag


def test_the_rebuild_has_a_deadline_from_the_setting(airflow_db, monkeypatch):
    from airflow.sdk.definitions.deadline import DagRunLogicalDateDeadline

    monkeypatch.setenv("VIDVEC_REBUILD_DEADLINE_HOURS", "2.5")
    deadline = get_dag("vidvec_full_rebuild").deadline
    alert = deadline[0] if isinstance(deadline, list) else deadline
    assert isinstance(alert.reference, DagRunLogicalDateDeadline)  # counted from the run's logical time
    assert alert.interval == timedelta(hours=2.5)
    assert alert.callback.path == "vidvec_airflow.rebuild_deadline_missed"
    monkeypatch.setenv("VIDVEC_REBUILD_DEADLINE_HOURS", "0")
    assert get_dag("vidvec_full_rebuild").deadline is None  # 0: no deadline


def test_a_missed_deadline_is_logged_and_shown_on_the_page(settings):
    from vidvec.ui.page import create_app
    from vidvec.ui.state import read_alerts
    from vidvec_airflow import rebuild_deadline_missed

    context = {"dag_run": {"dag_id": "vidvec_full_rebuild", "dag_run_id": "scheduled__2026-11-29T02:00:00+00:00",
                           "logical_date": "2026-11-29T02:00:00Z", "state": "running"},
               "deadline": {"id": "d1", "deadline_time": "2026-11-29T08:00:00Z"}}  # what the scheduler sends
    message = asyncio.run(rebuild_deadline_missed(context=context))
    assert "scheduled__2026-11-29T02:00:00+00:00" in message and "deadline 2026-11-29T08:00:00" in message
    (alert,) = read_alerts(settings.home)
    assert alert["kind"] == "deadline_missed" and alert["message"] == message
    html = TestClient(create_app(load=lambda: {"alerts": [alert]}, home=settings.home)).get("/").text
    assert "<h2>Alerts</h2>" in html and "was still running at its deadline" in html
