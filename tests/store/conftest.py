"""The store suite runs on every engine available: Qdrant Edge and qdrant-client local mode
always, a Qdrant server too when VIDVEC_TEST_QDRANT_URL names one (a throwaway server:
tests start on an empty one and delete what they created).
"""

from __future__ import annotations

import os

import pytest

SERVER_URL = os.environ.get("VIDVEC_TEST_QDRANT_URL")
ENGINES = ["edge", "local", "server"]


def engine_settings(engine: str, settings):
    """Settings for one engine under the test's VIDVEC_HOME (edge/ and qdrant/ apart)."""
    from vidvec.config import load_settings

    if engine != "server":
        return load_settings(home=settings.home, store=engine)
    if not SERVER_URL:
        pytest.skip("no Qdrant server: set VIDVEC_TEST_QDRANT_URL (and VIDVEC_TEST_QDRANT_API_KEY) to run "
                    "the store suite against one")
    return load_settings(home=settings.home, store="server", qdrant_url=SERVER_URL,
                         qdrant_api_key=os.environ.get("VIDVEC_TEST_QDRANT_API_KEY"))


def open_engine(engine: str, settings):
    """An open store of that engine; a server must be empty and is emptied after."""
    from vidvec.store import make_store

    store = make_store(engine_settings(engine, settings))
    if engine == "server" and store.collections():
        store.close()
        pytest.fail("VIDVEC_TEST_QDRANT_URL must be a throwaway, empty server")
    return store


def close_engine(store) -> None:
    try:
        if store.capabilities.engine == "qdrant-server":
            store.set_aliases(dict.fromkeys(store.aliases()))
            for state in store.collections():
                store.drop_collection(state.name)
    finally:
        store.close()


@pytest.fixture(params=ENGINES)
def store(request, settings):
    st = open_engine(request.param, settings)
    assert st.capabilities.engine == f"qdrant-{request.param}"
    try:
        yield st
    finally:
        close_engine(st)


@pytest.fixture
def engines(settings):
    """Every available engine, open side by side: {"edge": store, "local": store[, "server": store]}."""
    opened = {}
    try:
        for engine in ENGINES:
            if engine == "server" and not SERVER_URL:
                continue
            opened[engine] = open_engine(engine, settings)
        yield opened
    finally:
        for st in opened.values():
            close_engine(st)
