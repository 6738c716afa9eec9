"""BigQuery table schemas and query parameters for vidvec's catalog and warehouse.

Every value reaches BigQuery as a typed query parameter, never as SQL text;
rows for a MERGE travel as one ARRAY<STRUCT<...>> parameter, in statements
bounded by rows and by the bytes of the request (BigQuery takes 10 MB).
A STRING travels as its UTF-8 BYTES (base64 in the JSON request, 4/3 of its
UTF-8 size in every script) and becomes a STRING again in the MERGE: sent as
a JSON string, a Cyrillic or Japanese transcript would cost up to 6 bytes a
character and a valid 5 MiB one would not fit a request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone

from google.cloud import bigquery as bq

from vidvec.core.limits import MERGE_BYTES, MERGE_ROWS
from vidvec.errors import VidvecError

_F = bq.SchemaField

VIDEOS = (
    _F("video_id", "STRING", mode="REQUIRED"),
    _F("title", "STRING", mode="REQUIRED"),
    _F("description", "STRING"),
    _F("tags", "STRING", mode="REPEATED"),
    _F("transcript", "STRING"),
    _F("language", "STRING"),
    _F("owner_id", "STRING"),
    _F("category", "STRING"),
    _F("status", "STRING", mode="REQUIRED"),
    _F("published_at", "TIMESTAMP"),
    _F("updated_at", "TIMESTAMP", mode="REQUIRED"),
)
VIDEO_EMBEDDINGS = (
    _F("video_id", "STRING", mode="REQUIRED"),
    _F("model_id", "STRING", mode="REQUIRED"),
    _F("text_hash", "STRING", mode="REQUIRED"),
    _F("vector", "FLOAT64", mode="REPEATED"),  # the model's own dimension
    _F("source_updated_at", "TIMESTAMP", mode="REQUIRED"),
    _F("embedded_at", "TIMESTAMP", mode="REQUIRED"),
)
PROMOTIONS = (
    _F("alias", "STRING", mode="REQUIRED"),
    _F("collection", "STRING", mode="REQUIRED"),
    _F("previous", "STRING"),  # the rollback target
    _F("promoted_at", "TIMESTAMP", mode="REQUIRED"),
    _F("actor", "STRING", mode="REQUIRED"),
    _F("forced", "STRING", mode="REPEATED"),
)
APPROVALS = (  # who answered a promotion's approval request, and why
    _F("run_id", "STRING", mode="REQUIRED"),
    _F("alias", "STRING", mode="REQUIRED"),
    _F("collection", "STRING", mode="REQUIRED"),
    _F("approved", "BOOL", mode="REQUIRED"),
    _F("decided_at", "TIMESTAMP", mode="REQUIRED"),
    _F("responded_by", "STRING"),  # NULL: timed out, the default (reject) applied
    _F("reason", "STRING", mode="REQUIRED"),
    _F("timed_out", "BOOL", mode="REQUIRED"),
)
RECALL_AUDITS = (  # one row per audit, slice and filtered (DuckDB: recall_audits)
    _F("audit_id", "STRING", mode="REQUIRED"),
    _F("collection", "STRING", mode="REQUIRED"),
    _F("model_id", "STRING", mode="REQUIRED"),
    _F("engine", "STRING", mode="REQUIRED"),  # which engine answered the served queries
    _F("k", "INT64", mode="REQUIRED"),
    _F("sample_size", "INT64", mode="REQUIRED"),
    _F("slice", "STRING", mode="REQUIRED"),  # overall | language=xx
    _F("filtered", "BOOL", mode="REQUIRED"),
    _F("queries", "INT64", mode="REQUIRED"),
    _F("recall", "FLOAT64"),
    _F("coverage", "FLOAT64"),  # NULL: a canary (no payload scan)
    _F("staleness", "FLOAT64"),
    _F("mismatch", "FLOAT64"),
    _F("passed", "BOOL", mode="REQUIRED"),
    _F("audit_passed", "BOOL", mode="REQUIRED"),
    _F("audited_at", "TIMESTAMP", mode="REQUIRED"),
    _F("seed", "INT64", mode="REQUIRED"),
    _F("kind", "STRING"),  # audit | canary (NULL in rows written before it: audit)
    _F("target", "STRING"),  # the alias or collection audited
    _F("foreign_share", "FLOAT64"),
    _F("served_p50_ms", "FLOAT64"),
    _F("served_p99_ms", "FLOAT64"),
    _F("unindexed", "FLOAT64"),
)
# table -> (schema, MERGE key, clustering). Other warehouse tables join here.
TABLES: dict[str, tuple[tuple[bq.SchemaField, ...], tuple[str, ...], list[str]]] = {
    "videos": (VIDEOS, ("video_id",), ["video_id"]),
    # one row per (video, model, text): two recipes or two models never overwrite each other
    "video_embeddings": (VIDEO_EMBEDDINGS, ("video_id", "model_id", "text_hash"), ["model_id", "video_id"]),
    "promotions": (PROMOTIONS, ("alias", "promoted_at"), ["alias"]),
    "approvals": (APPROVALS, ("run_id",), ["alias"]),
    "recall_audits": (RECALL_AUDITS, ("audit_id", "slice", "filtered"), ["collection", "audit_id"]),
}


def utc(ts: datetime | None) -> datetime | None:
    if ts is None or ts.tzinfo is not None:
        return ts
    return ts.replace(tzinfo=timezone.utc)


def scalar(name: str, value, type_: str | None = None) -> bq.ScalarQueryParameter:
    """A typed scalar parameter; the type is inferred unless given (needed for NULL)."""
    if type_ is None:
        type_ = {bool: "BOOL", int: "INT64", float: "FLOAT64", str: "STRING"}.get(type(value))
        if isinstance(value, datetime):
            type_, value = "TIMESTAMP", utc(value)
    if type_ is None:
        raise TypeError(f"no BigQuery type for parameter {name}={value!r}")
    return bq.ScalarQueryParameter(name, type_, value)


def array(name: str, values: Sequence, type_: str = "STRING") -> bq.ArrayQueryParameter:
    return bq.ArrayQueryParameter(name, type_, list(values))


def _as_bytes(field: bq.SchemaField) -> bool:
    return field.field_type == "STRING" and field.mode != "REPEATED"


def _field_type(field: bq.SchemaField):
    if field.mode == "REPEATED":
        return bq.ArrayQueryParameterType(field.field_type, name=field.name)
    return bq.ScalarQueryParameterType("BYTES" if _as_bytes(field) else field.field_type, name=field.name)


def _field_value(field: bq.SchemaField, value):
    if field.mode == "REPEATED":
        return bq.ArrayQueryParameter(field.name, field.field_type, [float(x) for x in value]
                                      if field.field_type == "FLOAT64" else list(value))
    if _as_bytes(field):
        return bq.ScalarQueryParameter(field.name, "BYTES", None if value is None else value.encode("utf-8"))
    if field.field_type == "TIMESTAMP":
        value = utc(value)
    return bq.ScalarQueryParameter(field.name, field.field_type, value)


def _request_bytes(struct: bq.StructQueryParameter) -> int:
    """What one row adds to the request: its JSON, as the client sends it."""
    return len(json.dumps(struct.to_api_repr()["parameterValue"])) + 2


def merge_batches(name: str, schema: Sequence[bq.SchemaField],
                  rows: Sequence[dict]) -> Iterator[bq.ArrayQueryParameter]:
    """ARRAY<STRUCT<schema>> parameters holding rows (dicts keyed by column name), each one MERGE's:
    at most MERGE_ROWS rows and MERGE_BYTES of encoded rows, so a request stays under BigQuery's 10 MB."""
    struct_type = bq.StructQueryParameterType(*(_field_type(f) for f in schema))
    batch, held = [], 0
    for row in rows:
        struct = bq.StructQueryParameter(None, *(_field_value(f, row[f.name]) for f in schema))
        size = _request_bytes(struct)
        if size > MERGE_BYTES:  # core/limits.py keeps every valid video below this
            raise VidvecError(f"a row of {size:,} bytes cannot be sent to BigQuery (at most {MERGE_BYTES:,})")
        if batch and (len(batch) >= MERGE_ROWS or held + size > MERGE_BYTES):
            yield bq.ArrayQueryParameter(name, struct_type, batch)
            batch, held = [], 0
        batch.append(struct)
        held += size
    if batch:
        yield bq.ArrayQueryParameter(name, struct_type, batch)


def merge_sql(table: str, schema: Sequence[bq.SchemaField], key: Sequence[str]) -> str:
    """MERGE the rows of parameter @rows into table on key: retried, it converges."""
    cols = [f.name for f in schema]
    # The emulator (and BigQuery) accept struct fields selected by name; it does
    # not expand `SELECT * FROM UNNEST(@rows)` into columns. Strings arrive as
    # UTF-8 bytes (always valid: Python encoded them), which the emulator converts
    # with SAFE_CONVERT_BYTES_TO_STRING only (its CAST AS STRING gives escapes).
    source = ", ".join(f"SAFE_CONVERT_BYTES_TO_STRING(r.{f.name}) AS {f.name}" if _as_bytes(f) else f"r.{f.name}"
                       for f in schema)
    on = " AND ".join(f"T.{k} = S.{k}" for k in key)
    update = ", ".join(f"{c} = S.{c}" for c in cols if c not in key)
    return (f"MERGE `{table}` T USING (SELECT {source} FROM UNNEST(@rows) AS r) S ON {on} "
            f"WHEN MATCHED THEN UPDATE SET {update} "
            f"WHEN NOT MATCHED THEN INSERT ({', '.join(cols)}) VALUES ({', '.join('S.' + c for c in cols)})")
