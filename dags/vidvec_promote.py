"""
### vidvec_promote

Moves an alias (default `videos`; any name works, e.g. `videos_b` for A/B) to
a collection in one atomic alias change (`store.set_aliases`), only when every
gate holds: `ready` (metadata state ready, green, index built), `count` (exact
public count within tolerance of the catalog), `audit` (a passing recall audit
of this very collection, younger than the max age) and `family` (the vector
space the sidecar writes). A refusal fails the run and names every failed gate;
`force_gates` overrides named gates (recorded). The move drops
`<alias>__next` when it pointed at the promoted collection and is recorded in
`promotions` with the previous target; `action: rollback` moves it back.

Runs after a passing audit (the `AUDIT_PASSED` Asset: it promotes only the
rebuild candidate behind `<alias>__next`) and from the UI.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import dag, task

from vidvec.core.gates import GatePolicy
from vidvec.params import PromoteParams, form
from vidvec_airflow import AUDIT_PASSED, STORE_POOL, form_params, run_t0, stores, triggered_extra

DEFAULTS = {"owner": "vidvec", "retries": 1, "retry_delay": timedelta(seconds=30), "pool": STORE_POOL}


@dag(
    schedule=AUDIT_PASSED,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    tags=["vidvec", "promote"],
    default_args=DEFAULTS,
    doc_md=__doc__,
    params=form_params(form(PromoteParams, GatePolicy)),  # types, bounds, enums, descriptions: one definition
)
def vidvec_promote():
    @task
    def promote(params=None, run_id=None, **context) -> dict | None:
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        from vidvec.core.naming import next_alias
        from vidvec.embed.base import identity
        from vidvec.promote import PromotionRefused, as_json, promote, rollback

        alias, at = params["alias"], run_t0(context)
        policy = GatePolicy.parse({k: params[k] for k in GatePolicy.model_fields})
        with stores() as (settings, catalog, store):
            if params["action"] == "rollback":
                return as_json(rollback(catalog, store, alias=alias, at=at, actor=run_id))
            name = params["collection"] or triggered_extra(context, AUDIT_PASSED, "collection")
            if not name:
                raise AirflowFailException("no collection: set the `collection` Param")
            collection = store.resolve(name)
            if not params["collection"] and store.aliases().get(next_alias(alias)) != collection:
                raise AirflowSkipException(f"{collection} is not the candidate behind {next_alias(alias)}: "
                                           "promote it from the UI if you mean it")
            try:
                done = promote(catalog, store, collection, alias=alias, at=at, actor=run_id, policy=policy,
                               family=identity(settings).family, force=tuple(params["force_gates"]))
            except PromotionRefused as exc:  # a retry would be refused the same way
                raise AirflowFailException(str(exc)) from None
        return as_json(done) if done else None

    promote()


vidvec_promote()
