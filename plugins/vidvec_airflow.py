"""Airflow-facing glue: turns a task's context into vidvec calls.

Nothing here runs at DAG parse time beyond reading an environment variable.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import datetime

from airflow.sdk import Asset

# Assets couple the DAGs: rebuild -> audit -> promote. Event extras carry the
# collection name, counts and model (small JSON, never vectors).
REBUILT = Asset(name="vidvec_rebuilt", uri="vidvec://collections/rebuilt")
AUDIT_PASSED = Asset(name="vidvec_audit_passed", uri="vidvec://collections/audit-passed")

# Tasks that open the embedded store (Qdrant Edge or local-mode files, the
# DuckDB file) share this pool; `make airflow-setup` sizes it 1, because one
# process at a time may hold those files.
STORE_POOL = "vidvec_store"
# The rebuild's Params that become its CollectionSpec (the index settings).
INDEX_PARAMS = ("hnsw_m", "ef_construct", "hnsw_ef", "full_scan_threshold_kb", "indexing_threshold_kb",
                "quantization")


def run_t0(context) -> datetime:
    """The run's logical time (run_after for manual runs without one); never now()."""
    dag_run = context["dag_run"]
    return context.get("logical_date") or dag_run.run_after


@contextmanager
def stores():
    """(settings, catalog, vector store), opened for one task and always closed."""
    from vidvec.catalog.factory import open_catalog
    from vidvec.config import load_settings

    settings = load_settings()
    with open_catalog(settings, credentials=_gcp_credentials(settings)) as catalog, \
            _open_store(settings) as store:
        yield settings, catalog, store


def triggered_extra(context, asset: Asset, key: str):
    """`key` from the newest triggering event of asset; None for manual or timed runs."""
    events = context.get("triggering_asset_events") or {}
    try:
        found = list(events[asset])
    except KeyError:
        return None
    return (found[-1].extra or {}).get(key) if found else None


def _gcp_credentials(settings):
    """BigQueryHook's credentials when VIDVEC_GCP_CONN_ID names a connection (else ADC / emulator)."""
    conn_id = os.environ.get("VIDVEC_GCP_CONN_ID")
    if settings.catalog != "bigquery" or not conn_id:
        return None
    from vidvec_hooks import bigquery_credentials

    return bigquery_credentials(conn_id)


def _open_store(settings):
    """The store from the Qdrant connection VIDVEC_QDRANT_CONN_ID names, else from the settings (VIDVEC_STORE)."""
    conn_id = os.environ.get("VIDVEC_QDRANT_CONN_ID")
    if conn_id:
        from vidvec_hooks import hook_store

        return hook_store(conn_id)
    from vidvec.store import open_store

    return open_store(settings)


def form_params(schemas: dict[str, dict]) -> dict:
    """Airflow Params from JSON schemas (vidvec.params.form): the form refuses bad values before a task runs."""
    from airflow.sdk import Param

    return {name: Param(s["default"], **{k: v for k, v in s.items() if k != "default"}) for name, s in schemas.items()}


def rebuild_params() -> dict:
    """The rebuild's Params for the configured embedder (read from VIDVEC_* while the DAG is parsed)."""
    from vidvec.config import load_settings
    from vidvec.embed.base import identity
    from vidvec.params import rebuild_form

    return form_params(rebuild_form(identity(load_settings()).model_id))


def rebuild_plan(params: dict, run_id: str, context) -> dict:
    """The rebuild's plan (as XCom carries it) from its Params and the run's T0."""
    from vidvec.config import load_settings
    from vidvec.embed.base import identity
    from vidvec.params import RebuildParams
    from vidvec.rebuild import plan_rebuild

    settings = load_settings()
    embedder = identity(settings)  # what the configured embedder writes; no model is loaded
    p = RebuildParams.parse(dict(params))  # validated again: the CLI and the library share the rules
    return plan_rebuild(live_alias=p.alias or settings.live_alias, t0=run_t0(context), run_id=run_id,
                        model_id=embedder.model_id, family=embedder.family, dim=embedder.dim,
                        n_shards=p.shards, recipe=p.recipe, mode=p.mode, index=p.index()).to_xcom()


def mark_rebuild_failed(context) -> None:
    """on_failure_callback: a run that failed for good flags its collection `failed`."""
    import logging

    from vidvec.rebuild import RebuildPlan, mark_failed

    pulled = context["ti"].xcom_pull(task_ids="plan", map_indexes=-1)
    if not pulled:
        return  # failed before a collection existed
    plan = RebuildPlan.from_xcom(pulled)
    try:
        with stores() as (_, __, store):
            if mark_failed(store, plan):
                logging.getLogger(__name__).warning("marked %s failed", plan.collection)
    except Exception:  # a callback must not hide the task's own error
        logging.getLogger(__name__).exception("could not mark %s failed", plan.collection)
