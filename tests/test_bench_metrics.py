"""Precision@k and top-1 maths of bench/metrics.py on tiny hand-made examples."""

import numpy as np
from bench.metrics import category_precision, top1_accuracy, top_k_other_owner


def _unit(rows):
    v = np.asarray(rows, dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_neighbours_skip_the_query_and_its_channel():
    # 0 and 1 share a channel and are identical; 2 is close to 0, 3 far away.
    vectors = _unit([[1, 0], [1, 0], [0.9, 0.1], [0, 1]])
    owners = ["a", "a", "b", "c"]
    nb = top_k_other_owner(vectors, owners, k=2)
    assert nb[0].tolist() == [2, 3]  # not 0 itself, not 1 (same channel)
    assert nb[3].tolist() == [2, 0]


def test_category_precision_counts_shared_categories():
    neighbours = np.array([[1, 2], [0, 2], [0, 1]])
    cats = ["music", "music", "sports"]
    # query 0: 1 of 2 share, query 1: 1 of 2, query 2: 0 of 2
    assert category_precision(neighbours, cats) == (0.5 + 0.5 + 0) / 3


def test_top1_accuracy_on_parallel_rows():
    src = _unit([[1, 0], [0, 1], [1, 1]])
    assert top1_accuracy(src, src) == 1.0
    assert top1_accuracy(src, src[[1, 0, 2]]) == 1 / 3
