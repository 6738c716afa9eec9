"""
### vidvec_promote

Moves an alias (default `videos`; any name works, e.g. `videos_b` for A/B) to
a collection in one atomic alias change (`store.set_aliases`), only when every
gate holds: `ready` (metadata state ready, green, index built), `count` (exact
public count within tolerance of the catalog), `audit` (a passing recall audit
of this very collection, younger than the max age) and `family` (an installed
embedder makes the collection's vectors, so the stream can keep it fresh; any
family, e.g. multilingual-e5-small beside a MUSE live alias). A refusal fails `check` and names every failed gate;
`force_gates` overrides named gates (recorded). The move drops `<alias>__next`
when it pointed at the promoted collection and is recorded in `promotions`
with the previous target; `action: rollback` moves it back.

check -> ask -> [approval] -> swap. With `require_approval` (default:
`VIDVEC_REQUIRE_APPROVAL`) a person approves in the approval form first: it
shows the gates and the newest audit; Reject, or no answer within
`approval_timeout_hours`, skips the swap; every answer is recorded in
`approvals`. Runs after a passing audit (the `AUDIT_PASSED` Asset: it promotes
only the rebuild candidate behind `<alias>__next`) and from the UI.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import dag, task

from vidvec_airflow import AUDIT_PASSED, STORE_POOL, promote_params, run_t0, stores
from vidvec_approval import PromotionApproval

DEFAULTS = {"owner": "vidvec", "retries": 1, "retry_delay": timedelta(seconds=30), "pool": STORE_POOL}


@dag(
    schedule=AUDIT_PASSED,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    tags=["vidvec", "promote"],
    default_args=DEFAULTS,
    doc_md=__doc__,
    params=promote_params(),  # vidvec.params.PromoteParams + GatePolicy: types, bounds, enums, descriptions
)
def vidvec_promote():
    @task
    def check(params=None, **context) -> dict:
        from vidvec_airflow import check_promotion

        return check_promotion(params, context)

    @task.branch
    def ask(checked: dict, params=None) -> str:
        return "approval" if params["require_approval"] and checked["action"] == "promote" else "swap"

    @task(trigger_rule="none_failed_min_one_success")
    def swap(checked: dict, params=None, run_id=None, **context) -> dict | None:
        from airflow.sdk.exceptions import AirflowFailException

        from vidvec.core.gates import GatePolicy
        from vidvec.embed.registry import families
        from vidvec.promote import PromotionRefused, as_json, promote, rollback

        alias, at = params["alias"], run_t0(context)
        with stores() as (settings, catalog, store):
            if checked["action"] == "rollback":
                return as_json(rollback(catalog, store, alias=alias, at=at, actor=run_id))
            try:  # the gates again: time passed while a person looked
                done = promote(catalog, store, checked["collection"], alias=alias, at=at, actor=run_id,
                               policy=GatePolicy.parse(checked["policy"]), families=families(settings),
                               force=tuple(params["force_gates"]))
            except PromotionRefused as exc:  # a retry would be refused the same way
                raise AirflowFailException(str(exc)) from None
        return as_json(done) if done else None

    checked = check()
    swapped = swap(checked)
    approval = PromotionApproval(task_id="approval", pool="default_pool")
    ask(checked) >> [approval, swapped]
    approval >> swapped


vidvec_promote()
