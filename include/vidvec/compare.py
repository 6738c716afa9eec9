"""Compare two collections before a switch: `vidvec compare A B` (aliases or collections, any two families).

The offline half of the A/B an alias makes possible. For a sample of public
videos stratified by language (the same video asks both), each collection
serves its top-k neighbours from other channels, exactly as a recommender
asks it (a store query with other_owners=True); per language:
- overlap@k: the share of the two top-k lists in common (1.0: the switch
  changes nothing a viewer sees; low: it changes a lot, for better or worse);
- category precision@k of each (core/quality.py, the benchmarks' definition);
- recall@k of each, from the newest audit of that collection (`recall_audits`,
  language slice, unfiltered); "-" when it was never audited.
The sample is drawn from the stored embeddings of A's model (sample_ids),
so a video without a point in B is skipped and counted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from vidvec.catalog.base import Catalog
from vidvec.core.quality import overlap, served_precision
from vidvec.core.query import NeighbourQuery
from vidvec.core.recall import OVERALL
from vidvec.errors import NotFound, VidvecError
from vidvec.params import CompareOptions
from vidvec.store import VectorStore


@dataclass(frozen=True)
class Side:
    """One of the two compared: what the name resolved to and what it holds."""

    target: str
    collection: str
    family: str
    model_id: str
    recipe: str


@dataclass(frozen=True)
class LanguageRow:
    slice: str  # "overall" or "language=xx"
    queries: int
    overlap: float | None
    precision_a: float | None
    precision_b: float | None
    recall_a: float | None
    recall_b: float | None


@dataclass(frozen=True)
class Comparison:
    a: Side
    b: Side
    k: int
    per_language: int
    seed: int
    compared_at: datetime
    rows: list[LanguageRow]
    skipped: int  # sampled videos not served by one side
    report: str | None = field(default=None)

    def to_dict(self) -> dict:
        return asdict(self) | {"compared_at": self.compared_at.isoformat()}


def side(store: VectorStore, target: str) -> Side:
    name = store.resolve(target)
    meta = store.metadata(name)
    return Side(target, name, str(meta.get("family", "?")), str(meta.get("model_id", "?")),
                str(meta.get("recipe", "?")))


def compare(catalog: Catalog, store: VectorStore, a: str, b: str, *, at: datetime,
            opts: CompareOptions | None = None) -> Comparison:
    """Per-language overlap, precision and recall of a and b on one stratified sample."""
    opts = opts or CompareOptions()
    k, per_language, seed = opts.k, opts.per_language, opts.seed
    sa, sb = side(store, a), side(store, b)
    if sa.collection == sb.collection:
        raise VidvecError(f"{a!r} and {b!r} are the same collection {sa.collection!r}: nothing to compare")
    query = NeighbourQuery.parse({"k": k, "other_owners": True})
    langs = sorted(catalog.embedded_language_counts(sa.model_id))
    ids = {lang: catalog.sample_ids(lang, per_language, seed, sa.model_id) for lang in langs}
    videos = catalog.get_videos([v for vs in ids.values() for v in vs])
    measured: dict[str, list[tuple[float, float, float]]] = {}
    skipped = 0
    for lang, vids in ids.items():
        for vid in vids:
            try:
                hits_a = store.neighbours(sa.collection, vid, query)
                hits_b = store.neighbours(sb.collection, vid, query)
            except NotFound:  # not served by one of them (not yet written, or not public there)
                skipped += 1
                continue
            cat = videos[vid].category if vid in videos else None
            measured.setdefault(lang, []).append((
                overlap([h.video_id for h in hits_a], [h.video_id for h in hits_b], k),
                served_precision(cat, [h.payload.get("category") for h in hits_a], k),
                served_precision(cat, [h.payload.get("category") for h in hits_b], k)))
    recall_a, recall_b = _audited_recall(catalog, sa.collection), _audited_recall(catalog, sb.collection)
    everything = [m for ms in measured.values() for m in ms]
    rows = [_row(OVERALL, everything, recall_a, recall_b)]
    rows += [_row(f"language={lang}", ms, recall_a, recall_b) for lang, ms in sorted(measured.items())]
    return Comparison(sa, sb, k, per_language, seed, at, rows, skipped)


def _row(name: str, ms: list[tuple[float, float, float]], recall_a: dict, recall_b: dict) -> LanguageRow:
    def mean(i: int) -> float | None:
        return sum(m[i] for m in ms) / len(ms) if ms else None

    return LanguageRow(name, len(ms), mean(0), mean(1), mean(2), recall_a.get(name), recall_b.get(name))


def _audited_recall(catalog: Catalog, collection: str) -> dict[str, float | None]:
    """slice -> unfiltered recall@k of the newest audit of this collection ({} if never audited)."""
    audits = catalog.audits(collection, limit=1)
    if not audits:
        return {}
    return {r.slice: r.recall for r in catalog.audit_rows(audits[0].audit_id) if not r.filtered}


def compare_with_live(catalog: Catalog, store: VectorStore, target: str, live_alias: str, *, at: datetime,
                      opts: CompareOptions | None = None) -> Comparison | None:
    """The audit's comparison: live (A) against target (B) when their families differ; else None."""
    aliases = store.aliases()
    if live_alias not in aliases:
        return None
    live, other = side(store, live_alias), side(store, target)
    if live.collection == other.collection or live.family == other.family:
        return None
    return compare(catalog, store, live_alias, target, at=at, opts=opts)
