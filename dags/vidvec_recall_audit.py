"""
### vidvec_recall_audit

Measures what a collection really serves: for a language-stratified sample of
public videos, the top-k it serves (queried exactly as the API queries it,
unfiltered and filtered to the video's language) against the exact top-k over
the warehouse's stored embeddings; plus coverage (public catalog videos
served at vidvec's id, at the catalog's version), staleness (points behind the
catalog's updated_at), payload mismatches and foreign points (public points
not at vidvec's id). Rows go to `recall_audits`; a Markdown + PNG report goes to
`$VIDVEC_HOME/reports/<audit_id>/` (path in the log). The `gate` task fails
below the thresholds, naming each slice, and otherwise emits `AUDIT_PASSED`.

Runs on each rebuild's Asset event (target: the rebuilt collection) and daily
at 06:00 UTC on the live alias. Queries use the collection's own search params
(`hnsw_ef` overrides them); the report and rows name the engine and index that
answered (on an exact engine the index's own recall is 1.0 by construction).

When the target holds another family than the live alias (a model change),
`compare` also measures the two side by side (`vidvec compare`): per language,
the overlap of their top-k, category precision@k and audited recall, in a
report `$VIDVEC_HOME/reports/compare-*` that the vidvec page shows.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from vidvec.core.recall import AuditThresholds
from vidvec.params import AuditParams, CompareOptions, form
from vidvec_airflow import AUDIT_PASSED, REBUILT, STORE_POOL, form_params, run_t0, stores, triggered_extra

DEFAULTS = {"owner": "vidvec", "retries": 1, "retry_delay": timedelta(seconds=30), "pool": STORE_POOL}


@dag(
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 6 * * *", timezone="UTC"), assets=REBUILT),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    tags=["vidvec", "audit"],
    default_args=DEFAULTS,
    doc_md=__doc__,
    params=form_params(form(AuditParams, AuditThresholds)),  # types, bounds, descriptions: one definition
)
def vidvec_recall_audit():
    @task
    def audit(params=None, **context) -> dict:
        from vidvec.audit import run_audit
        from vidvec.report import write_report

        limits = AuditThresholds.parse({k: params[k] for k in AuditThresholds.model_fields})
        run = AuditParams.parse({k: params[k] for k in AuditParams.model_fields})
        with stores() as (settings, catalog, store):
            target = run.target or triggered_extra(context, REBUILT, "collection") or settings.live_alias
            result = run_audit(catalog, store, target, at=run_t0(context), k=run.k, sample=run.sample,
                               seed=run.seed, thresholds=limits, hnsw_ef=run.hnsw_ef)
            print(f"audit report: {write_report(result, settings.home / 'reports')}")  # before the page's picture
        overall = {s.filtered: s.recall for s in result.slices if s.slice == "overall"}
        return {"audit_id": result.audit_id, "collection": result.collection, "target": target,
                "engine": result.engine, "passed": result.passed, "failures": result.failures,
                "recall": overall.get(False), "filtered_recall": overall.get(True),
                "coverage": result.coverage, "staleness": result.staleness, "foreign": result.foreign,
                "report": result.report}

    @task(outlets=[AUDIT_PASSED])
    def gate(summary: dict, outlet_events=None) -> None:
        from airflow.sdk.exceptions import AirflowFailException

        if not summary["passed"]:  # a retry would measure the same: fail for good
            raise AirflowFailException(f"recall audit {summary['audit_id']} failed: "
                                       + "; ".join(summary["failures"]) + f" (report: {summary['report']})")
        outlet_events[AUDIT_PASSED].extra = {k: v for k, v in summary.items() if k != "failures"}

    @task
    def compare(summary: dict, params=None, **context) -> dict | None:
        from vidvec.compare import compare_with_live
        from vidvec.compare_report import write_report

        opts = CompareOptions.parse({"k": params["k"], "seed": params["seed"]})
        with stores() as (settings, catalog, store):
            found = compare_with_live(catalog, store, summary["collection"], settings.live_alias,
                                      at=run_t0(context), opts=opts)
            if found is None:
                return None  # same family as the live alias (or it is the live collection): nothing to compare
            report = write_report(found, settings.home / "reports")
        print(f"comparison with {settings.live_alias}: {report}")
        return {"report": str(report), "overall": found.rows[0].__dict__}

    summary = audit()
    gate(summary)
    compare(summary)


vidvec_recall_audit()
