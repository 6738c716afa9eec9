"""The vidvec page: a small FastAPI app the Airflow API server mounts (plugins/vidvec_ui.py).

Server-rendered HTML from the space's state (ui/state.py); it never opens an
embedded store itself. Its links open the Airflow pages of the DAG that does
each action, with the Params to give in its trigger form (Airflow 3.3's form
cannot be prefilled from a URL).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from vidvec.ui.trend import HEIGHT, PAD, WIDTH, charts

REBUILD, AUDIT, PROMOTE = "vidvec_full_rebuild", "vidvec_recall_audit", "vidvec_promote"
_AUDIT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,200}$")
_ENV = Environment(loader=PackageLoader("vidvec.ui", "templates"), autoescape=select_autoescape(["html"]))


def action(dag_id: str, label: str, conf: dict | None = None) -> dict:
    """A link to a DAG's page in the Airflow UI and the Params to trigger it with."""
    return {"dag_id": dag_id, "label": label, "href": f"../dags/{dag_id}",
            "conf": json.dumps(conf, ensure_ascii=False) if conf else ""}


def actions_for(state: dict) -> dict:
    """Per collection and per alias, the actions a person may want from here."""
    live = state.get("live_alias", "videos")
    per_collection = {
        c["name"]: [action(AUDIT, "audit", {"target": c["name"]}),
                    action(PROMOTE, f"promote to {live}", {"collection": c["name"], "alias": live})]
        for c in state.get("collections", [])}
    per_alias = {a["alias"]: [action(PROMOTE, f"roll back to {a['rollback_to']}",
                                     {"action": "rollback", "alias": a["alias"]})]
                 for a in state.get("aliases", []) if a.get("rollback_to")}
    return {"rebuild": action(REBUILD, "rebuild"), "collections": per_collection, "aliases": per_alias}


STALE_AFTER_S = 3600  # older than this, the freshness line is shown as a warning


def age_seconds(written_at: str | None, now: datetime) -> int | None:
    return max(int((now - datetime.fromisoformat(written_at)).total_seconds()), 0) if written_at else None


def age(seconds: int | None) -> str:
    """'42 s', '3 min', '5 h 2 min', '2 d 1 h'."""
    if seconds is None:
        return "unknown"
    if seconds < 90:
        return f"{seconds} s"
    minutes, hours = seconds // 60, seconds // 3600
    if hours < 1:
        return f"{minutes} min"
    if hours < 48:
        return f"{hours} h {minutes % 60} min"
    return f"{hours // 24} d {hours % 24} h"


def render(state: dict | None, *, pending: Sequence[dict] = (), errors: Sequence[str] = (),
           now: datetime | None = None) -> str:
    state = state or {}
    now = now or datetime.now(timezone.utc)
    seconds = age_seconds(state.get("written_at"), now)
    return _ENV.get_template("space.html").render(
        state=state, pending=pending, errors=errors, actions=actions_for(state), age=age(seconds),
        charts=lambda trend: charts(trend, now), chart_size=(WIDTH, HEIGHT, PAD),
        stale=seconds is None or seconds > STALE_AFTER_S, fmt=_fmt,
        approvals={a["run_id"]: a for a in state.get("approvals", [])})


def _fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def create_app(*, load: Callable[[], dict | None], home: Path,
               pending: Callable[[], list[dict]] = list, dependencies: Sequence = ()) -> FastAPI:
    """load(): the state to show; pending(): approvals waiting in Airflow; dependencies: e.g. auth."""
    app = FastAPI(title="vidvec", dependencies=list(dependencies), docs_url=None, redoc_url=None)

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        state, state_error = _safe(load, "the space's state")
        waiting, pending_error = _safe(pending, "approvals waiting in Airflow")
        return render(state, pending=waiting or [], errors=[e for e in (state_error, pending_error) if e])

    @app.get("/state.json")
    def state() -> JSONResponse:
        value, error = _safe(load, "the space's state")
        return JSONResponse(value or {"error": error} if error else value or {})

    @app.get("/reports/{report_id}/compare.png")
    def compare_chart(report_id: str) -> FileResponse:
        path = Path(home) / "reports" / report_id / "compare.png"
        if not _AUDIT_ID.match(report_id) or not path.is_file():
            raise HTTPException(404, f"no chart for comparison {report_id!r} on this host")
        return FileResponse(path, media_type="image/png")

    @app.get("/reports/{audit_id}/recall.png")
    def chart(audit_id: str) -> FileResponse:
        path = Path(home) / "reports" / audit_id / "recall.png"
        if not _AUDIT_ID.match(audit_id) or not path.is_file():
            raise HTTPException(404, f"no chart for audit {audit_id!r} on this host")
        return FileResponse(path, media_type="image/png")

    return app


def _safe(fn: Callable, what: str):
    """(value, None), or (None, message): a broken store or file shows on the page, not as a 500."""
    try:
        return fn(), None
    except Exception as exc:
        return None, f"{what} could not be read: {type(exc).__name__}: {exc}"
