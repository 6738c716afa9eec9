"""Gated promotion, rollback, A/B aliases and atomic swaps on the real embedded stack."""

import threading
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from tests.conftest import build_live
from vidvec.audit import run_audit
from vidvec.catalog.base import Promotion
from vidvec.embed.base import MUSE_V3_FAMILY
from vidvec.promote import PromotionRefused, promote, rollback

T1 = datetime(2026, 11, 28, 2, tzinfo=timezone.utc)
T2 = datetime(2026, 11, 29, 2, tzinfo=timezone.utc)
AT = datetime(2026, 11, 29, 8, tzinfo=timezone.utc)


@pytest.fixture
def pair(settings, sample_slice, embedder):
    """(old, new): `videos` on old, `videos__next` on new, a passing audit of new on record."""
    old = build_live(settings, sample_slice, embedder, t0=T1)
    new = build_live(settings, sample_slice, embedder, t0=T2)
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    with open_catalog(settings) as cat, open_store(settings) as st:
        st.set_aliases({"videos": old, "videos__next": new})
        assert run_audit(cat, st, new, at=AT - timedelta(hours=1), sample=32).passed
        yield old, new, cat, st


def go(cat, st, collection, alias="videos", at=AT, **kw):
    return promote(cat, st, collection, alias=alias, at=at, actor="test", families=(MUSE_V3_FAMILY,), **kw)


def test_promotion_moves_the_alias_drops_next_and_records_previous(pair):
    old, new, cat, st = pair
    done = go(cat, st, new)
    assert st.aliases() == {"videos": new}
    assert cat.promotions("videos") == [done] == [Promotion("videos", new, old, AT, "test", ())]
    assert go(cat, st, new, at=AT + timedelta(minutes=1)) is None  # a retry: nothing moves twice
    assert len(cat.promotions("videos")) == 1


BREAK = {
    "ready": lambda cat, st, new: st.update_metadata(new, state="building"),
    "count": lambda cat, st, new: st.delete_points(new, [st.scroll(new, batch=1).__next__()[0][0]]),
    "audit": lambda cat, st, new: cat.con.execute("DELETE FROM recall_audits"),
    "family": lambda cat, st, new: st.update_metadata(new, family="another-space-256"),
}


@pytest.mark.parametrize("gate", list(BREAK))
def test_each_gate_refuses_alone_names_itself_and_can_be_forced(pair, gate):
    old, new, cat, st = pair
    BREAK[gate](cat, st, new)
    with pytest.raises(PromotionRefused) as refused:
        go(cat, st, new)
    assert f"gate '{gate}'" in str(refused.value)
    assert [g for g in BREAK if f"gate '{g}'" in str(refused.value)] == [gate]
    assert st.aliases() == {"videos": old, "videos__next": new} and cat.promotions() == []
    done = go(cat, st, new, force=(gate,))
    assert done.forced == (gate,) and st.aliases()["videos"] == new


def test_an_old_or_failed_audit_does_not_count(pair):
    old, new, cat, st = pair
    with pytest.raises(PromotionRefused, match="gate 'audit'.* h old"):
        go(cat, st, new, at=AT + timedelta(hours=30))
    st.delete_points(new, [st.scroll(new, batch=1).__next__()[0][0]])
    run_audit(cat, st, new, at=AT, sample=32)  # now fails on coverage
    with pytest.raises(PromotionRefused, match="gate 'count'.*gate 'audit'.* failed"):
        go(cat, st, new, at=AT + timedelta(minutes=1))


def test_rollback_restores_the_previous_target_and_is_recorded(pair):
    old, new, cat, st = pair
    go(cat, st, new)
    back = rollback(cat, st, alias="videos", at=AT + timedelta(hours=1), actor="test")
    assert st.aliases()["videos"] == old
    assert (back.collection, back.previous, back.actor) == (old, new, "test (rollback)")
    assert [p.collection for p in cat.promotions("videos")] == [old, new]
    rollback(cat, st, alias="videos", at=AT + timedelta(hours=2), actor="test")  # the same call backwards
    assert st.aliases()["videos"] == new


def test_promoting_videos_b_leaves_videos_untouched(pair):
    old, new, cat, st = pair
    done = go(cat, st, new, alias="videos_b")
    assert done.previous is None
    assert st.aliases() == {"videos": old, "videos__next": new, "videos_b": new}
    assert cat.promotions("videos") == [] and [p.alias for p in cat.promotions()] == ["videos_b"]
    with pytest.raises(Exception, match="no previous target"):
        rollback(cat, st, alias="videos_b", at=AT + timedelta(hours=1), actor="test")
    assert st.aliases()["videos"] == old


def test_a_reader_never_fails_during_100_swaps(settings, sample_slice, embedder):
    """Threads in one process share the embedded client (local mode admits one process)."""
    from vidvec.store import open_store

    half = len(sample_slice) // 2
    a = build_live(settings, sample_slice[:half], embedder, t0=T1)
    b = build_live(settings, sample_slice[half:], embedder, t0=T2)
    ids_a = {v.video_id for v in sample_slice[:half]}
    with open_store(settings) as st:
        st.delete_points(b, ids_a)  # b: the second half only, so a reader can tell which one answered
        st.set_aliases({"videos": a})
        query = np.ones(512, dtype=np.float32) / np.sqrt(512)
        seen, errors, reads, stop = set(), [], [0], threading.Event()

        def reader():
            while not stop.is_set():
                try:
                    hits = st.search("videos", query, k=5)
                    assert len(hits) == 5
                    seen.add("a" if hits[0].video_id in ids_a else "b")
                except Exception as exc:  # noqa: BLE001 - any failure is what we look for
                    errors.append(repr(exc))
                reads[0] += 1

        thread = threading.Thread(target=reader)
        thread.start()
        try:
            for i in range(100):
                before = reads[0]
                st.set_aliases({"videos": b if i % 2 == 0 else a})
                while reads[0] < before + 2 and thread.is_alive():  # let the reader in between swaps
                    threading.Event().wait(0.001)
        finally:
            stop.set()
            thread.join()
    assert errors == []
    assert reads[0] >= 200 and seen == {"a", "b"}
