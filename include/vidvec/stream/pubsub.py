"""Google Pub/Sub source: streaming pull with flow control; ack only after the writes.

The subscriber library does the leasing (ack deadlines extended while a
message waits) and flow control with hysteresis (pause at max messages/bytes,
resume below 80%). Messages land in a queue the sidecar batches from.
Invalid events are published to the subscription's dead-letter topic with
their reason, then acked; a message whose batch keeps failing is nacked and
reaches the same topic through the subscription's delivery-attempt policy.
"""

from __future__ import annotations

import os
import queue
import threading
import time

from google.cloud import pubsub_v1  # type: ignore[attr-defined]  # untyped, in a typed namespace

from vidvec.errors import VidvecError
from vidvec.stream.source import Message

ACK_TIMEOUT_SECONDS = 60


def subscriber_client() -> pubsub_v1.SubscriberClient:
    """A SubscriberClient that receives events up to EVENT_BYTES (core/limits.py), emulator included.

    Against Google the client's channel takes messages of any size; against the
    emulator (PUBSUB_EMULATOR_HOST) the client opens a plain channel that keeps
    gRPC's 4 MiB receive limit, so it gets one without that limit here.
    """
    host = os.environ.get("PUBSUB_EMULATOR_HOST")
    if not host:
        return pubsub_v1.SubscriberClient()
    import grpc
    from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

    channel = grpc.insecure_channel(host, options=[("grpc.max_receive_message_length", -1)])
    return pubsub_v1.SubscriberClient(transport=SubscriberGrpcTransport(channel=channel))


class PubSubSource:
    name = "pubsub"

    def __init__(self, subscription: str, max_messages: int, max_bytes: int,
                 drain_idle_seconds: float = 3.0):
        self.subscription = subscription
        self.drain_idle_seconds = drain_idle_seconds
        self.subscriber = subscriber_client()
        self.publisher = pubsub_v1.PublisherClient()
        policy = self.subscriber.get_subscription(subscription=subscription).dead_letter_policy
        if not policy.dead_letter_topic:
            self._close_clients()
            raise VidvecError(f"{subscription} has no dead-letter policy: poison messages need one "
                              "(gcloud pubsub subscriptions update --dead-letter-topic=... "
                              "--max-delivery-attempts=5)")
        self.dead_letter_topic = policy.dead_letter_topic
        self._queue: queue.Queue = queue.Queue()
        self._closing = threading.Event()
        self._future = self.subscriber.subscribe(
            subscription, callback=self._receive,
            flow_control=pubsub_v1.types.FlowControl(max_messages=max_messages, max_bytes=max_bytes))

    def _receive(self, msg) -> None:
        if self._closing.is_set():
            msg.nack()  # intake stopped: let another consumer have it now
        else:
            self._queue.put(msg)

    def pull(self, max_messages: int, max_seconds: float, stop: threading.Event) -> list[Message]:
        out: list[Message] = []
        deadline = time.monotonic() + max_seconds
        while len(out) < max_messages and not stop.is_set():
            if out:  # the first message bounds the batch's wait (a backlog is never held back)
                deadline = time.monotonic() + max_seconds - max(0.0, time.time() - out[0].published_at)
            left = deadline - time.monotonic()
            try:  # past the deadline, what is already buffered is still taken (max_seconds=0: no wait)
                msg = self._queue.get_nowait() if left <= 0 else self._queue.get(timeout=min(left, 0.05))
            except queue.Empty:
                if left <= 0:
                    break
                if self._future.done():
                    self._future.result()  # a dead stream raises here, loudly
                continue
            out.append(Message(msg.data, msg.publish_time.timestamp(), msg.delivery_attempt or 1, token=msg))
        return out

    def ack(self, messages: list[Message]) -> None:
        futures = [m.token.ack_with_response() for m in messages]
        for f in futures:
            f.result(timeout=ACK_TIMEOUT_SECONDS)

    def nack(self, messages: list[Message]) -> None:
        for m in messages:
            m.token.nack()

    def dead_letter(self, message: Message, reason: str) -> None:
        original = message.token
        self.publisher.publish(
            self.dead_letter_topic, message.data,
            vidvec_reason=reason[:1024], vidvec_source_subscription=self.subscription,
            vidvec_source_message_id=original.message_id,
        ).result(timeout=ACK_TIMEOUT_SECONDS)

    def close(self) -> None:
        """Stop intake, nack what was buffered but never batched, stop the stream, close clients."""
        self._closing.set()
        while True:
            try:
                self._queue.get_nowait().nack()
            except queue.Empty:
                break
        self._future.cancel()
        try:
            self._future.result(timeout=10)
        except Exception:  # a cancelled stream may end with an error; nothing is left to do
            pass
        self._close_clients()

    def _close_clients(self) -> None:
        self.subscriber.close()
        self.publisher.stop()
