"""NeighbourQuery: every option's bounds and combinations, refused in one line naming the field."""

from datetime import datetime, timezone

import pytest

from vidvec.core.query import NeighbourQuery
from vidvec.core.types import to_micros
from vidvec.errors import VidvecError


@pytest.mark.parametrize("values, message", [
    ({"k": 0}, "k: Input should be greater than or equal to 1"),
    ({"k": 1001}, "k: Input should be less than or equal to 1000"),
    ({"min_score": 1.5}, "min_score: Input should be less than or equal to 1"),
    ({"min_score": "high"}, "min_score: Input should be a valid number"),
    ({"language": "x" * 36}, "language: String should have at most 35 characters"),
    ({"categories": ("",)}, "categories: each value needs 1..200 characters"),
    ({"categories": tuple(f"c{i}" for i in range(101))}, "categories: Tuple should have at most 100 items"),
    ({"exclude_owners": ("o" * 201,)}, "exclude_owners: each value needs 1..200 characters"),
    ({"published_after": "yesterday"}, "published_after: 'yesterday' is not an ISO-8601 date or time"),
    ({"published_before": "2020-01-01T10:00"}, "published_before: 2020-01-01T10:00:00 needs a time zone"),
    ({"published_after": "2021-01-01", "published_before": "2020-01-01"},
     "published_after must be before published_before"),
    ({"negative": ("bad id",)}, "negative: invalid video id 'bad id'"),
    ({"negative": tuple(f"v{i}" for i in range(17))}, "negative: Tuple should have at most 16 items"),
    ({"strategy": "sum_scores"}, "strategy: Input should be 'best_score' or 'average_vector'"),
    ({"negative": ("v1",), "strategy": "average_vector", "min_score": 0.5}, "use strategy best_score"),
    ({"diversity": -0.1}, "diversity: Input should be greater than or equal to 0"),
    ({"diversity": 0.5, "candidates": 5}, "candidates (5) must be at least k (10)"),
    ({"candidates": 1001}, "candidates: Input should be less than or equal to 1000"),
    ({"max_per_owner": 0}, "max_per_owner: Input should be greater than or equal to 1"),
    ({"diversity": 0.5, "max_per_owner": 1}, "diversity and max_per_owner are two ways to the perspective view"),
    ({"hnsw_ef": 0}, "hnsw_ef: Input should be greater than or equal to 1"),
    ({"kk": 3}, "kk: Extra inputs are not permitted"),
])
def test_each_bad_value_is_one_line_naming_the_field(values, message):
    with pytest.raises(VidvecError) as caught:
        NeighbourQuery.parse(values)
    text = str(caught.value)
    assert text.startswith("invalid query: ") and message in text and "\n" not in text


def test_valid_values_become_the_payload_filter_of_one_video():
    query = NeighbourQuery.parse({"language": "fr", "categories": ("Sports", "Sports", "News"), "other_owners": True,
                                  "exclude_owners": ("BT Sport",), "published_after": "2020-01-01",
                                  "published_before": "2020-06-01T12:00:00+02:00", "negative": ("a", "b", "a")})
    assert query.categories == ("Sports", "News") and query.negative == ("a", "b")  # duplicates dropped
    scope = query.scope("q", "NBA")
    assert scope.exclude_owners == ("BT Sport", "NBA") and scope.exclude_ids == ("q", "a", "b")
    assert scope.published_from == to_micros(datetime(2020, 1, 1, tzinfo=timezone.utc))
    assert scope.published_to == to_micros(datetime(2020, 6, 1, 10, tzinfo=timezone.utc))
    assert NeighbourQuery.parse({"language": ""}).language is None  # blank: no language filter, as before
    assert NeighbourQuery(other_owners=True).scope("q", "NBA").exclude_owners == ("NBA",)
    assert NeighbourQuery().scope("q", "NBA").exclude_owners == ()
