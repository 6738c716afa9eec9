"""Convert ../shared/data/youtube_trending_catalog.csv.gz into vidvec's catalog schema.

Run once by a maintainer; the output (include/data/videos.csv.gz) is committed.
language comes from py3langid run on the title, tags and description (its model
ships in the wheel), never from the trending country.
"""

import csv
import gzip
import sys
from datetime import datetime, timezone
from pathlib import Path

from py3langid.langid import MODEL_FILE, LanguageIdentifier

# py3langid knows ~200 languages, and on short, noisy titles it picks rare
# neighbours (Nigerian Pidgin for English, Aragonese for Spanish). The catalog
# comes from 11 trending charts, so we restrict it to the major written
# languages that occur there; anything else would be noise, not signal.
LANGUAGES = ["ar", "bn", "de", "en", "es", "fa", "fr", "gu", "he", "hi", "id", "it",
             "ja", "kn", "ko", "ml", "mr", "ne", "nl", "pa", "pl", "pt", "ro", "ru",
             "sv", "ta", "te", "th", "tl", "tr", "uk", "ur", "vi", "zh"]
IDENTIFIER = LanguageIdentifier.from_model_file(MODEL_FILE)
IDENTIFIER.set_languages(LANGUAGES)

FIELDS = ["video_id", "title", "description", "tags", "transcript", "language",
          "owner_id", "category", "status", "published_at", "updated_at"]


def _iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def convert(row: dict) -> dict:
    text = " ".join([row["title"], row["tags"].replace("|", " "), row["description"][:500]])
    published = datetime.fromisoformat(row["publish_time"].replace("Z", "+00:00"))
    trending = datetime.fromisoformat(row["trending_date"]).replace(tzinfo=timezone.utc)
    return {
        "video_id": row["video_id"],
        "title": row["title"],
        "description": row["description"],
        "tags": row["tags"],
        "transcript": "",
        "language": IDENTIFIER.classify(text)[0],
        "owner_id": row["channel_title"],
        "category": row["category_name"],
        "status": "public",
        "published_at": _iso(published),
        # The last trending row is the newest version of the video we know of.
        "updated_at": _iso(max(published, trending)),
    }


def main(src: str, dst: str) -> None:
    with gzip.open(src, "rt", newline="", encoding="utf-8") as f:
        rows = [convert(r) for r in csv.DictReader(f)]
    with gzip.open(dst, "wt", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} videos to {dst}")


if __name__ == "__main__":
    here = Path(__file__).resolve().parent.parent
    main(sys.argv[1] if len(sys.argv) > 1 else str(here.parent / "shared/data/youtube_trending_catalog.csv.gz"),
         sys.argv[2] if len(sys.argv) > 2 else str(here / "include/data/videos.csv.gz"))
