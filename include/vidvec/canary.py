"""The canary: a small recall audit of a live alias between rebuilds (hourly, seconds of work).

Between two nightly rebuilds the stream changes the space, and on an engine
without a background optimizer every new vector waits outside the index
until someone builds it. The canary measures what users get meanwhile: the
audit's own recall@k (`audit.measure`: served top-k against exact kNN over the
stored embeddings, unfiltered and language-filtered) for ~100 sampled
queries, how long those served queries took (p50/p99), and the share of
vectors outside an HNSW index. It skips the audit's payload scan (coverage,
staleness, mismatch: one pass over every point and catalog row), so its rows
leave those empty. Rows go to `recall_audits` with kind `canary`; a canary
passes when the recall thresholds hold. One seed draws the same queries every
run: the trend shows the space changing, not the sample.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime, timezone

from vidvec.audit import AuditResult, audit_rows, audited_model, check_request, measure, unindexed_share
from vidvec.catalog.base import Catalog
from vidvec.core.recall import CANARY, AuditThresholds, recall_failures
from vidvec.store import VectorStore

log = logging.getLogger(__name__)


def canary_id(collection: str, at: datetime) -> str:
    return f"{at.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}-canary-{collection}"


def run_canary(catalog: Catalog, store: VectorStore, target: str, *, at: datetime, k: int = 10,
               sample: int = 100, seed: int = 0, thresholds: AuditThresholds | None = None) -> AuditResult:
    """Measure TARGET as it is served now; rows go to `recall_audits` (kind canary). Raises nothing on a miss."""
    check_request(k, sample, None)
    thresholds = thresholds or AuditThresholds()
    collection = store.resolve(target)
    model_id, recipe = audited_model(store, collection)
    index = store.index_state(collection)
    slices, drawn = measure(catalog, store, collection, model_id, recipe, k=k, sample=sample, seed=seed, hnsw_ef=None)
    failures = recall_failures(slices, k, thresholds)
    result = AuditResult(canary_id(collection, at), target, collection, model_id, index.describe(), k, drawn, seed, at,
                         slices, None, None, None, {}, failures, not failures, thresholds.model_dump(),
                         index=asdict(index), kind=CANARY, unindexed=unindexed_share(index))
    catalog.record_audit(audit_rows(result, thresholds))
    log.info("canary %s of %s: %s", result.audit_id, collection, "passed" if result.passed else "FAILED")
    return result
