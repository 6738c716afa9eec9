"""Sidecar settings from the environment: defaults, parsing, one clear error."""

import pytest

from vidvec.errors import VidvecError
from vidvec.stream.settings import load_sidecar_settings


def test_defaults_feed_the_live_and_next_aliases(monkeypatch):
    sc = load_sidecar_settings()
    assert sc.source == "local" and sc.http_port == 9464 and not sc.drain
    assert sc.alias_list("videos") == ("videos", "videos__next")
    monkeypatch.setenv("VIDVEC_SIDECAR_ALIASES", "videos, videos_b")
    monkeypatch.setenv("VIDVEC_SIDECAR_DRAIN", "true")
    sc = load_sidecar_settings()
    assert sc.alias_list("videos") == ("videos", "videos_b") and sc.drain


@pytest.mark.parametrize("env, message", [
    ({"VIDVEC_SIDECAR_SOURCE": "kafka"}, "VIDVEC_SIDECAR_SOURCE"),
    ({"VIDVEC_SIDECAR_SOURCE": "pubsub"}, "needs VIDVEC_SIDECAR_PUBSUB_SUBSCRIPTION"),
    ({"VIDVEC_SIDECAR_PUBSUB_SUBSCRIPTION": "my-sub"}, "is not projects/P/subscriptions/S"),
    ({"VIDVEC_SIDECAR_ALIASES": "ok,bad alias"}, "invalid alias"),
    ({"VIDVEC_SIDECAR_MAX_BATCH_EVENTS": "0"}, "VIDVEC_SIDECAR_MAX_BATCH_EVENTS"),
    ({"VIDVEC_SIDECAR_HTTP_PORT": "70000"}, "VIDVEC_SIDECAR_HTTP_PORT"),
])
def test_bad_settings_name_the_variable(monkeypatch, env, message):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(VidvecError, match=message):
        load_sidecar_settings()
