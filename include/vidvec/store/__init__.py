"""Everything that talks to Qdrant. qdrant-client's models stay inside this package."""

from vidvec.store.client import open_store
from vidvec.store.qdrant import CollectionSpec, VectorStore

__all__ = ["CollectionSpec", "VectorStore", "open_store"]
