"""Put events into the configured source: the local log, or a Pub/Sub topic."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from vidvec.config import Settings
from vidvec.core.events import BadEvent, parse_event
from vidvec.core.limits import BATCH_BYTES
from vidvec.errors import VidvecError
from vidvec.stream.settings import SidecarSettings

Publish = Callable[[list[bytes]], int]


def publish_lines(lines: Iterable[bytes], publish: Publish, now: datetime,
                  report: Callable[[int, str], None]) -> tuple[int, int]:
    """Validate raw events a line at a time and publish the good ones in batches of at most
    BATCH_BYTES (a file of long transcripts never sits in memory whole); (published, bad)."""
    good, held, published, bad = [], 0, 0, 0
    for number, line in enumerate(lines, 1):
        raw = line.rstrip(b"\r\n")
        if not raw.strip():
            continue
        try:
            parse_event(raw, now)
        except BadEvent as exc:
            bad += 1
            report(number, str(exc))
            continue
        good.append(raw)
        held += len(raw)
        if held >= BATCH_BYTES:
            published, good, held = published + publish(good), [], 0
    return published + (publish(good) if good else 0), bad


@contextmanager
def open_publisher(settings: Settings, sc: SidecarSettings) -> Iterator[Publish]:
    if sc.source == "pubsub":
        if not sc.pubsub_topic:
            raise VidvecError("publishing with source pubsub needs VIDVEC_SIDECAR_PUBSUB_TOPIC")
        from google.cloud import pubsub_v1  # type: ignore[attr-defined]  # untyped, in a typed namespace

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
