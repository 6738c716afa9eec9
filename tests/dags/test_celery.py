"""vidvec_full_rebuild under the CeleryExecutor: a Redis broker, two workers, the encode tasks spread over both.

Every process is real and started here (redis-server from Debian's package,
`make redis` installs it; Airflow's api-server, scheduler, dag-processor and
two `airflow celery worker`s), on SQLite, which Airflow 3 accepts with Celery.
The two workers run on this machine, so each reports its own hostname
(AIRFLOW__CORE__HOSTNAME_CALLABLE) and takes one task at a time; each encode
task gets one of the machine's cores (VIDVEC_ENCODE_TASKS=2).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stream.conftest import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(REDIS).exists(), reason="no redis-server: `make redis` installs it")]

HOSTNAMES = "import os\n\ndef worker():\n    return os.environ.get('VIDVEC_TEST_WORKER', 'scheduler')\n"


def _env(tmp: Path, redis_port: int, api_port: int) -> dict:
    return os.environ | {
        "AIRFLOW_HOME": str(tmp / "airflow"), "VIDVEC_HOME": str(tmp / "vidvec"),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp}/airflow/airflow.db",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+sqlite:///{tmp}/airflow/celery.db",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API__PORT": str(api_port), "AIRFLOW__API_AUTH__JWT_SECRET": "celery-test-secret",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"), "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__HOSTNAME_CALLABLE": "celery_test_hosts.worker",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5", "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "PYTHONPATH": os.pathsep.join([str(tmp), str(ROOT / "include"), str(ROOT / "plugins"), str(ROOT / "dags"),
                                       os.environ.get("PYTHONPATH", "")]),
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",  # the triggered run only, not the nightly one
        "VIDVEC_ENCODE_TASKS": "2", "VIDVEC_REBUILD_DEADLINE_HOURS": "0",
    }


class Processes:
    def __init__(self, tmp: Path):
        self.tmp, self.procs = tmp, []

    def start(self, name: str, cmd: list[str], env: dict) -> None:
        log = open(self.tmp / f"{name}.log", "wb")
        self.procs.append((name, subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                  start_new_session=True)))

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n" + (self.tmp / f"{n}.log").read_text(errors="replace")[-3000:]
                         for n, _ in self.procs)

    def alive(self) -> bool:
        """Fail at once, with the logs, when one of them died (e.g. a scheduler that cannot load its executor)."""
        dead = [n for n, p in self.procs if p.poll() is not None]
        assert not dead, f"{', '.join(dead)} exited\n{self.logs()}"
        return True

    def stop(self) -> None:
        for _, p in reversed(self.procs):  # each started its own session: stop the whole group
            if p.poll() is None:
                os.killpg(p.pid, 15)
        for _, p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, 9)
                p.wait()


def _airflow(env, *args) -> str:
    done = subprocess.run([str(Path(sys.executable).parent / "airflow"), *args], env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_rebuild_under_celery_spreads_the_encode_over_two_workers(tmp_path, sample_slice):
    from vidvec.catalog.factory import open_catalog
    from vidvec.config import load_settings
    from vidvec.store import open_store

    (tmp_path / "celery_test_hosts.py").write_text(HOSTNAMES)
    (tmp_path / "airflow").mkdir()
    env = _env(tmp_path, free_port(), free_port())
    airflow = str(Path(sys.executable).parent / "airflow")
    _airflow(env, "db", "migrate")
    _airflow(env, "pools", "set", "vidvec_store", "1", "embedded store")
    settings = load_settings(home=tmp_path / "vidvec")
    with open_catalog(settings) as catalog:
        catalog.upsert_videos(sample_slice)
    procs = Processes(tmp_path)
    try:
        procs.start("redis", [REDIS, "--port", env["AIRFLOW__CELERY__BROKER_URL"].rsplit(":", 1)[1].split("/")[0],
                              "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], env)
        procs.start("api-server", [airflow, "api-server", "--port", env["AIRFLOW__API__PORT"]], env)
        procs.start("scheduler", [airflow, "scheduler"], env)
        procs.start("dag-processor", [airflow, "dag-processor"], env)
        for w in ("worker1", "worker2"):
            procs.start(w, [airflow, "celery", "worker", "--celery-hostname", f"{w}@%h", "--concurrency", "1"],
                        env | {"VIDVEC_TEST_WORKER": w})
        assert wait_for(lambda: procs.alive() and _parsed(env), timeout=120), procs.logs()
        _airflow(env, "dags", "unpause", "vidvec_full_rebuild")
        _airflow(env, "dags", "trigger", "vidvec_full_rebuild", "-c", json.dumps({"shards": 4, "batch_size": 16}))
        db = tmp_path / "airflow" / "airflow.db"
        assert wait_for(lambda: procs.alive() and _run_state(db) in ("success", "failed"), timeout=600, every=2), \
            procs.logs()
        assert _run_state(db) == "success", _task_states(db) + procs.logs()
        encodes = _task_hosts(db, "encode_shard")
    finally:
        procs.stop()
    assert len(encodes) == 4 and {h for h, _ in encodes} == {"worker1", "worker2"}, encodes
    with open_store(settings) as store:
        name = store.aliases()["videos__next"]
        assert store.metadata(name)["state"] == "ready"
        assert store.count(name, public_only=True) == len(sample_slice)


def _parsed(env) -> bool:
    done = subprocess.run([str(Path(sys.executable).parent / "airflow"), "dags", "list", "-o", "json"], env=env,
                          capture_output=True, text=True, timeout=120)
    return done.returncode == 0 and "vidvec_full_rebuild" in done.stdout


def _query(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _run_state(db: Path) -> str | None:
    rows = _query(db, "SELECT state FROM dag_run WHERE dag_id = 'vidvec_full_rebuild' AND run_type = 'manual'")
    return rows[0][0] if rows else None


def _task_states(db: Path) -> str:
    return str(_query(db, "SELECT task_id, map_index, state, hostname FROM task_instance ORDER BY task_id"))


def _task_hosts(db: Path, task_id: str) -> list[tuple]:
    return _query(db, "SELECT t.hostname, t.state FROM task_instance t JOIN dag_run r ON r.run_id = t.run_id "
                      f"AND r.dag_id = t.dag_id WHERE t.task_id = '{task_id}' AND t.state = 'success' "
                      "AND r.run_type = 'manual'")
