"""Provider hooks -> vidvec clients: VidvecQdrantHook (local mode too) and BigQueryHook credentials."""

import json
import warnings

import pytest

from tests.emulators import free_port
from vidvec.core.types import PointToWrite
from vidvec.store import CollectionSpec


def conn(monkeypatch, conn_id: str, **fields) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


def write_and_read(store) -> dict:
    store.create_collection("c", CollectionSpec(dim=4), {"state": "ready"})
    store.write_if_newer("c", [PointToWrite("v1", [1.0, 0, 0, 0], {"video_id": "v1", "status": "public",
                                                                   "updated_at": 5})], dim=4)
    return store.get_points("c", ["v1"])


def test_qdrant_hook_opens_a_local_path(monkeypatch, tmp_path):
    from vidvec_hooks import VidvecQdrantHook, hook_store

    conn(monkeypatch, "qdrant_local", conn_type="qdrant", extra={"path": str(tmp_path / "q")})
    with hook_store("qdrant_local") as store:
        assert store.capabilities.engine == "qdrant-local"
        assert write_and_read(store)["v1"]["payload"]["updated_at"] == 5
    client = VidvecQdrantHook(conn_id="qdrant_local").get_conn()  # the path was released, data kept
    try:
        assert client.count("c", exact=True).count == 1
    finally:
        client.close()


def test_qdrant_hook_opens_an_edge_store(monkeypatch, tmp_path):
    from vidvec_hooks import VidvecQdrantHook, hook_store

    conn(monkeypatch, "qdrant_edge", conn_type="qdrant", extra={"edge": str(tmp_path / "e")})
    assert VidvecQdrantHook(conn_id="qdrant_edge").edge_target() == str(tmp_path / "e")
    with hook_store("qdrant_edge") as store:
        assert store.capabilities.engine == "qdrant-edge"
        assert write_and_read(store)["v1"]["payload"]["updated_at"] == 5
    assert (tmp_path / "e" / "collections" / "c" / "collection.json").is_file()  # released, data kept
    with hook_store("qdrant_edge") as store:
        assert store.count("c") == 1


def test_qdrant_hook_opens_memory_and_servers(monkeypatch):
    from vidvec_hooks import VidvecQdrantHook, hook_store

    conn(monkeypatch, "qdrant_mem", conn_type="qdrant", extra={"location": ":memory:"})
    with hook_store("qdrant_mem") as store:
        assert write_and_read(store)["v1"]["payload"]["status"] == "public"
    port = free_port()  # nothing listens: the client's version probe fails fast and only warns
    conn(monkeypatch, "qdrant_server", conn_type="qdrant", host="127.0.0.1", port=port,
         password="secret", extra={"https": True})
    hook = VidvecQdrantHook(conn_id="qdrant_server")
    assert hook.local_target() is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = hook.get_conn()  # the official hook's server client
    try:
        remote = client._client
        assert type(remote).__name__ == "QdrantRemote" and remote.rest_uri == f"https://127.0.0.1:{port}"
    finally:
        client.close()


def test_bigquery_hook_credentials_reach_the_emulator(bq_settings, monkeypatch, sample_slice):
    from vidvec_hooks import bigquery_catalog

    conn(monkeypatch, "gcp_emulator", conn_type="google_cloud_platform",
         extra={"is_anonymous": True, "project": "local"})
    with bigquery_catalog(bq_settings, "gcp_emulator") as catalog:
        assert type(catalog.client._credentials).__name__ == "AnonymousCredentials"
        catalog.create_schema()
        catalog.upsert_videos(sample_slice[:5])
        assert set(catalog.get_videos(v.video_id for v in sample_slice[:5])) == {v.video_id for v in sample_slice[:5]}


@pytest.mark.usefixtures("bq_settings")
def test_task_stores_come_from_the_connections(monkeypatch, tmp_path, sample_slice):
    from vidvec.catalog.bigquery import BigQueryCatalog
    from vidvec_airflow import stores

    conn(monkeypatch, "gcp_emulator", conn_type="google_cloud_platform", extra={"is_anonymous": True})
    conn(monkeypatch, "qdrant_local", conn_type="qdrant", extra={"path": str(tmp_path / "q")})
    monkeypatch.setenv("VIDVEC_GCP_CONN_ID", "gcp_emulator")
    monkeypatch.setenv("VIDVEC_QDRANT_CONN_ID", "qdrant_local")
    with stores() as (settings, catalog, store):
        assert isinstance(catalog, BigQueryCatalog) and store.capabilities.engine == "qdrant-local"
        catalog.create_schema()
        catalog.upsert_videos(sample_slice[:3])
        assert catalog.count() == 3
        write_and_read(store)
    assert (tmp_path / "q" / "collection" / "c").exists()


def test_the_env_example_connections_resolve(monkeypatch):
    """The AIRFLOW_CONN_* lines docker compose passes to Airflow parse into working hooks."""
    import re

    from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook

    from tests.conftest import ROOT
    from vidvec_hooks import VidvecQdrantHook

    for name, value in re.findall(r"^(AIRFLOW_CONN_\w+)=(.+)$", (ROOT / ".env.example").read_text(), re.M):
        monkeypatch.setenv(name, value)
    hook = BigQueryHook(gcp_conn_id="google_cloud_default", use_legacy_sql=False)
    assert type(hook.get_credentials()).__name__ == "AnonymousCredentials"
    assert hook.project_id == "vidvec-local"
    qdrant = VidvecQdrantHook(conn_id="qdrant_default")
    assert qdrant.local_target() is None
    connection = qdrant.get_connection("qdrant_default")
    assert (connection.host, connection.port, connection.extra_dejson["prefer_gprc"]) == ("qdrant", 6333, True)
