"""The nightly rebuild, step by step; the DAG calls these one task each.

plan -> encode shards (encode.py: new vectors into parts, no store, in
parallel) -> ingest (the parts into the warehouse) -> create (collection +
next alias, state building) -> load shards (the catalog as of T0 with its
stored vectors, insert-only; never the encoder) -> catch up (changes after T0, conditional
writes and tombstones) -> finish (exact count, index built, ready, state
ready). The live alias is never moved here: promotion is another DAG's job,
after an audit. Every step is safe to retry: names and ids are deterministic,
bulk writes are insert-only, catch-up writes are conditional on updated_at.

Modes: `reembed` encodes every text whose (model, text hash) has no stored
vector; `reindex` only reads `video_embeddings` and fails loudly when a video's
current text has no stored vector (it must never run the encoder).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone

from vidvec.apply import Plan, apply_videos, encode_plan, finish_embeddings, plan_embeddings
from vidvec.catalog.base import Catalog
from vidvec.core.naming import collection_name, next_alias
from vidvec.core.recipe import get_recipe
from vidvec.core.types import BUILDING, FAILED, READY, XCom
from vidvec.embed.base import Embedder, check_family
from vidvec.encode import ShardEncoded, encode_shard, ingest_parts
from vidvec.errors import VidvecError
from vidvec.params import RebuildParams
from vidvec.parts import PartsRoot
from vidvec.progress import Progress
from vidvec.store import CollectionSpec, VectorStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RebuildPlan(XCom):
    """What every task of one run works from; t0 is the run's logical time, never now()."""

    collection: str
    live_alias: str
    t0: datetime
    run_id: str
    mode: str  # reembed | reindex
    model_id: str
    family: str
    dim: int
    recipe: str
    n_shards: int
    index: dict  # index settings, passed to CollectionSpec as they are

    @property
    def next_alias(self) -> str:
        return next_alias(self.live_alias)

    @property
    def shards(self) -> list[int]:
        return list(range(self.n_shards))

    @property
    def encode(self) -> bool:
        """reembed may run the encoder; reindex never does."""
        return self.mode == "reembed"

    def spec(self) -> CollectionSpec:
        return CollectionSpec(dim=self.dim, **self.index)

    def metadata(self) -> dict:
        """The collection's metadata at creation (state building)."""
        return {"model_id": self.model_id, "family": self.family, "dim": self.dim, "recipe": self.recipe,
                "t0": self.t0.isoformat(), "run_id": self.run_id, "mode": self.mode, "index": dict(self.index),
                "state": BUILDING}


@dataclass(frozen=True)
class ShardLoaded(XCom):
    shard: int
    rows: int
    encoded: int
    reused: int


@dataclass(frozen=True)
class CaughtUp(XCom):
    written: int  # what the store really wrote: public points
    tombstoned: int
    skipped: int  # not newer than what was stored (the stream wrote it first)
    encoded: int
    reused: int


@dataclass(frozen=True)
class Finished(XCom):
    collection: str
    points: int
    engine: str  # the engine and index that answers it (IndexState.describe())


def plan_from_params(params: RebuildParams, *, live_alias: str, t0: datetime, run_id: str,
                     embedder) -> RebuildPlan:
    """The plan a DAG run or `vidvec rebuild` follows (`embedder`: the identity of the embedder the
    Param `embedder` names, no model loaded); no recipe named: the embedder's own."""
    return plan_rebuild(live_alias=params.alias or live_alias, t0=t0, run_id=run_id,
                        model_id=embedder.model_id, family=embedder.family, dim=embedder.dim,
                        n_shards=params.shards, recipe=params.recipe or embedder.recipe, mode=params.mode,
                        index=params.index())


def plan_rebuild(*, live_alias: str, t0: datetime, run_id: str, model_id: str, family: str,
                 dim: int, n_shards: int, recipe: str, mode: str = "reembed", index: dict | None = None) -> RebuildPlan:
    """The run's plan; every name and setting is checked here, before anything is created."""
    if t0.tzinfo is None:
        raise VidvecError("t0 must be timezone-aware")
    RebuildParams.parse({"shards": n_shards, "mode": mode})  # the form's rules, for callers without a form
    get_recipe(recipe)
    index = dict(index or {})
    try:
        CollectionSpec(dim=dim, **index)  # unknown or out-of-range index settings fail here, not mid-run
    except TypeError as exc:
        raise VidvecError(f"bad index settings {index}: {exc}") from None
    return RebuildPlan(collection=collection_name(live_alias, model_id, t0), live_alias=live_alias,
                       t0=t0.astimezone(timezone.utc), run_id=run_id, mode=mode, model_id=model_id, family=family,
                       dim=dim, recipe=recipe, n_shards=n_shards, index=index)


def create_target(store: VectorStore, plan: RebuildPlan, spec: CollectionSpec | None = None) -> None:
    """Create the collection (state building) and point `<live>__next` at it.

    A retried task finds its own collection; any other existing collection of
    that name (another run's, or one users are served from) is refused.
    """
    name = plan.collection
    if store.exists(name):
        owner = store.metadata(name).get("run_id")
        if owner != plan.run_id or store.aliases().get(plan.live_alias) == name:
            raise VidvecError(f"{name} already exists (run {owner!r}); refusing to rebuild into it")
    store.create_collection(name, spec or plan.spec(), metadata=plan.metadata())
    store.set_aliases({plan.next_alias: name})


def load_shard(catalog: Catalog, store: VectorStore, embedder: Embedder, plan: RebuildPlan,
               shard: int, batch_size: int = 256, *, encode: bool | None = None) -> ShardLoaded:
    """Stream one shard of the catalog as of T0 into the new collection (insert-only).

    encode=False: from stored vectors only, never the encoder (the DAG and
    `vidvec rebuild` run the encode stage first, encode.py); a missing vector is
    then an error, as in mode=reindex. Default: the plan's mode (reembed encodes
    here, in this process: the single-process path of tests and benchmarks).

    A pipeline of two batches: while the encoder thread encodes batch i, this
    thread reads and plans batch i+1 (catalog scan, stored vectors), then
    stores batch i's new vectors and writes its points while i+1 is encoded.
    The encoder thread only encodes; the catalog and the store stay here. A
    batch read and encoded is written even when reading the next one fails.
    """
    name, encoding = plan.collection, plan.encode if encode is None else encode
    check_family(embedder, store.metadata(name)["family"], name)
    total = catalog.count_shard(shard, plan.n_shards, as_of=plan.t0)
    progress = Progress(f"{plan.mode} shard {shard}/{plan.n_shards}", total=total, log=log)
    # The stored vectors come with the rows (one joined scan, not a lookup per batch).
    batches = iter(catalog.scan_shard_with_embeddings(shard, plan.n_shards, as_of=plan.t0,
                                                      model_id=embedder.model_id, batch_size=batch_size))
    done = {"rows": 0, "encoded": 0}

    def read_next(encoder: ThreadPoolExecutor) -> tuple[Plan, Future] | None:
        """The next batch, planned and queued for the encoder; None after the last."""
        batch = next(batches, None)
        if batch is None:
            return None
        videos, stored = batch
        todo = plan_embeddings(videos, catalog, embedder, plan.recipe, encode=encoding, stored=stored)
        return todo, encoder.submit(encode_plan, todo, embedder)

    def write(batch: tuple[Plan, Future]) -> None:
        todo, fresh = batch
        store.insert_only(name, finish_embeddings(todo, fresh.result(), catalog, embedder, plan.t0).points,
                          dim=plan.dim)
        done["rows"] += len(todo.videos)
        done["encoded"] += len(todo.todo)
        progress.update(len(todo.videos))

    with ThreadPoolExecutor(1, thread_name_prefix="vidvec-encoder") as encoder:
        pending = read_next(encoder)
        while pending:
            try:
                following = read_next(encoder)  # while pending is encoded
            finally:
                write(pending)  # also when reading the next batch failed: keep what was read
            pending = following
    progress.done()
    return ShardLoaded(shard, done["rows"], done["encoded"], done["rows"] - done["encoded"])


def catch_up(catalog: Catalog, store: VectorStore, embedder: Embedder, plan: RebuildPlan,
             batch_size: int = 256) -> CaughtUp:
    """Replay catalog changes after T0 (any status) with conditional writes and tombstones.

    Counts what was really written; `skipped`: rows the stream had already written (or a newer version).
    """
    progress = Progress("catch-up", total=None, log=log)
    counts = dict.fromkeys(("written", "tombstoned", "skipped", "encoded", "reused"), 0)
    for videos in catalog.changes_since(plan.t0, batch_size=batch_size):
        done = apply_videos(catalog, store, embedder, plan.collection, videos, plan.recipe, plan.t0,
                            encode=plan.encode)
        counts = {k: counts[k] + done.counts[k] for k in counts}
        progress.update(len(videos))
    progress.done()
    return CaughtUp(**counts)


def finish(catalog: Catalog, store: VectorStore, plan: RebuildPlan, spec: CollectionSpec | None = None, *,
           ready_timeout_s: float = 600) -> Finished:
    """Verify the exact count, build the index, wait until ready, mark the collection ready.

    Leaves `<live>__next` on the collection; the live alias is not touched.
    """
    name = plan.collection
    expected = catalog.count()  # after catch-up the collection mirrors the catalog's current state
    actual = store.count_served(name)  # public points at vidvec's ids: a duplicate or foreign point is not one
    if actual != expected:
        store.update_metadata(name, state=FAILED)
        raise VidvecError(f"{name} serves {actual} public points at vidvec's ids, the catalog holds {expected} "
                          "public videos")
    store.build_index(name, spec or plan.spec())
    store.wait_ready(name, timeout_s=ready_timeout_s)
    store.update_metadata(name, state=READY)
    index = store.index_state(name)
    log.info("%s ready: %s, %s of %s vectors indexed", name, index.describe(), index.indexed_vectors, index.points)
    return Finished(name, actual, index.describe())


def rebuilt_event(plan: RebuildPlan, done: Finished, loads: list[ShardLoaded], caught: CaughtUp,
                  encodes: Sequence[ShardEncoded] = ()) -> dict:
    """The extra of the `vidvec_rebuilt` Asset event (the audit DAG is scheduled on it)."""
    encoded = sum(x.encoded for x in encodes)  # the encode stage's vectors are the loads' stored ones
    return {"model_id": plan.model_id, "family": plan.family, "recipe": plan.recipe, "t0": plan.t0.isoformat(),
            "run_id": plan.run_id, "mode": plan.mode, "collection": done.collection, "points": done.points,
            "engine": done.engine, "encoded": encoded + sum(x.encoded for x in loads) + caught.encoded,
            "reused": sum(x.reused for x in loads) - encoded + caught.reused, "alias": plan.live_alias}


def mark_failed(store: VectorStore, plan: RebuildPlan) -> bool:
    """After a run failed for good: flag its half-built collection for cleanup (never a live one)."""
    name = plan.collection
    if not store.exists(name) or store.aliases().get(plan.live_alias) == name:
        return False
    if store.metadata(name).get("run_id") != plan.run_id:
        return False
    store.update_metadata(name, state=FAILED)
    return True


def rebuild_all(catalog: Catalog, store: VectorStore, embedder: Embedder, plan: RebuildPlan,
                params: RebuildParams, parts_url: str, say=log.info) -> dict:
    """Every step of the DAG, in its order, in this process (`vidvec rebuild`); says each step."""
    name, shards = plan.collection, plan.shards
    say(f"plan: {name} ({plan.mode}, recipe {plan.recipe}, T0 {plan.t0.isoformat()}, {len(shards)} shards)")
    where = PartsRoot.at(parts_url)
    encodes = [encode_shard(catalog, embedder, plan, shard, where, params.batch_size) for shard in shards]
    say(f"encode: {sum(x.encoded for x in encodes)} texts encoded, {sum(x.reused for x in encodes)} stored")
    say(f"ingest: {ingest_parts(catalog, where, encodes)} vectors into the warehouse")
    create_target(store, plan)
    say(f"create: {name} in state {BUILDING}, alias {plan.next_alias} on it")
    loads = []
    for shard in shards:
        loads.append(load_shard(catalog, store, embedder, plan, shard, params.batch_size, encode=False))
        say(f"load shard {shard}/{len(shards)}: {loads[-1].rows} rows from stored vectors")
    caught = catch_up(catalog, store, embedder, plan, params.batch_size)
    say(f"catch-up: {caught.written} written, {caught.tombstoned} tombstoned after T0")
    done = finish(catalog, store, plan, ready_timeout_s=params.ready_timeout_s)
    say(f"finish: {done.points} public points, index built, state {READY}")
    return rebuilt_event(plan, done, loads, caught, encodes)
