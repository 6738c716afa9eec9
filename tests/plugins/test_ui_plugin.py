"""`airflow plugins` lists the vidvec page; loading the plugin builds nothing heavy."""

import json
import os
import subprocess
import sys
from pathlib import Path


def test_airflow_plugins_lists_the_vidvec_page(airflow_db):
    airflow = str(Path(sys.executable).parent / "airflow")
    done = subprocess.run([airflow, "plugins", "-o", "json"], capture_output=True, text=True, env=os.environ,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    (plugin,) = [p for p in json.loads(done.stdout) if p["name"] == "vidvec"]
    assert plugin["fastapi_apps"] == [{"app": "vidvec_ui._Page", "url_prefix": "/vidvec", "name": "vidvec"}]
    (view,) = plugin["external_views"]
    assert (view["href"], view["destination"], view["url_route"]) == ("vidvec/", "nav", "vidvec")


def test_loading_the_plugin_imports_neither_fastapi_nor_the_page():
    code = ("import sys, vidvec_ui; print(sorted(m for m in ('fastapi', 'vidvec.ui.page', "
            "'vidvec.store', 'duckdb') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
