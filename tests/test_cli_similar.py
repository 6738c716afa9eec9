"""`vidvec similar` with every recommender option, and each option's refusal (one line, exit 2)."""

import json

import pytest

from tests.conftest import build_live
from tests.test_cli import run
from tests.test_query import recommender_catalog


@pytest.fixture
def live(settings, sample_videos, sample_slice, embedder):
    videos = recommender_catalog(sample_videos, sample_slice)
    build_live(settings, videos, embedder)
    return settings.home, {v.video_id: v for v in videos}


def similar(home, *args) -> dict:
    done = run("similar", *args, "--json", home=home)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_option_reaches_the_engine(live):
    home, videos = live
    q = next(v.video_id for v in videos.values() if v.owner_id == "NBA")
    plain = similar(home, q)
    assert plain["confident"] and plain["min_score"] is None and len(plain["hits"]) == 10
    assert sum(h["owner_id"] == "NBA" for h in plain["hits"]) >= 5 and all(h["title"] for h in plain["hits"])

    floor = plain["hits"][2]["score"] - 1e-4
    weak = similar(home, q, "--min-score", str(floor))
    assert not weak["confident"] and weak["min_score"] == floor and len(weak["hits"]) == 3
    capped = similar(home, q, "--max-per-owner", "1")["hits"]
    assert len({h["owner_id"] for h in capped}) == 10
    others = similar(home, q, "--other-owners", "--exclude-owner", "WWE", "--exclude-owner", "BT Sport")["hits"]
    assert len(others) == 10 and not {h["owner_id"] for h in others} & {"NBA", "WWE", "BT Sport"}
    diverse = similar(home, q, "--diverse", "0.5", "--candidates", "40")["hits"]
    assert len({h["owner_id"] for h in diverse}) > len({h["owner_id"] for h in plain["hits"]})
    negative = plain["hits"][0]["video_id"]
    steered = similar(home, q, "--not", negative, "--not", plain["hits"][1]["video_id"], "--strategy", "best_score")
    assert not {h["video_id"] for h in steered["hits"]} & {negative, plain["hits"][1]["video_id"]}
    sports = similar(home, q, "--k", "20", "--category", "Sports", "--category", "News & Politics",
                     "--published-after", "2017-01-01", "--published-before", "2018-01-01T00:00:00+00:00")
    for hit in sports["hits"]:
        video = videos[hit["video_id"]]
        assert video.category in ("Sports", "News & Politics") and video.published_at.year == 2017

    text = run("similar", q, "--k", "3", "--min-score", "0.99", home=home)
    assert text.returncode == 0
    assert text.stdout.splitlines()[-1] == "  not confident: 0 of 3 neighbours at or above 0.99"


REFUSALS = [
    (["--k", "0"], "error: invalid query: k: Input should be greater than or equal to 1"),
    (["--min-score", "1.2"], "error: invalid query: min_score: Input should be less than or equal to 1"),
    (["--category", ""], "error: invalid query: categories: each value needs 1..200 characters, got ''"),
    (["--exclude-owner", "x" * 300], "error: invalid query: exclude_owners: each value needs 1..200 characters"),
    (["--published-after", "soon"], "error: invalid query: published_after: 'soon' is not an ISO-8601 date or time"),
    (["--published-before", "2020-01-01T00:00"], "needs a time zone, e.g. 2020-01-01T00:00:00+00:00"),
    (["--not", "a b"], "error: invalid query: negative: invalid video id 'a b'"),
    (["--not", "noSuchVideo"], "error: negative example 'noSuchVideo' is not in"),
    (["--strategy", "best"], "error: invalid query: strategy: Input should be 'best_score' or 'average_vector'"),
    (["--diverse", "1.5"], "error: invalid query: diversity: Input should be less than or equal to 1"),
    (["--diverse", "0.5", "--candidates", "5"], "error: invalid query: candidates (5) must be at least k (10)"),
    (["--max-per-owner", "0"], "error: invalid query: max_per_owner: Input should be greater than or equal to 1"),
    (["--max-per-owner", "1", "--diverse", "0.5"], "error: invalid query: diversity and max_per_owner are two ways"),
]


def test_each_refusal_is_one_line_and_exit_2(live):
    home, videos = live
    q = next(iter(videos))
    for args, message in REFUSALS + [(["--not", q], f"error: video {q!r} cannot be its own negative example")]:
        done = run("similar", q, *args, home=home)
        assert done.returncode == 2 and done.stdout == "", args
        assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, (args, done.stderr)
