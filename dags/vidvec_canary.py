"""
### vidvec_canary

A small recall audit of each live alias between rebuilds, hourly: ~100 sampled
queries (the same ones each run for one seed) served exactly as the API serves
them, against exact kNN over the stored embeddings; their served p50/p99
latency; and the share of vectors outside an HNSW index. No coverage scan (the
daily `vidvec_recall_audit` does that), so a run takes seconds. Rows go to
`recall_audits` with kind `canary`; the vidvec page draws their trend and
Prometheus gets them as `vidvec_recall{kind="canary"}` and friends. The
`canary` task fails when recall misses its thresholds (the alert fires on two
failing canaries in a row, `vidvec_audit_failing_streak`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import dag, task

from vidvec.core.recall import AuditThresholds
from vidvec.params import CanaryParams, form
from vidvec_airflow import STORE_POOL, form_params, run_t0, stores

DEFAULTS = {"owner": "vidvec", "retries": 1, "retry_delay": timedelta(seconds=30), "pool": STORE_POOL}


@dag(
    schedule="15 * * * *",  # hourly, off the rebuild's and the audit's full hours
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=30),
    tags=["vidvec", "audit", "canary"],
    default_args=DEFAULTS,
    doc_md=__doc__,
    params=form_params(form(CanaryParams, AuditThresholds)),
)
def vidvec_canary():
    @task
    def canary(params=None, **context) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from vidvec.canary import run_canary
        from vidvec.cli_slo import describe

        limits = AuditThresholds.parse({k: params[k] for k in AuditThresholds.model_fields})
        run = CanaryParams.parse({k: params[k] for k in CanaryParams.model_fields})
        with stores() as (settings, catalog, store):
            result = run_canary(catalog, store, run.target or settings.live_alias, at=run_t0(context), k=run.k,
                                sample=run.sample, seed=run.seed, thresholds=limits)
        print(describe(result))
        if not result.passed:  # measured, recorded and pushed: a retry would measure the same
            raise AirflowFailException(f"canary {result.audit_id}: " + "; ".join(result.failures))
        return {"audit_id": result.audit_id, "collection": result.collection, "unindexed": result.unindexed}

    canary()


vidvec_canary()
