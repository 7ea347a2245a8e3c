"""AutoInt's two forms of interacting layers: their layers, weights and bad arguments."""

import pytest

from tfdeeprec._keras import keras, tf
from tfdeeprec.layers.field_self_attention import FieldSelfAttention
from tfdeeprec.models.autoint import build_autoint

IDS = {"user_id": tf.constant(["1", "2"]), "item_id": tf.constant(["2", "5"])}


def _non_embedding_weights(model):
    core = model.get_layer("core")
    return sum(int(tf.size(w)) for w in core.trainable_weights) - sum(
        int(tf.size(w)) for w in core.get_layer("field_embedding").trainable_weights)


def test_projected_form_has_recboles_layers_and_weights():
    model = build_autoint(5, 6, embedding_dim=4, num_heads=2, head_dim=3,
                          attention_layers=1, hidden_units=(8,))
    layers = model.get_layer("core").layers
    assert sum(isinstance(x, keras.layers.MultiHeadAttention) for x in layers) == 1
    assert not any(isinstance(x, FieldSelfAttention) for x in layers)
    # 2 fields of 4, W = 2 heads x 3 = 6: attention_embedding 4*6+6 = 30; the attention's
    # query, key, value 3 * (6*6+6) = 126 and output 6*6+6 = 42; residual 30; attention
    # logit 2*6+1 = 13; MLP 8*8+8 = 72; deep logit 8+1 = 9.
    assert _non_embedding_weights(model) == 30 + 126 + 42 + 30 + 13 + 72 + 9
    assert model(IDS).shape == (2,)


def test_paper_form_stacks_field_self_attention():
    model = build_autoint(5, 6, embedding_dim=4, num_heads=2, head_dim=3,
                          attention_layers=2, hidden_units=(8,), interacting="paper")
    layers = model.get_layer("core").layers
    assert sum(isinstance(x, FieldSelfAttention) for x in layers) == 2
    # per layer: query, key, value and residual kernels without biases, (in, 6);
    # in = 4 then 6: 4 * 4*6 + 4 * 6*6 = 240; attention logit 13; MLP 72; deep logit 9.
    assert _non_embedding_weights(model) == 240 + 13 + 72 + 9
    assert model(IDS).shape == (2,)


def test_unknown_interacting_form_is_named():
    with pytest.raises(ValueError, match="interacting='transformer'"):
        build_autoint(5, 6, interacting="transformer")
