"""
### vidvec_full_rebuild

Rebuilds the video vector space into a new versioned Qdrant collection:
plan -> create collection (+ alias `videos__next`) -> load shards (one mapped
task per shard: stream rows as of T0, embed, insert) -> finish (verify the
exact count, build the index, point the live alias at the new collection).

Runs nightly and from the UI ("Trigger DAG" shows the Params as a form).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import Param, dag, task

from vidvec_airflow import STORE_POOL, run_t0, stores

DEFAULTS = {"owner": "vidvec", "retries": 2, "retry_delay": timedelta(seconds=30), "pool": STORE_POOL}


@dag(
    schedule="0 2 * * *",
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    tags=["vidvec", "rebuild"],
    default_args=DEFAULTS,
    doc_md=__doc__,
    params={
        "shards": Param(2, type="integer", minimum=1, maximum=256,
                        description="Catalog shards, one mapped load task each."),
        "recipe": Param("v2", type="string", enum=["v2", "v1", "titles-tags-v1", "titles-v1"],
                        description="Text recipe version (BENCHMARKS.md compares them)."),
        "batch_size": Param(256, type="integer", minimum=1, maximum=10000,
                            description="Rows per read, encode and write batch."),
    },
)
def vidvec_full_rebuild():
    @task
    def plan(params=None, run_id=None, **context) -> dict:
        from vidvec.config import load_settings
        from vidvec.embed import get_embedder
        from vidvec.rebuild import plan_rebuild

        settings = load_settings()
        embedder = get_embedder(settings)
        return plan_rebuild(live_alias=settings.live_alias, t0=run_t0(context), run_id=run_id,
                            model_id=embedder.model_id, family=embedder.family, dim=embedder.dim,
                            n_shards=params["shards"], recipe=params["recipe"])

    @task
    def shard_numbers(plan: dict) -> list[int]:
        return plan["shards"]

    @task
    def create(plan: dict) -> str:
        from vidvec.rebuild import create_target
        from vidvec.store import CollectionSpec

        with stores() as (_, __, store):
            create_target(store, plan, CollectionSpec(dim=plan["dim"]))
        return plan["collection"]

    @task(max_active_tis_per_dagrun=4)
    def load_shard(plan: dict, shard: int, params=None) -> dict:
        from vidvec.embed import get_embedder
        from vidvec.rebuild import load_shard as load

        with stores() as (settings, catalog, store):
            return load(catalog, store, get_embedder(settings), plan, shard, params["batch_size"])

    @task
    def finish(plan: dict, loads: list[dict]) -> dict:
        from vidvec.rebuild import finish as finish_rebuild
        from vidvec.store import CollectionSpec

        with stores() as (_, catalog, store):
            result = finish_rebuild(catalog, store, plan, CollectionSpec(dim=plan["dim"]))
        return result | {"rows": sum(x["rows"] for x in loads), "encoded": sum(x["encoded"] for x in loads)}

    planned = plan()
    created = create(planned)
    loads = load_shard.partial(plan=planned).expand(shard=shard_numbers(planned))
    created >> loads
    finish(planned, loads)


vidvec_full_rebuild()
