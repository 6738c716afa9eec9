"""The vidvec page in the Airflow UI: a FastAPI app on the API server and a nav entry.

`airflow plugins` lists it as `vidvec`. The page (include/vidvec/ui) is built on
its first request, so the scheduler, triggerer and task processes that load
plugins never import FastAPI or Jinja for it. Airflow's own login guards it:
the session cookie the UI holds, or a bearer token.
"""

from __future__ import annotations

from urllib.parse import quote

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/vidvec"
PROMOTE_DAG, APPROVAL_TASK = "vidvec_promote", "approval"


class _Page:
    """ASGI app that builds the real one (vidvec.ui.page) on first use."""

    def __init__(self):
        self._app = None

    async def __call__(self, scope, receive, send):
        if self._app is None:
            self._app = _build()
        await self._app(scope, receive, send)


def _build():
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi import Depends

    from vidvec.config import load_settings
    from vidvec.ui.page import create_app
    from vidvec.ui.state import load_space

    settings = load_settings()
    return create_app(load=lambda: load_space(settings), home=settings.home, pending=pending_approvals,
                      dependencies=[Depends(get_user)])


def pending_approvals() -> list[dict]:
    """vidvec_promote approval requests nobody answered yet, from Airflow's own tables."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(HITLDetail, TI).join(TI, TI.id == HITLDetail.ti_id)
            .where(TI.dag_id == PROMOTE_DAG, TI.state == TaskInstanceState.AWAITING_INPUT,
                   HITLDetail.responded_at.is_(None))
            .order_by(HITLDetail.created_at.desc())).all()
        return [{"run_id": ti.run_id, "subject": detail.subject, "created_at": detail.created_at.isoformat(),
                 "timeout_at": ti.trigger_timeout.isoformat() if ti.trigger_timeout else None,
                 "href": f"../dags/{ti.dag_id}/runs/{quote(ti.run_id, safe='')}/tasks/{ti.task_id}/required_actions"}
                for detail, ti in rows]


class VidvecUiPlugin(AirflowPlugin):
    name = "vidvec"
    fastapi_apps = [{"app": _Page(), "url_prefix": URL_PREFIX, "name": "vidvec"}]
    external_views = [{"name": "vidvec", "href": f"{URL_PREFIX.lstrip('/')}/", "destination": "nav",
                       "category": "browse", "url_route": "vidvec"}]
