"""A NeighbourQuery as Qdrant Edge queries: nearest, recommend (negative examples), MMR, per-owner rounds.

qdrant-edge-py 0.9.0 has Qdrant's nearest, recommend (best_score, sum_scores)
and MMR queries with prefetches, but no group-by: `max_per_owner` runs the
rounds Qdrant's own group-by runs (common.per_owner). average_vector is, as on
a server, a nearest query for avg(positive) + avg(positive) - avg(negative)
(qdrant lib/collection/src/recommendations.rs).
"""

from __future__ import annotations

import numpy as np
from qdrant_edge import EdgeShard, Mmr, Prefetch, Query, QueryRequest, RecommendQuery

from vidvec.core.query import NeighbourQuery, Scope
from vidvec.core.types import Hit
from vidvec.store import edge_models as em
from vidvec.store.base import CollectionSpec
from vidvec.store.common import per_owner, score_threshold, scored_hit, similarity


def neighbours(shard: EdgeShard, spec: CollectionSpec, vector, negatives: list, query: NeighbourQuery,
               scope: Scope) -> list[Hit]:
    params = em.search_params(spec, query.hnsw_ef)
    vector = [float(x) for x in vector]

    def fetch(part: Scope, limit: int) -> list[Hit]:
        return _run(shard, _request(vector, negatives, query, part, limit, params), query)

    if query.max_per_owner:
        return per_owner(fetch, query.k, query.max_per_owner, scope)
    return fetch(scope, query.k)


def _scorer(vector: list[float], negatives: list, query: NeighbourQuery):
    """The Edge query ranking points by the query video and its negative examples."""
    if not negatives:
        return Query.Nearest(vector)
    if query.strategy == "average_vector":
        mean = np.asarray(vector)
        return Query.Nearest((2 * mean - np.mean(np.asarray(negatives), axis=0)).tolist())
    return Query.RecommendBestScore(RecommendQuery([vector], [[float(x) for x in n] for n in negatives]))


def _request(vector, negatives, query: NeighbourQuery, scope: Scope, limit: int, params) -> QueryRequest:
    scorer, threshold = _scorer(vector, negatives, query), score_threshold(query)
    where = em.scope_filter(scope)
    if query.diversity is None:
        return QueryRequest(limit=limit, query=scorer, filter=where, score_threshold=threshold, params=params,
                            with_payload=True)
    mmr = Mmr(vector, query.diversity, query.candidates)
    if not negatives:  # MMR's own candidate search: the filter and the threshold apply to it
        return QueryRequest(limit=limit, query=mmr, filter=where, score_threshold=threshold, params=params,
                            with_payload=True)
    pool = Prefetch(limit=query.candidates, query=scorer, filter=where, score_threshold=threshold, params=params)
    return QueryRequest(limit=limit, prefetches=[pool], query=mmr, with_payload=True)


def _run(shard: EdgeShard, request: QueryRequest, query: NeighbourQuery) -> list[Hit]:
    return [scored_hit(p, similarity(query, p.score)) for p in shard.query(request)]
