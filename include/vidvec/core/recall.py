"""Recall maths for the audit (pure): stratified sampling, recall@k, thresholds.

Recall counts a served neighbour as right when its true similarity (computed
from the warehouse's stored embeddings) reaches the k-th exact similarity,
minus a small epsilon: ties at the boundary then never read as misses, and a
neighbour served from a stale or foreign vector scores what it really is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import Field

from vidvec.core.options import Options
from vidvec.errors import VidvecError

EPS = 1e-4  # float32 rounding between two ways of computing one cosine
OVERALL = "overall"
AUDIT, CANARY = "audit", "canary"
AUDIT_KINDS = (AUDIT, CANARY)  # the full audit (recall, coverage, staleness) and the small one between rebuilds


def language_slice(language: str) -> str:
    return f"language={language}"


def allocate(counts: dict[str, int], size: int) -> dict[str, int]:
    """Sample size per stratum: proportional (largest remainder), at least one each.

    With fewer draws than strata, the largest strata get one each. Never more
    than a stratum holds.
    """
    if size < 0:
        raise VidvecError(f"sample size must be >= 0, got {size}")
    strata = sorted((lang for lang, n in counts.items() if n > 0), key=lambda lang: (-counts[lang], lang))
    total = sum(counts[lang] for lang in strata)
    size = min(size, total)
    if size == 0:
        return {}
    if size <= len(strata):
        return {lang: 1 for lang in strata[:size]}
    out = {lang: 1 for lang in strata}
    rest = size - len(strata)
    shares = {lang: rest * (counts[lang] - 1) / max(total - len(strata), 1) for lang in strata}
    for lang in strata:
        out[lang] += min(int(shares[lang]), counts[lang] - 1)
    # hand out what rounding left over, largest remainder first, within capacity
    left = size - sum(out.values())
    order = sorted(strata, key=lambda lang: (-(shares[lang] - int(shares[lang])), -counts[lang], lang))
    while left > 0:
        progressed = False
        for lang in order:
            if left and out[lang] < counts[lang]:
                out[lang] += 1
                left -= 1
                progressed = True
        if not progressed:
            break
    return out


def query_recall(true_scores: Sequence[float | None], kth_exact: float | None, n_candidates: int,
                 k: int, eps: float = EPS) -> float | None:
    """Recall@k of one query; None when there was nothing to find.

    true_scores: for each served neighbour (at most k), its true similarity to
    the query, or None when it is not a valid candidate (not public in the
    catalog, wrong language for a filtered query, no stored embedding).
    """
    relevant = min(k, n_candidates)
    if relevant == 0 or kth_exact is None:
        return None
    good = sum(1 for s in list(true_scores)[:k] if s is not None and s >= kth_exact - eps)
    return min(good, relevant) / relevant


def mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation between ranks (numpy's default); None when empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class SliceResult:
    slice: str  # "overall" or "language=xx"
    filtered: bool  # neighbours restricted to the query's language
    queries: int  # queries with something to find
    recall: float | None
    served_p50_ms: float | None = None  # latency of the slice's served queries
    served_p99_ms: float | None = None


class AuditThresholds(Options):
    """What a collection must reach to pass; every failure is reported, not just the first."""

    WHAT = "audit thresholds"

    min_recall: float = Field(0.95, ge=0, le=1, description="overall recall@k, unfiltered")
    min_filtered_recall: float = Field(0.95, ge=0, le=1, description="overall recall@k, language-filtered")
    min_language_recall: float = Field(0.85, ge=0, le=1, description="each language slice, both modes")
    min_slice_queries: int = Field(5, ge=1, description="smaller language slices are reported, not gated")
    min_coverage: float = Field(0.99, ge=0, le=1, description="public catalog videos served")
    max_staleness: float = Field(0.01, ge=0, le=1, description="points behind the catalog's updated_at")
    max_mismatch: float = Field(0.001, ge=0, le=1,
                                description="points whose language/model/status disagree with the truth")
    max_foreign: float = Field(0.0, ge=0, le=1, description="public points not at vidvec's id (duplicates, "
                               "another writer's): compaction removes them")


def slice_failures(s: SliceResult, k: int, t: AuditThresholds) -> list[str]:
    if s.recall is None:
        return []
    if s.slice == OVERALL:
        floor = t.min_filtered_recall if s.filtered else t.min_recall
    elif s.queries >= t.min_slice_queries:
        floor = t.min_language_recall
    else:
        return []
    mode = "filtered" if s.filtered else "unfiltered"
    if s.recall < floor:
        return [f"recall@{k} {s.slice} {mode} {s.recall:.3f} < {floor} ({s.queries} queries)"]
    return []


def recall_failures(slices: Sequence[SliceResult], k: int, t: AuditThresholds) -> list[str]:
    """The recall thresholds missed (what a canary judges: it measures no coverage)."""
    return [msg for s in slices for msg in slice_failures(s, k, t)]


def audit_failures(slices: Sequence[SliceResult], k: int, coverage: float, staleness: float,
                   mismatch: float, t: AuditThresholds, foreign: float = 0.0) -> list[str]:
    """Every threshold the audit misses, each message naming its slice or figure."""
    failures = recall_failures(slices, k, t)
    if coverage < t.min_coverage:
        failures.append(f"coverage {coverage:.4f} < {t.min_coverage}")
    if staleness > t.max_staleness:
        failures.append(f"staleness {staleness:.4f} > {t.max_staleness}")
    if mismatch > t.max_mismatch:
        failures.append(f"payload mismatch {mismatch:.4f} > {t.max_mismatch}")
    if foreign > t.max_foreign:
        failures.append(f"foreign points {foreign:.4f} > {t.max_foreign}")
    return failures
