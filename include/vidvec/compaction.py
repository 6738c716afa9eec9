"""Compaction, step by step; the DAG runs one task per step, `vidvec compact` all of them.

survey -> reconcile (every written target: see `targets`) -> vacuum -> retention -> snapshot ->
summary. Each step returns a small frozen dataclass (to_xcom() is what XCom
carries, and what `vidvec compact --json` prints); with dry_run every step
plans and reports but changes nothing. `now` is the run's logical time in the
DAG, never the wall clock of a task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from vidvec.apply import apply_videos
from vidvec.catalog.base import Catalog, CatalogIds, scan_all
from vidvec.core.ids import at_vidvec_id, point_id
from vidvec.core.naming import next_alias
from vidvec.core.reconcile import Plan, merge, plan_batch, split_points
from vidvec.core.retention import Candidate, plan_retention, rollback_targets, rollback_window
from vidvec.core.types import BUILDING, STREAM_GAP_KEY, Video, XCom, to_micros
from vidvec.core.versions import Version
from vidvec.embed.base import Embedder
from vidvec.params import CompactOptions
from vidvec.prune import PRUNE_GRACE, Pruned, prune
from vidvec.store import VectorStore
from vidvec.truth import collection_recipe

log = logging.getLogger(__name__)
LARGE_PURGE = 0.01  # purging this fraction of a collection drives the vacuum harder
VACUUM_THRESHOLD = 0.01  # deleted fraction per segment that triggers a rewrite, for this run
SAMPLES = 10  # ids shown per action in the plan
FLUSH_ROWS = 4096  # rewrites (repair, add, hide) applied together: one stored-vector lookup per flush
VERSION_FIELDS = ("video_id", "status", "updated_at")  # what the sweep of every point reads


@dataclass(frozen=True)
class Space(XCom):
    """survey: every collection's points, public points, vector bytes (points x dim x 4) and aliases."""

    collections: dict  # name -> {"points", "public", "vector_bytes", "aliases"}

    def to_xcom(self) -> dict:
        return dict(self.collections)

    @classmethod
    def from_xcom(cls, data: Mapping) -> Space:
        return cls(dict(data))


@dataclass(frozen=True)
class Reconciled(XCom):
    """reconcile, for one collection: counts of what was done (in a dry run: planned)."""

    collection: str
    state: str | None
    dry_run: bool
    before: dict  # {"points", "public"}
    after: dict
    counts: dict  # core/reconcile.Plan.counts(), summed over batches
    encoded: int
    samples: dict  # action -> a few video ids (purge_foreign: "<raw id> (<video_id>)")
    cutoff: str  # tombstones younger than this stay


@dataclass(frozen=True)
class Vacuumed(XCom):
    collection: str
    applied: bool
    why: str | None = None  # when not applied
    detail: dict = field(default_factory=dict)  # the store's figures (thresholds, segments, seconds)


@dataclass(frozen=True)
class Retained(XCom):
    dry_run: bool
    dropped: list
    decisions: list  # core/retention.Decision as dicts, one per collection


@dataclass(frozen=True)
class Snapshot(XCom):
    created: bool
    collection: str | None = None
    why: str | None = None  # when not created
    detail: dict = field(default_factory=dict)  # name, size, creation_time


def targets(store: VectorStore, live_alias: str, promotions=(), now: datetime | None = None,
            window_hours: float = 0.0) -> list[str]:
    """The collections the sidecar writes, repaired here too (stream/targets.py feeds the same set).

    Behind the live alias, every promoted alias (A/B, e.g. `videos_b`) and their
    `__next`; and each alias's rollback target while its newest promotion is
    younger than window_hours (core/retention.rollback_window), so a rollback
    within the window restores a space as fresh as the live one.
    """
    aliases = store.aliases()
    fed = [live_alias, next_alias(live_alias)] + [a for p in promotions for a in (p.alias, next_alias(p.alias))]
    names = [aliases[a] for a in dict.fromkeys(fed) if a in aliases]
    if now is not None:
        names += [c for c, a in rollback_window(promotions, now, window_hours).items() if store.exists(c)]
    return list(dict.fromkeys(names))


def survey(store: VectorStore) -> Space:
    """Collections, points and vector bytes (points x dim x 4), for before/after sizes."""
    out = {}
    for s in store.collections():
        dim = int(s.metadata.get("dim", 512))
        out[s.name] = {"points": s.points, "public": store.count(s.name, public_only=True),
                       "vector_bytes": s.points * dim * 4, "aliases": list(s.aliases)}
    return Space(out)


def reconcile(catalog: Catalog, store: VectorStore, embedder: Callable[[Mapping], Embedder], name: str,
              now: datetime, opts: CompactOptions) -> Reconciled:
    """Bring one collection to the catalog's state; counts say what was done (in a dry run: planned).

    `embedder(metadata)` makes the embedder of the collection's recorded model
    (`vidvec.embed.embedder_of`): repairs are written in the collection's family.

    Two streaming passes, each linear in its side: every catalog row against
    the point at its id (looked up by id in the store; core/reconcile.py
    decides), then every point (a scroll): foreign points go by id, vidvec's
    points of videos the first pass did not see go once older than the window.
    No catalog lookup per page of points: at a million rows each costs a scan.
    """
    meta = store.metadata(name)
    cutoff = to_micros(now - timedelta(days=opts.tombstone_days))
    before = {"points": store.count(name), "public": store.count(name, public_only=True)}
    writer = _Writer(catalog, store, embedder, name, meta, now, opts.dry_run)
    seen = CatalogIds()
    for videos in scan_all(catalog, opts.batch_size):
        seen.add(v.video_id for v in videos)
        rows = {v.video_id: Version.of_video(v) for v in videos}
        points, broken = {}, {}
        for vid, (status, at) in store.versions(name, rows).items():
            if (version := Version.parse(status, at)) is None:
                broken[point_id(vid)] = vid  # at vidvec's id without a version vidvec writes: foreign
            else:
                points[vid] = version
        plan = plan_batch(rows, points, cutoff, allow_add=meta.get("state") != BUILDING)
        plan.foreign = broken  # deleted before the row's point is written again
        writer.apply(plan, {v.video_id: v for v in videos})
    writer.flush()
    seen.freeze()
    # Purged page by page: a scroll goes by point id, and deleting points the
    # cursor has passed cannot change the pages after it.
    for page in store.scroll_points(name, batch=opts.batch_size, fields=VERSION_FIELDS):
        ours, foreign = split_points(page)
        known = dict(zip(ours, seen.holds(list(ours)), strict=True))
        plan = plan_batch({}, {vid: v for vid, v in ours.items() if not known[vid]}, cutoff)
        plan.foreign = {pid: vid for pid, vid in foreign.items()  # the broken ones went with their row
                        if not (vid and at_vidvec_id(pid, vid) and seen.holds([vid])[0])}
        writer.apply(plan, {})
    writer.flush()
    after = before if opts.dry_run else {"points": store.count(name), "public": store.count(name, public_only=True)}
    if not opts.dry_run and meta.get(STREAM_GAP_KEY):
        store.update_metadata(name, **{STREAM_GAP_KEY: ""})  # converged to the catalog: nothing missed remains
    return Reconciled(name, meta.get("state"), opts.dry_run, before, after, writer.counts, writer.encoded,
                      writer.samples,
                      (now - timedelta(days=opts.tombstone_days)).isoformat())


class _Writer:
    """Applies plan batches (or, in a dry run, does not); loads the embedder only when needed.

    Purges go at once; rewrites wait until FLUSH_ROWS of them are pending, so
    their catalog lookups (stored vectors) run once per FLUSH_ROWS, not once
    per batch of a million-row scan (each lookup reads the embeddings table).
    Counts are what the store really did, added up as each plan is settled.
    """

    def __init__(self, catalog, store, embedder, name, meta, now, dry_run):
        self.catalog, self.store, self.get_embedder, self.name = catalog, store, embedder, name
        self.meta, self.now, self.dry_run = meta, now, dry_run
        self.embedder: Embedder | None = None
        self.encoded = 0
        self.pending: list[tuple[Plan, set[str]]] = []  # plans with rewrites, and what each purged
        self.todo: dict[str, Video] = {}
        self.counts: dict = {}
        self.samples: dict = {}

    def apply(self, plan: Plan, videos: dict[str, Video]) -> None:
        """Apply a plan's purges now, its rewrites with the next flush (a dry run: count the plan)."""
        if self.dry_run:
            self._count(plan)
            return
        purged = self.store.delete_if_not_newer(self.name, plan.purge) if plan.purge else set()
        if plan.foreign:
            self.store.delete_ids(self.name, list(plan.foreign))  # vidvec never writes them: no condition
        todo = plan.repair + plan.add + plan.hide
        if not todo:
            self._count(plan.done(purged, frozenset()))
            return
        self.pending.append((plan, purged))
        self.todo.update({v: videos[v] for v in todo})
        if len(self.todo) >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Write the pending rewrites; count every pending plan by what was really written."""
        written: frozenset[str] = frozenset()
        if self.todo:
            if self.embedder is None:
                # the collection's own model, whatever the deployment's setting (weights load on first encode)
                self.embedder = self.get_embedder(self.meta)
            done = apply_videos(self.catalog, self.store, self.embedder, self.name, list(self.todo.values()),
                                collection_recipe(self.meta).version, self.now)
            self.encoded += done.counts["encoded"]
            written = done.written_ids
        for plan, purged in self.pending:
            self._count(plan.done(purged, written))
        self.pending, self.todo = [], {}

    def _count(self, plan: Plan) -> None:
        self.counts, self.samples = merge(self.counts, plan.counts()), _sample(self.samples, plan)


def _sample(samples: dict, plan: Plan) -> dict:
    out = {k: list(v) for k, v in samples.items()}
    foreign = [f"{pid} ({vid or 'no video_id'})" for pid, vid in plan.foreign.items()]
    for action, ids in (("purge", list(plan.purge)), ("purge_foreign", foreign), ("repair", plan.repair),
                        ("add", plan.add), ("hide", plan.hide)):
        have = out.setdefault(action, [])
        have.extend(ids[: SAMPLES - len(have)])
    return out


def vacuum(store: VectorStore, reconciled: list[Reconciled], opts: CompactOptions) -> list[Vacuumed]:
    """Drive the engine's vacuum where points were purged (where it has segments) and wait until ready."""
    out = []
    for r in reconciled:
        purged = r.counts.get("purged", 0)
        why = ("dry run" if opts.dry_run else "nothing purged" if not purged
               else "being built: its build waits for the optimizer" if r.state == BUILDING else None)
        if why:
            out.append(Vacuumed(r.collection, False, why))
            continue
        large = purged >= LARGE_PURGE * max(r.before["points"], 1)
        result = dict(store.vacuum(r.collection, deleted_threshold=VACUUM_THRESHOLD if large else 1.0))
        out.append(Vacuumed(r.collection, result.pop("applied"), result.pop("why", None), result))
    return out


def retention(catalog: Catalog, store: VectorStore, now: datetime, opts: CompactOptions) -> Retained:
    """Plan which collections to drop and drop them (not in a dry run)."""
    candidates = [Candidate(s.name, s.aliases, s.metadata.get("state"), s.points) for s in store.collections()]
    protected = rollback_targets(catalog.promotions(None, limit=100_000))
    decisions = plan_retention(candidates, protected, now, opts.keep_newest, opts.min_age_days)
    dropped = []
    for d in decisions:
        if d.drop and not opts.dry_run:
            if d.name in store.aliases().values():  # an alias moved since the plan: keep it
                continue
            store.drop_collection(d.name)
            dropped.append(d.name)
    return Retained(opts.dry_run, dropped,
                    [asdict(d) | {"stamp": d.stamp.isoformat() if d.stamp else None} for d in decisions])


def snapshot(store: VectorStore, live_alias: str, opts: CompactOptions) -> Snapshot:
    if not opts.snapshot:
        return Snapshot(False, why="snapshot Param is off")
    if live_alias not in store.aliases():
        return Snapshot(False, why=f"no live alias {live_alias!r}")
    name = store.resolve(live_alias)
    if opts.dry_run:
        caps = store.capabilities
        return Snapshot(False, name, "dry run" + ("" if caps.snapshots else f"; {caps.engine} has no snapshots"))
    result = dict(store.snapshot(name))
    return Snapshot(result.pop("created"), name, result.pop("why", None), result)


def run(catalog: Catalog, store: VectorStore, embedder: Callable[[Mapping], Embedder], live_alias: str,
        now: datetime, opts: CompactOptions, window_hours: float = 0.0) -> dict:
    """Every step in order, as the DAG runs them; returns the steps' results and the summary."""
    before = survey(store)
    names = targets(store, live_alias, catalog.promotions(None), now, window_hours)
    reconciled = [reconcile(catalog, store, embedder, name, now, opts) for name in names]
    vacuumed = vacuum(store, reconciled, opts)
    retained = retention(catalog, store, now, opts)
    pruned = prune(catalog, store, now, opts)  # after retention: a dropped collection needs nothing
    return report(store, now, opts, before, reconciled, vacuumed, retained, snapshot(store, live_alias, opts),
                  pruned)


def report(store: VectorStore, now: datetime, opts: CompactOptions, before: Space, reconciled: list[Reconciled],
           vacuumed: list[Vacuumed], retained: Retained, snap: Snapshot, pruned: Pruned | None = None) -> dict:
    """Every step's result (as XCom carries them), the space after, and the readable summary."""
    after = before if opts.dry_run else survey(store)
    steps = {"now": now.isoformat(), "dry_run": opts.dry_run, "before": before.to_xcom(), "after": after.to_xcom(),
             "reconciled": [r.to_xcom() for r in reconciled], "vacuum": [v.to_xcom() for v in vacuumed],
             "retention": retained.to_xcom(), "snapshot": snap.to_xcom(),
             "prune": pruned.to_xcom() if pruned else None}
    return steps | {"summary": summarize(steps)}


def _space(collections: dict) -> str:
    points = sum(c["points"] for c in collections.values())
    mib = sum(c["vector_bytes"] for c in collections.values()) / 2**20
    return f"{len(collections)} collections, {points:,} points, {mib:,.1f} MiB of vectors"


def summarize(steps: dict) -> str:
    """A few lines a person can read: what was (or would be) purged, repaired, added, dropped."""
    dry = steps["dry_run"]
    verb = "would be" if dry else "were"
    lines = [f"vidvec compaction at {steps['now']}" + (" (DRY RUN: nothing changed)" if dry else "")]
    for r in steps["reconciled"]:
        c = r["counts"]
        reasons = ", ".join(f"{k} {v:,}" for k, v in c.get("purged_by_reason", {}).items()) or "none"
        kept = ", ".join(f"{k} {v:,}" for k, v in c.get("kept", {}).items()) or "none"
        lines += [f"{r['collection']} ({r['state']}): points {r['before']['points']:,} -> {r['after']['points']:,}, "
                  f"public {r['before']['public']:,} -> {r['after']['public']:,}",
                  f"  {c.get('purged', 0):,} purged ({reasons}), {c.get('repaired', 0):,} repaired, "
                  f"{c.get('added', 0):,} added, {c.get('hidden', 0):,} hidden behind tombstones "
                  f"({verb} changed; {r['encoded']:,} texts encoded)"
                  + (f"; {c['skipped']:,} skipped: a newer write came first" if c.get("skipped") else ""),
                  f"  kept: {kept}; tombstones younger than {r['cutoff']} stay"]
        if dry:
            lines += [f"  e.g. {action}: {', '.join(ids)}" for action, ids in r["samples"].items() if ids]
    if not steps["reconciled"]:
        lines.append("no live or __next collection to reconcile")
    for v in steps["vacuum"]:
        lines.append(f"vacuum {v['collection']}: " + (
            f"done in {v['detail']['seconds']}s, {v['detail']['segments']} segments" if v["applied"] else v["why"]))
    ret = steps["retention"]
    drops = [d for d in ret["decisions"] if d["drop"] and (dry or d["name"] in ret["dropped"])]
    keeps = ", ".join(f"{d['name']} ({d['reason']})" for d in ret["decisions"] if not d["drop"]) or "none"
    lines.append(f"retention: {len(drops)} collections ({sum(d['points'] for d in drops):,} points) {verb} "
                 f"dropped: {', '.join(d['name'] for d in drops) or 'none'}; kept: {keeps}")
    snap = steps["snapshot"]
    detail = snap.get("detail") or {}
    lines.append("snapshot: " + (f"{detail['name']} of {snap['collection']}, {detail['size']:,} bytes"
                                 + (f" at {detail['location']}" if detail.get("location") else "")
                                 if snap["created"] else f"not taken: {snap['why']}"))
    if steps.get("prune"):
        p = steps["prune"]
        lines.append(f"warehouse: {sum(p['pruned'].values()):,} of {p['examined']:,} stored vectors older than "
                     f"{PRUNE_GRACE.total_seconds() / 3600:g} h {verb} pruned: no collection needs them")
    lines.append(f"space: {_space(steps['before'])} -> {_space(steps['after'])}")
    return "\n".join(lines)
