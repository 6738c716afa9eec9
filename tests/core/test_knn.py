import numpy as np
import pytest

from vidvec.core.knn import RunningTopK
from vidvec.errors import VidvecError


@pytest.mark.parametrize("chunk", [1, 7, 500, 10_000])
def test_chunked_top_k_equals_a_full_sort(chunk):
    rng = np.random.default_rng(chunk)
    vectors = rng.standard_normal((3001, 24)).astype(np.float32)
    queries = rng.standard_normal((41, 24)).astype(np.float32)
    topk = RunningTopK(queries, 10)
    for start in range(0, len(vectors), chunk):
        topk.push(vectors[start:start + chunk])
    scores, ids = topk.result()
    full = queries @ vectors.T
    expected = np.argsort(-full, axis=1, kind="stable")[:, :10]
    np.testing.assert_array_equal(ids, expected)
    np.testing.assert_allclose(scores, np.take_along_axis(full, expected, axis=1), rtol=1e-5)


def test_custom_ids_and_fewer_vectors_than_k():
    queries = np.eye(3, dtype=np.float32)
    topk = RunningTopK(queries, 5)
    topk.push(np.eye(3, dtype=np.float32)[:2] * 2, ids=np.array([70, 80]))
    scores, ids = topk.result()
    assert ids[0, 0] == 70 and ids[1, 0] == 80 and scores[0, 0] == 2.0
    assert (ids[:, 2:] == -1).all() and np.isinf(scores[:, 2:]).all()
    with pytest.raises(VidvecError):
        RunningTopK(queries, 0)
