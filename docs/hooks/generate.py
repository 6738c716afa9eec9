"""mkdocs hook: the reference pages are filled from the code at build time, so they cannot drift.

A page asks for a generated block with an HTML comment on a line of its own:

    <!-- vidvec:cli -->                       the `vidvec` commands (typer's own docs generator)
    <!-- vidvec:settings Settings -->         a pydantic-settings class: env variable, type, default, meaning
    <!-- vidvec:params RebuildParams -->      a Params model: the DAG form's fields and the CLI's options
    <!-- vidvec:doc_md vidvec_full_rebuild --> a DAG file's module docstring (its doc_md), read as text

An unknown block or name fails the build. Nothing here imports Airflow: DAG files are parsed with ast.
"""

from __future__ import annotations

import ast
import html
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!-- vidvec:(\w+)\s*([\w.]*)\s*-->$", re.M)
# Where each class lives (params.py's forms also take AuditThresholds and GatePolicy from core/).
CLASSES = {
    "Settings": "vidvec.config",
    "SidecarSettings": "vidvec.stream.settings",
    "RebuildParams": "vidvec.params",
    "AuditParams": "vidvec.params",
    "CanaryParams": "vidvec.params",
    "CompareOptions": "vidvec.params",
    "PromoteParams": "vidvec.params",
    "CompactOptions": "vidvec.params",
    "AuditThresholds": "vidvec.core.recall",
    "GatePolicy": "vidvec.core.gates",
}


def on_config(config):
    sys.path.insert(0, str(ROOT / "include"))
    return config


def on_page_markdown(markdown: str, page, config, files) -> str:
    return MARKER.sub(lambda m: _block(m.group(1), m.group(2), page.file.src_uri), markdown)


def _block(kind: str, name: str, where: str) -> str:
    if kind == "cli":
        return _cli()
    if kind == "doc_md":
        return _doc_md(name)
    if kind in ("settings", "params") and name in CLASSES:
        model = getattr(importlib.import_module(CLASSES[name]), name)
        return _fields(model, settings=kind == "settings")
    raise ValueError(f"{where}: unknown generated block vidvec:{kind} {name!r}")


def _doc_md(dag_id: str) -> str:
    """The DAG's doc_md (its module docstring), without its own title: the page has one."""
    tree = ast.parse((ROOT / "dags" / f"{dag_id}.py").read_text())
    doc = ast.get_docstring(tree)
    if not doc:
        raise ValueError(f"dags/{dag_id}.py has no module docstring (its doc_md)")
    return re.sub(rf"^#+ {re.escape(dag_id)}\n+", "", doc)


def _cli() -> str:
    """typer's Markdown for the whole `vidvec` app, its headings one level down under the page's."""
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT / "include"), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-m", "typer", "vidvec.cli", "utils", "docs", "--name", "vidvec"],
                         capture_output=True, text=True, env=env, check=True).stdout
    return re.sub(r"^(#+) ", r"#\1 ", out, flags=re.M)


def _fields(model, settings: bool) -> str:
    """One row per field, from the model's JSON schema: what the form, the CLI and the code validate."""
    schema = model.model_json_schema()
    prefix = model.model_config.get("env_prefix", "") if settings else ""
    first = "variable" if settings else "field"
    rows = [f"| {first} | type | default | bounds | meaning |", "| --- | --- | --- | --- | --- |"]
    for name, prop in schema["properties"].items():
        label = _code((prefix + name).upper() if settings else name)
        rows.append(f"| {label} | {_type(prop)} | {_default(prop)} | {_bounds(prop)} | "
                    f"{_cell(html.escape(prop.get('description', ''), quote=False))} |")
    return "\n".join(rows)


def _type(prop: dict) -> str:
    options = prop.get("anyOf", [prop])
    names = []
    for option in options:
        if "enum" in option:
            names.append(" or ".join(_code(v) for v in option["enum"]))
        elif "const" in option:
            names.append(_code(option["const"]))
        elif option.get("type") == "array":
            names.append(f"list of {_type(option.get('items', {}))}")
        else:
            names.append(option.get("format", option.get("type", "any")))
    return " or ".join(names)


def _default(prop: dict) -> str:
    if "default" not in prop:
        return "required"
    value = prop["default"]
    return "unset" if value is None else _code(value)


def _bounds(prop: dict) -> str:
    words = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<",
             "minLength": "length >=", "maxLength": "length <="}
    parts = []
    for option in prop.get("anyOf", [prop]):
        parts += [f"{word} {option[key]}" for key, word in words.items() if key in option]
        if "pattern" in option:
            parts.append(f"matches {_code(option['pattern'])}")
    return ", ".join(parts)


def _code(value: object) -> str:
    """Code in a table cell: a `|` inside backticks would still split the cell (and `\\|` would show), and
    Markdown would take a backslash as an escape."""
    return f"<code>{html.escape(str(value)).replace('|', '&#124;').replace(chr(92), '&#92;')}</code>"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
