"""vidvec's Prometheus rules and Grafana dashboard: checked and unit-tested by the real promtool, and
every metric they name is one vidvec really exports.

promtool comes from Debian's `prometheus` package (`make promtool`, called by `make test`, installs it as
root). Without it the promtool tests skip with the reason, unless VIDVEC_TEST_REQUIRE_PROMTOOL=1 (`make test`
sets it once promtool is there), where that is a failure instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS = ROOT / "ops" / "prometheus"
DASHBOARD = ROOT / "ops" / "grafana" / "dashboards" / "vidvec.json"
PROMTOOL = os.environ.get("VIDVEC_TEST_PROMTOOL", "/usr/bin/promtool")
NAMES = re.compile(r"\bvidvec_[a-z0-9_]+")


def promtool(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess:
    if not shutil.which(PROMTOOL):
        reason = f"no promtool at {PROMTOOL} (apt-get install prometheus, or `make promtool` as root)"
        if os.environ.get("VIDVEC_TEST_REQUIRE_PROMTOOL") == "1":
            pytest.fail(f"promtool must run here but cannot: {reason}")
        pytest.skip(reason)
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_promtool_checks_the_rules():
    done = promtool("check", "rules", "vidvec.rules.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 8 rules found" in done.stdout


def test_promtool_unit_tests_every_alert():
    done = promtool("test", "rules", "vidvec.rules.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    tested = set(re.findall(r"alertname: (\w+)", (PROMETHEUS / "vidvec.rules.test.yml").read_text()))
    assert tested == set(re.findall(r"- alert: (\w+)", (PROMETHEUS / "vidvec.rules.yml").read_text()))


def test_promtool_catches_a_broken_rule(tmp_path):
    """The checks can fail: an alert whose threshold moved no longer passes its unit test."""
    rules = (PROMETHEUS / "vidvec.rules.yml").read_text()
    (tmp_path / "vidvec.rules.yml").write_text(rules.replace('{kind="canary"}) >= 2', '{kind="canary"}) >= 3'))
    shutil.copy(PROMETHEUS / "vidvec.rules.test.yml", tmp_path)
    done = promtool("test", "rules", "vidvec.rules.test.yml", cwd=tmp_path)
    assert done.returncode != 0 and "VidvecCanaryRecallBelowThreshold" in done.stdout + done.stderr
    (tmp_path / "vidvec.rules.yml").write_text(rules.replace("expr: time() >", "expr: time( >"))
    assert promtool("check", "rules", "vidvec.rules.yml", cwd=tmp_path).returncode != 0


def test_promtool_checks_the_compose_prometheus_config(tmp_path):
    config = (PROMETHEUS / "prometheus.yml").read_text()
    (tmp_path / "prometheus.yml").write_text(config.replace("/etc/prometheus/", f"{PROMETHEUS}/"))
    done = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def exported(settings, sample_slice, embedder) -> set[str]:
    """Every sample name vidvec exports: the figures of a real space (audit, canary, promotion, a rebuild
    building) and the sidecar's registry."""
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from tests.conftest import build_live
    from vidvec.audit import run_audit
    from vidvec.canary import run_canary
    from vidvec.catalog.base import Approval, Promotion
    from vidvec.catalog.factory import open_catalog
    from vidvec.slo.exposition import render
    from vidvec.slo.figures import read_figures
    from vidvec.store import open_store
    from vidvec.stream.ops import Metrics

    at = datetime(2026, 11, 29, 6, tzinfo=timezone.utc)
    name = build_live(settings, sample_slice[:24], embedder)
    with open_catalog(settings) as catalog, open_store(settings) as store:
        run_audit(catalog, store, "videos", at=at, sample=8)
        run_canary(catalog, store, "videos", at=at + timedelta(hours=1), sample=8)
        catalog.record_promotion(Promotion("videos", name, None, at, "test"))
        catalog.record_approval(Approval("run-1", "videos", name, True, at, "ops"))
        store.update_metadata(name, state="building")
        text = render(read_figures(catalog, store, now=at, deadline_hours=6)).decode()
    sidecar = Metrics()
    sidecar.freshness.observe(0.5)
    text += generate_latest(sidecar.registry).decode()
    return {s.name for family in text_string_to_metric_families(text) for s in family.samples}


def test_every_metric_the_rules_and_dashboard_name_is_exported(exported):
    named = set(NAMES.findall((PROMETHEUS / "vidvec.rules.yml").read_text()))
    named |= set(NAMES.findall(DASHBOARD.read_text()))
    assert named and named - exported == set()


def test_the_dashboard_is_grafana_json_on_the_provisioned_datasource():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "vidvec-service-levels" and dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}" and panel["targets"], panel["title"]
        assert all(t["expr"] for t in panel["targets"])
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    source = (ROOT / "ops" / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    assert "uid: prometheus" in source and "url: http://prometheus:9090" in source
