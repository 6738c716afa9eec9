"""Parts: the vectors an encode task made, as a Parquet file, until one step ingests them.

DuckDB admits one writing process, so parallel encode tasks never write the
warehouse: each writes one part per shard, then a single ingest step (holding
the warehouse) reads them back into `video_embeddings` through
`Catalog.put_embeddings`. A part lives on any fsspec filesystem: a local
directory under VIDVEC_HOME by default, a bucket in production (Airflow's
ObjectStoragePath hands its filesystem in; this module never imports airflow).

A part's name is fixed by (collection, shard), so a rerun of an encode task
replaces its part instead of adding one; it is written under a temporary name
and moved into place, so a reader never sees half a part. Rows are written a
batch at a time (one row group each): memory stays flat with the shard's size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vidvec.catalog.base import StoredEmbedding

SCHEMA = pa.schema([
    ("video_id", pa.string()), ("model_id", pa.string()), ("text_hash", pa.string()),
    ("vector", pa.list_(pa.float32())),  # the model's own dimension
    ("source_updated_at", pa.timestamp("us", "UTC")), ("embedded_at", pa.timestamp("us", "UTC")),
])


@dataclass(frozen=True)
class PartsRoot:
    """Where a deployment's parts go: an fsspec filesystem and a root path on it."""

    fs: Any  # fsspec.AbstractFileSystem
    root: str

    @classmethod
    def at(cls, url: str) -> PartsRoot:
        """A local path or a URL fsspec knows (file://, gs://, s3://, memory://)."""
        import fsspec

        fs, root = fsspec.core.url_to_fs(url)
        return cls(fs, root)

    def path(self, collection: str, shard: int, n_shards: int) -> str:
        return f"{self.root.rstrip('/')}/{collection}/shard-{shard:04d}-of-{n_shards:04d}.parquet"


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


def _batch(rows: list[StoredEmbedding]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([
        pa.array([r.video_id for r in rows]), pa.array([r.model_id for r in rows]),
        pa.array([r.text_hash for r in rows]),
        pa.array([np.asarray(r.vector, dtype=np.float32) for r in rows], type=pa.list_(pa.float32())),
        pa.array([_utc(r.source_updated_at) for r in rows], type=pa.timestamp("us", "UTC")),
        pa.array([_utc(r.embedded_at) for r in rows], type=pa.timestamp("us", "UTC")),
    ], schema=SCHEMA)


def write_part(where: PartsRoot, path: str, batches: Iterable[list[StoredEmbedding]]) -> int:
    """Write batches of rows as one part at `path` (replacing any); the rows written."""
    fs, tmp, rows = where.fs, f"{path}.tmp", 0
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    with fs.open(tmp, "wb") as f, pq.ParquetWriter(f, SCHEMA) as writer:
        for batch in batches:
            if batch:
                writer.write_batch(_batch(batch))
                rows += len(batch)
    fs.mv(tmp, path)
    return rows


def read_part(where: PartsRoot, path: str, batch_size: int = 4096) -> Iterator[list[StoredEmbedding]]:
    """A part's rows, a batch at a time."""
    with where.fs.open(path, "rb") as f:
        for batch in pq.ParquetFile(f).iter_batches(batch_size):
            cols = batch.to_pydict()
            yield [StoredEmbedding(v, m, h, np.asarray(x, dtype=np.float32), s, e) for v, m, h, x, s, e in zip(
                cols["video_id"], cols["model_id"], cols["text_hash"], cols["vector"], cols["source_updated_at"],
                cols["embedded_at"], strict=True)]
