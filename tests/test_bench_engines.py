"""The engines benchmark's data and recall maths (bench/engine_data.py) on small examples."""

import numpy as np
from bench.engine_data import Dataset, recall_at_k, synthetic


def _data(tmp_path, rows, languages) -> Dataset:
    v = np.asarray(rows, dtype=np.float32)
    np.save(tmp_path / "v.npy", v / np.linalg.norm(v, axis=1, keepdims=True))
    payloads = [{"video_id": f"v{i}", "language": lang} for i, lang in enumerate(languages)]
    return Dataset(tmp_path / "v.npy", payloads, np.array(languages, dtype=object))


def test_recall_counts_served_neighbours_against_exact_ones(tmp_path):
    # query v0; exact top-2 unfiltered: v1 (0.99), v2 (0.9); filtered to "en": v1, v3
    data = _data(tmp_path, [[1, 0], [0.99, 0.1], [0.9, 0.4], [0.5, 0.5], [0, 1]], ["en", "en", "fr", "en", "fr"])
    assert recall_at_k(data, [0], [["v1", "v2"]], filtered=False, k=2) == 1.0
    assert recall_at_k(data, [0], [["v1", "v4"]], filtered=False, k=2) == 0.5
    # filtered: a served neighbour of another language is not a candidate, so it never counts
    assert recall_at_k(data, [0], [["v1", "v2"]], filtered=True, k=2) == 0.5
    assert recall_at_k(data, [0], [["v1", "v3"]], filtered=True, k=2) == 1.0


def test_recall_lets_ties_at_the_kth_neighbour_count(tmp_path):
    # v2 and v3 are identical: either one is a right second neighbour of v0
    data = _data(tmp_path, [[1, 0], [1, 0.1], [0.8, 0.6], [0.8, 0.6], [0, 1]], ["en"] * 5)
    assert recall_at_k(data, [0], [["v1", "v3"]], filtered=False, k=2) == 1.0


class _Video:
    def __init__(self, i, language):
        from datetime import datetime, timezone

        self.video_id, self.language = f"r{i}", language
        self.title, self.tags, self.description, self.transcript = f"title {i}", [], "", None
        self.owner_id, self.category, self.status = "o", "c", "public"
        self.published_at = self.updated_at = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_synthetic_keeps_the_real_points_and_draws_languages_from_them(tmp_path):
    rng = np.random.default_rng(0)
    real = rng.standard_normal((50, 512)).astype(np.float32)
    videos = [_Video(i, "en" if i < 40 else "ja") for i in range(50)]
    data = synthetic(videos, real, 4000, tmp_path / "s.npy")
    m = data.vectors()
    assert data.n == 4000 and m.shape == (4000, 512)
    assert np.allclose(np.linalg.norm(m, axis=1), 1, atol=1e-5)
    assert np.allclose(m[:50], real / np.linalg.norm(real, axis=1, keepdims=True), atol=1e-6)  # the real ones first
    assert [p["video_id"] for p in data.payloads[:50]] == [v.video_id for v in videos]
    assert len({p["video_id"] for p in data.payloads}) == 4000
    share_ja = float(np.mean(data.languages[50:] == "ja"))
    assert abs(share_ja - 0.2) < 0.03  # as in the real set: 10 of 50
    # each synthetic point carries the language of its dominant real vector, its nearest real one
    nearest = np.argmax(m[50:] @ m[:50].T, axis=1)
    agree = np.mean(data.languages[50:] == data.languages[nearest])
    assert agree > 0.95
    again = synthetic(videos, real, 4000, tmp_path / "t.npy")
    assert np.array_equal(again.vectors(), m)  # seeded: the same data every run
