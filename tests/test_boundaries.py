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


ROOT = LIB.parents[1]
OUTSIDE_STORE = [p for p in [*LIB.rglob("*.py"), *(ROOT / "plugins").glob("*.py"), *(ROOT / "dags").glob("*.py")]
                 if "store" not in p.relative_to(ROOT).parts]
# The interface, its retryable-error set, and who holds an embedded store (no engine client in it).
STORE_API = ("vidvec.store", "vidvec.store.errors", "vidvec.store.holder")


def test_engine_clients_stay_inside_store():
    engines = ("qdrant_client", "qdrant_edge")
    outside = {str(p.relative_to(ROOT)): sorted(m for m in imports(p) if m.startswith(engines))
               for p in OUTSIDE_STORE}
    # plugins/vidvec_hooks.py subclasses the provider's QdrantHook, which returns a qdrant-client
    assert {k: v for k, v in outside.items() if v} == {"plugins/vidvec_hooks.py": ["qdrant_client"]}


def test_only_the_store_interface_is_imported_outside_store():
    concrete = {str(p.relative_to(ROOT)): sorted(m for m in imports(p)
                                                  if m.startswith("vidvec.store.") and m not in STORE_API)
                for p in OUTSIDE_STORE}
    assert {k: v for k, v in concrete.items() if v} == {}


def test_the_check_can_fail(tmp_path):
    bad = tmp_path / "x.py"
    bad.write_text("from airflow.sdk import dag\nimport airflow\n")
    assert imports(bad) == {"airflow.sdk", "airflow"}
