"""Catalog changes published as thin events (uploads, edits, deletions), for the migration and A/B tests."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta

from vidvec.catalog.factory import open_catalog
from vidvec.store import open_store


@contextmanager
def stores(settings):
    with open_catalog(settings) as catalog, open_store(settings) as store:
        yield catalog, store


def short_videos(sample_videos, n=150):
    """n public videos with short titles, many languages (the sample's own rows)."""
    picked = [v for v in sorted(sample_videos, key=lambda v: v.video_id) if v.status == "public" and len(v.title) < 70]
    return picked[:n]


class Stream:
    """Changes made in the catalog and published as thin events, each at a new version."""

    def __init__(self, settings, publish, videos, start: datetime):
        self.settings, self.publish, self.clock = settings, publish, start
        self.videos = {v.video_id: v for v in videos}
        self.n = 0

    def tick(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def change(self, uploads=2, edits=3, deletions=2) -> list:
        """Make the changes in the catalog, publish their events; the rows changed."""
        rows = []
        base = next(iter(self.videos.values()))
        for _ in range(uploads):
            self.n += 1
            rows.append(replace(base, video_id=f"new{self.n:03d}", title=f"Cricket highlights, match {self.n}",
                                owner_id=f"up{self.n}", updated_at=self.tick()))
        public = [v for v in self.videos.values() if v.status == "public" and not v.video_id.startswith("new")]
        for v in public[self.n * 7 % 50:][:edits]:
            rows.append(replace(v, title=f"{v.title} (edited {self.n})", updated_at=self.tick()))
        for v in public[-(self.n * 3 + deletions):][:deletions]:
            rows.append(replace(v, status="deleted", updated_at=self.tick()))
        with open_catalog(self.settings) as catalog:
            catalog.upsert_videos(rows)
        self.videos |= {v.video_id: v for v in rows}
        self.republish(rows)
        return rows

    def republish(self, rows) -> None:
        """Thin events of these rows (again: a redelivery changes nothing)."""
        self.publish([json.dumps({"video_id": v.video_id, "op": "delete" if v.status == "deleted" else "upsert",
                                  "updated_at": v.updated_at.isoformat()}).encode() for v in rows])
