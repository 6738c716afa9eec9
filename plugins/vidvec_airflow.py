"""Airflow-facing glue: turns a task's context into vidvec calls.

Nothing here runs at DAG parse time beyond reading an environment variable.
"""

from __future__ import annotations

import functools
import logging
import os
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from airflow.sdk import Asset

# Assets couple the DAGs: rebuild -> audit -> promote. Event extras carry the
# collection name, counts and model (small JSON, never vectors).
REBUILT = Asset(name="vidvec_rebuilt", uri="vidvec://collections/rebuilt")
AUDIT_PASSED = Asset(name="vidvec_audit_passed", uri="vidvec://collections/audit-passed")

# Tasks that open the embedded store (Qdrant Edge or local-mode files, the
# DuckDB file) share this pool; `make airflow-setup` sizes it 1, because one
# process at a time may hold those files.
STORE_POOL = "vidvec_store"


def check_promotion(params: dict, context) -> dict:
    """vidvec_promote's `check`: the candidate and its gates, before anyone is asked to approve."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from vidvec.core.gates import GatePolicy
    from vidvec.core.naming import next_alias
    from vidvec.embed.registry import families
    from vidvec.promote import PromotionRefused, approval_body, check

    alias, policy = params["alias"], {k: params[k] for k in GatePolicy.model_fields}
    if params["action"] == "rollback":
        return {"action": "rollback", "alias": alias, "policy": policy}
    with stores() as (settings, catalog, store):
        name = params["collection"] or triggered_extra(context, AUDIT_PASSED, "collection")
        if not name:
            raise AirflowFailException("no collection: set the `collection` Param")
        collection, aliases = store.resolve(name), store.aliases()
        if not params["collection"] and aliases.get(next_alias(alias)) != collection:
            raise AirflowSkipException(f"{collection} is not the candidate behind {next_alias(alias)}: "
                                       "promote it from the UI if you mean it")
        if aliases.get(alias) == collection:
            raise AirflowSkipException(f"{alias} already points at {collection}: nothing to do")
        try:
            checked = check(catalog, store, collection, alias=alias, at=run_t0(context),
                            families=families(settings), policy=GatePolicy.parse(policy),
                            force=tuple(params["force_gates"]))
        except PromotionRefused as exc:  # a retry would be refused the same way
            raise AirflowFailException(str(exc)) from None
    return checked | {"action": "promote", "policy": policy, "subject": f"Promote {collection} to {alias}?",
                      "body": approval_body(checked), "approval_timeout_hours": params["approval_timeout_hours"]}


def promote_params() -> dict:
    """The promotion's Params; `require_approval` defaults to VIDVEC_REQUIRE_APPROVAL, read when the DAG is parsed."""
    from vidvec.config import load_settings
    from vidvec.params import promote_form

    return form_params(promote_form(load_settings().require_approval))


def record_approval(context, checked: dict, answer: dict) -> None:
    """A person's answer to the approval form (who, why), into the warehouse where the page shows it."""
    from vidvec.catalog.base import Approval

    user = answer.get("responded_by_user") or {}
    approval = Approval(run_id=context["run_id"], alias=checked["alias"], collection=checked["collection"],
                        approved=answer["chosen_options"] == ["Approve"], decided_at=answer["responded_at"],
                        responded_by=user.get("name") or user.get("id") or None,
                        reason=str((answer.get("params_input") or {}).get("reason") or ""),
                        timed_out=bool(answer.get("timedout")))
    with stores() as (_, catalog, __):
        catalog.record_approval(approval)


def rebuild_deadline():
    """The rebuild's DeadlineAlert: VIDVEC_REBUILD_DEADLINE_HOURS (read when the DAG is parsed) after
    the run's logical time, `rebuild_deadline_missed` runs in the triggerer; None when set to 0."""
    from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference  # type: ignore[attr-defined]  # not in its .pyi

    from vidvec.config import load_settings

    hours = load_settings().rebuild_deadline_hours
    if not hours:
        return None
    return DeadlineAlert(reference=DeadlineReference.DAGRUN_LOGICAL_DATE, interval=timedelta(hours=hours),
                         callback=AsyncCallback(rebuild_deadline_missed))


def deadline_for_scheduled_runs(dag):
    """Run `dag.test()` (`airflow dags test`) of this DAG without its deadline; scheduled runs keep it.

    Airflow 3.3.2's dag.test() drives the run with an in-memory copy of the DAG
    (deserialized from its own serialization), whose `deadline` holds the alerts'
    definitions where the scheduler's copy (from the metadata DB) holds their ids. When
    the run succeeds, DagRun.update_state looks each one up by id to prune the unmissed
    deadlines and fails ("'dict' object has no attribute 'hex'"): `dags test` exits 1.
    For the length of test() the DAG has no deadline: the run gets no Deadline row (none
    is left to fire later for a test run), and what test() writes to the DB is parsed
    from the file again, deadline included, so the scheduler's runs keep the alert.
    """
    test = dag.test

    @functools.wraps(test)
    def test_without_deadline(*args, **kwargs):
        kept, dag.deadline = dag.deadline, None
        try:
            return test(*args, **kwargs)
        finally:
            dag.deadline = kept

    dag.test = test_without_deadline
    return dag


async def rebuild_deadline_missed(context=None, **kwargs) -> str:
    """The rebuild's deadline alert (run by the triggerer): a warning in its log and a line on the
    vidvec page. Route it elsewhere by giving the DeadlineAlert a notifier instead (docs/airflow-ui.md)."""
    from vidvec.config import load_settings
    from vidvec.ui.state import record_alert

    run = (context or {}).get("dag_run") or {}
    deadline = str(((context or {}).get("deadline") or {}).get("deadline_time"))[:19]
    message = (f"{run.get('dag_id', 'vidvec_full_rebuild')} run {run.get('dag_run_id') or run.get('run_id')} "
               f"(logical time {run.get('logical_date')}) was still {run.get('state', 'running')} at its "
               f"deadline {deadline}")
    logging.getLogger(__name__).warning("deadline missed: %s", message)
    record_alert(load_settings().home, {"kind": "deadline_missed", "at": datetime.now(timezone.utc).isoformat(),
                                        "message": message, "run_id": run.get("dag_run_id") or run.get("run_id")})
    return message


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
        try:
            yield settings, catalog, store
        finally:
            _publish_space(settings, catalog, store)
            _push_figures(settings, catalog, store)


@contextmanager
def catalog_reader():
    """(settings, catalog opened read-only) for an encode task: never the store, never a writer's lock."""
    from vidvec.catalog.factory import open_catalog
    from vidvec.config import load_settings

    settings = load_settings()
    # DuckDB cannot open a file read-only before it exists (a first run on an empty home): create it then.
    read_only = settings.catalog != "duckdb" or settings.duckdb_file.exists()
    with open_catalog(settings, read_only=read_only, credentials=_gcp_credentials(settings)) as catalog:
        yield settings, catalog


def parts_root(settings):
    """Where encode tasks leave their parts, through Airflow's object storage (VIDVEC_PARTS_URL: a path or
    a bucket URL such as s3://conn_id@bucket/parts; default VIDVEC_HOME/parts), so every worker sees them."""
    from pathlib import Path

    from airflow.sdk import ObjectStoragePath

    from vidvec.parts import PartsRoot

    url = settings.parts if "://" in settings.parts else f"file://{Path(settings.parts).resolve()}"
    path = ObjectStoragePath(url)
    return PartsRoot(path.fs, path.path)


def encode_rebuild_shard(plan: dict, shard: int, batch_size: int) -> dict:
    """The rebuild's encode task: the catalog read-only, the encoder on this task's cores, a part; no store."""
    from vidvec.embed import embedder_for
    from vidvec.embed.parallel import encode_cores, on_cores
    from vidvec.encode import encode_shard
    from vidvec.rebuild import RebuildPlan

    run = RebuildPlan.from_xcom(plan)  # the plan's model, not the deployment's default
    with (catalog_reader() as (settings, catalog),
          on_cores(embedder_for(run.family, run.model_id, settings), encode_cores(settings)) as e):
        return encode_shard(catalog, e, run, shard, parts_root(settings), batch_size).to_xcom()


def load_rebuild_shard(plan: dict, shard: int, batch_size: int) -> dict:
    """The rebuild's load task: stored vectors only (the encoder never runs here), in the plan's own family."""
    from vidvec.embed import embedder_for
    from vidvec.rebuild import RebuildPlan, load_shard

    run = RebuildPlan.from_xcom(plan)
    with stores() as (settings, catalog, store):
        return load_shard(catalog, store, embedder_for(run.family, run.model_id, settings), run, shard,
                          batch_size, encode=False).to_xcom()


def catch_up_rebuild(plan: dict, batch_size: int) -> dict:
    """The rebuild's catch-up task: changes after T0, written with the embedder of the plan's model."""
    from vidvec.embed import embedder_for
    from vidvec.rebuild import RebuildPlan, catch_up

    run = RebuildPlan.from_xcom(plan)
    with stores() as (settings, catalog, store):
        return catch_up(catalog, store, embedder_for(run.family, run.model_id, settings), run, batch_size).to_xcom()


def ingest_rebuild_parts(encodes: list[dict]) -> int:
    """The rebuild's ingest task: every encode task's part into the warehouse (its one writer)."""
    from vidvec.encode import ShardEncoded, ingest_parts

    with stores() as (settings, catalog, _):
        return ingest_parts(catalog, parts_root(settings), [ShardEncoded.from_xcom(x) for x in encodes])


def _publish_space(settings, catalog, store) -> None:
    """Leave the vidvec page a picture of the space as the task lets go of the stores.

    The page reads it instead of opening stores that admit one process; it must never fail a task.
    """
    try:
        from vidvec.ui.state import publish

        publish(settings, catalog, store, written_by=_task_name())
    except Exception:
        logging.getLogger(__name__).warning("could not write the space state for the vidvec page", exc_info=True)


def _push_figures(settings, catalog, store) -> None:
    """The service-level figures to the Pushgateway (VIDVEC_PUSHGATEWAY_URL) as the task lets go of the
    stores, so Prometheus sees each audit, canary and promotion as it lands; never fails a task."""
    try:
        from vidvec.slo.exposition import publish

        publish(settings, catalog, store, datetime.now(timezone.utc))
    except Exception:
        logging.getLogger(__name__).warning("could not push the service-level figures", exc_info=True)


def _task_name() -> str:
    try:
        from airflow.sdk import get_current_context

        ti = get_current_context()["ti"]
        return f"{ti.dag_id}.{ti.task_id} ({ti.run_id})"
    except Exception:  # outside a running task (a callback, a test)
        return "airflow"


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
    """The rebuild's Params for the installed embedders (read from VIDVEC_* while the DAG is parsed)."""
    from vidvec.config import load_settings
    from vidvec.embed.registry import installed_names, model_id_shape
    from vidvec.params import rebuild_form

    settings = load_settings()
    models = [model_id_shape(settings, name) for name in installed_names(settings)]  # no weights read
    return form_params(rebuild_form(models, settings.embedder))


def rebuild_plan(params: dict, run_id: str, context) -> dict:
    """The rebuild's plan (as XCom carries it) from its Params and the run's T0."""
    from vidvec.config import load_settings
    from vidvec.embed.registry import identity
    from vidvec.params import RebuildParams
    from vidvec.rebuild import plan_from_params

    settings = load_settings()
    p = RebuildParams.parse(dict(params))  # validated again: the CLI and the library share the rules
    return plan_from_params(p, live_alias=settings.live_alias, t0=run_t0(context), run_id=run_id,
                            embedder=identity(settings, p.embedder or None)).to_xcom()  # no model is loaded


def mark_rebuild_failed(context) -> None:
    """on_failure_callback: a run that failed for good flags its collection `failed`."""
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
