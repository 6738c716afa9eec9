import numpy as np

from vidvec.embed.base import MUSE_V3_FAMILY, check_family
from vidvec.errors import VidvecError


def test_vectors_are_normalised_512d(embedder):
    out = embedder.encode(["a cat on a sofa", "un chat sur un canapé", ""])
    assert out.shape == (3, 512) and out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert embedder.encode([]).shape == (0, 512)


def test_same_topic_across_languages_lands_close(embedder):
    en, fr, ja, other = embedder.encode([
        "The football match ended in a draw after extra time.",
        "Le match de football s'est terminé par un match nul après prolongation.",
        "サッカーの試合は延長戦の末に引き分けに終わった。",
        "Preheat the oven and bake the bread for forty minutes.",
    ])
    assert en @ fr > en @ other + 0.2
    assert en @ ja > en @ other + 0.2


def test_family_guard(embedder):
    assert embedder.family == MUSE_V3_FAMILY
    check_family(embedder, MUSE_V3_FAMILY, "c")
    try:
        check_family(embedder, "other-space", "c")
    except VidvecError as exc:
        assert "must not mix" in str(exc)
    else:
        raise AssertionError("mixing families was allowed")
