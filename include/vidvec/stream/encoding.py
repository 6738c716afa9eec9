"""How the sidecar encodes a batch: on the cores it is given, in order, one encoder call per token budget.

VIDVEC_SIDECAR_ENCODE_CORES (default 0: every core this process may run on)
worker processes encode each batch's texts (embed/parallel.py); the vectors
come back in the texts' order, and the sidecar still acks a batch only after
its writes returned. An embedder handed to `run_sidecar` (tests, benchmarks)
is used as it is: its caller picked its cores.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import numpy as np

from vidvec.embed.base import Embedder
from vidvec.embed.parallel import machine_cores, on_cores


def sidecar_encoder(embedder: Embedder, cores: int) -> AbstractContextManager[Embedder]:
    """The sidecar's encoder on `cores` cores (0: the machine's); its workers stop when the sidecar does."""
    return on_cores(embedder, cores or machine_cores())


def encode_texts(embedder: Embedder, texts: dict[str, tuple[str, int | None]]) -> dict[str, np.ndarray]:
    """text hash -> vector, for texts: text hash -> (text, the recipe's token budget)."""
    vectors: dict[str, np.ndarray] = {}
    for budget in {b for _, b in texts.values()}:
        keys = [h for h, (_, b) in texts.items() if b == budget]
        vectors.update(zip(keys, embedder.encode([texts[h][0] for h in keys], max_tokens=budget), strict=True))
    return vectors
