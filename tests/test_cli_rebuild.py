"""`vidvec rebuild`: the rebuild DAG's steps in one process, with the DAG's rules for its options."""

import json

import pytest

from tests.conftest import with_status
from tests.test_cli import run

T0 = "2026-11-29T02:00:00+00:00"


@pytest.mark.slow
def test_rebuild_builds_a_ready_candidate_and_tells_the_page(settings, sample_slice):
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    videos = with_status(sample_slice, 5, "private")
    public = sorted(v.video_id for v in videos if v.status == "public")
    with open_catalog(settings) as catalog:
        catalog.upsert_videos(videos)
    done = run("rebuild", "--shards", "3", "--batch-size", "8", "--recipe", "v1", "--t0", T0, "--json",
               home=settings.home)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    name = result["collection"]
    assert name.endswith("__20261129T020000Z") and result["points"] == len(public) == result["encoded"]
    for step in ("plan:", "create:", "shard 0/3:", "shard 2/3:", "catch-up:", "finish:"):
        assert step in done.stderr, done.stderr
    assert "rows/s" in done.stderr  # the shards' progress lines
    with open_store(settings) as store:
        assert store.aliases() == {"videos__next": name}
        meta = store.metadata(name)
        points = sorted(vid for batch in store.scroll(name) for vid, body, _ in batch if body["status"] == "public")
    assert (meta["state"], meta["recipe"], meta["t0"], meta["run_id"]) == ("ready", "v1", T0, f"cli__{T0}")
    assert points == public
    page = json.loads((settings.home / "space.json").read_text())
    assert page["written_by"] == "vidvec rebuild" and [c["name"] for c in page["collections"]] == [name]

    again = run("rebuild", "--recipe", "v1", "--t0", T0, "--json", home=settings.home)  # a rerun converges
    assert again.returncode == 0 and json.loads(again.stdout)["collection"] == name
    assert json.loads(again.stdout)["encoded"] == 0  # every text reused its stored vector


@pytest.mark.parametrize("args, message", [
    (["--shards", "0"], "shards: Input should be greater than or equal to 1"),
    (["--recipe", "v9"], "recipe: Input should be '', 'e5-v1', 'titles-tags-v1', 'titles-v1', 'v1' or 'v2'"),
    (["--embedder", "bert"], "embedder: Input should be '', 'usem3', 'multilingual-e5-small' or 'tfhub'"),
    (["--mode", "fast"], "mode: Input should be 'reembed' or 'reindex'"),
    (["--alias", "bad alias"], "alias: String should match pattern"),
    (["--hnsw-m", "2"], "hnsw_m: Input should be greater than or equal to 4"),
    (["--t0", "2026-11-29T02:00:00"], "needs a time zone"),
])
def test_bad_options_exit_2_with_one_line(settings, args, message):
    done = run("rebuild", *args, home=settings.home)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
