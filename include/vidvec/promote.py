"""Gated promotion, rollback and A/B aliases.

An alias moves only after every gate holds (core/gates.py), in one atomic
`set_aliases` step (a server's `update_collection_aliases` call, one replace
of Edge's alias file) that also drops `<alias>__next` when it pointed at the
promoted collection. Each move is recorded in `promotions` with
the previous target; rollback is the same call backwards, recorded too.
Any alias name works: promoting `videos_b` never touches `videos`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from vidvec.catalog.base import Catalog, Promotion
from vidvec.core.gates import GATES, AuditFact, GatePolicy, PromotionFacts, check_forced, evaluate
from vidvec.core.naming import next_alias, validate_name
from vidvec.errors import NotFound, VidvecError
from vidvec.store import VectorStore

log = logging.getLogger(__name__)


class PromotionRefused(VidvecError):
    """One or more gates failed; the message names every one."""


def as_json(p: Promotion) -> dict:
    """A promotion as XCom / CLI JSON."""
    return {"alias": p.alias, "collection": p.collection, "previous": p.previous,
            "promoted_at": p.promoted_at.isoformat(), "actor": p.actor, "forced": list(p.forced)}


def gather_facts(catalog: Catalog, store: VectorStore, collection: str, families: tuple[str, ...],
                 now: datetime) -> PromotionFacts:
    meta = store.metadata(collection)
    audits = catalog.audits(collection, limit=1)
    audit = AuditFact(audits[0].audit_id, audits[0].passed, audits[0].audited_at) if audits else None
    return PromotionFacts(collection=collection, state=meta.get("state"), status=store.status(collection),
                          public_points=store.count_served(collection),
                          catalog_public=catalog.count(), family=meta.get("family"),
                          writable=tuple(families), audit=audit, now=now)


def check(catalog: Catalog, store: VectorStore, collection: str, *, alias: str, at: datetime,
          families: tuple[str, ...], policy: GatePolicy | None = None, force: tuple[str, ...] = ()) -> dict:
    """Everything promote() checks, moving nothing: JSON-safe (XCom, the approval form).

    `families`: what this installation's embedders make (`registry.families`); the
    family gate refuses a collection of any other family.

    Raises PromotionRefused naming every failed gate that is not forced.
    """
    validate_name(alias, "alias")
    forced = check_forced(force)
    validate_name(collection, "collection")
    aliases = store.aliases()
    if collection in aliases:
        raise VidvecError(f"promote a collection, not the alias {collection!r}: resolve it first")
    if not store.exists(collection):
        raise NotFound(f"no collection named {collection!r}")
    facts = gather_facts(catalog, store, collection, families, at)
    failures = evaluate(facts, policy or GatePolicy())
    refused = [f for f in failures if f.gate not in forced]
    if refused:
        raise PromotionRefused(f"promotion of {collection} to {alias!r} refused: "
                               + "; ".join(map(str, refused)))
    failed = {f.gate: f.message for f in failures}
    audit = catalog.audits(collection, limit=1)
    return {"collection": collection, "alias": alias, "current": aliases.get(alias),
            "gates": {g: failed.get(g, "ok") for g in GATES}, "forced": [f.gate for f in failures],
            "public_points": facts.public_points, "catalog_public": facts.catalog_public,
            "audit": _audit_json(audit[0]) if audit else None}


def _audit_json(a) -> dict:
    return {"audit_id": a.audit_id, "passed": a.passed, "audited_at": a.audited_at.isoformat(),
            "engine": a.engine, "recall": a.recall, "filtered_recall": a.filtered_recall,
            "coverage": a.coverage, "staleness": a.staleness}


def approval_body(checked: dict) -> str:
    """The approval form's Markdown: what would move, the gates and the newest audit."""
    a = checked["audit"] or {}

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.4f}"

    lines = [f"Move alias **`{checked['alias']}`** from `{checked['current'] or '(none)'}` "
             f"to **`{checked['collection']}`** ({checked['public_points']:,} public points; the catalog has "
             f"{checked['catalog_public']:,} public videos).", "", "| gate | result |", "| --- | --- |"]
    lines += [f"| {g} | {'ok' if r == 'ok' else ('FORCED: ' if g in checked['forced'] else '') + r} |"
              for g, r in checked["gates"].items()]
    if a:
        lines += ["", f"Newest audit `{a['audit_id']}` ({a['engine']}, {a['audited_at'][:19]} UTC): "
                  f"{'passed' if a['passed'] else 'FAILED'}", "",
                  "| recall@k | filtered recall | coverage | staleness |", "| --- | --- | --- | --- |",
                  f"| {fmt(a['recall'])} | {fmt(a['filtered_recall'])} | {fmt(a['coverage'])} | "
                  f"{fmt(a['staleness'])} |"]
    lines += ["", "**Approve**: the alias moves in one atomic swap (the gates are checked again). "
              "**Reject**: nothing moves; your name and reason are recorded."]
    return "\n".join(lines)


def promote(catalog: Catalog, store: VectorStore, collection: str, *, alias: str, at: datetime,
            actor: str, families: tuple[str, ...], policy: GatePolicy | None = None,
            force: tuple[str, ...] = ()) -> Promotion | None:
    """Move alias to collection if every (unforced) gate holds; None if it already points there."""
    validate_name(alias, "alias")
    if store.aliases().get(alias) == collection:
        log.info("%s already points at %s: nothing to do", alias, collection)
        return None
    checked = check(catalog, store, collection, alias=alias, at=at, families=families, policy=policy, force=force)
    mapping: dict[str, str | None] = {alias: collection}
    if store.aliases().get(next_alias(alias)) == collection:
        mapping[next_alias(alias)] = None  # the candidate is now live
    previous = store.set_aliases(mapping)[alias]
    record = Promotion(alias, collection, previous, at, actor, tuple(checked["forced"]))
    catalog.record_promotion(record)
    log.info("%s -> %s (previous %s)%s", alias, collection, previous,
             f", forced gates {list(record.forced)}" if record.forced else "")
    return record


def rollback(catalog: Catalog, store: VectorStore, *, alias: str, at: datetime, actor: str) -> Promotion:
    """Point alias back at the previous target of its newest recorded move."""
    validate_name(alias, "alias")
    history = catalog.promotions(alias, limit=1)
    if not history:
        raise VidvecError(f"no promotion of alias {alias!r} on record: nothing to roll back")
    last = history[0]
    current = store.aliases().get(alias)
    if current != last.collection:
        raise VidvecError(f"alias {alias!r} points at {current!r}, not at {last.collection!r} as last "
                          "recorded: it was moved outside vidvec; fix it by hand")
    if last.previous is None:
        raise VidvecError(f"the newest move of {alias!r} had no previous target: nothing to roll back to")
    if not store.exists(last.previous):
        raise NotFound(f"rollback target {last.previous!r} of {alias!r} no longer exists")
    store.set_aliases({alias: last.previous})
    record = Promotion(alias, last.previous, last.collection, at, f"{actor} (rollback)")
    catalog.record_promotion(record)
    log.info("rolled %s back: %s -> %s", alias, last.collection, last.previous)
    return record
