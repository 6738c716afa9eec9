"""The space's service-level figures, read from the warehouse and the store (no Prometheus here).

Per alias: the collection it serves, its family and engine (from the
collection's own metadata, so a collection of either embedding family is
labelled by what it holds), its points and indexed points, and the newest
audit of each kind (the full audit, the canary) with every slice's recall,
served latency and pass/fail, the audit's collection-wide figures and how many
audits of that kind in a row failed. Plus the promotion and approval history
as totals, and the deadline of each rebuild still building. Nothing is per
video.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from vidvec.catalog.base import AuditRow, Catalog
from vidvec.core.naming import alias_role
from vidvec.core.recall import AUDIT_KINDS
from vidvec.core.types import BUILDING
from vidvec.store import VectorStore

STREAK_LOOKBACK = 24  # audits of one kind read to count a failing streak (a day of hourly canaries)
HISTORY_LIMIT = 100_000  # promotions and approvals counted (a few a day: never reached)


@dataclass(frozen=True)
class SliceFigures:
    slice: str  # overall | language=xx
    filtered: bool
    recall: float | None
    queries: int
    passed: bool
    served_p50_ms: float | None
    served_p99_ms: float | None


@dataclass(frozen=True)
class AuditFigures:
    kind: str  # core.recall.AUDIT_KINDS
    audit_id: str
    audited_at: datetime
    passed: bool
    failing_streak: int  # this and the audits of its kind before it that failed, in a row
    coverage: float | None  # None on a canary (no payload scan)
    staleness: float | None
    mismatch: float | None
    foreign: float | None
    slices: tuple[SliceFigures, ...]


@dataclass(frozen=True)
class AliasFigures:
    alias: str
    role: str  # core.naming.alias_role: live | next | a/b
    collection: str
    family: str
    engine: str  # Capabilities.label: qdrant-edge hnsw, qdrant-server hnsw, qdrant-local exact
    points: int
    indexed: int | None  # vectors in indexed segments; None where the engine keeps no index
    audits: tuple[AuditFigures, ...]  # the newest of each kind that exists

    @property
    def unindexed(self) -> float | None:
        if self.indexed is None:
            return None
        return max(self.points - self.indexed, 0) / self.points if self.points else 0.0


@dataclass(frozen=True)
class RebuildFigures:
    collection: str
    family: str
    deadline: datetime  # the run's logical time (T0) + VIDVEC_REBUILD_DEADLINE_HOURS


@dataclass(frozen=True)
class Figures:
    read_at: datetime
    aliases: tuple[AliasFigures, ...]
    promotions: dict[str, int]  # alias -> promotions and rollbacks recorded
    approvals: dict[tuple[str, str], int]  # (alias, approved | rejected | timed_out) -> answers
    rebuilds: tuple[RebuildFigures, ...]  # collections still building, when a deadline is set


def read_figures(catalog: Catalog, store: VectorStore, *, now: datetime, live_alias: str = "videos",
                 deadline_hours: float = 0) -> Figures:
    """Every figure, read once (a handful of warehouse queries, one index state per aliased collection)."""
    states = {c.name: c for c in store.collections()}
    aliases = tuple(_alias(catalog, store, alias, alias_role(alias, live_alias), name, states[name].metadata)
                    for alias, name in sorted(store.aliases().items()) if name in states)
    promotions = Counter(p.alias for p in catalog.promotions(None, limit=HISTORY_LIMIT))
    approvals = Counter((a.alias, _decision(a)) for a in catalog.approvals(None, limit=HISTORY_LIMIT))
    rebuilds = tuple(RebuildFigures(c.name, str(c.metadata.get("family", "")),
                                    datetime.fromisoformat(c.metadata["t0"]) + timedelta(hours=deadline_hours))
                     for c in states.values()
                     if deadline_hours and c.metadata.get("state") == BUILDING and c.metadata.get("t0"))
    return Figures(now, aliases, dict(promotions), dict(approvals), rebuilds)


def _alias(catalog: Catalog, store: VectorStore, alias: str, role: str, collection: str,
           metadata: dict) -> AliasFigures:
    index = store.index_state(collection)
    audits = tuple(found for kind in AUDIT_KINDS if (found := _newest(catalog, collection, kind)) is not None)
    return AliasFigures(alias, role, collection, str(metadata.get("family", "")), index.engine, index.points,
                        index.indexed_vectors, audits)


def _newest(catalog: Catalog, collection: str, kind: str) -> AuditFigures | None:
    recent = catalog.audits(collection, limit=STREAK_LOOKBACK, kind=kind)
    if not recent:
        return None
    streak = next((i for i, a in enumerate(recent) if a.passed), len(recent))
    rows = catalog.audit_rows(recent[0].audit_id)
    first: AuditRow | None = rows[0] if rows else None
    return AuditFigures(kind, recent[0].audit_id, recent[0].audited_at, recent[0].passed, streak,
                        first.coverage if first else None, first.staleness if first else None,
                        first.mismatch if first else None, first.foreign_share if first else None,
                        tuple(SliceFigures(r.slice, r.filtered, r.recall, r.queries, r.passed, r.served_p50_ms,
                                           r.served_p99_ms) for r in rows))


def _decision(approval) -> str:
    return "timed_out" if approval.timed_out else "approved" if approval.approved else "rejected"
