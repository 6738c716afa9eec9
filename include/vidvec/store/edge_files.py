"""vidvec's own files around Qdrant Edge shards, and the store-wide lock over them.

Layout under the Edge root ($VIDVEC_HOME/edge by default):

    LOCK                                  flock held while a process has the store open; holder's PID
    HOLDER.json                           what holds it and where it serves reads (store/holder.py)
    aliases.json                          {"alias": "collection", ...}, replaced atomically
    collections/<name>/collection.json    {"metadata": ..., "spec": ..., "index_built": ...}
    collections/<name>/shard/             the EdgeShard (segments, WAL, edge_config.json)
    snapshots/<name>/<name>-<stamp>.tar.gz

A collection exists once its collection.json does (written last). Every JSON
file is replaced atomically (write a temporary file, fsync, rename, fsync the
directory), so a crash or a reader sees the old content or the new, never a mix.
A file damaged anyway (a disk, a hand edit) is reported as DamagedFile naming it,
and never rewritten: the store does not open until the user repairs or moves it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from vidvec.errors import DamagedFile, StoreInUse, VidvecError
from vidvec.store.base import CollectionSpec

RECORD = "collection.json"


def write_json(path: Path, value) -> None:
    """Replace path with value's JSON atomically and durably."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, sort_keys=True, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def read_json(path: Path, shape_ok, shape: str, todo: str):
    """path's JSON when it parses and shape_ok(value); else DamagedFile saying what is wrong and todo."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DamagedFile(path, "is not UTF-8 text", todo) from None
    if not text.strip():
        raise DamagedFile(path, f"is empty ({len(text)} bytes), not {shape}", todo)
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise DamagedFile(path, f"is not valid JSON ({exc})", todo) from None
    if not shape_ok(value):
        raise DamagedFile(path, f"is JSON but not {shape}", todo)
    return value


def _alias_map(value) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _record(value) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("metadata"), dict)
            and isinstance(value.get("spec"), dict))


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Record:
    """One collection's vidvec-side state: its metadata and how it is built."""

    metadata: dict
    spec: dict
    index_built: bool = False

    def to_json(self) -> dict:
        return {"metadata": self.metadata, "spec": self.spec, "index_built": self.index_built}


class EdgeHome:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.collections_dir = self.root / "collections"
        self.snapshots_dir = self.root / "snapshots"
        self._lock_fd: int | None = None

    # -- the store-wide lock --------------------------------------------------
    def lock(self) -> None:
        """Take the store for this process, or fail in one line naming the holder's PID."""
        self.collections_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            from vidvec.store.holder import refusal  # it imports this module

            pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StoreInUse(refusal(self.root, pid)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd
        self._sweep()

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.ftruncate(self._lock_fd, 0)
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    def _sweep(self) -> None:
        """Remove what a crash left half done: dropped or restoring directories, temporary files."""
        leftovers = [*self.root.glob(".*.tmp"), *self.collections_dir.glob(".*"),
                     *self.collections_dir.glob(f"*/.{RECORD}.*.tmp")]
        for path in leftovers:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    # -- aliases ----------------------------------------------------------------
    def read_aliases(self) -> dict[str, str]:
        path = self.root / "aliases.json"
        if not path.exists():
            return {}
        return read_json(path, _alias_map, 'an object of alias -> collection name, e.g. {"videos": "videos__..."}',
                         "repair it, or delete it to drop every alias (the collections are intact; "
                         "`vidvec promote COLLECTION` points the live alias again)")

    def write_aliases(self, aliases: dict[str, str]) -> None:
        write_json(self.root / "aliases.json", aliases)

    # -- collections ------------------------------------------------------------
    def collection_dir(self, name: str) -> Path:
        return self.collections_dir / name

    def shard_dir(self, name: str) -> Path:
        return self.collection_dir(name) / "shard"

    def names(self) -> list[str]:
        return sorted(p.name for p in self.collections_dir.iterdir()
                      if not p.name.startswith(".") and (p / RECORD).exists())

    def exists(self, name: str) -> bool:
        return (self.collection_dir(name) / RECORD).exists()

    def read_record(self, name: str) -> Record:
        todo = (f"repair it, or move its directory out of {self.collections_dir} to open the store without "
                "that collection (`vidvec restore` brings one back from a snapshot)")
        data = read_json(self.collection_dir(name) / RECORD, _record, 'an object with "metadata" and "spec" objects',
                         todo)
        try:
            CollectionSpec(**data["spec"])  # loaded lazily later: a bad one must fail here, as damage
        except (TypeError, VidvecError) as exc:
            raise DamagedFile(self.collection_dir(name) / RECORD, f"holds an invalid spec ({exc})", todo) from None
        return Record(data["metadata"], data["spec"], bool(data.get("index_built")))

    def write_record(self, name: str, record: Record) -> None:
        write_json(self.collection_dir(name) / RECORD, record.to_json())

    def remove(self, name: str) -> None:
        """Rename away first (one atomic step: the collection is gone), then delete the files."""
        trash = self.collections_dir / f".dropped-{name}-{uuid.uuid4().hex[:8]}"
        os.replace(self.collection_dir(name), trash)
        fsync_dir(self.collections_dir)
        shutil.rmtree(trash, ignore_errors=True)
