"""`vidvec provision` (the compose init service) against the real emulators, read back."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import ROOT

TOPIC, SUB = "projects/vidvec-local/topics/video-events", "projects/vidvec-local/subscriptions/vidvec-sidecar"


def test_provision_creates_bigquery_tables_idempotently(bq_settings):
    from vidvec.catalog.bigquery import open_bigquery
    from vidvec.cli import app

    for _ in range(2):
        done = CliRunner().invoke(app, ["provision"])
        assert done.exit_code == 0, done.output
    with open_bigquery(bq_settings) as catalog:
        tables = {t.table_id for t in catalog.client.list_tables(f"local.{bq_settings.bigquery_dataset}")}
        schema = {f.name: (f.field_type, f.mode) for f in catalog.client.get_table(catalog.table("videos")).schema}
    assert tables == {"videos", "video_embeddings", "promotions", "approvals", "recall_audits"}
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


@pytest.mark.slow
def test_the_compose_init_script_runs_against_the_emulators(bq_settings, pubsub_host, tmp_path):
    """scripts/init_stack.sh as the compose init service runs it, minus Docker: Airflow on SQLite."""
    from vidvec.catalog.bigquery import open_bigquery

    env_example = dict(re.findall(r"^(\w+)=(.*)$", (ROOT / ".env.example").read_text(), re.M))
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, **{k: v for k, v in env_example.items() if k.startswith("AIRFLOW_CONN_")},
           "AIRFLOW_HOME": str(tmp_path / "airflow"), "PUBSUB_EMULATOR_HOST": pubsub_host,
           "PATH": os.pathsep.join([bin_dir, os.environ["PATH"]]),
           "VIDVEC_SIDECAR_PUBSUB_TOPIC": TOPIC.replace("video-events", "init-events"),
           "VIDVEC_SIDECAR_PUBSUB_SUBSCRIPTION": SUB.replace("vidvec-sidecar", "init-sidecar")}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "init_stack.sh")], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.rstrip().endswith("init: done")
    pubsub = json.loads(re.search(r"^pubsub: (.*)$", done.stdout, re.M).group(1))
    assert pubsub["dead_letter_topic"] == "projects/vidvec-local/topics/init-events-dead-letter"
    pools = subprocess.run([f"{bin_dir}/airflow", "pools", "get", "vidvec_store", "-o", "json"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert json.loads(pools.stdout)[0]["slots"] == "16"
    with open_bigquery(bq_settings) as catalog:
        assert catalog.count() == 0  # the tables exist
    # Without a connection it stops with the reason.
    env.pop("AIRFLOW_CONN_QDRANT_DEFAULT")
    done = subprocess.run(["bash", str(ROOT / "scripts" / "init_stack.sh")], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 1 and "connection qdrant_default is not set" in done.stdout
