"""Airflow connections -> vidvec clients, through the official provider hooks.

- `VidvecQdrantHook`: the provider's QdrantHook for servers (host/port/url,
  API key as the password, `https`, `prefer_gprc` and `grpc_port` extras, as the
  provider spells them), plus the embedded engines the official hook cannot
  open: Qdrant Edge (extra `{"edge": "/dir"}`) and qdrant-client local mode
  (extra `{"path": "/dir"}` or `{"location": ":memory:"}`).
- BigQuery: BigQueryHook supplies the credentials (key file, workload identity,
  impersonation, or `is_anonymous` for an emulator); vidvec's settings supply
  project, dataset, location and an optional endpoint override.

Used by `vidvec_airflow.stores()` when VIDVEC_QDRANT_CONN_ID / VIDVEC_GCP_CONN_ID
name a connection; without them tasks use the VIDVEC_* settings alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from airflow.providers.qdrant.hooks.qdrant import QdrantHook

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

    from vidvec.config import Settings
    from vidvec.store import VectorStore


class VidvecQdrantHook(QdrantHook):
    """QdrantHook that also names the embedded engines: Qdrant Edge (extra `{"edge": "/dir"}`)
    and qdrant-client local mode (`{"path": "/dir"}` or `{"location": ":memory:"}`)."""

    hook_name = "Qdrant (server, or vidvec's embedded engines)"

    def edge_target(self) -> str | None:
        """The Qdrant Edge root this connection names, else None."""
        return self.get_connection(self.conn_id).extra_dejson.get("edge") or None

    def local_target(self) -> str | None:
        """The local-mode path or ':memory:' this connection names, else None (a server)."""
        extra = self.get_connection(self.conn_id).extra_dejson
        if extra.get("location") == ":memory:":
            return ":memory:"
        return extra.get("path") or None

    def get_conn(self) -> QdrantClient:
        from qdrant_client import QdrantClient

        target = self.local_target()
        if target == ":memory:":
            return QdrantClient(location=":memory:")
        if target:
            os.makedirs(target, exist_ok=True)
            return QdrantClient(path=target)
        return super().get_conn()


@contextmanager
def hook_store(conn_id: str) -> Iterator[VectorStore]:
    """The store the connection names (Edge, a server or local mode), closed when done."""
    from vidvec.config import load_settings
    from vidvec.store import make_store, store_on_client

    hook = VidvecQdrantHook(conn_id=conn_id)
    if hook.edge_target():  # no client: Edge runs in this process
        store = make_store(load_settings(store="edge", edge_path=hook.edge_target()))
    else:
        store = store_on_client(hook.get_conn(), local=hook.local_target() is not None)
    try:
        yield store
    finally:
        store.close()


def bigquery_credentials(conn_id: str = "google_cloud_default"):
    """Credentials from BigQueryHook (the connection's auth settings)."""
    from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook

    return BigQueryHook(gcp_conn_id=conn_id, use_legacy_sql=False).get_credentials()


def bigquery_catalog(settings: Settings, conn_id: str = "google_cloud_default"):
    """A BigQueryCatalog whose clients carry the hook's credentials."""
    from vidvec.catalog.bigquery import open_bigquery

    return open_bigquery(settings, credentials=bigquery_credentials(conn_id))
