"""The audit and promote DAGs end to end with dag.test() on the embedded stack."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.conftest import build_live
from tests.dags.test_rebuild_dag import get_dag

T1 = datetime(2026, 11, 28, 2, tzinfo=timezone.utc)
T2 = datetime(2026, 11, 29, 2, tzinfo=timezone.utc)
AUDIT_AT = datetime(2026, 11, 29, 6, tzinfo=timezone.utc)


def audit_passed_events() -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (session.query(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                .filter(AssetModel.name == "vidvec_audit_passed").all())
        return [dict(r.extra or {}) for r in rows]


@pytest.fixture
def candidate(airflow_db, settings, sample_slice, embedder):
    """(old, new): `videos` on old, `videos__next` on the new rebuild."""
    from vidvec.store import open_store

    old = build_live(settings, sample_slice, embedder, t0=T1)
    new = build_live(settings, sample_slice, embedder, t0=T2)
    with open_store(settings) as store:
        store.set_aliases({"videos": old, "videos__next": new})
    return old, new


@pytest.mark.slow
def test_audit_then_promote_then_rollback(candidate, settings):
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    old, new = candidate
    before = len(audit_passed_events())
    run = get_dag("vidvec_recall_audit").test(logical_date=AUDIT_AT,
                                              run_conf={"target": "videos__next", "sample": 32})
    assert run.state == "success"
    with open_catalog(settings, read_only=True) as catalog:
        (summary,) = catalog.audits(new)
    assert summary.passed and summary.audited_at == AUDIT_AT and summary.recall == 1.0
    assert (settings.home / "reports" / summary.audit_id / "recall.png").stat().st_size > 10_000
    events = audit_passed_events()
    assert len(events) == before + 1 and events[-1]["collection"] == new
    assert events[-1]["audit_id"] == summary.audit_id

    run = get_dag("vidvec_promote").test(logical_date=AUDIT_AT + timedelta(hours=1),
                                         run_conf={"collection": new})
    assert run.state == "success"
    with open_store(settings) as store:
        assert store.aliases() == {"videos": new}
    with open_catalog(settings, read_only=True) as catalog:
        (promo,) = catalog.promotions("videos")
    assert (promo.collection, promo.previous, promo.promoted_at) == (new, old, AUDIT_AT + timedelta(hours=1))
    assert promo.actor == run.run_id and promo.forced == ()

    run = get_dag("vidvec_promote").test(logical_date=AUDIT_AT + timedelta(hours=2),
                                         run_conf={"action": "rollback"})
    assert run.state == "success"
    with open_store(settings) as store:
        assert store.aliases() == {"videos": old}


@pytest.mark.slow
def test_a_failing_audit_fails_the_gate_and_promotion_is_refused(candidate, settings, sample_slice):
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    old, new = candidate
    with open_store(settings) as store:
        store.delete_points(new, [v.video_id for v in sample_slice[::4]])
    before = len(audit_passed_events())
    run = get_dag("vidvec_recall_audit").test(logical_date=AUDIT_AT,
                                              run_conf={"target": "videos__next", "sample": 32})
    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == {"audit": "success", "gate": "failed", "compare": "success"}  # compare: same family, nothing
    assert len(audit_passed_events()) == before
    with open_catalog(settings, read_only=True) as catalog:
        (summary,) = catalog.audits(new)
    assert not summary.passed and summary.coverage == pytest.approx(48 / 64)

    run = get_dag("vidvec_promote").test(logical_date=AUDIT_AT + timedelta(hours=1),
                                         run_conf={"collection": "videos__next"})
    assert run.state == "failed"
    with open_store(settings) as store:
        assert store.aliases() == {"videos": old, "videos__next": new}
    with open_catalog(settings, read_only=True) as catalog:
        assert catalog.promotions() == []
    assert Path(settings.home / "reports" / summary.audit_id / "report.md").read_text().count("coverage") >= 2


@pytest.mark.slow
def test_the_canary_dag_records_a_canary_of_the_live_alias(candidate, settings):
    from vidvec.catalog.factory import open_catalog

    old, _ = candidate
    run = get_dag("vidvec_canary").test(logical_date=AUDIT_AT, run_conf={"sample": 24})
    assert run.state == "success"
    with open_catalog(settings, read_only=True) as catalog:
        (summary,) = catalog.audits(old, kind="canary")
        rows = catalog.audit_rows(summary.audit_id)
    assert summary.passed and summary.target == "videos" and summary.audited_at == AUDIT_AT
    assert summary.coverage is None and summary.served_p99_ms > 0 and summary.unindexed is not None
    assert {r.kind for r in rows} == {"canary"} and rows[0].sample_size == 24
