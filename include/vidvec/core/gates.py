"""Promotion gates (pure): what must hold before an alias may move to a collection.

Every gate is evaluated and every failure reported, each message naming its
gate; a forced gate is still evaluated and its failure recorded as forced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import Field

from vidvec.core.options import Options
from vidvec.core.types import READY
from vidvec.errors import VidvecError, shown

GATES = ("ready", "count", "audit", "family")


class GatePolicy(Options):
    WHAT = "promotion policy"

    count_tolerance: float = Field(0.001, ge=0, le=1,
                                   description="allowed |points - catalog| / catalog")
    max_audit_age_hours: float = Field(24, gt=0, le=24 * 30,
                                       description="a passing audit older than this does not count")


@dataclass(frozen=True)
class AuditFact:
    audit_id: str
    passed: bool
    audited_at: datetime


@dataclass(frozen=True)
class PromotionFacts:
    """What the store, the catalog and the warehouse say about the candidate."""

    collection: str
    state: str | None  # metadata "state"
    status: tuple[str, str]  # (collection status, optimizer status)
    public_points: int  # served correctly: public points at vidvec's id (VectorStore.count_served)
    catalog_public: int
    family: str | None  # metadata "family"
    writable: tuple[str, ...]  # the families this installation's embedders make (embed/registry.py)
    audit: AuditFact | None  # the newest audit of this very collection
    now: datetime


@dataclass(frozen=True)
class GateFailure:
    gate: str
    message: str

    def __str__(self) -> str:
        return f"gate '{self.gate}': {self.message}"


def check_forced(force: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    unknown = sorted(set(force) - set(GATES))
    if unknown:
        raise VidvecError(f"unknown gate(s) {shown(unknown)} to force; gates are {list(GATES)}")
    return tuple(sorted(set(force)))


def _ready(f: PromotionFacts, _: GatePolicy) -> str | None:
    if f.state != READY or f.status != ("green", "ok"):
        return (f"{f.collection} is not ready: metadata state {f.state!r}, "
                f"status {f.status[0]}, optimizer {f.status[1]} (need {READY}, green, ok)")
    return None


def _count(f: PromotionFacts, p: GatePolicy) -> str | None:
    allowed = p.count_tolerance * f.catalog_public
    if abs(f.public_points - f.catalog_public) > allowed:
        return (f"{f.collection} serves {f.public_points} public points at vidvec's ids, the catalog holds "
                f"{f.catalog_public} public videos (tolerance {p.count_tolerance:g} = {allowed:.0f})")
    return None


def _audit(f: PromotionFacts, p: GatePolicy) -> str | None:
    if f.audit is None:
        return f"no recall audit of {f.collection} on record"
    if not f.audit.passed:
        return f"the newest audit of {f.collection} ({f.audit.audit_id}) failed"
    age = f.now - f.audit.audited_at
    if age > timedelta(hours=p.max_audit_age_hours):
        return (f"the newest passing audit of {f.collection} ({f.audit.audit_id}) is "
                f"{age.total_seconds() / 3600:.1f} h old (max {p.max_audit_age_hours:g} h)")
    return None


def _family(f: PromotionFacts, _: GatePolicy) -> str | None:
    """Any family the stream can keep fresh may be served; the deployment's setting does not matter."""
    if f.family not in f.writable:
        return (f"{f.collection} holds {f.family!r} vectors and no installed embedder makes them "
                f"(installed: {', '.join(f.writable) or 'none'}): the stream could not keep it fresh")
    return None


_CHECKS = {"ready": _ready, "count": _count, "audit": _audit, "family": _family}


def evaluate(facts: PromotionFacts, policy: GatePolicy) -> list[GateFailure]:
    """Every failed gate, in GATES order."""
    return [GateFailure(name, msg) for name in GATES if (msg := _CHECKS[name](facts, policy))]
