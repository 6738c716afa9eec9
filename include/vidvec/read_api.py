"""Read-only calls answered by the process that holds the embedded store, on its ops HTTP port.

An embedded store (Qdrant Edge) admits one process. The one that holds it (a
sidecar) answers other processes' reads on the port it already opens for
/livez and /metrics, so the embedded default can stream and serve at once:

    GET /v1/similar?video_id=ID[&target=ALIAS][&k=6&language=fr&category=A&category=B...]
    GET /v1/collections
    GET /v1/space            the vidvec page's picture of the space

`similar` takes NeighbourQuery's fields (a list field repeated) and runs the
same code `vidvec similar` runs, so the answers and errors are the same. No
call writes; anything but GET is refused by the HTTP server itself. The port
listens on all interfaces for probes and scrapers, but these calls expose the
catalog: they answer loopback callers, and others only with
VIDVEC_SIDECAR_READ_TOKEN set on the holder and sent as `Authorization: Bearer`.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from datetime import datetime, timezone
from typing import get_origin
from urllib.parse import parse_qs, urlsplit

from vidvec.core.query import NeighbourQuery
from vidvec.errors import NotFound, VidvecError

PREFIX = "/v1/"
JSON = "application/json"


def is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 on a dual-stack socket
    return (mapped or address).is_loopback


def query_values(params: Mapping[str, list[str]]) -> dict:
    """NeighbourQuery's values from a query string: list fields take every value, the others the last."""
    values = {}
    for name, given in params.items():
        field = NeighbourQuery.model_fields.get(name)
        values[name] = given if field is not None and get_origin(field.annotation) is tuple else given[-1]
    return values


def query_params(query: NeighbourQuery) -> dict[str, list[str]]:
    """The query string of a NeighbourQuery (what differs from the defaults), for `query_values`."""
    out = {}
    for name, value in query.model_dump(mode="json", exclude_defaults=True).items():
        items = value if isinstance(value, list) else [value]
        out[name] = [json.dumps(v) if isinstance(v, bool) else str(v) for v in items]
    return out


class ReadApi:
    """The routes; one reader catalog connection of its own (a DuckDB connection serves one thread)."""

    def __init__(self, settings, store, catalog, token: str | None, served_by: str):
        self.settings, self.store, self.catalog = settings, store, catalog
        self.token, self.served_by = token, served_by
        self._catalog_lock = threading.Lock()

    def __call__(self, target: str, client: str, headers: Mapping[str, str]) -> tuple[int, bytes, str] | None:
        """(status, body, content type) for a /v1/ path; None for any other path (not ours)."""
        url = urlsplit(target)
        if not url.path.startswith(PREFIX):
            return None
        if not self._allowed(client, headers.get("Authorization") or ""):
            return _error(403, "refused", "read calls answer loopback callers only, or others with the token set "
                          "on the holder (VIDVEC_SIDECAR_READ_TOKEN) as 'Authorization: Bearer <token>'")
        route = {"similar": self._similar, "collections": self._collections, "space": self._space}.get(
            url.path[len(PREFIX):])
        if route is None:
            return _error(404, "NotFound", f"no read call {url.path}: /v1/similar, /v1/collections, /v1/space")
        try:
            return 200, json.dumps(route(parse_qs(url.query)), ensure_ascii=False, default=str).encode(), JSON
        except VidvecError as exc:
            return _error(404 if isinstance(exc, NotFound) else 400, type(exc).__name__, str(exc))
        except Exception as exc:  # noqa: BLE001 - the caller gets one line; the holder keeps serving
            return _error(500, "internal", f"{type(exc).__name__}: {exc}")

    def _allowed(self, client: str, authorization: str) -> bool:
        if is_loopback(client):
            return True
        return bool(self.token) and hmac.compare_digest(authorization.encode(), f"Bearer {self.token}".encode())

    def _similar(self, params: dict[str, list[str]]) -> dict:
        from vidvec.core.ids import validate_video_id
        from vidvec.query import titled_answer

        video_id = validate_video_id((params.pop("video_id", None) or [""])[-1])
        target = (params.pop("target", None) or [self.settings.live_alias])[-1]
        query = NeighbourQuery.parse(query_values(params))
        with self._catalog_lock:
            return titled_answer(self.store, self.catalog, target, video_id, query).to_json()

    def _collections(self, params) -> list[dict]:
        return [asdict(s) for s in self.store.collections()]

    def _space(self, params) -> dict:
        from vidvec.ui.state import build_state

        with self._catalog_lock:
            return build_state(self.catalog, self.store, live_alias=self.settings.live_alias, home=self.settings.home,
                               now=datetime.now(timezone.utc), written_by=self.served_by)


def _error(status: int, kind: str, message: str) -> tuple[int, bytes, str]:
    return status, json.dumps({"error": message, "kind": kind}).encode(), JSON


def local_url(host: str, port: int) -> str:
    """Where a process on this machine reaches a server bound to host:port."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextmanager
def serve_reads(settings, store, ops, token: str | None, what: str) -> Iterator[ReadApi]:
    """Answer reads on ops (the OpsServer) while the block runs, and announce it beside the store's lock."""
    from vidvec.catalog.factory import open_catalog
    from vidvec.store.holder import Holder, announce, withdraw

    with ExitStack() as stack:
        catalog = stack.enter_context(open_catalog(settings))  # this process's second connection: reads only
        api = ReadApi(settings, store, catalog, token, served_by=f"{what} (PID {os.getpid()})")
        ops.mount(api)
        stack.callback(ops.unmount, api)
        if settings.store_engine == "edge":  # the lock other processes find (store/holder.py)
            announce(settings.edge_dir, Holder(os.getpid(), what, local_url(ops.host, ops.port)))
            stack.callback(withdraw, settings.edge_dir)
        yield api
