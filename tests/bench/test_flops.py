"""bench/flops.py counts a traced graph's matmul FLOPs exactly (multiply-adds as 2)."""

import importlib.util
from pathlib import Path

import pytest

from tfdeeprec._keras import keras, tf

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "flops.py"


@pytest.fixture(scope="module")
def flops():
    spec = importlib.util.spec_from_file_location("bench_flops", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _graph(fn, *specs):
    return tf.function(fn).get_concrete_function(*specs).graph


def test_dense_layers_count_two_flops_per_multiply_add(flops):
    # 4 rows through Dense 6->5 and Dense 5->3: 2 * 4 * (6 * 5 + 5 * 3) = 360.
    model = keras.Sequential([keras.layers.Dense(5), keras.layers.Dense(3)])
    model.build((None, 6))
    graph = _graph(lambda x: model(x), tf.TensorSpec([4, 6]))
    assert flops.graph_matmul_flops(graph) == 360


def test_transposes_batch_matmul_and_einsum(flops):
    def fn(a, b, c):
        first = tf.matmul(a, b, transpose_b=True)  # [2, 3] x [4, 3]^T: 2*2*3*4 = 48
        second = tf.matmul(c, c, adjoint_b=True)  # 5 x ([2, 3] x [3, 2]): 5*2*2*3*2 = 120
        third = tf.einsum("bij,bjk->bik", c, tf.transpose(c, (0, 2, 1)))  # again 120
        return first, second, third

    graph = _graph(fn, tf.TensorSpec([2, 3]), tf.TensorSpec([4, 3]), tf.TensorSpec([5, 2, 3]))
    assert flops.graph_matmul_flops(graph) == 48 + 120 + 120


def test_elementwise_work_is_not_counted(flops):
    graph = _graph(lambda x: tf.reduce_sum(tf.square(x) * x, axis=1), tf.TensorSpec([8, 4]))
    assert flops.graph_matmul_flops(graph) == 0
