import pytest

from vidvec.core.recall import (
    AuditThresholds,
    SliceResult,
    allocate,
    audit_failures,
    mean,
    query_recall,
)
from vidvec.errors import VidvecError


def test_allocate_is_proportional_gives_each_language_one_and_respects_capacity():
    counts = {"en": 700, "fr": 200, "ja": 95, "ko": 5, "xx": 0}
    plan = allocate(counts, 100)
    assert sum(plan.values()) == 100 and "xx" not in plan
    assert all(plan[lang] >= 1 for lang in ("en", "fr", "ja", "ko"))
    assert plan["en"] > plan["fr"] > plan["ja"] > plan["ko"]
    assert abs(plan["en"] - 70) <= 2
    assert allocate({"en": 3, "fr": 2}, 100) == {"en": 3, "fr": 2}  # never more than a stratum holds
    assert allocate(counts, 2) == {"en": 1, "fr": 1}  # fewer draws than strata: the largest
    assert allocate(counts, 0) == {}
    with pytest.raises(VidvecError):
        allocate(counts, -1)


def test_query_recall_counts_ties_and_rejects_invalid_neighbours():
    # exact top-3 scores 0.9, 0.8, 0.7: a served neighbour tied with the 3rd counts
    assert query_recall([0.9, 0.8, 0.7], 0.7, 100, 3) == 1.0
    assert query_recall([0.9, 0.7, 0.7], 0.7, 100, 3) == 1.0
    assert query_recall([0.9, None, 0.2], 0.7, 100, 3) == pytest.approx(1 / 3)
    assert query_recall([], 0.7, 100, 3) == 0.0  # the video is not served at all
    assert query_recall([0.9], 0.9, 1, 10) == 1.0  # only one candidate exists
    assert query_recall([], None, 0, 10) is None  # nothing to find
    assert mean([1.0, None, 0.0]) == 0.5 and mean([None]) is None


def test_failures_name_every_slice_and_figure():
    t = AuditThresholds()
    slices = [SliceResult("overall", False, 50, 0.99), SliceResult("overall", True, 50, 0.90),
              SliceResult("language=fr", True, 10, 0.5), SliceResult("language=ko", True, 2, 0.0)]
    failures = audit_failures(slices, 10, coverage=0.9, staleness=0.2, mismatch=0.0, t=t)
    assert len(failures) == 4
    assert failures[0].startswith("recall@10 overall filtered 0.900 < 0.95")
    assert failures[1].startswith("recall@10 language=fr filtered 0.500 < 0.85")
    assert "coverage 0.9000 < 0.99" in failures and "staleness 0.2000 > 0.01" in failures
    # ko has 2 queries < min_slice_queries: reported, not gated
    assert audit_failures(slices[:1], 10, 1.0, 0.0, 0.0, t) == []


def test_thresholds_are_validated():
    assert AuditThresholds.parse({"min_recall": 0.5}).min_recall == 0.5
    with pytest.raises(VidvecError, match="min_recall"):
        AuditThresholds.parse({"min_recall": 1.5})
    with pytest.raises(VidvecError, match="bogus"):
        AuditThresholds.parse({"bogus": 1})
