"""The encode stage: new vectors into parts without the store, one ingest, a load from stored vectors only."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from vidvec.apply import plan_embeddings
from vidvec.catalog.base import StoredEmbedding
from vidvec.core.recipe import build_text, get_recipe
from vidvec.encode import encode_shard, ingest_parts
from vidvec.errors import VidvecError
from vidvec.parts import PartsRoot, read_part
from vidvec.rebuild import create_target, load_shard, plan_rebuild

T0 = datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc)


def make_plan(settings, embedder, t0=T0, shards=2, mode="reembed"):
    return plan_rebuild(live_alias=settings.live_alias, t0=t0, run_id=f"run-{t0:%H%M}", model_id=embedder.model_id,
                        family=embedder.family, dim=embedder.dim, n_shards=shards, recipe="v1", mode=mode)


def part_rows(where, path) -> dict:
    return {r.video_id: r for batch in read_part(where, path) for r in batch}


def warehouse_rows(catalog, model_id) -> int:
    return catalog.con.execute("SELECT count(*) FROM video_embeddings WHERE model_id = ?", [model_id]).fetchone()[0]


def test_encode_writes_parts_a_rerun_converges_and_the_load_needs_no_encoder(settings, catalog, store, embedder,
                                                                            sample_slice):
    videos = sample_slice[:20]
    catalog.upsert_videos(videos)
    plan, where = make_plan(settings, embedder), PartsRoot.at(str(settings.home / "parts"))
    # One video already has a stored vector for its text: it is not encoded again.
    planned = plan_embeddings(videos[:1], catalog, embedder, "v1")
    stored_one = embedder.encode(planned.texts)
    catalog.put_embeddings([StoredEmbedding(videos[0].video_id, embedder.model_id, planned.hashes[0], stored_one[0],
                                            videos[0].updated_at, T0)])

    encodes = [encode_shard(catalog, embedder, plan, s, where, batch_size=4) for s in plan.shards]
    assert sum(e.rows for e in encodes) == 20 and sum(e.encoded for e in encodes) == 19
    assert warehouse_rows(catalog, embedder.model_id) == 1  # the encode stage never writes the warehouse
    rows = {vid: r for e in encodes if e.part for vid, r in part_rows(where, e.part).items()}
    assert set(rows) == {v.video_id for v in videos[1:]}
    texts = [build_text(v, get_recipe("v1")) for v in videos[1:]]
    expected = embedder.encode(texts)
    got = np.stack([rows[v.video_id].vector for v in videos[1:]])
    assert np.allclose(got, expected, atol=1e-5) and all(r.embedded_at == T0 for r in rows.values())

    again = [encode_shard(catalog, embedder, plan, s, where, batch_size=4) for s in plan.shards]  # a rerun
    assert again == encodes and part_rows(where, again[0].part).keys() == part_rows(where, encodes[0].part).keys()
    assert ingest_parts(catalog, where, encodes) == 19
    assert ingest_parts(catalog, where, again) == 19  # an upsert: still one row per video and model
    assert warehouse_rows(catalog, embedder.model_id) == 20
    after = [encode_shard(catalog, embedder, plan, s, where) for s in plan.shards]  # once ingested: nothing to do
    assert sum(e.encoded for e in after) == 0 and all(e.part is None for e in after)

    create_target(store, plan)
    loads = [load_shard(catalog, store, embedder, plan, s, encode=False) for s in plan.shards]
    assert sum(x.rows for x in loads) == 20 and sum(x.encoded for x in loads) == 0
    assert store.count(plan.collection) == 20


def test_load_without_encode_refuses_a_text_with_no_stored_vector(settings, catalog, store, embedder, sample_slice):
    catalog.upsert_videos(sample_slice[:6])
    plan, where = make_plan(settings, embedder, shards=1), PartsRoot.at(str(settings.home / "parts"))
    ingest_parts(catalog, where, [encode_shard(catalog, embedder, plan, 0, where)])
    catalog.upsert_videos([replace(sample_slice[0], title="a new title", updated_at=T0 - timedelta(minutes=1))])
    create_target(store, plan)
    with pytest.raises(VidvecError, match="no stored"):
        load_shard(catalog, store, embedder, plan, 0, encode=False)


def test_reindex_encodes_nothing(settings, catalog, embedder, sample_slice):
    catalog.upsert_videos(sample_slice[:4])
    plan = make_plan(settings, embedder, shards=1, mode="reindex")
    done = encode_shard(catalog, embedder, plan, 0, PartsRoot.at(str(settings.home / "parts")))
    assert done.encoded == 0 and done.part is None
