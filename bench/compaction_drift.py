"""Compaction on the full demo catalog with injected drift; prints the counts.

    python bench/compaction_drift.py --base /tmp/vidvec-compact-base --work /tmp/vidvec-compact-run

Builds the live collection once into --base (the encoder takes ~2 minutes),
copies it to --work, injects drift there (deleted, privatized, stale text
edits, points removed from the store, unknown points, old tombstones, a few
old collections), runs a dry run and then the real compaction, and prints both
summaries. The catalog changes are what the stream missed: they are in the
catalog but not in Qdrant.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "include")]

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
NOW = datetime(2026, 11, 29, 4, 0, tzinfo=timezone.utc)


def build(base: Path) -> None:
    from vidvec.catalog.loader import read_csv
    from vidvec.config import load_settings
    from vidvec.embed.usem3 import Usem3Embedder

    sys.path.insert(0, str(ROOT))
    from tests.conftest import build_live

    settings = load_settings(home=base)
    videos = list(read_csv(ROOT / "include" / "data" / "videos.csv.gz"))
    started = time.monotonic()
    name = build_live(settings, videos, Usem3Embedder(threads=1), t0=T0, shards=1)
    print(f"built {name}: {len(videos)} videos in {time.monotonic() - started:.0f}s")


def inject_drift(home: Path) -> dict:
    """What the stream missed, in the catalog; what was lost or left behind, in the store."""
    from vidvec.catalog.base import Promotion
    from vidvec.catalog.factory import open_catalog
    from vidvec.config import load_settings
    from vidvec.core.naming import collection_name
    from vidvec.core.points import tombstone
    from vidvec.core.types import PointToWrite, to_micros
    from vidvec.store import CollectionSpec, open_store

    settings = load_settings(home=home)
    rng = random.Random(42)
    old, recent = NOW - timedelta(days=10), NOW - timedelta(days=1)
    with open_catalog(settings) as catalog, open_store(settings) as store:
        live = store.resolve(settings.live_alias)
        ids = sorted(v.video_id for batch in catalog.scan_shard(0, 1, as_of=NOW, batch_size=10_000) for v in batch)
        picked = iter(rng.sample(ids, 300 + 200 + 150 + 100 + 40))
        kinds = {k: [next(picked) for _ in range(n)] for k, n in
                 [("deleted", 300), ("private", 200), ("stale", 150), ("removed", 100), ("old_tombstones", 40)]}
        rows = catalog.get_videos(sum(kinds.values(), []))
        changed = [replace(rows[i], status="deleted", updated_at=old if n < 250 else recent)
                   for n, i in enumerate(kinds["deleted"])]
        changed += [replace(rows[i], status="private", updated_at=old) for i in kinds["private"]]
        changed += [replace(rows[i], title=f"{rows[i].title} (edited)", description="new text " + rows[i].description,
                            updated_at=old) for i in kinds["stale"]]
        changed += [replace(rows[i], status="deleted", updated_at=old) for i in kinds["old_tombstones"]]
        catalog.upsert_videos(changed)
        store.delete_points(live, kinds["removed"])
        # Tombstones the stream wrote for deletions the catalog also has, 10 days ago.
        store.write_if_newer(live, [tombstone(i, "deleted", to_micros(old)) for i in kinds["old_tombstones"]])
        ghosts = [PointToWrite(f"ghost{i}", [1.0] + [0.0] * 511,
                               {"video_id": f"ghost{i}", "status": "public", "updated_at": to_micros(T0)})
                  for i in range(25)]
        store.write_if_newer(live, ghosts)  # points of videos the catalog never had
        extra = {}
        for days in (60, 45, 30, 20):  # older builds of the same alias, 20 points each
            name = collection_name(settings.live_alias, "usem3-0.2.1", NOW - timedelta(days=days))
            store.create_collection(name, CollectionSpec(), {"state": "ready", "dim": 512})
            store.insert_only(name, [PointToWrite(i, [1.0] * 512, {"video_id": i, "status": "public",
                                                                  "updated_at": 0}) for i in ids[:20]])
            extra[days] = name
        catalog.record_promotion(Promotion(settings.live_alias, live, extra[45], T0, "bench"))
    return {k: len(v) for k, v in kinds.items()} | {"unknown_points": len(ghosts), "old_collections": len(extra),
                                                     "recent_deletions_inside_window": 50}


def run_compaction(home: Path) -> None:
    from vidvec.catalog.factory import open_catalog
    from vidvec.compaction import run
    from vidvec.config import load_settings
    from vidvec.embed.usem3 import Usem3Embedder
    from vidvec.params import CompactOptions
    from vidvec.store import open_store

    settings = load_settings(home=home)
    for dry in (True, False):
        opts = CompactOptions(dry_run=dry, tombstone_days=7, keep_newest=2, min_age_days=7)
        started = time.monotonic()
        with open_catalog(settings) as catalog, open_store(settings) as store:
            result = run(catalog, store, lambda: Usem3Embedder(threads=1), settings.live_alias, NOW, opts)
        print(f"\n--- {'dry run' if dry else 'compaction'} ({time.monotonic() - started:.1f}s) ---")
        print(result["summary"])
        print(json.dumps(result["reconciled"][0]["counts"]))
    with open_catalog(settings, read_only=True) as catalog, open_store(settings) as store:
        live = store.resolve(settings.live_alias)
        served = {vid for batch in store.scroll(live) for vid, body, _ in batch if body["status"] == "public"}
        public = {v.video_id for b in catalog.scan_shard(0, 1, as_of=NOW, batch_size=10_000) for v in b}
    print(f"\npublic points == the catalog's public rows: {served == public} ({len(served):,} / {len(public):,})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=Path, default=Path("/tmp/vidvec-compact-base"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/vidvec-compact-run"))
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    if not (args.base / "vidvec.duckdb").exists():
        build(args.base)
    if args.build_only:
        return
    shutil.rmtree(args.work, ignore_errors=True)
    shutil.copytree(args.base, args.work)
    drift = inject_drift(args.work)
    print("injected drift:", json.dumps(drift))
    run_compaction(args.work)


if __name__ == "__main__":
    main()
