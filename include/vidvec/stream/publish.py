"""Put events into the configured source: the local log, or a Pub/Sub topic."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from vidvec.config import Settings
from vidvec.errors import VidvecError
from vidvec.stream.settings import SidecarSettings

Publish = Callable[[list[bytes]], int]


@contextmanager
def open_publisher(settings: Settings, sc: SidecarSettings) -> Iterator[Publish]:
    if sc.source == "pubsub":
        if not sc.pubsub_topic:
            raise VidvecError("publishing with source pubsub needs VIDVEC_SIDECAR_PUBSUB_TOPIC")
        from google.cloud import pubsub_v1

        client = pubsub_v1.PublisherClient()

        def publish(payloads: list[bytes]) -> int:
            for future in [client.publish(sc.pubsub_topic, p) for p in payloads]:
                future.result(timeout=60)
            return len(payloads)

        try:
            yield publish
        finally:
            client.stop()
        return
    from vidvec.stream.local import LocalLog

    log = LocalLog(sc.log_file(settings.home))
    try:
        yield log.publish
    finally:
        log.close()
