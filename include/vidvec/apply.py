"""Apply catalog rows to one physical collection: conditional writes and tombstones.

Public videos are embedded (stored vectors reused when the text hash and model
are unchanged) and written if newer; private and deleted ones become
tombstones through the same conditional path, so a late older update can
never resurrect them. Shared by the rebuild's catch-up and the sidecar.
"""

from __future__ import annotations

from datetime import datetime

from vidvec.catalog.base import Catalog
from vidvec.core.points import tombstone
from vidvec.core.types import Video, to_micros
from vidvec.embed.base import Embedder, check_family
from vidvec.rebuild import embed_videos
from vidvec.store.qdrant import VectorStore


def apply_videos(catalog: Catalog, store: VectorStore, embedder: Embedder, collection: str,
                 videos: list[Video], recipe: str, now: datetime) -> dict:
    """Write videos into collection; counts {"written", "tombstoned", "encoded", "reused"}."""
    meta = store.metadata(collection)
    if "family" in meta:
        check_family(embedder, meta["family"], collection)
    public = [v for v in videos if v.status == "public"]
    points, encoded = embed_videos(public, catalog, embedder, recipe, now) if public else ([], 0)
    tombs = [tombstone(v.video_id, v.status, to_micros(v.updated_at)) for v in videos if v.status != "public"]
    store.write_if_newer(collection, points + tombs, dim=int(meta.get("dim", embedder.dim)))
    return {"written": len(points), "tombstoned": len(tombs), "encoded": encoded,
            "reused": len(public) - encoded}
