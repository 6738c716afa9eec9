"""`vidvec audit`, `promote` and `rollback`, run as a user runs them (subprocesses)."""

import json
from datetime import datetime, timezone
from pathlib import Path

from tests.conftest import build_live
from tests.test_cli import run

T1 = datetime(2026, 11, 28, 2, tzinfo=timezone.utc)
T2 = datetime(2026, 11, 29, 2, tzinfo=timezone.utc)


def test_audit_promote_refusal_and_rollback(settings, sample_slice, embedder):
    from vidvec.store import open_store

    old = build_live(settings, sample_slice, embedder, t0=T1)
    new = build_live(settings, sample_slice, embedder, t0=T2)
    with open_store(settings) as store:
        store.set_aliases({"videos": old, "videos__next": new})
        store.update_metadata(new, state="building")

    refused = run("promote", "videos__next", home=settings.home)  # no audit, not ready
    assert refused.returncode == 2
    assert "gate 'ready'" in refused.stderr and "gate 'audit'" in refused.stderr
    assert "gate 'count'" not in refused.stderr and "gate 'family'" not in refused.stderr

    audited = run("audit", "videos__next", "--sample", "24", "--json", home=settings.home)
    assert audited.returncode == 0, audited.stderr
    result = json.loads(audited.stdout)
    assert result["passed"] and result["collection"] == new and result["engine"].startswith("qdrant-edge hnsw m=16")
    assert Path(result["report"]).is_file() and (Path(result["report"]).parent / "recall.png").is_file()
    assert result["report"].startswith(str(settings.home / "reports"))

    still = run("promote", new, home=settings.home)
    assert still.returncode == 2 and "gate 'ready'" in still.stderr and "gate 'audit'" not in still.stderr
    forced = run("promote", new, "--force-gate", "ready", home=settings.home)
    assert forced.returncode == 0, forced.stderr
    assert f"videos -> {new} (previous: {old}) (forced: ready)" in forced.stdout

    back = run("rollback", home=settings.home)
    assert back.returncode == 0, back.stderr
    with open_store(settings) as store:
        assert store.aliases() == {"videos": old}

    strict = run("audit", "videos", "--sample", "8", "--threshold", "min_coverage=1.1", home=settings.home)
    assert strict.returncode == 2 and "min_coverage" in strict.stderr
    bad = run("promote", new, "--force-gate", "recal", home=settings.home)
    assert bad.returncode == 2 and "unknown gate" in bad.stderr


def test_a_failed_audit_exits_1_and_names_the_figure(settings, sample_slice, embedder):
    from vidvec.store import open_store

    name = build_live(settings, sample_slice, embedder)
    with open_store(settings) as store:
        store.delete_points(name, [v.video_id for v in sample_slice[:8]])
    done = run("audit", "videos", "--sample", "16", home=settings.home)
    assert done.returncode == 1
    assert "FAILED (qdrant-edge hnsw m=16 ef_construct=100 hnsw_ef=100)" in done.stdout
    assert "failed: coverage 0.8750 < 0.99" in done.stdout
    assert "report: " in done.stdout
