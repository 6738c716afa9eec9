"""Shared fixtures. Airflow's environment is set before anything imports airflow."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pytest

pytest_plugins = ["tests.emulators"]  # bigquery_emulator, bq_settings, bq_catalog, pubsub_host

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "include" / "data" / "videos.csv.gz"

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="vidvec-airflow-")
os.environ.update({
    "AIRFLOW_HOME": _AIRFLOW_HOME,
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    # Subprocesses (the `vidvec` script, airflow) import this checkout's code first.
    "PYTHONPATH": os.pathsep.join(str(ROOT / d) for d in ("include", "plugins", "dags")),
})
for var in [v for v in os.environ if v.startswith("VIDVEC_") and not v.startswith("VIDVEC_TEST_")]:
    del os.environ[var]  # tests choose their own store (VIDVEC_TEST_* configure the tests themselves)


@pytest.fixture(scope="session")
def airflow_db() -> str:
    """A migrated SQLite Airflow DB (dag.test() needs one), with vidvec's pool."""
    airflow = str(Path(sys.executable).parent / "airflow")
    for cmd in (["db", "migrate"], ["pools", "set", "vidvec_store", "1", "embedded store"]):
        done = subprocess.run([airflow, *cmd], capture_output=True, text=True, env=os.environ)
        assert done.returncode == 0, done.stdout + done.stderr
    return _AIRFLOW_HOME


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Embedded settings under a fresh VIDVEC_HOME (also visible to DAG tasks)."""
    from vidvec.config import load_settings

    monkeypatch.setenv("VIDVEC_HOME", str(tmp_path / "vidvec"))
    return load_settings()


@pytest.fixture(scope="session")
def sample_videos():
    """The real sample catalog, parsed (7,841 videos)."""
    from vidvec.catalog.loader import read_csv

    return [v for v in read_csv(SAMPLE)]


@pytest.fixture(scope="session")
def sample_slice(sample_videos):
    """A small multilingual slice: up to 8 videos per language for the 8 largest."""
    by_lang: dict[str, list] = {}
    for v in sample_videos:
        by_lang.setdefault(v.language, []).append(v)
    langs = sorted(by_lang, key=lambda lang: -len(by_lang[lang]))[:8]
    return [v for lang in langs for v in by_lang[lang][:8]]


@pytest.fixture(scope="session")
def embedder():
    from vidvec.embed.usem3 import Usem3Embedder

    return Usem3Embedder(threads=1)


@pytest.fixture
def catalog(settings):
    from vidvec.catalog.factory import open_catalog

    with open_catalog(settings) as cat:
        yield cat


@pytest.fixture
def store(settings):
    from vidvec.store import open_store

    with open_store(settings) as st:
        yield st


def with_status(videos, every: int, status: str):
    """Copies of videos with every n-th one given another status."""
    return [replace(v, status=status) if i % every == 0 else v for i, v in enumerate(videos)]


def build_live(settings, videos, embedder, t0=None, shards: int = 2) -> str:
    """Load videos into the catalog and rebuild them behind the live alias, without Airflow."""
    from datetime import datetime, timezone

    from vidvec.catalog.factory import open_catalog
    from vidvec.rebuild import create_target, finish, load_shard, plan_rebuild
    from vidvec.store import open_store

    t0 = t0 or datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc)
    plan = plan_rebuild(live_alias=settings.live_alias, t0=t0, run_id=f"test-{t0.isoformat()}",
                        model_id=embedder.model_id, family=embedder.family, dim=embedder.dim,
                        n_shards=shards, recipe="v1")
    with open_catalog(settings) as catalog, open_store(settings) as store:
        catalog.upsert_videos(videos)
        create_target(store, plan)
        for shard in plan.shards:
            load_shard(catalog, store, embedder, plan, shard)
        finish(catalog, store, plan)
        # The rebuild leaves the live alias alone (promotion is its own DAG); tests want it live.
        store.set_aliases({settings.live_alias: plan.collection, settings.next_alias: None})
    return plan.collection


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


class HeldEncoder:
    """The real encoder; its first call holds (10 s at most) until the catalog was read for the next batch."""

    def __init__(self, embedder, catalog_reads):
        self.inner, self.catalog_reads = embedder, catalog_reads
        self.model_id, self.family, self.dim = embedder.model_id, embedder.family, embedder.dim
        self.calls = 0
        self.next_planned_during_first = False

    def encode(self, texts, max_tokens=None):
        self.calls += 1
        if self.calls == 1:  # batch N: wait (bounded) for batch N+1's catalog reads
            self.next_planned_during_first = _wait_for(lambda: len(self.catalog_reads) >= 2, timeout=10)
        return self.inner.encode(texts, max_tokens=max_tokens)


class ReadRecorder:
    """The real catalog, recording the videos of each stored-vector read: a lookup, or a batch of a joined scan."""

    def __init__(self, catalog):
        self.catalog, self.reads = catalog, []

    def get_embeddings(self, video_ids, model_id, text_hashes=None):
        video_ids = list(video_ids)
        self.reads.append(sorted(video_ids))
        return self.catalog.get_embeddings(video_ids, model_id, text_hashes)

    def scan_shard_with_embeddings(self, *args, **kwargs):
        for videos, stored in self.catalog.scan_shard_with_embeddings(*args, **kwargs):
            self.reads.append(sorted(v.video_id for v in videos))
            yield videos, stored

    def __getattr__(self, name):
        return getattr(self.catalog, name)
