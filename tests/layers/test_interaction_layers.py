"""Feature-interaction layers (FM, CIN, DCN cross, DCN-Mix, AutoInt): exact values against
hand-computed numbers and numpy references, shapes, weights, arguments and round trips."""

import re

import numpy as np
import pytest

from tfdeeprec._keras import keras, tf
from tfdeeprec.layers import CIN, CrossMixture, CrossV1, FieldSelfAttention, FMInteraction

RNG = np.random.default_rng(0)


def _random(*shape, scale=1.0):
    return (scale * RNG.normal(size=shape)).astype("float32")


def _randomize(layer, scale=0.5):
    layer.set_weights([_random(*w.shape, scale=scale) for w in layer.get_weights()])
    return layer


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# --------------------------------------------------------------------------- FMInteraction

class TestFMInteraction:
    @pytest.mark.parametrize("shape", [(1, 2, 1), (4, 3, 5), (3, 7, 2), (2, 10, 16)])
    def test_equals_the_naive_pairwise_sum(self, shape):
        v = _random(*shape)
        num_fields = shape[1]
        pairs = sum(v[:, i] * v[:, j] for i in range(num_fields)
                    for j in range(i + 1, num_fields))
        np.testing.assert_allclose(FMInteraction()(v).numpy(), pairs.sum(-1, keepdims=True),
                                   rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(FMInteraction(reduce_sum=False)(v).numpy(), pairs,
                                   rtol=1e-4, atol=1e-4)

    def test_two_fields_by_hand(self):
        v = tf.constant([[[1.0, 2.0], [3.0, 4.0]]])
        # <v_1, v_2> = 1*3 + 2*4 = 11; bi-interaction keeps the terms [1*3, 2*4] = [3, 8]
        assert FMInteraction()(v).numpy().tolist() == [[11.0]]
        assert FMInteraction(reduce_sum=False)(v).numpy().tolist() == [[3.0, 8.0]]

    def test_shapes_and_no_weights(self):
        inputs = keras.Input((3, 4))
        assert FMInteraction()(inputs).shape.as_list() == [None, 1]
        assert FMInteraction(reduce_sum=False)(inputs).shape.as_list() == [None, 4]
        assert FMInteraction().compute_output_shape((2, 3, 4)).as_list() == [2, 1]
        layer = FMInteraction()
        layer(_random(2, 3, 4))
        assert layer.weights == []


# --------------------------------------------------------------------------- CrossV1

def _cross_v1_reference(x0, kernels, biases):
    x = x0
    for w, b in zip(kernels, biases):
        x = x0 * (x @ w)[:, None] + b + x
    return x


class TestCrossV1:
    def test_one_layer_by_hand(self):
        layer = CrossV1(num_layers=1)
        layer.build((None, 2))
        layer.set_weights([np.array([0.5, 1.0]), np.array([0.1, -0.1])])
        # x . w = 1*0.5 + 2*1 = 2.5; x0 * 2.5 = [2.5, 5]; + b = [2.6, 4.9]; + x = [3.6, 6.9]
        np.testing.assert_allclose(layer(tf.constant([[1.0, 2.0]])).numpy(), [[3.6, 6.9]],
                                   rtol=1e-6)

    @pytest.mark.parametrize("num_layers", [1, 3])
    def test_equals_the_formula(self, num_layers):
        layer = CrossV1(num_layers=num_layers)
        layer.build((None, 5))
        _randomize(layer)
        x0 = _random(6, 5)
        kernels = [k.numpy() for k in layer.kernels]
        biases = [b.numpy() for b in layer.biases]
        np.testing.assert_allclose(layer(x0).numpy(), _cross_v1_reference(x0, kernels, biases),
                                   rtol=1e-4, atol=1e-5)

    def test_weights_and_l2(self):
        layer = CrossV1(num_layers=3, l2=0.1)
        assert layer(keras.Input((5,))).shape.as_list() == [None, 5]
        assert layer.count_params() == 3 * (5 + 5) and len(layer.losses) == 3


# --------------------------------------------------------------------------- CIN

def _cin_reference(x0, kernels, sizes, split_half):
    batch, num_fields, dim = x0.shape
    x, pooled = x0, []
    for i, (kernel, size) in enumerate(zip(kernels, sizes)):
        z = np.einsum("bhd,bmd->bhmd", x, x0).reshape(batch, -1, dim)  # row h * F + m
        maps = np.einsum("bjd,js->bsd", z, kernel)
        if split_half and i < len(sizes) - 1:
            x, direct = maps[:, :size // 2], maps[:, size // 2:]
        else:
            x = direct = maps
        pooled.append(direct.sum(-1))
    return np.concatenate(pooled, axis=1)


class TestCIN:
    def test_two_fields_one_map_by_hand(self):
        layer = CIN(layer_sizes=(1,))
        layer.build((None, 2, 2))
        layer.set_weights([np.array([[1.0], [2.0], [3.0], [4.0]])])
        x0 = tf.constant([[[1.0, 2.0], [3.0, 4.0]]])
        # Z rows (h, m) = (0,0), (0,1), (1,0), (1,1):
        #   d=0: 1*1, 1*3, 3*1, 3*3 = 1, 3, 3, 9  -> 1*1 + 2*3 + 3*3 + 4*9 = 52
        #   d=1: 2*2, 2*4, 4*2, 4*4 = 4, 8, 8, 16 -> 1*4 + 2*8 + 3*8 + 4*16 = 108
        # sum-pooled over d: 52 + 108 = 160
        assert layer(x0).numpy().tolist() == [[160.0]]

    @pytest.mark.parametrize("split_half,sizes", [(True, (4, 2)), (True, (6, 4, 3)),
                                                  (False, (3, 5)), (False, (2,))])
    def test_equals_the_einsum_reference(self, split_half, sizes):
        layer = CIN(layer_sizes=sizes, split_half=split_half)
        layer.build((None, 3, 4))
        _randomize(layer)
        x0 = _random(5, 3, 4)
        out = layer(x0).numpy()
        expected = _cin_reference(x0, [k.numpy() for k in layer.kernels], sizes, split_half)
        assert out.shape == (5, layer.output_dim)
        np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)

    def test_activation_applies_to_every_map(self):
        layer = CIN(layer_sizes=(2, 2), activation="relu", split_half=False)
        layer.build((None, 3, 4))
        _randomize(layer)
        x0 = _random(4, 3, 4)
        k0, k1 = [k.numpy() for k in layer.kernels]
        h1 = np.maximum(np.einsum("bjd,js->bsd",
                                  np.einsum("bhd,bmd->bhmd", x0, x0).reshape(4, 9, 4), k0), 0)
        h2 = np.maximum(np.einsum("bjd,js->bsd",
                                  np.einsum("bhd,bmd->bhmd", h1, x0).reshape(4, 6, 4), k1), 0)
        np.testing.assert_allclose(layer(x0).numpy(),
                                   np.concatenate([h1.sum(-1), h2.sum(-1)], axis=1),
                                   rtol=1e-4, atol=1e-4)

    def test_shapes_weights_and_l2(self):
        layer = CIN(layer_sizes=(4, 2), l2=0.01)
        assert layer(keras.Input((3, 5))).shape.as_list() == [None, 2 + 2]
        # (F * F) x 4 for the first layer, (4/2 * F) x 2 for the second
        assert [tuple(k.shape) for k in layer.kernels] == [(9, 4), (6, 2)]
        assert layer.count_params() == 36 + 12 and len(layer.losses) == 2
        assert CIN(layer_sizes=(4, 2), split_half=False).output_dim == 6

    def test_odd_sizes(self):
        with pytest.raises(ValueError, match=re.escape("layer_sizes=(3, 2)")):
            CIN(layer_sizes=(3, 2))
        assert CIN(layer_sizes=(2, 3)).output_dim == 1 + 3  # the last layer is not split
        assert CIN(layer_sizes=(3, 2), split_half=False).output_dim == 5


# --------------------------------------------------------------------------- CrossMixture

def _cross_mixture_reference(layer, x0, x, g=np.tanh):
    down, mid, up = layer.down_kernel.numpy(), layer.mid_kernel.numpy(), layer.up_kernel.numpy()
    bias = layer.bias.numpy() if layer.use_bias else np.zeros((len(down), x.shape[1]))
    experts = [x0 * (g(g(x @ down[i]) @ mid[i]) @ up[i] + bias[i]) for i in range(len(down))]
    gates = _softmax(x @ layer.gate_kernel.numpy())
    return sum(gates[:, i:i + 1] * e for i, e in enumerate(experts)) + x


class TestCrossMixture:
    @pytest.mark.parametrize("use_bias", [True, False])
    def test_equals_the_reference(self, use_bias):
        layer = CrossMixture(num_experts=3, low_rank=2, use_bias=use_bias)
        layer.build((None, 5))
        _randomize(layer)
        x0, x = _random(4, 5), _random(4, 5)
        np.testing.assert_allclose(layer(x0, x).numpy(),
                                   _cross_mixture_reference(layer, x0, x),
                                   rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(layer([x0, x]).numpy(), layer(x0, x).numpy())
        np.testing.assert_allclose(layer(x0).numpy(), _cross_mixture_reference(layer, x0, x0),
                                   rtol=1e-4, atol=1e-5)

    def test_relu_activation(self):
        layer = CrossMixture(num_experts=2, low_rank=3, activation="relu")
        layer.build((None, 4))
        _randomize(layer)
        x0, x = _random(3, 4), _random(3, 4)
        np.testing.assert_allclose(
            layer(x0, x).numpy(),
            _cross_mixture_reference(layer, x0, x, g=lambda a: np.maximum(a, 0)),
            rtol=1e-4, atol=1e-5)

    def test_one_expert_has_gate_one(self):
        layer = CrossMixture(num_experts=1, low_rank=2)
        layer.build((None, 3))
        _randomize(layer)
        x0, x = _random(4, 3), _random(4, 3)
        v, c, u, b = (layer.down_kernel.numpy()[0], layer.mid_kernel.numpy()[0],
                      layer.up_kernel.numpy()[0], layer.bias.numpy()[0])
        expected = x0 * (np.tanh(np.tanh(x @ v) @ c) @ u + b) + x  # no gate
        np.testing.assert_allclose(layer(x0, x).numpy(), expected, rtol=1e-4, atol=1e-5)

    def test_shapes_weights_and_l2(self):
        layer = CrossMixture(num_experts=2, low_rank=3, l2=0.1)
        x0 = keras.Input((4,))
        assert layer(x0, x0).shape.as_list() == [None, 4]
        # V 2x4x3, C 2x3x3, U 2x3x4, bias 2x4, gate 4x2
        assert layer.count_params() == 24 + 18 + 24 + 8 + 8 and len(layer.losses) == 4


# --------------------------------------------------------------------------- FieldSelfAttention

def _attention_reference(layer, x):
    heads, width = layer.num_heads, layer.head_dim
    wq, wk, wv = (layer.query_kernel.numpy(), layer.key_kernel.numpy(),
                  layer.value_kernel.numpy())
    outs = []
    for h in range(heads):
        cols = slice(h * width, (h + 1) * width)
        q, k, v = x @ wq[:, cols], x @ wk[:, cols], x @ wv[:, cols]
        scores = q @ k.transpose(0, 2, 1)
        if layer.scale:
            scores = scores / np.sqrt(width)
        outs.append(_softmax(scores) @ v)
    out = np.concatenate(outs, axis=-1)
    if layer.use_residual:
        out = out + x @ layer.residual_kernel.numpy()
    return np.maximum(out, 0.0)


class TestFieldSelfAttention:
    @pytest.mark.parametrize("kwargs", [{}, {"scale": True}, {"use_residual": False},
                                        {"num_heads": 1, "head_dim": 4}])
    def test_equals_the_reference(self, kwargs):
        layer = FieldSelfAttention(**{"num_heads": 2, "head_dim": 3, **kwargs})
        layer.build((None, 4, 5))
        _randomize(layer)
        x = _random(3, 4, 5)
        np.testing.assert_allclose(layer(x).numpy(), _attention_reference(layer, x),
                                   rtol=1e-4, atol=1e-5)

    def test_no_scaling_by_default(self):
        layer = FieldSelfAttention(num_heads=1, head_dim=4, use_residual=False)
        scaled = FieldSelfAttention(num_heads=1, head_dim=4, use_residual=False, scale=True)
        x = _random(2, 3, 5, scale=3.0)
        layer.build(x.shape)
        scaled.build(x.shape)
        _randomize(layer)
        scaled.set_weights(layer.get_weights())
        assert not np.allclose(layer(x).numpy(), scaled(x).numpy())

    def test_shapes_weights_and_l2(self):
        layer = FieldSelfAttention(num_heads=2, head_dim=3, l2=0.1)
        assert layer(keras.Input((7, 4))).shape.as_list() == [None, 7, 6]
        assert layer.count_params() == 4 * (4 * 6) and len(layer.losses) == 4
        assert FieldSelfAttention(use_residual=False)(_random(1, 2, 3)).shape == (1, 2, 16)


# --------------------------------------------------------------------------- every layer

def _fm_model(reduce_sum=True):
    inputs = keras.Input((3, 4))
    return keras.Model(inputs, FMInteraction(reduce_sum=reduce_sum)(inputs))


def _cin_model():
    inputs = keras.Input((3, 4))
    return keras.Model(inputs, CIN(layer_sizes=(4, 3), activation="relu", l2=0.01)(inputs))


def _cross_v1_model():
    inputs = keras.Input((12,))
    return keras.Model(inputs, CrossV1(num_layers=2, l2=0.01)(keras.layers.Flatten()(inputs)))


def _cross_mixture_model():
    inputs = keras.Input((12,))
    x1 = CrossMixture(num_experts=2, low_rank=3, name="cross_1")(inputs)
    x2 = CrossMixture(num_experts=2, low_rank=3, use_bias=False, name="cross_2")(inputs, x1)
    return keras.Model(inputs, x2)


def _attention_model():
    inputs = keras.Input((3, 4))
    return keras.Model(inputs, FieldSelfAttention(num_heads=2, head_dim=3, scale=True)(inputs))


MODELS = {"fm": (_fm_model, (5, 3, 4)), "cin": (_cin_model, (5, 3, 4)),
          "cross_v1": (_cross_v1_model, (5, 12)),
          "cross_mixture": (_cross_mixture_model, (5, 12)),
          "attention": (_attention_model, (5, 3, 4))}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_config_round_trip_gives_the_same_outputs(name):
    build, shape = MODELS[name]
    layer = build().layers[-1]
    if not layer.weights:  # FM: also check the non-default argument
        layer = FMInteraction(reduce_sum=False)
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    x = _random(*shape)
    args = (x, 0.5 * x) if isinstance(layer, CrossMixture) else (x,)
    expected = layer(*args).numpy()
    clone(*args)  # builds the clone's weights
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(*args).numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_saves_and_reloads_in_a_model(name, reload_check):
    build, shape = MODELS[name]
    model = build()
    for weight in model.weights:  # non-zero biases too
        weight.assign(_random(*weight.shape, scale=0.5))
    reload_check(model, _random(*shape), name=name)


@pytest.mark.parametrize("make,match", [
    (lambda: CIN(layer_sizes=()), "layer_sizes=()"),
    (lambda: CIN(layer_sizes=(4, 0)), "layer_sizes=(4, 0)"),
    (lambda: CIN(layer_sizes=(5, 4)), "layer_sizes=(5, 4)"),
    (lambda: CIN(l2=-0.1), "l2=-0.1"),
    (lambda: CrossV1(num_layers=0), "num_layers=0"),
    (lambda: CrossV1(num_layers=1.5), "num_layers=1.5"),
    (lambda: CrossV1(l2=-1.0), "l2=-1.0"),
    (lambda: CrossMixture(num_experts=0), "num_experts=0"),
    (lambda: CrossMixture(low_rank=-2), "low_rank=-2"),
    (lambda: CrossMixture(l2=-1.0), "l2=-1.0"),
    (lambda: FieldSelfAttention(num_heads=0), "num_heads=0"),
    (lambda: FieldSelfAttention(head_dim=0), "head_dim=0"),
    (lambda: FieldSelfAttention(l2=-0.5), "l2=-0.5"),
    (lambda: FMInteraction()(tf.zeros((2, 3))), "input_shape=(2, 3)"),
    (lambda: CIN()(tf.zeros((2, 3))), "input_shape=(2, 3)"),
    (lambda: CrossV1()(tf.zeros((2, 3, 4))), "input_shape=(2, 3, 4)"),
    (lambda: CrossMixture()(tf.zeros((2, 3, 4))), "input_shape=(2, 3, 4)"),
    (lambda: FieldSelfAttention()(tf.zeros((2, 3))), "input_shape=(2, 3)"),
])
def test_bad_arguments_are_named(make, match):
    with pytest.raises(ValueError, match=re.escape(f"Received: {match}")):
        make()
