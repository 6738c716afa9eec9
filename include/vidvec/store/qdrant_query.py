"""A NeighbourQuery as qdrant-client calls (a server and local mode alike).

Filters are Qdrant payload filters (`served_filter`), negative examples a
`RecommendQuery`, diversity `NearestQuery(mmr=...)` (Qdrant's `diversity` is
1 - lambda), and `max_per_owner` Qdrant's own group-by (`query_points_groups`
on owner_id, k groups of at most max_per_owner hits, flattened by score: the
same top k as the greedy cap of common.per_owner).
"""

from __future__ import annotations

from typing import Any

from qdrant_client import QdrantClient
from qdrant_client import models as m

from vidvec.core.query import NeighbourQuery, Scope
from vidvec.core.types import Hit
from vidvec.store.common import score_threshold, scored_hit, served_filter, similarity

STRATEGY = {"best_score": m.RecommendStrategy.BEST_SCORE, "average_vector": m.RecommendStrategy.AVERAGE_VECTOR}


class Kit:
    """qdrant-client's filter models for `common.served_filter`."""

    value = staticmethod(lambda key, value: m.FieldCondition(key=key, match=m.MatchValue(value=value)))
    any_of = staticmethod(lambda key, values: m.FieldCondition(key=key, match=m.MatchAny(any=list(values))))
    range = staticmethod(lambda key, gte, lt: m.FieldCondition(key=key, range=m.Range(gte=gte, lt=lt)))
    empty = staticmethod(lambda key: m.IsEmptyCondition(is_empty=m.PayloadField(key=key)))
    filter = staticmethod(lambda must, must_not: m.Filter(must=must, must_not=must_not))


def scope_filter(scope: Scope) -> m.Filter:
    return served_filter(scope, Kit)


def neighbours(client: QdrantClient, name: str, params: m.SearchParams | None, vector, negatives: list,
               query: NeighbourQuery, scope: Scope) -> list[Hit]:
    vector = [float(x) for x in vector]
    scorer, threshold = _scorer(vector, negatives, query), score_threshold(query)
    where = scope_filter(scope)
    common: dict[str, Any] = {"query_filter": where, "score_threshold": threshold, "search_params": params,
                              "with_payload": True}
    if query.diversity is not None:
        mmr = m.NearestQuery(nearest=vector, mmr=m.Mmr(diversity=1 - query.diversity,
                                                       candidates_limit=query.candidates))
        if negatives:  # MMR over the recommend query's candidates
            common = {"prefetch": m.Prefetch(query=scorer, filter=where, score_threshold=threshold,
                                             limit=query.candidates, params=params), "with_payload": True}
        points = client.query_points(name, query=mmr, limit=query.k, **common).points
    elif query.max_per_owner:
        groups = client.query_points_groups(name, group_by="owner_id", query=scorer, limit=query.k,
                                            group_size=query.max_per_owner, **common).groups
        points = sorted((hit for group in groups for hit in group.hits), key=lambda p: -p.score)[:query.k]
    else:
        points = client.query_points(name, query=scorer, limit=query.k, **common).points
    return [scored_hit(p, similarity(query, p.score)) for p in points]


def _scorer(vector: list[float], negatives: list, query: NeighbourQuery):
    """The query ranking points by the query video and its negative examples."""
    if not negatives:
        return vector
    return m.RecommendQuery(recommend=m.RecommendInput(
        positive=[vector], negative=[[float(x) for x in n] for n in negatives], strategy=STRATEGY[query.strategy]))
