"""The `vidvec` console script, run as a user runs it (a subprocess)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import build_live

VIDVEC = str(Path(sys.executable).parent / "vidvec")


def run(*args, home):
    env = os.environ | {"VIDVEC_HOME": str(home)}
    return subprocess.run([VIDVEC, *args], capture_output=True, text=True, env=env, timeout=300)


def test_catalog_load_reports_bad_rows_and_loads_good_ones(settings, tmp_path):
    csv = tmp_path / "c.csv"
    csv.write_text(
        "video_id,title,description,tags,transcript,language,owner_id,category,status,published_at,updated_at\n"
        "v1,Hello,,,,en,o,c,public,,2020-01-01T00:00:00Z\n"
        "v 2,Bad id,,,,en,o,c,public,,2020-01-01T00:00:00Z\n"
        "v3,Gone,,,,en,o,c,deleted,,2020-01-01T00:00:00Z\n")
    done = run("catalog", "load", str(csv), home=settings.home)
    assert done.returncode == 0, done.stderr
    assert f"{csv}:3: invalid video id" in done.stderr
    assert "loaded 2 rows, 1 bad" in done.stdout
    from vidvec.catalog.factory import open_catalog

    with open_catalog(settings, read_only=True) as catalog:
        assert sorted(catalog.get_videos(["v1", "v3", "v 2"])) == ["v1", "v3"]


def test_similar_json_language_filter_and_unknown_id(settings, sample_slice, embedder):
    build_live(settings, sample_slice, embedder)
    fr = next(v for v in sample_slice if v.language == "fr")
    done = run("similar", fr.video_id, "--k", "20", "--json", home=settings.home)
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout)
    assert len(hits) == 20 and fr.video_id not in {h["video_id"] for h in hits}
    assert {"video_id", "score", "title", "language"} <= set(hits[0])
    assert all(h["title"] for h in hits)
    assert hits == sorted(hits, key=lambda h: -h["score"])
    assert len({h["language"] for h in hits}) > 1  # MUSE is cross-lingual

    only_fr = json.loads(run("similar", fr.video_id, "--language", "fr", "--json", home=settings.home).stdout)
    assert only_fr and {h["language"] for h in only_fr} == {"fr"}

    missing = run("similar", "noSuchVideo", home=settings.home)
    assert missing.returncode == 2 and "noSuchVideo" in missing.stderr
    bad = run("similar", "x'; drop", home=settings.home)
    assert bad.returncode == 2 and "invalid video id" in bad.stderr


def test_collections_lists_alias_count_and_metadata(settings, sample_slice, embedder):
    name = build_live(settings, sample_slice, embedder)
    done = run("collections", "--json", home=settings.home)
    assert done.returncode == 0, done.stderr
    (state,) = json.loads(done.stdout)
    assert state["name"] == name and state["aliases"] == ["videos"]
    assert state["points"] == len(sample_slice)
    assert state["metadata"]["state"] == "ready" and state["metadata"]["recipe"] == "v1"
    assert state["engine"] == "qdrant-edge hnsw m=16 ef_construct=100 hnsw_ef=100"
    assert state["indexed_vectors"] == 0  # 64 vectors: below the indexing threshold, scanned exactly
    text = run("collections", home=settings.home).stdout
    assert "aliases: videos" in text and f"points: {len(sample_slice)}  status: green  indexed: 0" in text
    assert "engine: qdrant-edge hnsw m=16 ef_construct=100 hnsw_ef=100" in text


def test_snapshot_then_restore_as_a_new_collection(settings, sample_slice, embedder):
    name = build_live(settings, sample_slice, embedder)
    done = run("snapshot", home=settings.home)
    assert done.returncode == 0, done.stderr
    location = done.stdout.strip().rsplit(" at ", 1)[1]
    assert done.stdout.startswith(f"{name}: {name}-") and location.endswith(".tar.gz")
    restored = run("restore", location, "videos_restored", home=settings.home)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.strip() == f"restored videos_restored ({len(sample_slice)} points) from {location}"
    states = {s["name"]: s for s in json.loads(run("collections", "--json", home=settings.home).stdout)}
    assert states["videos_restored"]["points"] == len(sample_slice) and states["videos_restored"]["aliases"] == []
    assert states["videos_restored"]["metadata"] == states[name]["metadata"]
    again = run("restore", location, "videos_restored", home=settings.home)
    assert again.returncode == 2 and again.stderr.strip() == (
        "error: collection or alias 'videos_restored' exists: restore under another name")
