"""
### vidvec_recall_audit

Measures what a collection really serves: for a language-stratified sample of
public videos, the top-k it serves (queried exactly as the API queries it,
unfiltered and filtered to the video's language) against the exact top-k over
the warehouse's stored embeddings; plus coverage (public catalog videos
served), staleness (points behind the catalog's updated_at) and payload
mismatches. Rows go to `recall_audits`; a Markdown + PNG report goes to
`$VIDVEC_HOME/reports/<audit_id>/` (path in the log). The `gate` task fails
below the thresholds, naming each slice, and otherwise emits `AUDIT_PASSED`.

Runs on each rebuild's Asset event (target: the rebuilt collection) and daily
at 06:00 UTC on the live alias. Queries use the collection's own search params
(`hnsw_ef` overrides them); the report and rows name the engine and index that
answered (on an exact engine the index's own recall is 1.0 by construction).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task

from vidvec_airflow import AUDIT_PASSED, REBUILT, STORE_POOL, run_t0, stores, triggered_extra

DEFAULTS = {"owner": "vidvec", "retries": 1, "retry_delay": timedelta(seconds=30), "pool": STORE_POOL}
NAME = r"^$|^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"


def _share(default: float, what: str) -> Param:
    return Param(default, type="number", minimum=0, maximum=1, description=what)


@dag(
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 6 * * *", timezone="UTC"), assets=REBUILT),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    tags=["vidvec", "audit"],
    default_args=DEFAULTS,
    doc_md=__doc__,
    params={
        "target": Param("", type="string", pattern=NAME,
                        description="Alias or collection; empty: the rebuilt collection, else the live alias."),
        "sample": Param(400, type="integer", minimum=1, maximum=100000, description="Queries drawn."),
        "k": Param(10, type="integer", minimum=1, maximum=100, description="Neighbours per query."),
        "seed": Param(0, type="integer", minimum=0, description="Sampling seed."),
        "hnsw_ef": Param(None, type=["null", "integer"], minimum=1, maximum=10000,
                         description="Search-time ef; empty = the collection's own search params."),
        "min_recall": _share(0.95, "Overall recall@k, unfiltered."),
        "min_filtered_recall": _share(0.95, "Overall recall@k, language-filtered."),
        "min_language_recall": _share(0.85, "Each language slice with enough queries."),
        "min_slice_queries": Param(5, type="integer", minimum=1, description="Smaller slices are not gated."),
        "min_coverage": _share(0.99, "Public catalog videos served."),
        "max_staleness": _share(0.01, "Points behind the catalog's updated_at."),
        "max_mismatch": _share(0.001, "Points whose language/model/status disagree."),
    },
)
def vidvec_recall_audit():
    @task
    def audit(params=None, **context) -> dict:
        from vidvec.audit import run_audit
        from vidvec.core.recall import AuditThresholds
        from vidvec.report import write_report

        limits = AuditThresholds.parse({k: params[k] for k in AuditThresholds.model_fields})
        with stores() as (settings, catalog, store):
            target = params["target"] or triggered_extra(context, REBUILT, "collection") or settings.live_alias
            result = run_audit(catalog, store, target, at=run_t0(context), k=params["k"],
                               sample=params["sample"], seed=params["seed"], thresholds=limits,
                               hnsw_ef=params.get("hnsw_ef"))
            print(f"audit report: {write_report(result, settings.home / 'reports')}")  # before the page's picture
        overall = {s.filtered: s.recall for s in result.slices if s.slice == "overall"}
        return {"audit_id": result.audit_id, "collection": result.collection, "target": target,
                "engine": result.engine, "passed": result.passed, "failures": result.failures,
                "recall": overall.get(False), "filtered_recall": overall.get(True),
                "coverage": result.coverage, "staleness": result.staleness, "report": result.report}

    @task(outlets=[AUDIT_PASSED])
    def gate(summary: dict, outlet_events=None) -> None:
        from airflow.sdk.exceptions import AirflowFailException

        if not summary["passed"]:  # a retry would measure the same: fail for good
            raise AirflowFailException(f"recall audit {summary['audit_id']} failed: "
                                       + "; ".join(summary["failures"]) + f" (report: {summary['report']})")
        outlet_events[AUDIT_PASSED].extra = {k: v for k, v in summary.items() if k != "failures"}

    gate(audit())


vidvec_recall_audit()
