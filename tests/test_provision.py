"""`vidvec provision` (the compose init service) against the real emulators, read back."""

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.emulators import free_port, stop, wait_for_port

PUBSUB = Path("/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator")
TOPIC, SUB = "projects/vidvec-local/topics/video-events", "projects/vidvec-local/subscriptions/vidvec-sidecar"


@pytest.fixture(scope="module")
def pubsub_host(tmp_path_factory):
    if not PUBSUB.exists():
        pytest.skip(f"Pub/Sub emulator not installed ({PUBSUB}; Debian package google-cloud-cli-pubsub-emulator)")
    port, log = free_port(), tmp_path_factory.mktemp("pubsub") / "emulator.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(PUBSUB), "--host=127.0.0.1", f"--port={port}"], stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port, proc, 90, log)
        yield f"127.0.0.1:{port}"
    finally:
        stop(proc)


def test_provision_creates_bigquery_tables_idempotently(bq_settings):
    from vidvec.catalog.bigquery import open_bigquery
    from vidvec.cli import app

    for _ in range(2):
        done = CliRunner().invoke(app, ["provision"])
        assert done.exit_code == 0, done.output
    with open_bigquery(bq_settings) as catalog:
        tables = {t.table_id for t in catalog.client.list_tables(f"local.{bq_settings.bigquery_dataset}")}
        schema = {f.name: (f.field_type, f.mode) for f in catalog.client.get_table(catalog.table("videos")).schema}
    assert tables == {"videos", "video_embeddings", "promotions"}
    assert schema["tags"] == ("STRING", "REPEATED") and schema["updated_at"] == ("TIMESTAMP", "REQUIRED")


def test_provision_creates_the_subscription_with_a_dead_letter_policy(pubsub_host, monkeypatch):
    from google.cloud import pubsub_v1

    from vidvec.cli import app

    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_host)
    for _ in range(2):  # the second run finds everything there
        done = CliRunner().invoke(app, ["provision", "--pubsub-topic", TOPIC, "--pubsub-subscription", SUB,
                                        "--max-delivery-attempts", "7"])
        assert done.exit_code == 0, done.output
    subscriber = pubsub_v1.SubscriberClient()
    try:
        sub = subscriber.get_subscription(subscription=SUB)
        dead = subscriber.get_subscription(subscription=f"{SUB}-dead-letter")
    finally:
        subscriber.close()
    assert sub.topic == TOPIC and sub.enable_message_ordering
    assert sub.dead_letter_policy.dead_letter_topic == f"{TOPIC}-dead-letter"
    assert sub.dead_letter_policy.max_delivery_attempts == 7
    assert dead.topic == f"{TOPIC}-dead-letter"


def test_provision_refuses_malformed_names():
    from vidvec.cli import app

    done = CliRunner().invoke(app, ["provision", "--pubsub-topic", "video-events", "--pubsub-subscription", SUB])
    assert done.exit_code != 0
    assert "projects/PROJECT/topics/NAME" in str(done.exception) + done.output
