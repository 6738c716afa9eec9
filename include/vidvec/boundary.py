"""The CLI's boundary: an error the user can fix becomes one line on stderr (exit 2).

User-fixable: a VidvecError; a usage error (unknown option, a value out of
range: typer's own, which it would draw as a box); a path that cannot be used
(VIDVEC_HOME naming a file, no permission); a store or catalog that cannot be
reached (the explicit retryable sets of store/errors.py and stream/retry.py);
an embedded catalog file that another process holds. Anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

import os
import sqlite3

import typer

from vidvec.errors import VidvecError

LINE_CHARS = 500  # one line, even when a library echoes a long value back


def _store_unreachable(exc: BaseException) -> str | None:
    from vidvec.store.errors import is_retryable

    if not is_retryable(exc):
        return None
    url = os.environ.get("VIDVEC_QDRANT_URL")
    code = exc.code().name if hasattr(exc, "code") and callable(exc.code) else type(exc).__name__
    where = f"the Qdrant server at {url}" if url else "the vector store"
    return f"{where} cannot be reached ({code}): start it, or fix VIDVEC_QDRANT_URL (unset = embedded)"


def _google_or_catalog(exc: BaseException) -> str | None:
    import duckdb
    import requests
    from google.api_core import exceptions as gexc
    from google.auth.exceptions import DefaultCredentialsError

    from vidvec.stream.retry import RETRYABLE_OTHER

    first = (str(exc).splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, duckdb.IOException):
        if "lock" in first and (held := _held_by_reader(first)):
            return held
        hint = "another process holds it: a sidecar or a DAG task?" if "lock" in first else "check VIDVEC_CATALOG_PATH"
        return f"cannot open the catalog file: {first} ({hint})"
    # isinstance takes a tuple of classes; `|` cannot join a tuple and a class (a TypeError here once
    # hid every error that reached this branch).
    if isinstance(exc, (*RETRYABLE_OTHER, gexc.RetryError, requests.ConnectionError)):
        return (f"a Google Cloud API cannot be reached: {first}: check VIDVEC_BIGQUERY_*, "
                "VIDVEC_SIDECAR_PUBSUB_* and the network")
    if isinstance(exc, (gexc.Unauthorized, gexc.Forbidden, DefaultCredentialsError)):
        return f"Google Cloud refused the credentials: {first}"
    return None


def _held_by_reader(first: str) -> str | None:
    """The catalog file's lock, when the process named in it holds the embedded store and serves reads."""
    from vidvec.config import load_settings
    from vidvec.store.holder import SERVED_TODO, current

    try:
        settings = load_settings()
    except VidvecError:
        return None
    holder = current(settings.edge_dir) if settings.store_engine == "edge" else None
    if holder is None or not holder.url or f"PID {holder.pid})" not in first:
        return None
    return f"cannot open the catalog file {settings.duckdb_file}: it is in use by {holder.describe()}: {SERVED_TODO}"


def explain(exc: BaseException) -> str | None:
    """The one line for an error a user can fix; None for anything else (a bug)."""
    if isinstance(exc, VidvecError):
        return str(exc)
    if isinstance(exc, typer.TyperException):  # click's usage errors, e.g. "No such option: --kk"
        ctx = getattr(exc, "ctx", None)
        hint = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
        return exc.format_message() + hint
    if isinstance(exc, OSError) and exc.filename and not isinstance(exc, ConnectionError):
        return f"{exc.strerror or exc}: {exc.filename} (check VIDVEC_HOME and the paths given)"
    if isinstance(exc, sqlite3.OperationalError):  # the local event log's file
        return f"cannot use the local event log: {exc} (check VIDVEC_SIDECAR_LOCAL_PATH and VIDVEC_HOME)"
    return _store_unreachable(exc) or _google_or_catalog(exc)


def one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= LINE_CHARS else text[:LINE_CHARS] + "..."
