"""The text recipe on long input: work bounded by what it keeps, not by a 5 MiB transcript.

Side by side on the same texts, medians of REPEATS: the recipe as defined (clean
each whole part, then cut) against build_text (clean_prefix cleans only the
prefix it keeps; the output is the same, tests/core/test_recipe.py checks it);
and the e-mail rule's regex (cubic on a token of '@'s) against its linear form.
`python -m bench.long_text [--quick]`.
"""

from __future__ import annotations

import re
import statistics
import sys
import time

from bench.pipeline import row
from vidvec.core.limits import TRANSCRIPT_BYTES
from vidvec.core.recipe import _AT_TOKEN, _email_removed, build_text, clean, get_recipe
from vidvec.core.types import Video

REPEATS = 5


def _whole(video: Video) -> str:
    """The recipe's definition: every part cleaned whole, joined, cut."""
    recipe = get_recipe()
    parts = {"transcript": clean(video.transcript or ""), "title": clean(video.title),
             "tags": ", ".join(t for t in (clean(tag) for tag in video.tags) if t),
             "description": clean(video.description)[: recipe.description_chars]}
    return "\n".join(parts[p] for p in recipe.parts if parts[p])[: recipe.max_chars]


def _median_ms(fn, arg, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(arg)
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def run(quick: bool = False) -> list[dict]:
    talks = {"Latin": ("We talk about rivers, https://example.com/notes and @guests. " * 90_000)[:TRANSCRIPT_BYTES],
             "Japanese": ("川と湖について話します。詳しくは www.example.jp まで。" * 90_000)[: TRANSCRIPT_BYTES // 3]}
    rows = []
    for script, talk in talks.items():
        video = Video("talk", "A long talk", transcript=talk, description="notes " * 1000)
        assert build_text(video) == _whole(video)
        whole = _median_ms(_whole, video, REPEATS)
        cut = _median_ms(build_text, video, REPEATS)
        rows += [row(f"5 MiB {script} transcript: clean whole, then cut", whole, "ms"),
                 row(f"5 MiB {script} transcript: build_text (clean_prefix)", cut, "ms"),
                 row("  whole / build_text", whole / cut, "x")]
    ats = "@" * (1000 if quick else 2000)
    regex = re.compile(r"\S+@\S+\.\S+")
    old = _median_ms(lambda t: regex.sub(" ", t), ats, 1 if quick else 3)
    new = _median_ms(lambda t: _AT_TOKEN.sub(_email_removed, t), ats, REPEATS)
    rows += [row(f"e-mail rule on {len(ats):,} '@': the regex", old, "ms"),
             row(f"e-mail rule on {len(ats):,} '@': linear form", new, "ms"),
             row("  regex / linear", old / new, "x")]
    return rows


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv):
        print(f"{r['figure']:<60} {r['value']:>12.3f} {r['unit']:<4} {r['target'] or ''}")
