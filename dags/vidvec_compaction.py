"""
### vidvec_compaction

survey -> reconcile live (and `videos__next`) with the catalog: purge points of
deleted, private and unknown videos and tombstones older than the window,
re-embed stale points, add missing public videos -> vacuum (server: drive
Qdrant's optimizer, wait until green; Edge: optimize) -> retention (drop
unaliased collections beyond the newest N and older than D days; never live,
rollback or building) -> snapshot live (Edge and server) -> summary. `dry_run`
plans and changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import Param, dag, task

from vidvec_airflow import STORE_POOL, run_t0, stores

DEFAULTS = {"owner": "vidvec", "retries": 2, "retry_delay": timedelta(seconds=30), "pool": STORE_POOL}


def _opts(params):
    from vidvec.compaction import compact_options

    return compact_options(**dict(params))  # validated again: the CLI shares the rules


@dag(
    schedule="0 4 * * *",
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    tags=["vidvec", "compaction"],
    default_args=DEFAULTS,
    doc_md=__doc__,
    params={
        "dry_run": Param(False, type="boolean", description="Print the plan; change nothing."),
        "tombstone_days": Param(7, type="integer", minimum=0, maximum=365, description="Tombstones kept (days)."),
        "keep_newest": Param(3, type="integer", minimum=1, maximum=100, description="Newest collections kept."),
        "min_age_days": Param(7, type="integer", minimum=0, maximum=3650, description="Minimum age to drop (days)."),
        "snapshot": Param(True, type="boolean", description="Snapshot the live collection (Edge, server)."),
    },
)
def vidvec_compaction():
    @task
    def survey() -> dict:
        from vidvec import compaction

        with stores() as (_, __, store):
            return compaction.survey(store)

    @task
    def reconcile(params=None, **context) -> list[dict]:
        from vidvec import compaction
        from vidvec.embed import get_embedder

        with stores() as (settings, catalog, store):
            return [compaction.reconcile(catalog, store, lambda: get_embedder(settings), name, run_t0(context),
                                         _opts(params)) for name in compaction.targets(store, settings.live_alias)]

    @task
    def vacuum(reconciled: list[dict], params=None) -> list[dict]:
        from vidvec import compaction

        with stores() as (_, __, store):
            return compaction.vacuum(store, reconciled, _opts(params))

    @task
    def retention(params=None, **context) -> dict:
        from vidvec import compaction

        with stores() as (_, catalog, store):
            return compaction.retention(catalog, store, run_t0(context), _opts(params))

    @task
    def snapshot(params=None) -> dict:
        from vidvec import compaction

        with stores() as (settings, _, store):
            return compaction.snapshot(store, settings.live_alias, _opts(params))

    @task
    def summary(before: dict, reconciled: list[dict], vacuumed: list[dict], retained: dict, snap: dict,
                params=None, **context) -> dict:
        from vidvec import compaction

        with stores() as (_, __, store):
            result = compaction.report(store, run_t0(context), _opts(params), before, reconciled, vacuumed,
                                       retained, snap)
        print(result["summary"])  # the task log is the report a person reads
        return result

    before = survey()
    reconciled = reconcile()
    vacuumed = vacuum(reconciled)
    retained = retention()
    snap = snapshot()
    before >> reconciled  # sizes before anything changes
    vacuumed >> retained >> snap
    summary(before, reconciled, vacuumed, retained, snap)


vidvec_compaction()
