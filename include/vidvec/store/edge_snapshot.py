"""Snapshots of Edge collections: Edge restores snapshots but cannot take them, so vidvec does.

A snapshot is a tar.gz of the collection's directory (the flushed shard and
its collection.json) taken under the store's lock with no write running, so it
is a consistent copy: loading it replays the WAL from the segments' versions.
Restoring unpacks it under a new name (never over an existing collection).
The newest KEEP snapshots of each collection are kept.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import uuid
from datetime import datetime, timezone
from pathlib import Path

from vidvec.errors import VidvecError
from vidvec.store.edge_files import RECORD, EdgeHome, fsync_dir

KEEP = 3
SUFFIX = ".tar.gz"


def archive(home: EdgeHome, name: str) -> dict:
    at = datetime.now(timezone.utc)
    out = home.snapshots_dir / name
    out.mkdir(parents=True, exist_ok=True)
    final = out / f"{name}-{at:%Y%m%dT%H%M%S%fZ}{SUFFIX}"
    tmp = out / f".{final.name}.tmp"
    with tarfile.open(tmp, "w:gz") as tar:
        tar.add(home.collection_dir(name), arcname=name,
                filter=lambda info: None if Path(info.name).name.startswith(".") else info)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, final)
    fsync_dir(out)
    return {"created": True, "name": final.name, "size": final.stat().st_size,
            "creation_time": at.isoformat(), "location": str(final), "pruned": prune(out)}


def prune(folder: Path) -> list[str]:
    """Delete all but the newest KEEP snapshots in folder (names sort by their UTC stamp)."""
    old = sorted(p for p in folder.iterdir() if p.name.endswith(SUFFIX) and not p.name.startswith("."))[:-KEEP]
    for path in old:
        path.unlink()
    return [p.name for p in old]


def unpack(home: EdgeHome, path: Path, name: str) -> dict:
    """Unpack a snapshot as collection `name`; the caller loads it to check it."""
    if not path.is_file():
        raise VidvecError(f"no snapshot file {path}")
    staging = home.collections_dir / f".restore-{uuid.uuid4().hex[:8]}"
    try:
        with tarfile.open(path, "r:gz") as tar:
            tops = {m.name.split("/")[0] for m in tar.getmembers()}
            if len(tops) != 1:
                raise VidvecError(f"{path} is not a vidvec Edge snapshot (one collection directory)")
            tar.extractall(staging, filter="data")
    except tarfile.TarError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise VidvecError(f"{path} is not a readable snapshot: {exc}") from None
    source = staging / tops.pop()
    if not (source / RECORD).is_file() or not (source / "shard").is_dir():
        shutil.rmtree(staging, ignore_errors=True)
        raise VidvecError(f"{path} is not a vidvec Edge snapshot (no {RECORD} and shard/)")
    os.replace(source, home.collection_dir(name))
    fsync_dir(home.collections_dir)
    shutil.rmtree(staging, ignore_errors=True)
    return {"restored": True, "collection": name, "from": source.name, "snapshot": str(path)}
