"""The production catalog and warehouse: BigQuery (google-cloud-bigquery).

The same Catalog protocol as DuckDB, with the same shard assignment
(MOD(ABS(FARM_FINGERPRINT(video_id)), n)). Parameterized queries only; table
names are built from validated ids. Upserts are MERGEs (a retry converges).
A shard scan reads the table as it was at T0 (FOR SYSTEM_TIME AS OF) when T0
lies inside the time-travel window and after the table was created; it always
filters updated_at <= T0 too, so both paths agree on which rows exist.
Embeddings are read back through the Storage Read API when a read client is
given (result sets too small for it fall back to the REST pages).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
from google.cloud import bigquery as bq

from vidvec.catalog.base import (
    Approval,
    AuditRow,
    AuditSummary,
    EmbeddingKey,
    Promotion,
    StoredEmbedding,
    check_dimensions,
    check_shard,
)
from vidvec.catalog.bigquery_schema import APPROVALS, RECALL_AUDITS, TABLES, array, merge_batches, merge_sql, scalar
from vidvec.core.limits import MERGE_ROWS
from vidvec.core.types import VIDEO_FIELDS, Video
from vidvec.errors import VidvecError

if TYPE_CHECKING:
    from vidvec.config import Settings

_PROJECT = re.compile(r"[a-z][a-z0-9.:-]{2,62}")
_VIDEO_COLUMNS = ", ".join(VIDEO_FIELDS)
_AUDIT_COLUMNS = ", ".join(f.name for f in RECALL_AUDITS)
_APPROVAL_COLUMNS = [f.name for f in APPROVALS]
_EMPTY_IS_NULL = ("description", "language", "owner_id", "category")  # NULL in BigQuery reads as ""


def _video(row) -> Video:
    values = {name: row[name] for name in VIDEO_FIELDS}
    values |= {name: values[name] or "" for name in _EMPTY_IS_NULL}
    return Video(**values | {"tags": tuple(values["tags"] or ())})


def _video_row(v: Video) -> dict:
    return {name: getattr(v, name) for name in VIDEO_FIELDS}


class BigQueryCatalog:
    def __init__(self, client: bq.Client, dataset: str, *, project: str | None = None,
                 read_client=None, time_travel_days: int = 7):
        self.client = client
        self.project = project or client.project
        if not _PROJECT.fullmatch(self.project or "") or not re.fullmatch(r"\w{1,1024}", dataset):
            raise VidvecError(f"invalid BigQuery project/dataset: {self.project!r}/{dataset!r}")
        self.dataset = dataset
        self.read_client = read_client  # bigquery_storage.BigQueryReadClient, optional
        self.time_travel = timedelta(days=time_travel_days)

    def table(self, name: str) -> str:
        return f"{self.project}.{self.dataset}.{name}"

    def close(self) -> None:
        self.client.close()
        if self.read_client is not None:
            self.read_client.transport.close()

    def __enter__(self) -> BigQueryCatalog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def create_schema(self, location: str = "US") -> list[str]:
        """Create the dataset and vidvec's tables if missing (the compose init service runs this)."""
        dataset = bq.Dataset(f"{self.project}.{self.dataset}")
        dataset.location = location
        self.client.create_dataset(dataset, exists_ok=True)
        for name, (schema, _, clustering) in TABLES.items():
            table = bq.Table(self.table(name), schema=list(schema))
            table.clustering_fields = clustering
            self.client.create_table(table, exists_ok=True)
        return [self.table(name) for name in TABLES]

    # -- queries -------------------------------------------------------------
    def _query(self, sql: str, params: Sequence = ()) -> bq.table.RowIterator:
        job = self.client.query(sql, job_config=bq.QueryJobConfig(query_parameters=list(params)))
        return job.result()

    def _merge(self, name: str, rows: list[dict]) -> int:
        """MERGE rows into a table, in statements bounded by rows and bytes; the last row wins for a repeated key."""
        schema, key, _ = TABLES[name]
        unique = list({tuple(r[k] for k in key): r for r in rows}.values())
        sql = merge_sql(self.table(name), schema, key)
        for batch in merge_batches("rows", schema, unique):
            self._query(sql, [batch])
        return len(rows)

    def _as_of_clause(self, name: str, as_of: datetime | None) -> str:
        """FOR SYSTEM_TIME AS OF @as_of where BigQuery can answer it, else ''."""
        if as_of is None or not self.time_travel:
            return ""
        now = datetime.now(timezone.utc)
        if not now - self.time_travel < as_of <= now:
            return ""  # outside the time-travel window: the updated_at filter alone
        created = self.client.get_table(self.table(name)).created
        return " FOR SYSTEM_TIME AS OF @as_of" if created and as_of >= created else ""

    # -- catalog ---------------------------------------------------------------
    def upsert_videos(self, videos: Iterable[Video]) -> int:
        return self._merge("videos", [_video_row(v) for v in videos])

    def get_videos(self, video_ids: Iterable[str]) -> dict[str, Video]:
        ids = list(dict.fromkeys(video_ids))
        if not ids:
            return {}
        rows = self._query(f"SELECT {_VIDEO_COLUMNS} FROM `{self.table('videos')}` "
                           "WHERE video_id IN UNNEST(@ids)", [array("ids", ids)])
        return {row["video_id"]: _video(row) for row in rows}

    def scan_shard(self, shard: int, n_shards: int, *, as_of: datetime,
                   statuses: tuple[str, ...] = ("public",),
                   batch_size: int = 256) -> Iterator[list[Video]]:
        """One shard as of T0, one page (batch_size rows) fetched at a time."""
        source, params = self._shard_rows(shard, n_shards, as_of, statuses)
        # No ORDER BY: a sort would run on one worker and hold the whole shard.
        sql = f"SELECT {_VIDEO_COLUMNS} {source}"
        job = self.client.query(sql, job_config=bq.QueryJobConfig(query_parameters=params))
        for page in job.result(page_size=batch_size).pages:
            yield [_video(row) for row in page]

    def scan_shard_with_embeddings(self, shard: int, n_shards: int, *, as_of: datetime, model_id: str,
                                   statuses: tuple[str, ...] = ("public",), batch_size: int = 256
                                   ) -> Iterator[tuple[list[Video], dict[tuple[str, str], StoredEmbedding]]]:
        """scan_shard's pages, each video with an array of the model's stored embeddings, in the same query."""
        source, params = self._shard_rows(shard, n_shards, as_of, statuses)
        sql = (f"SELECT v.*, ARRAY(SELECT AS STRUCT e.text_hash, e.vector, e.source_updated_at, e.embedded_at "
               f"FROM `{self.table('video_embeddings')}` e WHERE e.video_id = v.video_id "
               "AND e.model_id = @model) AS stored "
               f"FROM (SELECT {_VIDEO_COLUMNS} {source}) v")
        job = self.client.query(sql, job_config=bq.QueryJobConfig(
            query_parameters=[*params, scalar("model", model_id)]))
        for page in job.result(page_size=batch_size).pages:
            rows = list(page)
            yield [_video(row) for row in rows], {
                (r["video_id"], e["text_hash"]): StoredEmbedding(
                    r["video_id"], model_id, e["text_hash"], np.asarray(e["vector"], dtype=np.float32),
                    _aware(e["source_updated_at"]), _aware(e["embedded_at"]))
                for r in rows for e in r["stored"] or ()}

    def count_shard(self, shard: int, n_shards: int, *, as_of: datetime,
                    statuses: tuple[str, ...] = ("public",)) -> int:
        """How many rows scan_shard yields (progress lines need the total)."""
        source, params = self._shard_rows(shard, n_shards, as_of, statuses)
        return next(iter(self._query(f"SELECT COUNT(*) AS n {source}", params)))["n"]

    def _shard_rows(self, shard: int, n_shards: int, as_of: datetime,
                    statuses: tuple[str, ...]) -> tuple[str, list]:
        """FROM ... WHERE for one shard as of T0, and its parameters (scan and count share it)."""
        check_shard(shard, n_shards)
        source = (f"FROM `{self.table('videos')}`{self._as_of_clause('videos', as_of)} "
                  "WHERE MOD(ABS(FARM_FINGERPRINT(video_id)), @n) = @shard AND updated_at <= @as_of "
                  "AND status IN UNNEST(@statuses)")
        return source, [scalar("n", n_shards), scalar("shard", shard), scalar("as_of", as_of),
                        array("statuses", statuses)]

    def changes_since(self, t0: datetime, batch_size: int = 256) -> Iterator[list[Video]]:
        """Rows changed after t0, any status, oldest first (the rebuild's catch-up)."""
        if t0.tzinfo is None:
            raise VidvecError("changes_since needs a timezone-aware t0")
        sql = (f"SELECT {_VIDEO_COLUMNS} FROM `{self.table('videos')}` WHERE updated_at > @t0 "
               "ORDER BY updated_at, video_id")
        job = self.client.query(sql, job_config=bq.QueryJobConfig(query_parameters=[scalar("t0", t0)]))
        for page in job.result(page_size=batch_size).pages:
            yield [_video(row) for row in page]

    def count(self, *, as_of: datetime | None = None,
              statuses: tuple[str, ...] = ("public",)) -> int:
        params = [array("statuses", statuses)]
        where = "status IN UNNEST(@statuses)"
        if as_of is not None:
            params.append(scalar("as_of", as_of))
            where += " AND updated_at <= @as_of"
        sql = f"SELECT COUNT(*) AS n FROM `{self.table('videos')}`{self._as_of_clause('videos', as_of)} WHERE {where}"
        return next(iter(self._query(sql, params)))["n"]

    # -- warehouse: video_embeddings ---------------------------------------------
    def get_embeddings(self, video_ids: Iterable[str], model_id: str,
                       text_hashes: Iterable[str] | None = None) -> dict[str, StoredEmbedding]:
        ids = list(video_ids)
        if not ids:
            return {}
        wanted = None if text_hashes is None else dict(zip(ids, text_hashes, strict=True))
        rows = self._query(
            "SELECT video_id, model_id, text_hash, vector, source_updated_at, embedded_at "
            f"FROM `{self.table('video_embeddings')}` WHERE model_id = @model AND video_id IN UNNEST(@ids)",
            [scalar("model", model_id), array("ids", list(dict.fromkeys(ids)))])
        table = rows.to_arrow(bqstorage_client=self.read_client, create_bqstorage_client=False)
        found = sorted(table.to_pylist(), key=lambda r: r["embedded_at"])  # the newest wins without hashes
        return {r["video_id"]: StoredEmbedding(r["video_id"], r["model_id"], r["text_hash"],
                                               np.asarray(r["vector"], dtype=np.float32),
                                               _aware(r["source_updated_at"]), _aware(r["embedded_at"]))
                for r in found if wanted is None or wanted[r["video_id"]] == r["text_hash"]}

    def put_embeddings(self, rows: Iterable[StoredEmbedding]) -> int:
        rows = list(rows)
        check_dimensions(rows, [np.asarray(r.vector).reshape(-1) for r in rows])
        return self._merge("video_embeddings", [
            {"video_id": r.video_id, "model_id": r.model_id, "text_hash": r.text_hash,
             "vector": np.asarray(r.vector, dtype=np.float32).tolist(),
             "source_updated_at": r.source_updated_at, "embedded_at": r.embedded_at} for r in rows])

    def iter_embedding_keys(self, before: datetime, batch_size: int = 10_000) -> Iterator[list[EmbeddingKey]]:
        job = self.client.query(
            f"SELECT video_id, model_id, text_hash FROM `{self.table('video_embeddings')}` "
            "WHERE embedded_at < @before", job_config=bq.QueryJobConfig(query_parameters=[scalar("before", before)]))
        for page in job.result(page_size=batch_size).pages:
            yield [EmbeddingKey(r["video_id"], r["model_id"], r["text_hash"]) for r in page]

    def delete_embeddings(self, keys: Iterable[EmbeddingKey]) -> int:
        """One DELETE per MERGE_ROWS keys, the keys as typed parameters."""
        keys = list(keys)
        for start in range(0, len(keys), MERGE_ROWS):
            part = keys[start:start + MERGE_ROWS]
            self._query(f"DELETE FROM `{self.table('video_embeddings')}` "
                        "WHERE CONCAT(video_id, '\\n', model_id, '\\n', text_hash) IN UNNEST(@keys)",
                        [array("keys", [f"{k.video_id}\n{k.model_id}\n{k.text_hash}" for k in part])])
        return len(keys)

    # -- warehouse: promotions -----------------------------------------------------
    def record_promotion(self, p: Promotion) -> None:
        self._merge("promotions", [{"alias": p.alias, "collection": p.collection, "previous": p.previous,
                                    "promoted_at": p.promoted_at, "actor": p.actor, "forced": p.forced}])

    def promotions(self, alias: str | None = None, limit: int = 100) -> list[Promotion]:
        """Newest first; all aliases when alias is None."""
        rows = self._query(
            f"SELECT alias, collection, previous, promoted_at, actor, forced FROM `{self.table('promotions')}` "
            "WHERE @alias IS NULL OR alias = @alias ORDER BY promoted_at DESC LIMIT @limit",
            [scalar("alias", alias, "STRING"), scalar("limit", limit)])
        return [Promotion(r["alias"], r["collection"], r["previous"], r["promoted_at"], r["actor"],
                          tuple(r["forced"] or ())) for r in rows]

    # -- warehouse: approvals -------------------------------------------------------
    def record_approval(self, a: Approval) -> None:
        self._merge("approvals", [{c: getattr(a, c) for c in _APPROVAL_COLUMNS}])

    def approvals(self, alias: str | None = None, limit: int = 50) -> list[Approval]:
        rows = self._query(
            f"SELECT {', '.join(_APPROVAL_COLUMNS)} FROM `{self.table('approvals')}` "
            "WHERE @alias IS NULL OR alias = @alias ORDER BY decided_at DESC, run_id LIMIT @limit",
            [scalar("alias", alias, "STRING"), scalar("limit", limit)])
        return [Approval(**{c: r[c] for c in _APPROVAL_COLUMNS}) for r in rows]

    # -- warehouse: recall_audits (and what the audit reads) -----------------------
    def _embedded_public(self, select: str, where: str = "") -> str:
        """SELECT over a model's embeddings joined to their videos (language NULL reads as '', as in DuckDB)."""
        return (f"SELECT {select} FROM `{self.table('video_embeddings')}` e "
                f"JOIN `{self.table('videos')}` v USING (video_id) WHERE e.model_id = @model {where}")

    def iter_embeddings(self, model_id: str, batch_size: int = 4096,
                        statuses: tuple[str, ...] = ("public",)
                        ) -> Iterator[tuple[list[str], list[str], np.ndarray, list[str]]]:
        """Stream in batch_size chunks (Storage Read API when given, else REST pages).

        No ORDER BY, unlike DuckDB: sorting the whole embeddings table would run on
        one BigQuery worker and pin the read to one stream; the audit's recall is
        score-based, so the order of candidates does not change any result.
        """
        if batch_size < 1:
            raise VidvecError(f"batch_size must be >= 1, got {batch_size}")
        sql = self._embedded_public("e.video_id, IFNULL(v.language, '') AS language, e.vector, e.text_hash",
                                    "AND v.status IN UNNEST(@statuses)")
        rows = self._query(sql, [scalar("model", model_id), array("statuses", statuses)])
        batches = rows.to_arrow_iterable(bqstorage_client=self.read_client, max_queue_size=2)
        for chunk in _rechunk(batches, batch_size):
            vectors = chunk.column("vector").combine_chunks()
            yield (chunk.column("video_id").to_pylist(), chunk.column("language").to_pylist(),
                   vectors.flatten().to_numpy().astype(np.float32).reshape(len(vectors), -1),
                   chunk.column("text_hash").to_pylist())

    def embedded_language_counts(self, model_id: str) -> dict[str, int]:
        sql = self._embedded_public("IFNULL(v.language, '') AS language, COUNT(DISTINCT e.video_id) AS n",
                                    "AND v.status = 'public' GROUP BY language")
        return {r["language"]: r["n"] for r in self._query(sql, [scalar("model", model_id)])}

    def sample_ids(self, language: str, n: int, seed: int, model_id: str) -> list[str]:
        """The same ids as DuckDB for the same seed: both order by FARM_FINGERPRINT(video_id || seed)."""
        sql = self._embedded_public(
            "e.video_id", "AND v.status = 'public' AND IFNULL(v.language, '') = @lang GROUP BY e.video_id "
            "ORDER BY FARM_FINGERPRINT(CONCAT(e.video_id, @seed)), e.video_id LIMIT @n")
        rows = self._query(sql, [scalar("model", model_id), scalar("lang", language),
                                 scalar("seed", str(int(seed))), scalar("n", max(int(n), 0))])
        return [r["video_id"] for r in rows]

    def record_audit(self, rows: Iterable[AuditRow]) -> int:
        """MERGE on (audit_id, slice, filtered): a retried audit task converges."""
        return self._merge("recall_audits", [dict(zip(_AUDIT_COLUMNS.split(", "), _audit_values(r), strict=True))
                                             for r in rows])

    def audits(self, collection: str | None = None, limit: int = 50, *, kind: str | None = None,
               since: datetime | None = None) -> list[AuditSummary]:
        """Newest first, one summary per audit."""
        overall = "slice = 'overall' AND NOT filtered"
        rows = self._query(
            "SELECT audit_id, ANY_VALUE(collection) AS collection, ANY_VALUE(model_id) AS model_id, "
            "ANY_VALUE(engine) AS engine, LOGICAL_AND(audit_passed) AS passed, MAX(audited_at) AS audited_at, "
            f"MAX(IF({overall}, recall, NULL)) AS recall, "
            "MAX(IF(slice = 'overall' AND filtered, recall, NULL)) AS filtered_recall, "
            "MAX(coverage) AS coverage, MAX(staleness) AS staleness, "
            "IFNULL(ANY_VALUE(kind), 'audit') AS kind, ANY_VALUE(target) AS target, "
            f"MAX(IF({overall}, served_p50_ms, NULL)) AS served_p50_ms, "
            f"MAX(IF({overall}, served_p99_ms, NULL)) AS served_p99_ms, MAX(unindexed) AS unindexed "
            f"FROM `{self.table('recall_audits')}` WHERE (@c IS NULL OR collection = @c) "
            "AND (@kind IS NULL OR IFNULL(kind, 'audit') = @kind) AND (@since IS NULL OR audited_at >= @since) "
            "GROUP BY audit_id ORDER BY audited_at DESC, audit_id DESC LIMIT @limit",
            [scalar("c", collection, "STRING"), scalar("kind", kind, "STRING"),
             scalar("since", since, "TIMESTAMP"), scalar("limit", int(limit))])
        return [AuditSummary(**{k: r[k] for k in r.keys()}) for r in rows]

    def audit_rows(self, audit_id: str) -> list[AuditRow]:
        rows = self._query(f"SELECT {_AUDIT_COLUMNS} FROM `{self.table('recall_audits')}` "
                           "WHERE audit_id = @id ORDER BY filtered, slice", [scalar("id", audit_id)])
        return [AuditRow(**({k: r[k] for k in r.keys()} | {"kind": r["kind"] or "audit"})) for r in rows]


def _audit_values(r: AuditRow) -> tuple:
    return tuple(getattr(r, f.name) for f in RECALL_AUDITS)


def _rechunk(batches: Iterable[pa.RecordBatch], size: int) -> Iterator[pa.Table]:
    """Tables of exactly `size` rows (the last one shorter) from record batches of any size."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        pending.append(batch)
        held += batch.num_rows
        while held >= size:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, size)
            rest = table.slice(size)
            pending, held = rest.to_batches(), rest.num_rows
    if held:
        yield pa.Table.from_batches(pending)


def _aware(ts: datetime) -> datetime:
    """Arrow gives a ZoneInfo('UTC') datetime; use the timezone.utc the rest of vidvec uses."""
    return ts.astimezone(timezone.utc)


def make_clients(settings: Settings, credentials=None):
    """(bigquery.Client, BigQueryReadClient or None) for the settings.

    An endpoint override (an emulator) gets anonymous credentials unless some
    are given (the Airflow plugin passes BigQueryHook's).
    """
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials

    if settings.bigquery_endpoint and credentials is None:
        credentials = AnonymousCredentials()
    options = ClientOptions(api_endpoint=settings.bigquery_endpoint) if settings.bigquery_endpoint else None
    project = settings.bigquery_project or ("local" if settings.bigquery_endpoint else None)
    client = bq.Client(project=project, credentials=credentials, location=settings.bigquery_location,
                       client_options=options)
    return client, make_read_client(settings, credentials)


def make_read_client(settings: Settings, credentials=None):
    """The Storage Read API client: an insecure channel to an emulator, or Google's."""
    from google.cloud import bigquery_storage

    if settings.bigquery_storage_endpoint:
        import grpc
        from google.cloud.bigquery_storage_v1.services.big_query_read.transports import BigQueryReadGrpcTransport

        channel = grpc.insecure_channel(settings.bigquery_storage_endpoint)
        return bigquery_storage.BigQueryReadClient(transport=BigQueryReadGrpcTransport(channel=channel))
    if settings.bigquery_endpoint:
        return None  # an emulator without a gRPC port: REST pages only
    return bigquery_storage.BigQueryReadClient(credentials=credentials)


def open_bigquery(settings: Settings, credentials=None) -> BigQueryCatalog:
    client, read_client = make_clients(settings, credentials)
    return BigQueryCatalog(client, settings.bigquery_dataset, read_client=read_client,
                           time_travel_days=settings.bigquery_time_travel_days)

