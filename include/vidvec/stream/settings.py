"""The sidecar's settings (prefix VIDVEC_SIDECAR_); the store and catalog come from VIDVEC_*."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vidvec.core.naming import next_alias, validate_name
from vidvec.errors import VidvecError, shown

_SUBSCRIPTION = re.compile(r"^projects/[a-z][a-z0-9-]{4,29}/subscriptions/[A-Za-z][\w.~+%-]{2,254}$")
_TOPIC = re.compile(r"^projects/[a-z][a-z0-9-]{4,29}/topics/[A-Za-z][\w.~+%-]{2,254}$")


class SidecarSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIDVEC_SIDECAR_", frozen=True, extra="ignore")

    source: Literal["local", "pubsub"] = Field("local", description="where events come from")
    local_path: Path | None = Field(None, description="local event log; default VIDVEC_HOME/events.sqlite")
    pubsub_subscription: str | None = Field(None, description="projects/P/subscriptions/S")
    pubsub_topic: str | None = Field(None, description="projects/P/topics/T (for `vidvec events publish`)")
    aliases: tuple[str, ...] | None = Field(None, description="aliases fed; default live, <live>__next "
                                              "and every promoted alias (with its __next)")
    max_batch_events: int = Field(256, ge=1, le=10_000, description="micro-batch bound (events)")
    max_batch_seconds: float = Field(0.2, gt=0, le=60, description="micro-batch bound (seconds)")
    encode_cores: int = Field(0, ge=0, le=256, description="worker processes encoding each batch "
                              "(one core each); 0 = every core this process may run on")
    flow_max_messages: int = Field(1000, ge=1, le=100_000, description="Pub/Sub flow control (messages)")
    flow_max_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="Pub/Sub flow control (bytes)")
    http_port: int = Field(9464, ge=0, le=65535, description="/livez /readyz /metrics, and the read calls (/v1/...) "
                         "while this process holds an embedded store; 0 = any free port")
    http_host: str = Field("0.0.0.0", description="address the HTTP port binds")
    alias_refresh_seconds: float = Field(10.0, gt=0, le=3600, description="alias map refresh")
    drain: bool = Field(False, description="process the backlog, then exit")
    drain_idle_seconds: float = Field(3.0, ge=0, le=600, description="Pub/Sub: backlog empty after this")
    dead_letter_path: Path | None = Field(None, description="default HOME/dead_letters.jsonl")
    max_delivery_attempts: int = Field(5, ge=1, le=100, description="local source: then dead-letter")
    shutdown_deadline_seconds: float = Field(20.0, gt=0, le=600, description="drain deadline after SIGTERM")
    max_backoff_seconds: float = Field(30.0, gt=0, le=600, description="retry backoff cap while the store is "
                                       "unreachable")
    liveness_stale_seconds: float = Field(300.0, gt=0, description="/livez fails when the loop made no "
                                          "progress for this long")
    read_token: SecretStr | None = Field(None, min_length=16, description=(
        "lets callers other than loopback make read calls (/v1/...) with 'Authorization: Bearer <token>'"))
    keep_index: bool = Field(True, description="keep the index built where the engine has no optimizer "
                             "(Qdrant Edge): stream/keeper.py")
    keep_index_max_segment_kb: int = Field(8000, ge=100, le=10**7, description="segments the keeper builds stay "
                                           "below this (KB of vectors): one run indexes at most this much")
    keep_index_deleted_threshold: float = Field(0.2, gt=0, le=1, description="vacuum a segment past this share "
                                                "of replaced or deleted points")
    keep_index_check_seconds: float = Field(5.0, gt=0, le=3600, description="how often the keeper runs between "
                                            "batches (with nothing due a run returns at once)")

    @field_validator("aliases", mode="before")
    @classmethod
    def _split(cls, value):
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return tuple(a.strip() for a in value.split(",") if a.strip())
        return value

    @field_validator("aliases")
    @classmethod
    def _names(cls, value):
        if value is not None:
            if not value:
                raise ValueError("give at least one alias")
            for alias in value:
                validate_name(alias, "alias")
        return value

    @model_validator(mode="after")
    def _pubsub_names(self):
        if self.source == "pubsub" and not self.pubsub_subscription:
            raise ValueError("source pubsub needs VIDVEC_SIDECAR_PUBSUB_SUBSCRIPTION")
        if self.pubsub_subscription and not _SUBSCRIPTION.match(self.pubsub_subscription):
            raise ValueError(f"pubsub_subscription {shown(self.pubsub_subscription)} is not projects/P/subscriptions/S")
        if self.pubsub_topic and not _TOPIC.match(self.pubsub_topic):
            raise ValueError(f"pubsub_topic {shown(self.pubsub_topic)} is not projects/P/topics/T")
        return self

    @property
    def read_token_value(self) -> str | None:
        return self.read_token.get_secret_value() if self.read_token else None

    def alias_list(self, live_alias: str) -> tuple[str, ...]:
        return self.aliases or (live_alias, next_alias(live_alias))

    def log_file(self, home: Path) -> Path:
        return self.local_path or home / "events.sqlite"

    def dead_letter_file(self, home: Path) -> Path:
        return self.dead_letter_path or home / "dead_letters.jsonl"


def load_sidecar_settings(**overrides) -> SidecarSettings:
    try:
        return SidecarSettings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"VIDVEC_SIDECAR_{'_'.join(map(str, e['loc'])).upper() or 'SETTINGS'}: {e['msg']}"
            for e in exc.errors())
        raise VidvecError(f"invalid sidecar settings: {problems}") from None
