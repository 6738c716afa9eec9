"""The embedded catalog and warehouse: one DuckDB file.

One process may open the file for writing at a time (as with qdrant-client's
local path), so open it per task and close it when done.

`video_embeddings` keeps one row per (video_id, model_id, text_hash), each
vector at its model's own dimension (`FLOAT[]`: MUSE's 512, e5's 384 side by
side). Files made with the earlier shape (one row per (video_id, model_id),
`FLOAT[512]` or `FLOAT[]`) are migrated when opened for writing: every row is
kept, under the new key. DuckDB's memory (its buffer cache of
the blocks a scan read, and any join) is capped by `memory_limit`, so a task
scanning a million vectors holds no more than that, whatever the table's size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import astuple, fields
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from vidvec.catalog.base import (
    Approval,
    AuditRow,
    AuditSummary,
    EmbeddingKey,
    Promotion,
    StoredEmbedding,
    check_dimensions,
    check_shard,
    fingerprint,
)
from vidvec.config import DUCKDB_MEMORY_LIMIT
from vidvec.core.types import VIDEO_FIELDS, Video
from vidvec.errors import VidvecError

SCHEMA = """
CREATE TABLE IF NOT EXISTS videos (
    video_id     VARCHAR PRIMARY KEY,
    title        VARCHAR NOT NULL,
    description  VARCHAR NOT NULL DEFAULT '',
    tags         VARCHAR[] NOT NULL DEFAULT [],
    transcript   VARCHAR,
    language     VARCHAR NOT NULL DEFAULT '',
    owner_id     VARCHAR NOT NULL DEFAULT '',
    category     VARCHAR NOT NULL DEFAULT '',
    status       VARCHAR NOT NULL,
    published_at TIMESTAMPTZ,
    updated_at   TIMESTAMPTZ NOT NULL,
    fingerprint  BIGINT NOT NULL  -- FARM_FINGERPRINT(video_id), for shard scans
);
CREATE TABLE IF NOT EXISTS video_embeddings (
    video_id          VARCHAR NOT NULL,
    model_id          VARCHAR NOT NULL,
    text_hash         VARCHAR NOT NULL,
    vector            FLOAT[] NOT NULL,  -- the model's own dimension
    source_updated_at TIMESTAMPTZ NOT NULL,
    embedded_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (video_id, model_id, text_hash)  -- EMBEDDINGS_KEY
);
CREATE TABLE IF NOT EXISTS promotions (
    alias       VARCHAR NOT NULL,
    collection  VARCHAR NOT NULL,
    previous    VARCHAR,            -- the rollback target
    promoted_at TIMESTAMPTZ NOT NULL,
    actor       VARCHAR NOT NULL,   -- run id or "cli"
    forced      VARCHAR[] NOT NULL DEFAULT [],
    PRIMARY KEY (alias, promoted_at)
);
CREATE TABLE IF NOT EXISTS approvals (
    run_id       VARCHAR PRIMARY KEY, -- the promote run that asked
    alias        VARCHAR NOT NULL,
    collection   VARCHAR NOT NULL,
    approved     BOOLEAN NOT NULL,
    decided_at   TIMESTAMPTZ NOT NULL,
    responded_by VARCHAR,            -- NULL: timed out, the default (reject) applied
    reason       VARCHAR NOT NULL DEFAULT '',
    timed_out    BOOLEAN NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS recall_audits (
    audit_id     VARCHAR NOT NULL,
    collection   VARCHAR NOT NULL,
    model_id     VARCHAR NOT NULL,
    engine       VARCHAR NOT NULL,  -- which engine and index answered the served queries
    k            INTEGER NOT NULL,
    sample_size  INTEGER NOT NULL,
    slice        VARCHAR NOT NULL,  -- overall | language=xx
    filtered     BOOLEAN NOT NULL,
    queries      INTEGER NOT NULL,
    recall       DOUBLE,
    coverage     DOUBLE,            -- NULL: a canary (no payload scan)
    staleness    DOUBLE,
    mismatch     DOUBLE,
    passed       BOOLEAN NOT NULL,
    audit_passed BOOLEAN NOT NULL,
    audited_at   TIMESTAMPTZ NOT NULL,
    seed         BIGINT NOT NULL,
    PRIMARY KEY (audit_id, slice, filtered)
);
"""
# Columns added to recall_audits after its first release: added to older files when opened for writing.
AUDIT_COLUMNS_ADDED = """
ALTER TABLE recall_audits ADD COLUMN IF NOT EXISTS kind VARCHAR DEFAULT 'audit';  -- audit | canary
ALTER TABLE recall_audits ADD COLUMN IF NOT EXISTS target VARCHAR;  -- the alias or collection audited
ALTER TABLE recall_audits ADD COLUMN IF NOT EXISTS foreign_share DOUBLE;
ALTER TABLE recall_audits ADD COLUMN IF NOT EXISTS served_p50_ms DOUBLE;
ALTER TABLE recall_audits ADD COLUMN IF NOT EXISTS served_p99_ms DOUBLE;
ALTER TABLE recall_audits ADD COLUMN IF NOT EXISTS unindexed DOUBLE;
ALTER TABLE recall_audits ALTER coverage DROP NOT NULL;
ALTER TABLE recall_audits ALTER staleness DROP NOT NULL;
ALTER TABLE recall_audits ALTER mismatch DROP NOT NULL;
"""
_AUDIT_COLUMNS = ("audit_id, collection, model_id, engine, k, sample_size, slice, filtered, queries, recall, "
                  'coverage, staleness, mismatch, passed, audit_passed, audited_at, seed, kind, target, foreign_share, '
                  "served_p50_ms, served_p99_ms, unindexed")
_APPROVAL_COLUMNS = "run_id, alias, collection, approved, decided_at, responded_by, reason, timed_out"
_COLUMNS = ", ".join(VIDEO_FIELDS)
_ARROW = {"tags": pa.list_(pa.string()), "published_at": pa.timestamp("us", "UTC"),
          "updated_at": pa.timestamp("us", "UTC")}  # the other columns are strings
EMBEDDINGS_KEY = ("video_id", "model_id", "text_hash")  # video_embeddings' primary key
_EMBEDDING_COLUMNS = "video_id, model_id, text_hash, vector, source_updated_at, embedded_at"


def _video(row: tuple) -> Video:
    values = dict(zip(VIDEO_FIELDS, row, strict=True))
    return Video(**values | {"tags": tuple(values["tags"])})


def _column(videos: list[Video], name: str) -> pa.Array:
    values = [getattr(v, name) for v in videos]
    if name in ("published_at", "updated_at"):
        values = [_utc(ts) for ts in values]
    elif name == "tags":
        values = [list(tags) for tags in values]
    return pa.array(values, type=_ARROW.get(name, pa.string()))


def _utc(ts: datetime | None) -> datetime | None:
    if ts is None or ts.tzinfo is not None:
        return ts
    return ts.replace(tzinfo=timezone.utc)


class DuckDBCatalog:
    def __init__(self, path: str | Path, read_only: bool = False, memory_limit: str = DUCKDB_MEMORY_LIMIT):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(self.path, read_only=read_only, config={"memory_limit": memory_limit})
        self.con.execute("SET TimeZone='UTC'")
        # BigQuery's FARM_FINGERPRINT, so seeded samples pick the same ids in both engines.
        try:
            self.con.create_function("farm_fingerprint", _farm_fingerprint, ["VARCHAR"], "BIGINT",
                                     type="arrow", side_effects=False)
        except duckdb.CatalogException:  # another connection of this process (vidvec.read_api's) made it
            pass
        if not read_only:
            self.con.execute(SCHEMA)
            self.con.execute(AUDIT_COLUMNS_ADDED)
            migrate_embeddings(self.con)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> DuckDBCatalog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- catalog -----------------------------------------------------------
    def upsert_videos(self, videos: Iterable[Video]) -> int:
        """Write rows as given; the last one wins for a repeated video (DuckDB alone would keep the first)."""
        rows = list({v.video_id: v for v in videos}.values())
        if not rows:
            return 0
        table = pa.table({name: _column(rows, name) for name in VIDEO_FIELDS}
                         | {"fingerprint": pa.array([fingerprint(v.video_id) for v in rows], type=pa.int64())})
        self._insert("videos", table)
        return len(rows)

    def _insert(self, name: str, table: pa.Table) -> None:
        cur = self.con.cursor()
        try:
            cur.register("incoming", table)
            columns = ", ".join(table.column_names)
            cur.execute(f"INSERT OR REPLACE INTO {name} ({columns}) SELECT {columns} FROM incoming")
        finally:
            cur.close()

    def get_videos(self, video_ids: Iterable[str]) -> dict[str, Video]:
        ids = list(dict.fromkeys(video_ids))
        if not ids:
            return {}
        rows = self.con.execute(
            f"SELECT {_COLUMNS} FROM videos WHERE video_id IN (SELECT unnest($ids))",
            {"ids": ids}).fetchall()
        return {row[0]: _video(row) for row in rows}

    def scan_shard(self, shard: int, n_shards: int, *, as_of: datetime,
                   statuses: tuple[str, ...] = ("public",),
                   batch_size: int = 256) -> Iterator[list[Video]]:
        check_shard(shard, n_shards)
        # A cursor of its own: a partly fetched result blocks its connection.
        cur = self.con.cursor()
        try:
            cur.execute(
                f"SELECT {_COLUMNS} FROM videos WHERE abs(fingerprint) % $n = $shard "
                "AND updated_at <= $as_of AND list_contains($statuses, status)",
                {"n": n_shards, "shard": shard, "as_of": as_of, "statuses": list(statuses)})
            while rows := cur.fetchmany(batch_size):
                yield [_video(r) for r in rows]
        finally:
            cur.close()

    def count(self, *, as_of: datetime | None = None,
              statuses: tuple[str, ...] = ("public",)) -> int:
        as_of = as_of or datetime.max.replace(tzinfo=timezone.utc)
        return self.con.execute(
            "SELECT count(*) FROM videos WHERE updated_at <= $as_of AND list_contains($statuses, status)",
            {"as_of": as_of, "statuses": list(statuses)}).fetchone()[0]

    def count_shard(self, shard: int, n_shards: int, *, as_of: datetime,
                    statuses: tuple[str, ...] = ("public",)) -> int:
        """How many rows scan_shard will yield (progress lines need the total)."""
        check_shard(shard, n_shards)
        return self.con.execute(
            "SELECT count(*) FROM videos WHERE abs(fingerprint) % $n = $shard "
            "AND updated_at <= $as_of AND list_contains($statuses, status)",
            {"n": n_shards, "shard": shard, "as_of": as_of, "statuses": list(statuses)}).fetchone()[0]

    def scan_shard_with_embeddings(self, shard: int, n_shards: int, *, as_of: datetime, model_id: str,
                                   statuses: tuple[str, ...] = ("public",), batch_size: int = 256
                                   ) -> Iterator[tuple[list[Video], dict[tuple[str, str], StoredEmbedding]]]:
        """scan_shard's rows with every stored embedding of model_id they have, joined in one pass.

        A video's rows of this model are gathered into lists first, so a video is one row
        of the result (and of one batch) however many recipes' texts it has vectors of.
        """
        check_shard(shard, n_shards)
        columns = ", ".join(f"v.{c}" for c in VIDEO_FIELDS)
        cur = self.con.cursor()
        try:
            reader = cur.sql(
                f"WITH v AS (SELECT {_COLUMNS} FROM videos WHERE abs(fingerprint) % $n = $shard "
                "AND updated_at <= $as_of AND list_contains($statuses, status)), "
                "e AS (SELECT video_id, list(text_hash) AS hashes, list(vector) AS vectors, "
                "list(source_updated_at) AS sources, list(embedded_at) AS embedded_ats FROM video_embeddings "
                "WHERE model_id = $model AND video_id IN (SELECT video_id FROM v) GROUP BY video_id) "
                f"SELECT {columns}, e.hashes, e.vectors, e.sources, e.embedded_ats FROM v LEFT JOIN e USING (video_id)",
                params={"n": n_shards, "shard": shard, "as_of": as_of, "statuses": list(statuses),
                        "model": model_id}).to_arrow_reader(batch_size)
            for batch in reader:
                yield _videos_with_embeddings(batch, model_id)
        finally:
            cur.close()

    def changes_since(self, t0: datetime, batch_size: int = 256) -> Iterator[list[Video]]:
        """Rows changed after t0, any status (the rebuild's catch-up replays them), oldest first."""
        if t0.tzinfo is None:
            raise VidvecError("changes_since needs a timezone-aware t0")
        cur = self.con.cursor()
        try:
            cur.execute(f"SELECT {_COLUMNS} FROM videos WHERE updated_at > $t0 ORDER BY updated_at, video_id",
                        {"t0": t0})
            while rows := cur.fetchmany(batch_size):
                yield [_video(r) for r in rows]
        finally:
            cur.close()

    # -- warehouse: video_embeddings --------------------------------------
    def get_embeddings(self, video_ids: Iterable[str], model_id: str,
                       text_hashes: Iterable[str] | None = None) -> dict[str, StoredEmbedding]:
        ids = list(video_ids)
        if not ids:
            return {}
        wanted = None if text_hashes is None else dict(zip(ids, text_hashes, strict=True))
        # The newest row first, so that without text hashes the newest of each video wins.
        rows = self.con.execute(
            f"SELECT {_EMBEDDING_COLUMNS} FROM video_embeddings WHERE model_id = $model "
            "AND video_id IN (SELECT unnest($ids)) ORDER BY embedded_at",
            {"model": model_id, "ids": list(dict.fromkeys(ids))}).fetchall()
        return {r[0]: StoredEmbedding(r[0], r[1], r[2], np.asarray(r[3], dtype=np.float32), r[4], r[5])
                for r in rows if wanted is None or wanted[r[0]] == r[2]}

    def put_embeddings(self, rows: Iterable[StoredEmbedding]) -> int:
        rows = list({(r.video_id, r.model_id, r.text_hash): r for r in rows}.values())  # the last wins, as in BQ
        if not rows:
            return 0
        vectors = [np.asarray(r.vector, dtype=np.float32).reshape(-1) for r in rows]
        check_dimensions(rows, vectors)
        table = pa.table({
            "video_id": [r.video_id for r in rows],
            "model_id": [r.model_id for r in rows],
            "text_hash": [r.text_hash for r in rows],
            "vector": pa.array(vectors, type=pa.list_(pa.float32())),
            "source_updated_at": pa.array([_utc(r.source_updated_at) for r in rows], type=pa.timestamp("us", "UTC")),
            "embedded_at": pa.array([_utc(r.embedded_at) for r in rows], type=pa.timestamp("us", "UTC")),
        })
        self._insert("video_embeddings", table)
        return len(rows)

    def iter_embedding_keys(self, before: datetime, batch_size: int = 10_000) -> Iterator[list[EmbeddingKey]]:
        cur = self.con.cursor()
        try:
            cur.execute("SELECT video_id, model_id, text_hash FROM video_embeddings WHERE embedded_at < $before",
                        {"before": before})
            while rows := cur.fetchmany(batch_size):
                yield [EmbeddingKey(*r) for r in rows]
        finally:
            cur.close()

    def delete_embeddings(self, keys: Iterable[EmbeddingKey]) -> int:
        keys = list(keys)
        if keys:
            table = pa.table({name: [getattr(k, name) for k in keys] for name in EMBEDDINGS_KEY})
            cur = self.con.cursor()
            try:
                cur.register("doomed", table)
                cur.execute("DELETE FROM video_embeddings e USING doomed d WHERE e.video_id = d.video_id "
                            "AND e.model_id = d.model_id AND e.text_hash = d.text_hash")
            finally:
                cur.close()
        return len(keys)

    # -- warehouse: promotions (the alias history; rollback reads it) ----------
    def record_promotion(self, p: Promotion) -> None:
        self.con.execute("INSERT OR REPLACE INTO promotions "
                         "VALUES ($alias, $collection, $previous, $at, $actor, $forced)",
                         {"alias": p.alias, "collection": p.collection, "previous": p.previous,
                          "at": p.promoted_at, "actor": p.actor, "forced": list(p.forced)})

    def promotions(self, alias: str | None = None, limit: int = 100) -> list[Promotion]:
        """Newest first; all aliases when alias is None."""
        rows = self.con.execute(
            "SELECT alias, collection, previous, promoted_at, actor, forced FROM promotions "
            "WHERE $alias IS NULL OR alias = $alias ORDER BY promoted_at DESC LIMIT $limit",
            {"alias": alias, "limit": limit}).fetchall()
        return [Promotion(r[0], r[1], r[2], r[3], r[4], tuple(r[5])) for r in rows]

    # -- warehouse: approvals (who said yes or no to a promotion, and why) ----
    def record_approval(self, a: Approval) -> None:
        self.con.execute(f"INSERT OR REPLACE INTO approvals ({_APPROVAL_COLUMNS}) "
                         "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                         [a.run_id, a.alias, a.collection, a.approved, a.decided_at, a.responded_by,
                          a.reason, a.timed_out])

    def approvals(self, alias: str | None = None, limit: int = 50) -> list[Approval]:
        rows = self.con.execute(f"SELECT {_APPROVAL_COLUMNS} FROM approvals WHERE $alias IS NULL OR "
                                "alias = $alias ORDER BY decided_at DESC, run_id LIMIT $limit",
                                {"alias": alias, "limit": limit}).fetchall()
        return [Approval(*r) for r in rows]

    # -- warehouse: recall_audits (and what the audit reads) -----------------
    def iter_embeddings(self, model_id: str, batch_size: int = 4096,
                        statuses: tuple[str, ...] = ("public",)
                        ) -> Iterator[tuple[list[str], list[str], np.ndarray, list[str]]]:
        cur = self.con.cursor()  # a partly read result blocks its connection
        try:
            # No ORDER BY: sorting a million vectors would hold them all (the protocol promises no order).
            reader = cur.sql(
                "SELECT e.video_id, v.language, e.vector, e.text_hash FROM video_embeddings e JOIN videos v "
                "USING (video_id) "
                "WHERE e.model_id = $model AND list_contains($statuses, v.status)",
                params={"model": model_id, "statuses": list(statuses)}).to_arrow_reader(batch_size)
            for batch in reader:
                yield (batch.column("video_id").to_pylist(), batch.column("language").to_pylist(),
                       _matrix(batch.column("vector")), batch.column("text_hash").to_pylist())
        finally:
            cur.close()

    def embedded_language_counts(self, model_id: str) -> dict[str, int]:
        rows = self.con.execute(
            "SELECT v.language, count(DISTINCT video_id) FROM video_embeddings e JOIN videos v USING (video_id) "
            "WHERE e.model_id = $model AND v.status = 'public' GROUP BY 1", {"model": model_id}).fetchall()
        return dict(rows)

    def sample_ids(self, language: str, n: int, seed: int, model_id: str) -> list[str]:
        # Ordering by a seeded hash of the id is a uniform sample; with farmhash it
        # is the one BigQuery draws (FARM_FINGERPRINT(CONCAT(video_id, seed))).
        rows = self.con.execute(
            "SELECT e.video_id FROM video_embeddings e JOIN videos v USING (video_id) "
            "WHERE e.model_id = $model AND v.status = 'public' AND v.language = $lang GROUP BY e.video_id "
            "ORDER BY farm_fingerprint(e.video_id || $seed), e.video_id LIMIT $n",
            {"model": model_id, "lang": language, "seed": str(int(seed)), "n": max(int(n), 0)}).fetchall()
        return [r[0] for r in rows]

    def record_audit(self, rows: Iterable[AuditRow]) -> int:
        """Upsert by (audit_id, slice, filtered): a retried audit task converges."""
        rows = list(rows)
        for r in rows:
            self.con.execute(f"INSERT OR REPLACE INTO recall_audits ({_AUDIT_COLUMNS}) VALUES "
                             f"({', '.join(f'${i + 1}' for i in range(len(fields(AuditRow))))})",
                             list(astuple(r)))
        return len(rows)

    def audits(self, collection: str | None = None, limit: int = 50, *, kind: str | None = None,
               since: datetime | None = None) -> list[AuditSummary]:
        overall = "slice = 'overall' AND NOT filtered"
        rows = self.con.execute(
            "SELECT audit_id, any_value(collection), any_value(model_id), any_value(engine), "
            "bool_and(audit_passed), max(audited_at), "
            f"max(recall) FILTER (WHERE {overall}), "
            "max(recall) FILTER (WHERE slice = 'overall' AND filtered), max(coverage), max(staleness), "
            f"any_value(kind), any_value(target), max(served_p50_ms) FILTER (WHERE {overall}), "
            f"max(served_p99_ms) FILTER (WHERE {overall}), max(unindexed) "
            "FROM recall_audits WHERE ($c IS NULL OR collection = $c) AND ($kind IS NULL OR kind = $kind) "
            "AND ($since IS NULL OR audited_at >= $since) "
            "GROUP BY audit_id ORDER BY max(audited_at) DESC, audit_id DESC LIMIT $limit",
            {"c": collection, "limit": limit, "kind": kind, "since": since}).fetchall()
        return [AuditSummary(*r) for r in rows]

    def audit_rows(self, audit_id: str) -> list[AuditRow]:
        rows = self.con.execute(f"SELECT {_AUDIT_COLUMNS} FROM recall_audits WHERE audit_id = $id "
                                "ORDER BY filtered, slice", {"id": audit_id}).fetchall()
        return [AuditRow(*r) for r in rows]


def migrate_embeddings(con) -> None:
    """A file of the earlier shape (key (video_id, model_id), FLOAT[512] or FLOAT[]) to the current one.

    One transaction: the rows are copied into a table of the current shape
    (each keeps its text_hash, so it stays the vector of that text), then the
    tables are swapped. Nothing is lost; a failure leaves the old table as it was.
    """
    found = con.execute("SELECT constraint_column_names FROM duckdb_constraints() "
                        "WHERE table_name = 'video_embeddings' AND constraint_type = 'PRIMARY KEY'").fetchone()
    if found is None or tuple(found[0]) == EMBEDDINGS_KEY:
        return
    table = SCHEMA[SCHEMA.index("CREATE TABLE IF NOT EXISTS video_embeddings"):SCHEMA.index("CREATE TABLE IF NOT "
                                                                                      "EXISTS promotions")]
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(table.replace("IF NOT EXISTS video_embeddings", "video_embeddings_migrated"))
        con.execute(f"INSERT INTO video_embeddings_migrated SELECT {_EMBEDDING_COLUMNS} FROM video_embeddings")
        con.execute("DROP TABLE video_embeddings")
        con.execute("ALTER TABLE video_embeddings_migrated RENAME TO video_embeddings")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _matrix(vectors: pa.Array) -> np.ndarray:
    """An Arrow column of fixed-size float lists as an (n x dim) float32 matrix."""
    return vectors.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False).reshape(len(vectors), -1)


def _videos_with_embeddings(batch: pa.RecordBatch, model_id: str
                            ) -> tuple[list[Video], dict[tuple[str, str], StoredEmbedding]]:
    names = VIDEO_FIELDS
    columns = {name: batch.column(name).to_pylist() for name in names}
    videos = [_video(row) for row in zip(*(columns[n] for n in names), strict=True)]
    hashes, sources, embedded_ats = (batch.column(c).to_pylist() for c in ("hashes", "sources", "embedded_ats"))
    inner = batch.column("vectors").flatten()  # one vector per stored embedding, in row order
    if not len(inner):
        return videos, {}
    vectors = _matrix(inner)
    stored, at = {}, 0
    for i, video in enumerate(videos):
        for j, h in enumerate(hashes[i] or ()):
            stored[(video.video_id, h)] = StoredEmbedding(video.video_id, model_id, h, vectors[at], sources[i][j],
                                                          embedded_ats[i][j])
            at += 1
    return videos, stored


def _farm_fingerprint(ids: pa.Array) -> pa.Array:
    return pa.array([None if i is None else fingerprint(i) for i in ids.to_pylist()], type=pa.int64())
