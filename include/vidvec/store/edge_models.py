"""vidvec's plain types and rules as qdrant-edge objects (config, points, filters, search params)."""

from __future__ import annotations

from qdrant_edge import (
    Distance,
    EdgeConfig,
    EdgeOptimizersConfig,
    EdgeVectorParams,
    FieldCondition,
    Filter,
    HasIdCondition,
    HnswIndexConfig,
    IntegerIndexParams,
    IsEmptyCondition,
    KeywordIndexParams,
    MatchValue,
    Point,
    QuantizationSearchParams,
    ScalarQuantizationConfig,
    ScalarType,
    SearchParams,
)

from vidvec.core.ids import point_id
from vidvec.core.types import PointToWrite
from vidvec.store.base import FILTERED_FIELDS, INTEGER_INDEXES, KEYWORD_INDEXES, SERVED_STATUS, CollectionSpec
from vidvec.store.common import placeholder_vector

PAYLOAD_INDEXES = [(k, KeywordIndexParams(enable_hnsw=k in FILTERED_FIELDS)) for k in KEYWORD_INDEXES] + [
    (k, IntegerIndexParams(lookup=True, range=True, enable_hnsw=k in FILTERED_FIELDS)) for k in INTEGER_INDEXES]


def edge_config(spec: CollectionSpec, built: bool, deleted_threshold: float | None = None) -> EdgeConfig:
    """The whole shard config, given at every create and load.

    Complete on purpose: a config given to `EdgeShard.load` replaces the stored
    one section by section, so a partial one would reset (say) the indexing
    threshold to Edge's default and a later optimize would drop the HNSW index
    of a segment below it. HNSW is off (m=0) until the index is built;
    deleted_threshold None is Edge's default vacuum fraction (0.2).
    """
    quantization = ScalarQuantizationConfig(ScalarType.Int8, always_ram=True) if spec.quantization else None
    return EdgeConfig(
        vectors=EdgeVectorParams(size=spec.dim, distance=Distance.Cosine,
                                 on_disk=True if spec.on_disk is None else spec.on_disk),
        hnsw_config=HnswIndexConfig(m=spec.hnsw_m if built else 0, ef_construct=spec.ef_construct,
                                    full_scan_threshold=spec.full_scan_threshold_kb),
        quantization_config=quantization,
        optimizers=EdgeOptimizersConfig(indexing_threshold=spec.indexing_threshold_kb,
                                        deleted_threshold=deleted_threshold),
    )


def search_params(spec: CollectionSpec, hnsw_ef: int | None) -> SearchParams:
    rescore = QuantizationSearchParams(rescore=True) if spec.quantization else None
    return SearchParams(hnsw_ef=hnsw_ef or spec.hnsw_ef, quantization=rescore)


def point(p: PointToWrite, dim: int, pid: str | None = None) -> Point:
    vector = p.vector if p.vector is not None else placeholder_vector(dim)
    vector = vector.tolist() if hasattr(vector, "tolist") else vector  # numpy arrays; lists pass as they are
    return Point(pid or point_id(p.video_id), vector, p.payload)


def public(language: str | None = None, exclude: str | None = None) -> Filter:
    """What queries serve (qdrant.py's `_public` is the same filter): public points naming a video.

    `exclude` drops the query video at its id and any duplicate of it naming the same video.
    """
    must = [FieldCondition("status", match=MatchValue(SERVED_STATUS))]
    if language:
        must.append(FieldCondition("language", match=MatchValue(language)))
    must_not = [IsEmptyCondition("video_id")]
    if exclude:
        must_not += [HasIdCondition({point_id(exclude)}), FieldCondition("video_id", match=MatchValue(exclude))]
    return Filter(must=must, must_not=must_not)
