"""Reads through the process that holds the embedded store (vidvec.read_api), for another process.

    try:
        with open_store(settings) as store: ...
    except StoreInUse as exc:
        states = held_reads(settings, exc).collections()

`held_reads` finds the holder beside the store's lock (store/holder.py); one
that serves no reads leaves the StoreInUse as it was (it says what holds the
store). The answers are the holder's, computed by the same code; its errors
come back as the same VidvecError types with the same messages.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import fields
from urllib.parse import urlencode

from vidvec.core.query import NeighbourQuery
from vidvec.core.types import CollectionState
from vidvec.errors import NotFound, NotServed, StoreInUse, VidvecError
from vidvec.query import TitledAnswer
from vidvec.read_api import query_params

TIMEOUT_S = 30
KINDS = {cls.__name__: cls for cls in (VidvecError, NotFound, NotServed)}
TOKEN_VARIABLE = "VIDVEC_SIDECAR_READ_TOKEN"


class HeldReads:
    def __init__(self, url: str, holder: str, token: str | None = None):
        self.url, self.holder, self.token = url.rstrip("/"), holder, token

    def similar(self, target: str, video_id: str, query: NeighbourQuery) -> TitledAnswer:
        params = {"video_id": [video_id], "target": [target]} | query_params(query)
        return TitledAnswer.from_json(self._get("/v1/similar?" + urlencode(params, doseq=True)))

    def collections(self) -> list[CollectionState]:
        names = {f.name for f in fields(CollectionState)}
        return [CollectionState(**{k: v for k, v in s.items() if k in names} | {"aliases": tuple(s["aliases"])})
                for s in self._get("/v1/collections")]

    def space(self) -> dict:
        return self._get("/v1/space")

    def _get(self, path: str):
        request = urllib.request.Request(self.url + path, headers={"Accept": "application/json"})
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise _error(exc, self.holder) from None
        except (urllib.error.URLError, OSError) as exc:
            raise VidvecError(f"the store's holder, {self.holder}, did not answer at {self.url}: "
                              f"{getattr(exc, 'reason', exc)} (is it still starting or stopping?)") from None


def _error(exc: urllib.error.HTTPError, holder: str) -> VidvecError:
    try:
        body = json.loads(exc.read())
        kind, message = body["kind"], body["error"]
    except (ValueError, KeyError, TypeError):
        return VidvecError(f"the store's holder, {holder}, answered HTTP {exc.code}")
    if kind in KINDS:
        return KINDS[kind](message)  # the same error as in the holder's own process
    return VidvecError(f"the store's holder, {holder}, could not answer: {message}")


def reads_of_holder(settings) -> HeldReads | None:
    """The holder's reads when a process holds the embedded store and serves them; else None."""
    if settings.store_engine != "edge":
        return None
    from vidvec.store.holder import current

    holder = current(settings.edge_dir)
    if holder is None or not holder.url:
        return None
    return HeldReads(holder.url, holder.describe(), os.environ.get(TOKEN_VARIABLE) or None)


def held_reads(settings, refused: StoreInUse) -> HeldReads:
    """The holder's reads, or the refusal itself when the holder serves none."""
    reads = reads_of_holder(settings)
    if reads is None:
        raise refused
    return reads
