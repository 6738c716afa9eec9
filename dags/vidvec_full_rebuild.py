"""
### vidvec_full_rebuild

Rebuilds the video vector space into a new versioned Qdrant collection:
plan -> create (collection in state `building` + alias `videos__next`) ->
load shards (one mapped task per shard: the catalog as of T0, insert-only) ->
catch up (changes after T0: conditional writes, tombstones) -> finish (exact
count, HNSW built, ready, state `ready`, Asset event `vidvec_rebuilt`).
It never moves the live alias: `vidvec_promote` does, after an audit. A run
still going `VIDVEC_REBUILD_DEADLINE_HOURS` (default 6) after its logical time
raises a deadline alert (the triggerer logs it; the vidvec page shows it).

Modes: `reembed` (new model or recipe; unchanged texts reuse stored vectors)
and `reindex` (stored vectors only, new index settings, no encoder run).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import Param, dag, task

from vidvec.core.naming import NAME_PATTERN
from vidvec.core.recipe import DEFAULT_RECIPE, RECIPES
from vidvec_airflow import REBUILT, STORE_POOL, mark_rebuild_failed, rebuild_deadline, rebuild_plan, stores

DEFAULTS = {"owner": "vidvec", "retries": 2, "retry_delay": timedelta(seconds=30), "pool": STORE_POOL,
            "on_failure_callback": mark_rebuild_failed}


@dag(
    schedule="0 2 * * *",
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    tags=["vidvec", "rebuild"],
    default_args=DEFAULTS,
    # Still running VIDVEC_REBUILD_DEADLINE_HOURS after its logical time: alert (README: routing it).
    deadline=rebuild_deadline(),
    doc_md=__doc__,
    params={
        "mode": Param("reembed", type="string", enum=["reembed", "reindex"],
                      description="reembed: encode texts without a stored vector; reindex: stored vectors only."),
        "alias": Param(None, type=["null", "string"], pattern=NAME_PATTERN, maxLength=120,
                       description="Live alias to rebuild for (builds <alias>__next); empty = VIDVEC_LIVE_ALIAS."),
        "shards": Param(2, type="integer", minimum=1, maximum=256,
                        description="Catalog shards, one mapped load task each."),
        "recipe": Param(DEFAULT_RECIPE, type="string", enum=sorted(RECIPES), description="Text recipe version."),
        "batch_size": Param(256, type="integer", minimum=1, maximum=10000,
                            description="Rows per read, encode and write batch (bounds a task's memory)."),
        "hnsw_m": Param(16, type="integer", minimum=4, maximum=128, description="HNSW m, built after the load."),
        "ef_construct": Param(100, type="integer", minimum=4, maximum=1000, description="HNSW ef_construct."),
        "hnsw_ef": Param(None, type=["null", "integer"], minimum=1, maximum=10000,
                         description="Search-time ef the collection is queried with; empty = ef_construct."),
        "full_scan_threshold_kb": Param(200, type="integer", minimum=1, maximum=10**9,
                                        description="Filters matching less than this (KB of vectors) scan exactly."),
        "indexing_threshold_kb": Param(1000, type="integer", minimum=1, maximum=10**9,
                                       description="Segments with more unindexed vectors (KB) get HNSW."),
        "quantization": Param(False, type="boolean", description="int8 scalar quantization (rescored)."),
        "ready_timeout_s": Param(1800, type="integer", minimum=10, maximum=86400,
                                 description="Seconds to wait for the index to be built (green, optimizer idle)."),
    },
)
def vidvec_full_rebuild():
    @task
    def plan(params=None, run_id=None, **context) -> dict:
        return rebuild_plan(params, run_id, context)

    @task
    def shard_numbers(plan: dict) -> list[int]:
        return plan["shards"]

    @task
    def create(plan: dict) -> str:
        from vidvec.rebuild import create_target

        with stores() as (_, __, store):
            create_target(store, plan)
        return plan["collection"]

    @task(max_active_tis_per_dagrun=4)
    def load_shard(plan: dict, shard: int, params=None) -> dict:
        from vidvec.embed import get_embedder
        from vidvec.rebuild import load_shard as load

        with stores() as (settings, catalog, store):
            return load(catalog, store, get_embedder(settings), plan, shard, params["batch_size"])

    @task
    def catch_up(plan: dict, loads: list[dict], params=None) -> dict:
        from vidvec.embed import get_embedder
        from vidvec.rebuild import catch_up as replay

        with stores() as (settings, catalog, store):
            return replay(catalog, store, get_embedder(settings), plan, params["batch_size"])

    @task(outlets=[REBUILT])
    def finish(plan: dict, loads: list[dict], caught: dict, params=None, outlet_events=None) -> dict:
        from vidvec.rebuild import finish as finish_rebuild
        from vidvec.rebuild import summary

        with stores() as (_, catalog, store):
            done = finish_rebuild(catalog, store, plan, ready_timeout_s=params["ready_timeout_s"])
        extra = summary(plan, loads, caught, done)
        outlet_events[REBUILT].extra = extra  # the audit DAG is scheduled on this event
        return extra

    planned = plan()
    loads = load_shard.partial(plan=planned).expand(shard=shard_numbers(planned))
    create(planned) >> loads
    finish(planned, loads, catch_up(planned, loads))


vidvec_full_rebuild()
