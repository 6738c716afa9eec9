from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from vidvec.core.gates import GATES, AuditFact, GatePolicy, PromotionFacts, check_forced, evaluate
from vidvec.errors import VidvecError

NOW = datetime(2026, 11, 29, 12, tzinfo=timezone.utc)
GOOD = PromotionFacts(collection="c", state="ready", status=("green", "ok"), public_points=1000,
                      catalog_public=1000, family="muse", writable=("muse",),
                      audit=AuditFact("a1", True, NOW - timedelta(hours=1)), now=NOW)
BAD = {
    "ready": [{"state": "building"}, {"status": ("yellow", "ok")}, {"status": ("green", "indexing")}],
    "count": [{"public_points": 998}, {"catalog_public": 1002}],
    "audit": [{"audit": None}, {"audit": AuditFact("a2", False, NOW)},
              {"audit": AuditFact("a3", True, NOW - timedelta(hours=25))}],
    "family": [{"family": "other"}, {"family": None}],
}


def test_a_healthy_candidate_passes_every_gate():
    assert evaluate(GOOD, GatePolicy()) == []
    assert evaluate(replace(GOOD, public_points=1001), GatePolicy()) == []  # within 0.001 x 1000


@pytest.mark.parametrize("gate,change", [(g, c) for g, cs in BAD.items() for c in cs])
def test_each_gate_fails_alone_and_is_named(gate, change):
    failures = evaluate(replace(GOOD, **change), GatePolicy())
    assert [f.gate for f in failures] == [gate]
    assert str(failures[0]).startswith(f"gate '{gate}': ")


def test_every_failure_is_reported_and_policy_applies():
    everything = replace(GOOD, state="failed", public_points=1, audit=None, family="x")
    assert [f.gate for f in evaluate(everything, GatePolicy())] == list(GATES)
    loose = GatePolicy(count_tolerance=0.01, max_audit_age_hours=48)
    assert evaluate(replace(GOOD, public_points=995, audit=BAD["audit"][2]["audit"]), loose) == []


def test_forced_gates_and_policy_are_validated():
    assert check_forced(["count", "audit", "count"]) == ("audit", "count")
    with pytest.raises(VidvecError, match="recal"):
        check_forced(["recal"])
    with pytest.raises(VidvecError, match="count_tolerance"):
        GatePolicy.parse({"count_tolerance": -1})


def test_the_family_gate_admits_any_family_an_installed_embedder_makes():
    both = replace(GOOD, writable=("multilingual-e5-small-384", "muse"))
    assert evaluate(replace(both, family="multilingual-e5-small-384"), GatePolicy()) == []
    refused = evaluate(replace(both, family="tfhub-other"), GatePolicy())
    assert [f.gate for f in refused] == ["family"] and "no installed embedder makes them" in refused[0].message
