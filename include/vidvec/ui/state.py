"""The space as a person wants to see it: one JSON-safe picture built from (catalog, store).

Aliases (live, `__next`, A/B) with the collection each serves and the one a
rollback would restore; every collection's state, point count and metadata
(model, recipe, T0, index settings, and whatever else it carries); the newest
audits of each with their per-slice figures, failures and chart; the
promotion history with approvals and rejections; missed deadlines; the newest
comparisons of two collections (`vidvec compare`, the audit's model-change check).

An embedded store and the DuckDB file admit one process at a time, so the
page must never open them: every task and CLI command that opens the stores
writes this picture to $VIDVEC_HOME/space.json as it closes them (write,
fsync, rename: a reader sees the old file or the new one, never half of
one), and the page reads that file and says how old it is. With a Qdrant
server and BigQuery the page builds the same picture live (`shared_access`); while a
process holding the embedded store serves reads (a sidecar), the page asks it (vidvec.read_api).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vidvec.core.naming import COMPARE_PREFIX, alias_role
from vidvec.core.recall import AUDIT
from vidvec.ui.trend import trends

STATE_FILE = "space.json"
ALERTS_FILE = "alerts.jsonl"


def shared_access(settings) -> bool:
    """Whether the page may read the stores while tasks use them (a Qdrant server and BigQuery); asked
    without opening them, so from the settings (an open store says it as `capabilities.single_process`)."""
    return settings.store_engine == "server" and settings.catalog == "bigquery"


def build_state(catalog, store, *, live_alias: str, home: Path, now: datetime, written_by: str,
                audits_per_collection: int = 5, history: int = 25) -> dict:
    """The whole picture, newest first everywhere; JSON-safe (datetimes as ISO strings)."""
    aliases = store.aliases()
    promotions = catalog.promotions(None, limit=history)
    approvals = catalog.approvals(limit=history)
    state = {
        "written_at": now.astimezone(timezone.utc).isoformat(), "written_by": written_by,
        "live_alias": live_alias,
        "aliases": _aliases(aliases, promotions, live_alias),
        "collections": [_collection(c, catalog, home, audits_per_collection) for c in store.collections()],
        "promotions": [_promotion(p) for p in promotions],
        "approvals": [_jsonable(asdict(a)) for a in approvals],
        "alerts": read_alerts(home),
        "trends": trends(catalog, aliases, now),
        "comparisons": read_comparisons(home),
    }
    return json.loads(json.dumps(state, default=str))  # one JSON-safe shape, file or live


def read_comparisons(home: Path, n: int = 5) -> list[dict]:
    """The newest n comparison reports (compare.json), each with its id (the report's directory)."""
    found = sorted((Path(home) / "reports").glob(f"{COMPARE_PREFIX}*/compare.json"),
                   key=lambda p: p.parent.name, reverse=True)[:n]
    out = []
    for path in found:
        try:
            out.append(json.loads(path.read_text(encoding="utf-8")) | {"id": path.parent.name})
        except (OSError, ValueError):  # half-written or removed meanwhile: the next load shows it
            continue
    return out


def _aliases(aliases: dict[str, str], promotions, live_alias: str) -> list[dict]:
    newest: dict[str, Any] = {}
    for p in promotions:  # newest first: the first seen per alias is its newest move
        newest.setdefault(p.alias, p)
    out = []
    for alias, collection in sorted(aliases.items()):
        last = newest.get(alias)
        rollback = last.previous if last and last.collection == collection else None
        kind = alias_role(alias, live_alias)
        out.append({"alias": alias, "collection": collection, "kind": kind, "rollback_to": rollback,
                    "moved_outside_vidvec": bool(last and last.collection != collection)})
    return out


def _collection(c, catalog, home: Path, n_audits: int) -> dict:
    # full audits only: the hourly canaries are the trend section's (they would push the audits out)
    audits = [_audit(a, catalog, home) for a in catalog.audits(c.name, limit=n_audits, kind=AUDIT)]
    return {"name": c.name, "aliases": list(c.aliases), "points": c.points, "status": c.status,
            "engine": getattr(c, "engine", ""), "indexed_vectors": getattr(c, "indexed_vectors", None),
            "state": c.metadata.get("state"), "metadata": _jsonable(c.metadata), "audits": audits}


def _audit(summary, catalog, home: Path) -> dict:
    rows = catalog.audit_rows(summary.audit_id)
    report = home / "reports" / summary.audit_id
    chart = report / "recall.png"
    first = rows[0] if rows else None
    return {
        "audit_id": summary.audit_id, "passed": summary.passed, "audited_at": summary.audited_at,
        "engine": summary.engine, "model_id": summary.model_id,
        "k": first.k if first else None, "sample_size": first.sample_size if first else None,
        "recall": summary.recall, "filtered_recall": summary.filtered_recall,
        "coverage": summary.coverage, "staleness": summary.staleness,
        "mismatch": first.mismatch if first else None,
        "slices": [{"slice": r.slice, "filtered": r.filtered, "queries": r.queries, "recall": r.recall,
                    "passed": r.passed} for r in rows],
        "failures": _failures(report, rows),
        "chart": f"reports/{summary.audit_id}/recall.png" if chart.exists() else None,
    }


def _failures(report: Path, rows) -> list[str]:
    """The audit's own failure messages (its audit.json), else the slices that missed their threshold."""
    try:
        return list(json.loads((report / "audit.json").read_text(encoding="utf-8"))["failures"])
    except (OSError, ValueError, KeyError, TypeError):
        return [f"{r.slice}{' (filtered)' if r.filtered else ''}: recall {r.recall}" for r in rows
                if not r.passed]


def _promotion(p) -> dict:
    return {"alias": p.alias, "collection": p.collection, "previous": p.previous,
            "promoted_at": p.promoted_at, "actor": p.actor, "forced": list(p.forced)}


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))


def publish(settings, catalog, store, written_by: str, now: datetime | None = None) -> Path | None:
    """Write the picture for the page when it cannot read the stores itself; None when it can."""
    if not store.capabilities.single_process and settings.catalog == "bigquery":
        return None  # the page reads a server and BigQuery live (shared_access)
    state = build_state(catalog, store, live_alias=settings.live_alias, home=settings.home,
                        now=now or datetime.now(timezone.utc), written_by=written_by)
    return write_state(settings.home, state)


def load_space(settings, now: datetime | None = None) -> dict | None:
    """What the page shows: live when the stores admit other processes or a process holding them serves
    reads (a sidecar: vidvec.read_api), else the newest file (or None)."""
    if not shared_access(settings):
        held = _held_space(settings)
        if held is not None:
            return held | {"live": True, "alerts": read_alerts(settings.home)}
        state = read_state(settings.home)  # alerts are appended by the triggerer: always the newest
        return None if state is None else state | {"alerts": read_alerts(settings.home),
                                                   "comparisons": read_comparisons(settings.home)}
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    with open_catalog(settings, read_only=True) as catalog, open_store(settings) as store:
        state = build_state(catalog, store, live_alias=settings.live_alias, home=settings.home,
                            now=now or datetime.now(timezone.utc), written_by="live")
    return state | {"live": True}


def _held_space(settings) -> dict | None:
    """The picture from the process holding the embedded store, if one serves reads; None to fall back to the file."""
    from vidvec.errors import VidvecError
    from vidvec.read_client import reads_of_holder

    reads = reads_of_holder(settings)
    if reads is None:
        return None
    try:
        return reads.space()
    except VidvecError as exc:  # starting, stopping, refused: the file is the next best picture
        logging.getLogger(__name__).warning("vidvec page: no live picture from %s: %s", reads.holder, exc)
        return None


def write_state(home: Path, state: dict) -> Path:
    """Replace $VIDVEC_HOME/space.json atomically (write a temp file beside it, fsync, rename)."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    path = home / STATE_FILE
    fd, tmp = tempfile.mkstemp(prefix=".space.", suffix=".tmp", dir=home)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(state, out, ensure_ascii=False, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_state(home: Path) -> dict | None:
    """The newest picture written, or None if none was written yet."""
    try:
        return json.loads((Path(home) / STATE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def record_alert(home: Path, alert: dict) -> None:
    """Append one alert (e.g. a missed deadline) as a JSON line; the page shows the newest."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ALERTS_FILE, "a", encoding="utf-8") as out:
        out.write(json.dumps(alert, default=str, ensure_ascii=False) + "\n")


def read_alerts(home: Path, limit: int = 20) -> list[dict]:
    try:
        lines = (Path(home) / ALERTS_FILE).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    alerts = []
    for line in reversed(lines):
        try:
            alerts.append(json.loads(line))
        except ValueError:
            continue  # a torn last line of a crashed writer is not an alert
        if len(alerts) >= limit:
            break
    return alerts
