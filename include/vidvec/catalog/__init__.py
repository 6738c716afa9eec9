"""Where video metadata comes from, and the warehouse tables vidvec writes."""

from vidvec.catalog.base import Catalog, StoredEmbedding, shard_of

__all__ = ["Catalog", "StoredEmbedding", "shard_of"]
