"""The store interface (base.py) and its engines; engine clients stay inside this package."""

from vidvec.store.base import SERVED_STATUS, Capabilities, CollectionSpec, IndexState, VectorStore, spec_from_metadata
from vidvec.store.factory import make_store, open_store, store_on_client

__all__ = ["SERVED_STATUS", "Capabilities", "CollectionSpec", "IndexState", "VectorStore", "make_store", "open_store",
           "spec_from_metadata", "store_on_client"]
