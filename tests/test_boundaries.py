"""Imports go one way: dags/plugins -> include/vidvec -> core. A DESIGN.md rule."""

import ast
from pathlib import Path

LIB = Path(__file__).resolve().parents[1] / "include" / "vidvec"


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_library_never_imports_airflow():
    offenders = {str(p.relative_to(LIB)): sorted(m for m in imports(p) if m.split(".")[0] == "airflow")
                 for p in LIB.rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_core_is_pure():
    allowed_prefixes = ("vidvec.core", "vidvec.errors", "__future__", "dataclasses", "datetime", "hashlib",
                        "re", "uuid", "typing", "collections", "math", "random", "statistics", "enum",
                        "pydantic", "json", "itertools", "functools", "numpy")
    bad = {}
    for p in (LIB / "core").rglob("*.py"):
        wrong = sorted(m for m in imports(p) if not m.startswith(allowed_prefixes))
        if wrong:
            bad[p.name] = wrong
    assert bad == {}


def test_qdrant_models_stay_inside_store():
    outside = [str(p.relative_to(LIB)) for p in LIB.rglob("*.py")
               if "store" not in p.parts and any(m.startswith("qdrant_client") for m in imports(p))]
    assert outside == []


def test_the_check_can_fail(tmp_path):
    bad = tmp_path / "x.py"
    bad.write_text("from airflow.sdk import dag\nimport airflow\n")
    assert imports(bad) == {"airflow.sdk", "airflow"}
