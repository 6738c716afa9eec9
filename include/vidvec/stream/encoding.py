"""How the sidecar encodes a batch: on the cores it is given, in order (stream/fanout.py: a call per model, budget).

VIDVEC_SIDECAR_ENCODE_CORES (default 0: every core this process may run on)
worker processes encode each batch's texts (embed/parallel.py), for each
family's embedder the sidecar loads (stream/families.py); the vectors
come back in the texts' order, and the sidecar still acks a batch only after
its writes returned. An embedder handed to `run_sidecar` (tests, benchmarks)
is used as it is: its caller picked its cores.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from vidvec.embed.base import Embedder
from vidvec.embed.parallel import machine_cores, on_cores


def sidecar_encoder(embedder: Embedder, cores: int) -> AbstractContextManager[Embedder]:
    """The sidecar's encoder on `cores` cores (0: the machine's); its workers stop when the sidecar does."""
    return on_cores(embedder, cores or machine_cores())
