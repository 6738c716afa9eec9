"""Server-mode client settings (URL, TLS, API key, gRPC, timeout) reach qdrant-client.

No Qdrant server runs here: these read the client's configuration back; the
congruence suite (tests/store/conftest.py) runs the store tests on a real server
when VIDVEC_TEST_QDRANT_URL is set.
"""

import warnings

import pytest

from tests.emulators import free_port
from vidvec.errors import VidvecError


@pytest.mark.parametrize("scheme,grpc", [("https", True), ("http", False)])
def test_server_settings_reach_the_client(scheme, grpc):
    from vidvec.config import load_settings
    from vidvec.store.client import make_client

    port = free_port()  # nothing listens: the version probe fails fast and only warns
    settings = load_settings(qdrant_url=f"{scheme}://127.0.0.1:{port}", qdrant_api_key="k3y",
                             qdrant_prefer_grpc=grpc, qdrant_timeout=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = make_client(settings)
    try:
        remote = client._client
        assert remote.rest_uri == f"{scheme}://127.0.0.1:{port}"
        assert remote._prefer_grpc is grpc and remote._timeout == 7
        assert remote._rest_headers.get("api-key") == "k3y"
        assert settings.store_engine == "server"
    finally:
        client.close()


@pytest.mark.parametrize("url", ["qdrant:6333", "ftp://qdrant", "https:// space"])
def test_bad_urls_are_refused(url):
    from vidvec.config import load_settings

    with pytest.raises(VidvecError, match="VIDVEC_QDRANT_URL"):
        load_settings(qdrant_url=url)


def test_the_engine_comes_from_vidvec_store_else_the_url(tmp_path):
    from vidvec.config import load_settings

    assert load_settings(home=tmp_path).store_engine == "edge"  # the embedded default
    assert load_settings(home=tmp_path, qdrant_url="http://q:6333").store_engine == "server"
    assert load_settings(home=tmp_path, qdrant_url="http://q:6333", store="edge").store_engine == "edge"
    assert load_settings(home=tmp_path, store="local").store_engine == "local"
    assert load_settings(home=tmp_path).edge_dir == tmp_path / "edge"
    with pytest.raises(VidvecError, match="VIDVEC_STORE=server needs VIDVEC_QDRANT_URL"):
        load_settings(store="server")
    with pytest.raises(VidvecError, match="VIDVEC_STORE"):
        load_settings(store="milvus")
