"""Where video metadata comes from, and the warehouse tables vidvec writes."""

from vidvec.catalog.base import Catalog, Promotion, StoredEmbedding, shard_of

__all__ = ["Catalog", "Promotion", "StoredEmbedding", "shard_of"]
