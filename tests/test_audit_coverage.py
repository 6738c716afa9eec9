"""Coverage counts distinct videos served at vidvec's id; duplicates are their own figure (issue 11 item 6).

The issue's reproduction on the real stack: 600 videos, 20 points deleted and
20 duplicates of other videos added under other ids. Counting points said
coverage 1.0000 and the `count` gate would pass.
"""

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import build_live
from tests.store.helpers import write_raw
from vidvec.audit import run_audit
from vidvec.core.types import PointToWrite
from vidvec.embed.base import MUSE_V3_FAMILY
from vidvec.promote import PromotionRefused, gather_facts, promote

AT = datetime(2026, 11, 29, 6, tzinfo=timezone.utc)


@pytest.mark.slow
def test_duplicates_do_not_cover_missing_videos_and_the_count_gate_refuses(settings, sample_videos, embedder):
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    videos = sample_videos[:600]
    live = build_live(settings, videos, embedder)
    with open_catalog(settings) as catalog, open_store(settings) as store:
        store.delete_points(live, [v.video_id for v in videos[:20]])
        copies = store.get_points(live, [v.video_id for v in videos[100:120]], with_vectors=True)
        write_raw(store, live, [(str(uuid.uuid4()), got["vector"], got["payload"]) for got in copies.values()])
        assert store.count(live) == 600 and store.count(live, public_only=True) == 600  # what counting points saw

        result = run_audit(catalog, store, live, at=AT, k=10, sample=60, seed=2)
        assert round(result.coverage, 4) == 0.9667 and result.counts["covered"] == 580
        assert result.counts["public_points"] == 580 and result.counts["foreign"] == 20
        assert result.counts["duplicate"] == 20 and result.foreign == pytest.approx(20 / 600)
        assert "coverage 0.9667 < 0.99" in result.failures and "foreign points 0.0333 > 0.0" in result.failures
        assert store.count_served(live) == 580
        with pytest.raises(PromotionRefused) as refused:
            promote(catalog, store, live, alias="videos_b", at=AT + timedelta(minutes=1), actor="test",
                    families=(MUSE_V3_FAMILY,), force=("audit",))
        assert (f"gate 'count': {live} serves 580 public points at vidvec's ids, the catalog holds 600 "
                "public videos") in str(refused.value)
        assert gather_facts(catalog, store, live, MUSE_V3_FAMILY, AT).public_points == 580


def test_coverage_needs_the_catalogs_version_and_the_collections_model(settings, sample_slice, embedder):
    """A point behind (or ahead of) its catalog row, or of another model, is served but not covered."""
    from dataclasses import replace

    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    live = build_live(settings, sample_slice, embedder)
    with open_catalog(settings) as catalog, open_store(settings) as store:
        edited = [replace(v, updated_at=v.updated_at + timedelta(days=1)) for v in sample_slice[:4]]
        catalog.upsert_videos(edited)  # the catalog moved on; the points did not (yet)
        other = store.get_points(live, [v.video_id for v in sample_slice[4:6]], with_vectors=True)
        store.delete_points(live, list(other))
        store.insert_only(live, [PointToWrite(vid, got["vector"], got["payload"] | {"model_id": "other-model"})
                                 for vid, got in other.items()])
        result = run_audit(catalog, store, live, at=AT, k=5, sample=16, seed=1)
    n = len(sample_slice)
    assert result.counts["covered"] == n - 6 and result.coverage == pytest.approx((n - 6) / n)
    assert result.counts["stale"] == 4 and result.counts["model_mismatch"] == 2 and result.foreign == 0.0
