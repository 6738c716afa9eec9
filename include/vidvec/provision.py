"""Create what the production stack needs before it runs; every step is idempotent.

Pub/Sub: the events topic, the sidecar's subscription with a dead-letter
policy, the dead-letter topic and a subscription that keeps its messages.
BigQuery: the dataset and vidvec's tables. The docker-compose init service
runs `vidvec provision`; the same command provisions a real project.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from vidvec.errors import VidvecError, shown

if TYPE_CHECKING:
    from vidvec.config import Settings

_NAME = re.compile(r"^projects/([a-z][a-z0-9-]{4,29})/(topics|subscriptions)/([A-Za-z][\w.~+%-]{2,254})$")


def _parse(name: str, kind: str) -> tuple[str, str]:
    match = _NAME.match(name or "")
    if not match or match.group(2) != kind:
        raise VidvecError(f"{shown(name)} is not projects/PROJECT/{kind}/NAME")
    return match.group(1), match.group(3)


def ensure_pubsub(topic: str, subscription: str, *, max_delivery_attempts: int = 5,
                  ack_deadline_s: int = 60) -> dict[str, str]:
    """Topic, subscription (dead-letter policy, ordering) and the dead-letter pair.

    Honours PUBSUB_EMULATOR_HOST (the emulator) like every google-cloud-pubsub client.
    """
    from google.api_core.exceptions import AlreadyExists
    from google.cloud import pubsub_v1  # type: ignore[attr-defined]  # untyped, in a typed namespace

    if not 5 <= max_delivery_attempts <= 100:
        raise VidvecError("max_delivery_attempts must be in 5..100 (a Pub/Sub limit)")
    project, _ = _parse(topic, "topics")
    _parse(subscription, "subscriptions")
    dead_topic, dead_sub = f"{topic}-dead-letter", f"{subscription}-dead-letter"
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    try:
        for name in (topic, dead_topic):
            try:
                publisher.create_topic(name=name)
            except AlreadyExists:
                pass
        subs = [{"name": subscription, "topic": topic, "ack_deadline_seconds": ack_deadline_s,
                 "enable_message_ordering": True,
                 "dead_letter_policy": {"dead_letter_topic": dead_topic,
                                        "max_delivery_attempts": max_delivery_attempts}},
                {"name": dead_sub, "topic": dead_topic, "ack_deadline_seconds": ack_deadline_s}]
        for request in subs:
            try:
                subscriber.create_subscription(request=request)
            except AlreadyExists:
                pass
    finally:
        subscriber.close()
    return {"topic": topic, "subscription": subscription, "dead_letter_topic": dead_topic,
            "dead_letter_subscription": dead_sub, "project": project}


def ensure_bigquery(settings: Settings) -> list[str]:
    """The dataset and tables of the configured BigQuery catalog."""
    from vidvec.catalog.bigquery import open_bigquery

    if settings.catalog != "bigquery":
        raise VidvecError("VIDVEC_CATALOG is not bigquery: nothing to provision there")
    with open_bigquery(settings) as catalog:
        return catalog.create_schema(settings.bigquery_location)
