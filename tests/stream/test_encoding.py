"""The sidecar on several encoder cores: each video gets its own text's vector, every event acked after writes."""

from __future__ import annotations

import numpy as np

from tests.stream.conftest import drain, event, make_target
from vidvec.embed.parallel import ParallelEncoder
from vidvec.store import open_store

WORDS = ["Alpine skiing for beginners", "Recette de pain maison", "猫と遊ぶ方法", "Fútbol: los goles"]
TITLES = [f"{i} {WORDS[i % 4]}" + " part" * (i % 5) for i in range(40)]


def test_a_burst_is_encoded_on_two_worker_processes_in_order(settings, embedder, publish):
    with open_store(settings) as store:
        make_target(store, "live1", embedder)
    publish([event(f"v{i}", "upsert", i, t) for i, t in enumerate(TITLES)])
    running = drain(settings, None, encode_cores=2, max_batch_events=16)  # the runner builds its own encoder
    (made,) = running.sidecar.embedders.loaded.values()  # the target's family, made by the registry
    assert isinstance(made, ParallelEncoder) and made.cores == 2
    assert made.texts_encoded == len(TITLES)
    assert running.count("applied") == len(TITLES)
    with open_store(settings) as store:
        got = store.get_points("live1", [f"v{i}" for i in range(len(TITLES))], with_vectors=True)
    want = embedder.encode(TITLES, max_tokens=None)
    cos = [float(np.dot(got[f"v{i}"]["vector"], want[i])) for i in range(len(TITLES))]
    assert min(cos) > 0.999  # each video its own text's vector: the order survived the workers
