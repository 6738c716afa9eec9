"""
### vidvec_compaction

survey -> reconcile live (and `videos__next`) with the catalog: purge points of
deleted, private and unknown videos and tombstones older than the window,
re-embed stale points, add missing public videos -> vacuum (server: drive
Qdrant's optimizer, wait until green; Edge: optimize) -> retention (drop
unaliased collections beyond the newest N and older than D days; never live,
rollback or building) -> prune the warehouse's stored vectors that no collection
needs (include/vidvec/prune.py) -> snapshot live (Edge and server) -> summary. `dry_run`
plans and changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import dag, task

from vidvec.params import CompactOptions, form
from vidvec_airflow import STORE_POOL, form_params, run_t0, stores

DEFAULTS = {"owner": "vidvec", "retries": 2, "retry_delay": timedelta(seconds=30), "pool": STORE_POOL}


@dag(
    schedule="0 4 * * *",
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    tags=["vidvec", "compaction"],
    default_args=DEFAULTS,
    doc_md=__doc__,
    params=form_params(form(CompactOptions)),  # the options of `vidvec compact`: one definition
)
def vidvec_compaction():
    @task
    def survey() -> dict:
        from vidvec import compaction

        with stores() as (_, __, store):
            return compaction.survey(store).to_xcom()

    @task
    def reconcile(params=None, **context) -> list[dict]:
        from vidvec import compaction
        from vidvec.embed import embedder_of

        with stores() as (settings, catalog, store):  # each collection with its own model's embedder
            return [compaction.reconcile(catalog, store, lambda meta: embedder_of(meta, settings), name,
                                         run_t0(context), CompactOptions.parse(params)).to_xcom()
                    for name in compaction.targets(store, settings.live_alias, catalog.promotions(None),
                                                   run_t0(context), settings.rollback_window_hours)]

    @task
    def vacuum(reconciled: list[dict], params=None) -> list[dict]:
        from vidvec.compaction import Reconciled, vacuum

        with stores() as (_, __, store):
            done = vacuum(store, [Reconciled.from_xcom(r) for r in reconciled], CompactOptions.parse(params))
        return [v.to_xcom() for v in done]

    @task
    def retention(params=None, **context) -> dict:
        from vidvec import compaction

        with stores() as (_, catalog, store):
            return compaction.retention(catalog, store, run_t0(context), CompactOptions.parse(params)).to_xcom()

    @task
    def prune(params=None, **context) -> dict:
        from vidvec.prune import prune as prune_warehouse

        with stores() as (_, catalog, store):  # stored vectors no collection needs (vidvec/prune.py)
            return prune_warehouse(catalog, store, run_t0(context), CompactOptions.parse(params)).to_xcom()

    @task
    def snapshot(params=None) -> dict:
        from vidvec import compaction

        with stores() as (settings, _, store):
            return compaction.snapshot(store, settings.live_alias, CompactOptions.parse(params)).to_xcom()

    @task
    def summary(before: dict, reconciled: list[dict], vacuumed: list[dict], retained: dict, snap: dict,
                pruned: dict, params=None, **context) -> dict:
        from vidvec.compaction import Reconciled, Retained, Snapshot, Space, Vacuumed, report
        from vidvec.prune import Pruned

        with stores() as (_, __, store):
            result = report(store, run_t0(context), CompactOptions.parse(params), Space.from_xcom(before),
                            [Reconciled.from_xcom(r) for r in reconciled], [Vacuumed.from_xcom(v) for v in vacuumed],
                            Retained.from_xcom(retained), Snapshot.from_xcom(snap), Pruned.from_xcom(pruned))
        print(result["summary"])  # the task log is the report a person reads
        return result

    before = survey()
    reconciled = reconcile()
    vacuumed = vacuum(reconciled)
    retained = retention()
    pruned = prune()
    snap = snapshot()
    before >> reconciled  # sizes before anything changes
    vacuumed >> retained >> pruned >> snap  # prune after retention: a dropped collection needs nothing
    summary(before, reconciled, vacuumed, retained, snap, pruned)


vidvec_compaction()
