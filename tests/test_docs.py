"""The documentation site's generated blocks (docs/hooks/generate.py) say what the code says."""

from __future__ import annotations

import html
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DAGS = sorted(p.stem for p in (ROOT / "dags").glob("vidvec_*.py"))


@pytest.fixture(scope="module")
def generate():
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "hooks" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("name", "prefix", "probe", "default"), [
    ("Settings", "VIDVEC_", "VIDVEC_DUCKDB_MEMORY_LIMIT", "<code>512MB</code>"),
    ("SidecarSettings", "VIDVEC_SIDECAR_", "VIDVEC_SIDECAR_HTTP_PORT", "<code>9464</code>")])
def test_every_setting_is_on_the_page_with_its_default(generate, name, prefix, probe, default):
    from vidvec.config import Settings
    from vidvec.stream.settings import SidecarSettings

    model = {"Settings": Settings, "SidecarSettings": SidecarSettings}[name]
    table = generate._block("settings", name, "test")
    cells = [re.split(r"(?<!\\)\|", line)[1:-1] for line in table.splitlines()[2:]]  # `\|` inside a cell
    rows = {re.sub("</?code>", "", cell[0].strip()): cell[2].strip() for cell in cells}
    assert set(rows) == {prefix + f.upper() for f in model.model_fields}
    assert rows[probe] == default


def test_params_tables_carry_bounds_and_descriptions(generate):
    from vidvec.params import RebuildParams

    table = generate._block("params", "RebuildParams", "test")
    for name, field in RebuildParams.model_fields.items():
        meaning = re.escape(html.escape(field.description, quote=False))
        assert re.search(rf"^\| <code>{name}</code> \|.*\| {meaning} \|$", table, re.M), name
    assert "| <code>shards</code> | integer | <code>2</code> | >= 1, <= 256 |" in table


@pytest.mark.parametrize("dag_id", DAGS)
def test_each_dag_page_shows_its_doc_md(generate, dag_id):
    text = generate._doc_md(dag_id)
    assert len(text) > 200 and not text.startswith("#")
    assert (ROOT / "docs" / "dags" / f"{dag_id}.md").read_text().count(f"<!-- vidvec:doc_md {dag_id} -->") == 1


def test_cli_page_lists_every_command(generate):
    import typer.main

    from vidvec.cli import app

    text = generate._cli()
    for name in typer.main.get_command(app).commands:
        assert f"## `vidvec {name}`" in text


def test_an_unknown_block_fails_the_build(generate):
    with pytest.raises(ValueError, match="unknown generated block"):
        generate._block("settings", "NoSuchSettings", "page.md")
