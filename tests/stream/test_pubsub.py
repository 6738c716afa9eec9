"""The Pub/Sub source against the official Cloud Pub/Sub emulator: publish, streaming
pull, ack after the writes, nack and redelivery, the subscription's dead-letter policy."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.stream.conftest import Running, event, make_target, wait_for
from vidvec.errors import VidvecError
from vidvec.store import CollectionSpec, open_store

PROJECT = "vidvec-test"
pytestmark = pytest.mark.slow


@pytest.fixture
def pubsub(pubsub_emulator):
    """A topic, a subscription with a dead-letter policy (5 attempts), and one on the DLQ."""
    from google.cloud import pubsub_v1
    from google.cloud.pubsub_v1.types import DeadLetterPolicy

    from vidvec.stream.pubsub import subscriber_client

    tag = uuid.uuid4().hex[:8]
    pub, sub = pubsub_v1.PublisherClient(), subscriber_client()
    topic = pub.create_topic(name=f"projects/{PROJECT}/topics/events-{tag}").name
    dlq = pub.create_topic(name=f"projects/{PROJECT}/topics/dead-{tag}").name
    subscription = sub.create_subscription(request={
        "name": f"projects/{PROJECT}/subscriptions/sidecar-{tag}", "topic": topic, "ack_deadline_seconds": 10,
        "dead_letter_policy": DeadLetterPolicy(dead_letter_topic=dlq, max_delivery_attempts=5)}).name
    dead = sub.create_subscription(name=f"projects/{PROJECT}/subscriptions/dead-{tag}", topic=dlq).name
    bare = sub.create_subscription(name=f"projects/{PROJECT}/subscriptions/bare-{tag}", topic=topic).name

    class PubSub:
        def publish(self, payloads):
            for f in [pub.publish(topic, p) for p in payloads]:
                f.result(30)

        def pull(self, name, timeout=3):
            got = sub.pull(subscription=name, max_messages=100, timeout=timeout).received_messages
            if got:
                sub.acknowledge(subscription=name, ack_ids=[m.ack_id for m in got])
            return got

    ps = PubSub()
    ps.topic, ps.subscription, ps.dead, ps.bare = topic, subscription, dead, bare
    yield ps
    pub.stop()
    sub.close()


def test_streaming_pull_writes_then_acks_and_dead_letters_bad_events(settings, embedder, pubsub):
    with open_store(settings) as store:
        make_target(store, "live1", embedder)
    pubsub.publish([event("p1", "upsert", 2, "Piano sonata"), event("p1", "upsert", 1, "older"),
                    event("p2", "delete", 1), b"{broken", event("p3", "upsert", 1, "Pottery")])
    with Running(settings, embedder, source="pubsub", pubsub_subscription=pubsub.subscription) as running:
        assert wait_for(lambda: running.count("applied") + running.count("superseded") == 4
                        and running.count("dead_lettered") == 1, timeout=60)
        assert running.sidecar.store.get_points("live1", ["p1"])["p1"]["payload"]["updated_at"] > 0
    with open_store(settings) as store:
        got = store.get_points("live1", ["p1", "p2", "p3"])
    assert got["p2"]["payload"]["status"] == "deleted" and got["p3"]["payload"]["status"] == "public"
    assert got["p1"]["payload"]["text_hash"] and running.count("nacked") == 0
    assert pubsub.pull(pubsub.subscription, timeout=12) == []  # all acked: nothing comes back
    (letter,) = pubsub.pull(pubsub.dead)
    assert letter.message.data == b"{broken"
    assert "malformed JSON" in letter.message.attributes["vidvec_reason"]
    assert len(pubsub.pull(pubsub.bare)) == 5  # another subscription still sees every event


def test_failing_batches_are_nacked_redelivered_then_dead_lettered(settings, embedder, pubsub):
    with open_store(settings) as store:  # metadata claims 512-d, the collection holds 8-d: every write fails
        store.create_collection("broken", CollectionSpec(dim=8), {
            "model_id": embedder.model_id, "family": embedder.family, "dim": 512, "recipe": "v1"})
        store.set_aliases({"videos": "broken"})
    pubsub.publish([event("n1", "upsert", 1, "Night sky")])
    with Running(settings, embedder, source="pubsub", pubsub_subscription=pubsub.subscription) as running:
        assert wait_for(lambda: running.count("nacked") >= 5, timeout=90)
    (letter,) = pubsub.pull(pubsub.dead, timeout=5)
    assert b'"n1"' in letter.message.data
    assert letter.message.attributes["CloudPubSubDeadLetterSourceDeliveryCount"] == "5"
    assert pubsub.pull(pubsub.subscription, timeout=5) == []  # the policy moved it; none left to retry


def test_a_subscription_without_dead_letter_policy_is_refused(settings, embedder, pubsub):
    with open_store(settings) as store:
        make_target(store, "live1", embedder)
    with pytest.raises(VidvecError, match="no dead-letter policy"):
        with Running(settings, embedder, source="pubsub", pubsub_subscription=pubsub.bare):
            pass


def test_events_publish_goes_to_the_topic(settings, pubsub):
    from vidvec.stream.publish import open_publisher
    from vidvec.stream.settings import load_sidecar_settings

    sc = load_sidecar_settings(source="pubsub", pubsub_subscription=pubsub.subscription, pubsub_topic=pubsub.topic)
    with open_publisher(settings, sc) as publish:
        assert publish([event("t1", "delete", 1)]) == 1
    (got,) = pubsub.pull(pubsub.bare)
    assert got.message.data == event("t1", "delete", 1)


def test_the_largest_event_fits_a_publish_request_with_dead_letter_attributes(pubsub):
    """EVENT_BYTES (core/limits.py) stays under Pub/Sub's request limit, which the client checks itself."""
    from google.cloud import pubsub_v1

    from vidvec.core.limits import EVENT_BYTES

    payload = b'{"video_id": "big", "op": "upsert", "updated_at": "2026-01-01T00:00:00Z", "t": "'
    payload += b"x" * (EVENT_BYTES - len(payload) - 2) + b'"}'
    publisher = pubsub_v1.PublisherClient()
    try:  # the attributes PubSubSource.dead_letter adds, at their largest
        publisher.publish(pubsub.topic, payload, vidvec_reason="r" * 1024, vidvec_source_subscription=pubsub.bare,
                          vidvec_source_message_id="9" * 20).result(60)
    finally:
        publisher.stop()
    (got,) = pubsub.pull(pubsub.bare, timeout=30)
    assert len(got.message.data) == EVENT_BYTES


def test_a_five_mib_transcript_streams_through_pubsub_into_the_store(settings, embedder, pubsub):
    from vidvec.core.limits import TRANSCRIPT_BYTES
    from vidvec.stream.publish import open_publisher
    from vidvec.stream.settings import load_sidecar_settings

    with open_store(settings) as store:
        make_target(store, "live1", embedder)
    talk = ("Длинный доклад о реках и озёрах. " * 100_000)[: TRANSCRIPT_BYTES // 2]
    sc = load_sidecar_settings(source="pubsub", pubsub_subscription=pubsub.subscription, pubsub_topic=pubsub.topic)
    body = json.loads(event("talk", "upsert", 1, "Реки")) | {"transcript": talk}
    with open_publisher(settings, sc) as publish:  # UTF-8 JSON: 5 MiB (escaped \\uXXXX would be 15)
        publish([json.dumps(body, ensure_ascii=False).encode()])
    with Running(settings, embedder, source="pubsub", pubsub_subscription=pubsub.subscription) as running:
        assert wait_for(lambda: running.count("applied") == 1, timeout=60), running.count("dead_lettered")
    with open_store(settings) as store:
        assert store.get_points("live1", ["talk"])["talk"]["payload"]["status"] == "public"
