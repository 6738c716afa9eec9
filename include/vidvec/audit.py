"""The recall audit: what a collection really serves against exact kNN.

For a language-stratified sample of public videos, the top-k the collection
serves (queried as production queries it: `vidvec.query.similar_videos`, status
public, the video itself excluded; with the language filter for the filtered
slice) is compared with the exact top-k over the warehouse's stored embeddings
of the collection's model, over the same candidates (public catalog videos,
not the query, same language when filtered). One streaming pass over the
collection's payloads against the catalog gives coverage (distinct public
catalog videos served at vidvec's id, with the catalog's version and the
collection's model), staleness and payload mismatches of vidvec's public
points, and `foreign`: public points not at vidvec's id (duplicates, another
writer's, an older id scheme), a figure of their own.

Which engine and index answered is part of every result and row
(`IndexState.describe()`: engine, m, ef_construct and the hnsw_ef the queries
used, which is the collection's own search param unless `hnsw_ef` overrides
it). On an ANN engine (Qdrant Edge, a server) recall below 1.0 includes what
the index loses; on an exact one (qdrant-client local mode) it can only mean
the collection's content is wrong (missing, stale or foreign vectors, wrong
payload).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone

import numpy as np

from vidvec.catalog.base import AuditRow, Catalog, CatalogIds, scan_all
from vidvec.core.ids import at_vidvec_id
from vidvec.core.knn import RunningTopK
from vidvec.core.recall import (
    AUDIT,
    OVERALL,
    AuditThresholds,
    SliceResult,
    allocate,
    audit_failures,
    language_slice,
    mean,
    percentile,
    query_recall,
    slice_failures,
)
from vidvec.core.recipe import Recipe
from vidvec.core.types import to_micros
from vidvec.errors import NotFound, VidvecError
from vidvec.query import similar_videos
from vidvec.store import SERVED_STATUS, VectorStore
from vidvec.truth import CurrentTexts, collection_recipe, true_embeddings

log = logging.getLogger(__name__)


@dataclass
class Query:
    video_id: str
    language: str
    vector: np.ndarray  # the stored (true) embedding, L2-normalised
    exact: dict = field(default_factory=dict)  # filtered -> (ids, scores, n_candidates)
    served: dict = field(default_factory=dict)  # filtered -> [video ids] or None (not served)
    recall: dict = field(default_factory=dict)  # filtered -> float | None
    latency: dict = field(default_factory=dict)  # filtered -> seconds the served query took


@dataclass
class AuditResult:
    audit_id: str
    target: str
    collection: str
    model_id: str
    engine: str  # which engine and index answered: IndexState.describe()
    k: int
    sample_size: int
    seed: int
    audited_at: datetime
    slices: list[SliceResult]
    coverage: float | None  # None: a canary (no payload scan)
    staleness: float | None
    mismatch: float | None
    counts: dict
    failures: list[str]
    passed: bool
    thresholds: dict = field(default_factory=dict)
    foreign: float = 0.0  # public points not at vidvec's id, over all public points
    report: str | None = None  # the Markdown report's path
    index: dict = field(default_factory=dict)  # the IndexState that answered (exact, m, ef_construct, ...)
    kind: str = AUDIT  # core.recall.AUDIT_KINDS
    unindexed: float | None = None  # share of vectors outside an HNSW index when audited (None: exact engine)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["audited_at"] = self.audited_at.isoformat()
        return out


def audit_id_for(collection: str, at: datetime) -> str:
    return f"{at.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}-{collection}"


def run_audit(catalog: Catalog, store: VectorStore, target: str, *, at: datetime, k: int = 10,
              sample: int = 400, seed: int = 0, thresholds: AuditThresholds | None = None,
              hnsw_ef: int | None = None) -> AuditResult:
    """Audit an alias or collection; rows go to `recall_audits`. Raises nothing on a failed audit.

    hnsw_ef None queries with the collection's own search params (what users get).
    """
    check_request(k, sample, hnsw_ef)
    thresholds = thresholds or AuditThresholds()
    collection = store.resolve(target)
    model_id, recipe = audited_model(store, collection)
    index = store.index_state(collection)
    if hnsw_ef is not None and not index.exact:
        index = replace(index, hnsw_ef=hnsw_ef)
    counts = scan_payloads(catalog, store, collection, model_id)
    slices, drawn = measure(catalog, store, collection, model_id, recipe, k=k, sample=sample, seed=seed,
                            hnsw_ef=hnsw_ef)
    coverage = counts["covered"] / counts["catalog_public"] if counts["catalog_public"] else 1.0
    staleness = counts["stale"] / counts["public_points"] if counts["public_points"] else 0.0
    mismatch = counts["mismatched"] / counts["public_points"] if counts["public_points"] else 0.0
    served = counts["public_points"] + counts["foreign"]
    foreign = counts["foreign"] / served if served else 0.0
    failures = audit_failures(slices, k, coverage, staleness, mismatch, thresholds, foreign)
    result = AuditResult(audit_id_for(collection, at), target, collection, model_id, index.describe(),
                         k, drawn, seed, at, slices, coverage, staleness, mismatch, counts, failures,
                         not failures, thresholds.model_dump(), foreign, index=asdict(index),
                         unindexed=unindexed_share(index))
    catalog.record_audit(audit_rows(result, thresholds))
    log.info("audit %s of %s: %s", result.audit_id, collection, "passed" if result.passed else "FAILED")
    return result


def measure(catalog: Catalog, store: VectorStore, collection: str, model_id: str, recipe: Recipe, *, k: int,
            sample: int, seed: int, hnsw_ef: int | None) -> tuple[list[SliceResult], int]:
    """Recall@k and served latency per slice for a seeded, language-stratified sample (no payload scan);
    and how many queries were drawn. The truth is each video's vector of its text under `recipe`."""
    queries = draw_sample(catalog, model_id, recipe, sample, seed)
    exact_neighbours(catalog, model_id, CurrentTexts(catalog, recipe), queries, k)
    served_neighbours(store, collection, queries, k, hnsw_ef)
    score_queries(catalog, model_id, recipe, queries, k)
    return summarise(queries), len(queries)


def check_request(k: int, sample: int, hnsw_ef: int | None) -> None:
    if not 1 <= k <= 100:
        raise VidvecError(f"k must be in 1..100, got {k}")
    if not 1 <= sample <= 100_000:
        raise VidvecError(f"sample must be in 1..100000, got {sample}")
    if hnsw_ef is not None and not 1 <= hnsw_ef <= 10_000:
        raise VidvecError(f"hnsw_ef must be in 1..10000, got {hnsw_ef}")


def audited_model(store: VectorStore, collection: str) -> tuple[str, Recipe]:
    """The collection's model and recipe: its truth is each video's vector of its text under them."""
    meta = store.metadata(collection)
    model_id = meta.get("model_id")
    if not model_id:
        raise VidvecError(f"{collection} has no model_id in its metadata: not a vidvec collection")
    return model_id, collection_recipe(meta)


def unindexed_share(index) -> float | None:
    """Vectors outside an HNSW index over all points (each query scans them); None on an exact engine."""
    if index.exact or index.indexed_vectors is None:
        return None
    return max(index.points - index.indexed_vectors, 0) / index.points if index.points else 0.0


def scan_payloads(catalog: Catalog, store: VectorStore, collection: str, model_id: str,
                  batch_size: int = 1000) -> dict:
    """Coverage, staleness and payload agreement of every public point against the catalog.

    Two streaming passes, each linear in its side: every catalog row (any
    status) with the point at its id, looked up by id in the store; then every
    point's id and few payload fields (a scroll), checked against the catalog
    ids the first pass saw. No catalog lookup per page of points: at a million
    rows each costs a scan of the catalog.

    public_points, stale and mismatched count vidvec's public points (at
    `point_id(video_id)`); a public point anywhere else counts as foreign
    (duplicate: it names a video the catalog knows). covered: public catalog
    videos served at vidvec's id with the catalog's version and this model.
    """
    c = Counter(public_points=0, covered=0, stale=0, mismatched=0, language_mismatch=0, model_mismatch=0,
                not_public_in_catalog=0, foreign=0, duplicate=0)
    seen = CatalogIds()
    for videos in scan_all(catalog, batch_size):
        seen.add(v.video_id for v in videos)
        points = store.get_points(collection, [v.video_id for v in videos])
        for video in videos:
            body = points.get(video.video_id, {}).get("payload") or {}
            if body.get("status") == SERVED_STATUS and body.get("video_id") == video.video_id:
                c.update(_judge(body, video, model_id))
    seen.freeze()
    for page in store.scroll_points(collection, batch=batch_size, fields=("video_id", "status", "model_id")):
        public = [p for p in page if p.payload.get("status") == SERVED_STATUS]
        named = [p for p in public if isinstance(p.video_id, str)]
        known = {p.id for p, held in zip(named, seen.holds([p.video_id for p in named]), strict=True) if held}
        for p in public:
            if not at_vidvec_id(p.id, p.video_id):
                c.update(foreign=1, duplicate=int(p.id in known))
            elif p.id not in known:  # judged in the first pass when the catalog holds it
                c.update(_judge(p.payload, None, model_id))
    c["catalog_public"] = catalog.count()
    return dict(c)


def _judge(body: dict, video, model_id: str) -> dict:
    """What one of vidvec's public points is worth against its catalog row (None: not in the catalog)."""
    live = video is not None and video.status == SERVED_STATUS
    version = to_micros(video.updated_at) if video is not None else None
    wrong = {"not_public_in_catalog": not live,
             "language_mismatch": video is not None and body.get("language") != video.language,
             "model_mismatch": body.get("model_id") != model_id}
    return {"public_points": 1, "mismatched": int(any(wrong.values())),
            "covered": int(live and body.get("updated_at") == version and body.get("model_id") == model_id),
            "stale": int(video is not None and (body.get("updated_at") or 0) < version),
            **{key: int(bad) for key, bad in wrong.items()}}


def draw_sample(catalog: Catalog, model_id: str, recipe: Recipe, size: int, seed: int) -> list[Query]:
    """Public videos with a stored embedding of the model, stratified by catalog language; each
    query's vector is the stored one of its current text under the recipe (a video with only
    another recipe's vector is left out of the sample)."""
    plan = allocate(catalog.embedded_language_counts(model_id), size)
    chosen = [(vid, lang) for lang, n in sorted(plan.items()) for vid in catalog.sample_ids(lang, n, seed, model_id)]
    stored = true_embeddings(catalog, model_id, recipe, [vid for vid, _ in chosen])
    return [Query(vid, lang, _unit(stored[vid].vector[None, :])[0]) for vid, lang in chosen if vid in stored]


def exact_neighbours(catalog: Catalog, model_id: str, texts: CurrentTexts, queries: list[Query], k: int,
                     batch_size: int = 8192) -> None:
    """Exact top-k, unfiltered and per language, in one streaming pass over stored embeddings
    (the rows of each video's current text: `texts`)."""
    if not queries:
        return
    vectors = np.stack([q.vector for q in queries])
    by_lang: dict[str, list[int]] = {}
    for i, q in enumerate(queries):
        by_lang.setdefault(q.language, []).append(i)
    # k + 1: the query itself is a candidate of its own search and is dropped after
    overall = RunningTopK(vectors, k + 1)
    per_lang = {lang: RunningTopK(vectors[idx], k + 1) for lang, idx in by_lang.items()}
    names: dict[int, str] = {}
    sizes: Counter = Counter()
    for ids, langs, chunk, hashes in catalog.iter_embeddings(model_id, batch_size):
        keep = texts.holds(ids, hashes)
        ids = [vid for vid, kept in zip(ids, keep, strict=True) if kept]
        start = overall.seen
        chunk, langs = _unit(chunk[keep]), np.asarray(langs, dtype=object)[keep]
        overall.push(chunk)
        sizes[None] += len(ids)
        for lang, topk in per_lang.items():
            cols = np.flatnonzero(langs == lang)
            topk.push(chunk[cols], ids=start + cols)
            sizes[lang] += len(cols)
        names.update((start + i, vid) for i, vid in enumerate(ids))
        winners = set(np.unique(overall.ids).tolist())
        for topk in per_lang.values():
            winners.update(np.unique(topk.ids).tolist())
        names = {i: vid for i, vid in names.items() if i in winners}  # bounded by queries x k
    _store_exact(queries, list(range(len(queries))), overall.result(), names, False, sizes[None], k)
    for lang, idx in by_lang.items():
        _store_exact(queries, idx, per_lang[lang].result(), names, True, sizes[lang], k)


def _store_exact(queries: list[Query], idx: list[int], result: tuple[np.ndarray, np.ndarray],
                 names: dict[int, str], filtered: bool, n_candidates: int, k: int) -> None:
    scores, ids = result
    for row, i in enumerate(idx):
        q = queries[i]
        pairs = [(names[j], float(s)) for j, s in zip(ids[row], scores[row], strict=True)
                 if j >= 0 and names[j] != q.video_id][:k]
        q.exact[filtered] = ([p[0] for p in pairs], [p[1] for p in pairs], n_candidates - 1)


def served_neighbours(store: VectorStore, collection: str, queries: list[Query], k: int,
                      hnsw_ef: int | None = None) -> None:
    """What users get: the library's query exactly as `vidvec similar` calls it; None when not served.

    (A query video whose point is missing, a tombstone or vectorless raises NotFound / NotServed:
    it finds nothing, and its recall is 0 when there was something to find.)
    """
    for q in queries:
        for filtered in (False, True):
            started = time.perf_counter()
            try:
                found = similar_videos(store, collection, q.video_id, k=k,
                                       language=q.language if filtered else None, hnsw_ef=hnsw_ef)
                q.served[filtered] = [h.video_id for h in found.hits]
            except NotFound:
                q.served[filtered] = None
            q.latency[filtered] = time.perf_counter() - started


def score_queries(catalog: Catalog, model_id: str, recipe: Recipe, queries: list[Query], k: int) -> None:
    """Recall of each query, each served neighbour scored by its true (stored) vector."""
    served_ids = {vid for q in queries for hits in q.served.values() if hits for vid in hits}
    truth = true_embeddings(catalog, model_id, recipe, served_ids)
    videos = catalog.get_videos(served_ids)
    unit = {vid: _unit(e.vector[None, :])[0] for vid, e in truth.items()}
    for q in queries:
        for filtered, (_, scores, n_candidates) in q.exact.items():
            kth = scores[-1] if scores else None
            hits = q.served.get(filtered) or []
            true = [float(q.vector @ unit[vid]) if _valid(videos.get(vid), vid in unit, q, filtered) else None
                    for vid in hits]
            q.recall[filtered] = query_recall(true, kth, n_candidates, k)


def _valid(video, has_vector: bool, q: Query, filtered: bool) -> bool:
    return (has_vector and video is not None and video.status == "public" and video.video_id != q.video_id
            and (not filtered or video.language == q.language))


def summarise(queries: list[Query]) -> list[SliceResult]:
    out = []
    for filtered in (False, True):
        for name, members in [(OVERALL, queries)] + [
                (language_slice(lang), [q for q in queries if q.language == lang])
                for lang in sorted({q.language for q in queries})]:
            values = [q.recall.get(filtered) for q in members]
            ms = [q.latency[filtered] * 1000 for q in members if filtered in q.latency]
            out.append(SliceResult(name, filtered, sum(v is not None for v in values), mean(values),
                                   percentile(ms, 50), percentile(ms, 99)))
    return out


def audit_rows(r: AuditResult, thresholds: AuditThresholds) -> list[AuditRow]:
    return [AuditRow(r.audit_id, r.collection, r.model_id, r.engine, r.k, r.sample_size, s.slice, s.filtered,
                     s.queries, s.recall, r.coverage, r.staleness, r.mismatch,
                     not slice_failures(s, r.k, thresholds), r.passed, r.audited_at, r.seed, r.kind, r.target,
                     r.foreign if r.kind == AUDIT else None, s.served_p50_ms, s.served_p99_ms, r.unindexed)
            for s in r.slices]


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)
