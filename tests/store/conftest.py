"""The store congruence suite: every test in tests/store runs on qdrant-client local
mode, and on a Qdrant server too when VIDVEC_TEST_QDRANT_URL names one (a throwaway
server: tests start on an empty one and delete what they created).
"""

from __future__ import annotations

import os

import pytest

SERVER_URL = os.environ.get("VIDVEC_TEST_QDRANT_URL")


@pytest.fixture(params=["local", "server"])
def store(request, settings, monkeypatch):
    from vidvec.config import load_settings
    from vidvec.store import open_store

    if request.param == "server":
        if not SERVER_URL:
            pytest.skip("no Qdrant server: set VIDVEC_TEST_QDRANT_URL (and VIDVEC_TEST_QDRANT_API_KEY) to run "
                        "the store suite against one")
        monkeypatch.setenv("VIDVEC_QDRANT_URL", SERVER_URL)
        if os.environ.get("VIDVEC_TEST_QDRANT_API_KEY"):
            monkeypatch.setenv("VIDVEC_QDRANT_API_KEY", os.environ["VIDVEC_TEST_QDRANT_API_KEY"])
        settings = load_settings()
    with open_store(settings) as st:
        assert st.embedded == (request.param == "local")
        if not st.embedded:
            existing = [c.name for c in st.client.get_collections().collections]
            if existing:
                pytest.fail(f"VIDVEC_TEST_QDRANT_URL must be a throwaway, empty server; it has {existing}")
        try:
            yield st
        finally:
            if not st.embedded:
                st.set_aliases(dict.fromkeys(st.aliases()))
                for c in st.client.get_collections().collections:
                    st.client.delete_collection(c.name)
