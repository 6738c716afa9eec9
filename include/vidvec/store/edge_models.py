"""vidvec's plain types and rules as qdrant-edge objects (config, points, filters, search params)."""

from __future__ import annotations

from qdrant_edge import (
    Distance,
    EdgeConfig,
    EdgeOptimizersConfig,
    EdgeVectorParams,
    FieldCondition,
    Filter,
    HnswIndexConfig,
    IntegerIndexParams,
    IsEmptyCondition,
    KeywordIndexParams,
    MatchAny,
    MatchValue,
    Point,
    QuantizationSearchParams,
    RangeFloat,
    ScalarQuantizationConfig,
    ScalarType,
    SearchParams,
)

from vidvec.core.ids import point_id
from vidvec.core.query import Scope
from vidvec.core.types import PointToWrite
from vidvec.store.base import FILTERED_FIELDS, INTEGER_INDEXES, KEYWORD_INDEXES, CollectionSpec
from vidvec.store.common import placeholder_vector, served_filter

PAYLOAD_INDEXES = [(k, KeywordIndexParams(enable_hnsw=k in FILTERED_FIELDS)) for k in KEYWORD_INDEXES] + [
    (k, IntegerIndexParams(lookup=True, range=True, enable_hnsw=k in FILTERED_FIELDS)) for k in INTEGER_INDEXES]


def edge_config(spec: CollectionSpec, built: bool, deleted_threshold: float | None = None,
                max_segment_kb: int | None = None) -> EdgeConfig:
    """The whole shard config, given at every create and load.

    Complete on purpose: a config given to `EdgeShard.load` replaces the stored
    one section by section, so a partial one would reset (say) the indexing
    threshold to Edge's default and a later optimize would drop the HNSW index
    of a segment below it. HNSW is off (m=0) until the index is built;
    deleted_threshold None is Edge's default vacuum fraction (0.2); max_segment_kb
    None is Edge's default segment size cap (see `EdgeStore.keep_index` for why
    the sidecar lowers it).
    """
    quantization = ScalarQuantizationConfig(ScalarType.Int8, always_ram=True) if spec.quantization else None
    return EdgeConfig(
        vectors=EdgeVectorParams(size=spec.dim, distance=Distance.Cosine,
                                 on_disk=True if spec.on_disk is None else spec.on_disk),
        hnsw_config=HnswIndexConfig(m=spec.hnsw_m if built else 0, ef_construct=spec.ef_construct,
                                    full_scan_threshold=spec.full_scan_threshold_kb),
        quantization_config=quantization,
        optimizers=EdgeOptimizersConfig(indexing_threshold=spec.indexing_threshold_kb,
                                        deleted_threshold=deleted_threshold, max_segment_size=max_segment_kb),
    )


def search_params(spec: CollectionSpec, hnsw_ef: int | None) -> SearchParams:
    rescore = QuantizationSearchParams(rescore=True) if spec.quantization else None
    return SearchParams(hnsw_ef=hnsw_ef or spec.hnsw_ef, quantization=rescore)


def point(p: PointToWrite, dim: int, pid: str | None = None) -> Point:
    vector = p.vector if p.vector is not None else placeholder_vector(dim)
    vector = vector.tolist() if hasattr(vector, "tolist") else vector  # numpy arrays; lists pass as they are
    return Point(pid or point_id(p.video_id), vector, p.payload)


class Kit:
    """Edge's filter classes for `common.served_filter` (integer fields take a float range: exact below 2**53)."""

    value = staticmethod(lambda key, value: FieldCondition(key, match=MatchValue(value)))
    any_of = staticmethod(lambda key, values: FieldCondition(key, match=MatchAny(list(values))))
    range = staticmethod(lambda key, gte, lt: FieldCondition(key, range=RangeFloat(gte=gte, lt=lt)))
    empty = staticmethod(lambda key: IsEmptyCondition(key))
    filter = staticmethod(lambda must, must_not: Filter(must=must, must_not=must_not or None))


def scope_filter(scope: Scope) -> Filter:
    return served_filter(scope, Kit)


def public(language: str | None = None, exclude: str | None = None) -> Filter:
    """What queries serve (qdrant.py's `_public` is the same filter, both from `common.served_filter`).

    `exclude` drops the query video and any duplicate of it naming the same video.
    """
    return scope_filter(Scope(language=language, exclude_ids=(exclude,) if exclude else ()))
