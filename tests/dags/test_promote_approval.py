"""vidvec_promote with approval on, end to end with dag.test(): approve, reject, time out.

A person's answer goes in through Airflow's own HITL endpoint function (the one
the approval form calls), from a thread, while dag.test() waits for it; the
timeout goes through the scheduler's own awaiting-input sweep.
"""

import json
import logging
import threading
import time
import types
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import build_live
from tests.dags.test_rebuild_dag import get_dag

T1 = datetime(2026, 11, 28, 2, tzinfo=timezone.utc)
T2 = datetime(2026, 11, 29, 2, tzinfo=timezone.utc)
AT = datetime(2026, 11, 29, 7, tzinfo=timezone.utc)


@pytest.fixture
def audited(airflow_db, settings, sample_slice, embedder):
    """(old, new): `videos` on old, `videos__next` on new, new audited (passed) at AT."""
    from vidvec.audit import run_audit
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    old = build_live(settings, sample_slice, embedder, t0=T1)
    new = build_live(settings, sample_slice, embedder, t0=T2)
    with open_catalog(settings) as catalog, open_store(settings) as store:
        store.set_aliases({"videos": old, "videos__next": new})
        assert run_audit(catalog, store, new, at=AT, sample=16).passed
    return old, new


def waiting_detail(dag_id: str, timeout_s: float = 120):
    """The HITL request of the newest awaiting `approval` task: (run_id, subject, body, params)."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session
    from sqlalchemy import select

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with create_session() as session:
            row = session.execute(select(HITLDetail, TI).join(TI, TI.id == HITLDetail.ti_id).where(
                TI.dag_id == dag_id, TI.task_id == "approval", TI.state == "awaiting_input")).first()
            if row:
                detail, ti = row
                return ti.run_id, detail.subject, detail.body, dict(detail.params), detail.defaults
        time.sleep(0.5)
    raise AssertionError("no approval request appeared")


def answer(run_id: str, option: str, user: str, reason: str) -> None:
    """What the approval form does: PATCH .../hitlDetails, through the endpoint's own function."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
    from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
    from airflow.utils.session import create_session

    with create_session() as session:
        update_hitl_detail(dag_id="vidvec_promote", dag_run_id=run_id, task_id="approval",
                           update_hitl_detail_payload=UpdateHITLDetailPayload(
                               chosen_options=[option], params_input={"reason": reason}),
                           user=SimpleAuthManagerUser(username=user, role="admin"), session=session)


def run_with(conf: dict, respond, at: datetime):
    """dag.test() in this thread; `respond(request)` in another once the approval form waits."""
    seen, errors = {}, []

    def responder():
        try:
            seen["request"] = waiting_detail("vidvec_promote")
            respond(seen["request"])
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)
            import traceback
            traceback.print_exc()
            _fail_waiting_tasks()  # or dag.test() would wait for an answer forever

    dag = get_dag("vidvec_promote")  # imports Airflow's models here, not racing the responder's imports
    import airflow.api_fastapi.core_api.routes.public.hitl  # noqa: F401
    import airflow.jobs.scheduler_job_runner  # noqa: F401

    thread = threading.Thread(target=responder, daemon=True)
    thread.start()
    run = dag.test(logical_date=at, run_conf=conf)
    thread.join(30)
    assert not errors, errors
    return run, seen["request"]


def _fail_waiting_tasks() -> None:
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session

    with create_session() as session:
        for ti in session.query(TI).filter(TI.dag_id == "vidvec_promote", TI.state == "awaiting_input"):
            ti.state = "failed"


def states(run) -> dict:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


@pytest.mark.slow
def test_approve_swaps_and_records_who_and_why(audited, settings):
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    old, new = audited
    run, (run_id, subject, body, params, defaults) = run_with(
        {"collection": new, "require_approval": True},
        lambda req: answer(req[0], "Approve", "alice", "audit looks right"), AT + timedelta(hours=1))
    assert run.state == "success" and states(run) == {
        "check": "success", "ask": "success", "approval": "success", "swap": "success"}
    assert subject == f"Promote {new} to videos?" and defaults == ["Reject"]
    assert set(params) == {"reason"}  # the form asks only for a reason, not the DAG's Params
    assert f"to **`{new}`**" in body and "| audit | ok |" in body and "Newest audit `" in body
    with open_store(settings) as store:
        assert store.aliases() == {"videos": new}
    with open_catalog(settings, read_only=True) as catalog:
        (promo,) = catalog.promotions("videos")
        (decision,) = catalog.approvals()
    assert (promo.collection, promo.previous, promo.actor) == (new, old, run_id)
    assert (decision.run_id, decision.approved, decision.responded_by, decision.reason, decision.timed_out) == (
        run_id, True, "alice", "audit looks right", False)
    page = json.loads((settings.home / "space.json").read_text())
    assert page["written_by"].startswith("vidvec_promote.swap")
    assert [a["collection"] for a in page["aliases"] if a["alias"] == "videos"] == [new]
    assert page["approvals"][0]["responded_by"] == "alice"


@pytest.mark.slow
def test_reject_leaves_the_alias_and_records_who_and_why(audited, settings):
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    old, new = audited
    run, (run_id, *_) = run_with({"collection": new, "require_approval": True},
                                 lambda req: answer(req[0], "Reject", "bob", "wait for the ja fix"),
                                 AT + timedelta(hours=1))
    assert run.state == "success" and states(run)["swap"] == "skipped"
    with open_store(settings) as store:
        assert store.aliases() == {"videos": old, "videos__next": new}
    with open_catalog(settings, read_only=True) as catalog:
        assert catalog.promotions() == []
        (decision,) = catalog.approvals()
    assert (decision.run_id, decision.approved, decision.responded_by, decision.reason) == (
        run_id, False, "bob", "wait for the ja fix")
    page = json.loads((settings.home / "space.json").read_text())
    assert page["approvals"][0]["approved"] is False and page["written_by"].startswith("vidvec_promote.approval")


@pytest.mark.slow
def test_no_answer_in_time_rejects_by_default(audited, settings):
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    old, new = audited

    def nobody(_request):
        time.sleep(2)  # past the 1 s response timeout; then the scheduler's sweep as it runs it
        SchedulerJobRunner.check_awaiting_input_timeouts(types.SimpleNamespace(log=logging.getLogger("sweep")))

    run, _ = run_with({"collection": new, "require_approval": True, "approval_timeout_hours": 1 / 3600},
                      nobody, AT + timedelta(hours=1))
    assert run.state == "success" and states(run)["swap"] == "skipped"
    with open_store(settings) as store:
        assert store.aliases()["videos"] == old
    with open_catalog(settings, read_only=True) as catalog:
        (decision,) = catalog.approvals()
    assert (decision.approved, decision.responded_by, decision.timed_out) == (False, None, True)


@pytest.mark.slow
def test_without_approval_the_swap_runs_at_once(audited, settings):
    from vidvec.store import open_store

    _, new = audited
    run = get_dag("vidvec_promote").test(logical_date=AT + timedelta(hours=1), run_conf={"collection": new})
    assert run.state == "success" and states(run)["approval"] == "skipped" and states(run)["swap"] == "success"
    with open_store(settings) as store:
        assert store.aliases() == {"videos": new}
