"""NCF specifics: GMF, the NeuMF fusion and the paper's pre-training initialisation."""

import numpy as np
import pytest

from tfdeeprec._keras import keras
from tfdeeprec.models import build_gmf, build_mf, build_mlp_ncf, build_neumf, load_pretrained_neumf


def _pairs():
    return {"user_id": np.array([1, 2, 3, 0], "int32"), "item_id": np.array([4, 1, 0, 2], "int32")}


def test_gmf_computes_weighted_elementwise_product():
    model = build_gmf(3, 3, embedding_dim=2)
    model.get_layer("user_embedding").set_weights([np.array([[0, 0], [1, 2], [3, 4]], "float32")])
    model.get_layer("item_embedding").set_weights([np.array([[0, 0], [5, 6], [7, 8]], "float32")])
    model.get_layer("prediction").set_weights([np.array([[1.0], [10.0]], "float32"),
                                               np.array([0.5], "float32")])
    out = model.predict({"user_id": np.array([1, 2]), "item_id": np.array([2, 1])}, verbose=0)
    # u1 x i2: 1*7*1 + 2*8*10 + 0.5 = 167.5; u2 x i1: 3*5 + 4*6*10 + 0.5 = 255.5
    np.testing.assert_allclose(out, [167.5, 255.5])


def test_biased_mf_is_dot_plus_biases_plus_global_mean():
    model = build_mf(2, 2, embedding_dim=1, global_mean=3.0, task="rating")
    model.get_layer("user_embedding").set_weights([np.array([[0], [2]], "float32")])
    model.get_layer("item_embedding").set_weights([np.array([[0], [0.25]], "float32")])
    model.get_layer("user_bias").set_weights([np.array([[0], [0.1]], "float32")])
    model.get_layer("item_bias").set_weights([np.array([[0], [-0.3]], "float32")])
    out = model.predict({"user_id": np.array([1]), "item_id": np.array([1])}, verbose=0)
    np.testing.assert_allclose(out, [3.0 + 0.5 + 0.1 - 0.3], rtol=1e-6)


@pytest.mark.parametrize("alpha", [0.5, 0.2])
def test_pretrained_neumf_equals_alpha_mix_of_gmf_and_mlp(alpha):
    kwargs = dict(hidden_units=(8, 4))
    gmf = build_gmf(5, 6, embedding_dim=3)
    mlp = build_mlp_ncf(5, 6, embedding_dim=3, **kwargs)
    for model in (gmf, mlp):  # make the "trained" weights non-trivial
        model.set_weights([np.random.default_rng(i).normal(size=w.shape).astype("float32")
                           for i, w in enumerate(model.get_weights())])
    neumf = load_pretrained_neumf(build_neumf(5, 6, gmf_dim=3, mlp_dim=3, **kwargs),
                                  gmf, mlp, alpha=alpha)
    pairs = _pairs()
    expected = alpha * gmf.predict(pairs, verbose=0) + (1 - alpha) * mlp.predict(pairs, verbose=0)
    np.testing.assert_allclose(neumf.predict(pairs, verbose=0), expected, rtol=1e-5, atol=1e-5)


def test_pretraining_rejects_bad_alpha_and_mismatched_sizes():
    gmf, mlp = build_gmf(5, 6, embedding_dim=3), build_mlp_ncf(5, 6, embedding_dim=3)
    with pytest.raises(ValueError, match="alpha=1.5"):
        load_pretrained_neumf(build_neumf(5, 6, gmf_dim=3, mlp_dim=3), gmf, mlp, alpha=1.5)
    with pytest.raises(ValueError):
        load_pretrained_neumf(build_neumf(5, 6, gmf_dim=4, mlp_dim=3), gmf, mlp)


def test_embedding_l2_applies_to_looked_up_rows_only():
    model = build_gmf(4, 4, embedding_dim=2, l2=0.1)
    table = model.get_layer("user_embedding")
    assert table.embeddings_regularizer is None
    assert isinstance(table.activity_regularizer, keras.regularizers.L2)
