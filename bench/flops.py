"""The machine's matmul limit, measured, and the FLOPs a model's epoch performs.

    .venv/bin/python bench/flops.py [--threads 1]     # prints the measured limit as JSON
    .venv/bin/python bench/flops.py --model RUN/model  # a context model's matmul FLOPs

The limit is the best rate of large float32 (and bfloat16) matmuls through TensorFlow
at the given thread count, measured in the run that uses it, so a speed figure can be
stated as a fraction of what this machine's cores can do. FLOPs count multiply-adds as 2
and only the matmuls (the elementwise work is small beside them).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def cpu_flags() -> list[str]:
    """The CPU's vector and matrix extensions that matter for matmul speed."""
    wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    have = set(line.split(":", 1)[-1].split())
    return [flag for flag in wanted if flag in have]


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or ``""`` where it cannot be read."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    line = next((ln for ln in text.splitlines() if ln.startswith("model name")), "")
    return line.split(":", 1)[-1].strip()


def measure_limit(threads: int = 1, size: int = 2048, seconds: float = 1.5) -> dict:
    """Best GFLOP/s of ``[size, size] @ [size, size]`` in float32 and bfloat16."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tfdeeprec  # noqa: F401  (Keras 2 before TensorFlow)
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # already initialised by the caller: its setting stands
        pass
    rates = {}
    for dtype in ("float32", "bfloat16"):
        a = tf.cast(tf.random.normal([size, size]), dtype)
        b = tf.cast(tf.random.normal([size, size]), dtype)
        step = tf.function(lambda a=a, b=b: tf.matmul(a, b))
        step()
        best, spent = float("inf"), 0.0
        while spent < seconds:
            began = time.perf_counter()
            step().numpy()
            took = time.perf_counter() - began
            best, spent = min(best, took), spent + took
        rates[dtype] = 2 * size ** 3 / best / 1e9
    return {"threads": threads, "matmul_size": size,
            "gflops_float32": round(rates["float32"], 1),
            "gflops_bfloat16": round(rates["bfloat16"], 1),
            "cpu_flags": cpu_flags(), "cpu_model": cpu_model()}


def mlp_pair_flops(embedding_dim: int, hidden_units, gmf_dim: int = 0) -> int:
    """Forward FLOPs of one (user, item) pair through NeuMF (``gmf_dim`` > 0) or MLP-NCF:
    the first layer on ``[p_u, q_i]``, the rest of the MLP, GMF's product, the output."""
    units = [2 * embedding_dim, *hidden_units]
    flops = sum(2 * a * b for a, b in zip(units, units[1:]))
    return flops + gmf_dim + 2 * (gmf_dim + units[-1])


def neumf_epoch_flops(examples: int, embedding_dim: int, hidden_units, gmf_dim: int) -> int:
    """One training epoch: forward plus backward (twice the forward) per example."""
    return 3 * examples * mlp_pair_flops(embedding_dim, hidden_units, gmf_dim)


def neumf_ranking_flops(users: int, items: int, embedding_dim: int, hidden_units,
                        gmf_dim: int, split_first_layer: bool) -> int:
    """Scoring every (user, item) pair once. ``split_first_layer``: the first layer is
    done once per user and once per item (tfdeeprec's ranker), otherwise per pair."""
    pairs = users * items
    if not split_first_layer:
        return pairs * mlp_pair_flops(embedding_dim, hidden_units, gmf_dim)
    first = 2 * embedding_dim * hidden_units[0]
    per_pair = mlp_pair_flops(embedding_dim, hidden_units, gmf_dim) - 2 * first
    return pairs * per_pair + (users + items) * first


def graph_matmul_flops(graph) -> int:
    """The matmul FLOPs of one run of ``graph`` (a traced ``tf.function``'s, every shape
    known): ``MatMul``, ``BatchMatMul*`` and two-operand ``Einsum`` ops, multiply-adds as
    2; ops in nested functions (e.g. a ``while`` or ``PartitionedCall``) are not counted."""
    import numpy as np

    total = 0
    for op in graph.get_operations():
        shapes = [tuple(t.shape.as_list()) for t in op.inputs]
        if op.type == "MatMul":
            (m, k), (k2, n) = shapes[0], shapes[1]
            m, k = (k, m) if op.get_attr("transpose_a") else (m, k)
            n = k2 if op.get_attr("transpose_b") else n
            total += 2 * m * k * n
        elif op.type.startswith("BatchMatMul"):
            a, b = shapes[0], shapes[1]
            m, k = (a[-1], a[-2]) if op.get_attr("adj_x") else (a[-2], a[-1])
            n = b[-2] if op.get_attr("adj_y") else b[-1]
            batch = np.broadcast_shapes(a[:-2], b[:-2])
            total += 2 * int(np.prod(batch, dtype=np.int64)) * m * k * n
        elif op.type == "Einsum" and len(shapes) == 2:
            # A contraction's work is the product of every index's size, counted once.
            terms = op.get_attr("equation").decode().split("->")[0].split(",")
            sizes = {c: d for term, shape in zip(terms, shapes) for c, d in zip(term, shape)}
            total += 2 * int(np.prod(list(sizes.values()), dtype=np.int64))
    return total


def context_model_flops(model_dir: str, batch: int = 64) -> dict:
    """Forward matmul FLOPs per example of a ``tfdeeprec train`` context model (its
    run's ``model`` folder): the model's core (encoded features in, the logit out)
    traced at ``batch`` rows in inference mode; training counts as 3 times it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tfdeeprec  # noqa: F401  (Keras 2 before TensorFlow)
    import tensorflow as tf
    from tfdeeprec._keras import keras
    from tfdeeprec.models._context import core_of

    core = core_of(keras.models.load_model(model_dir, compile=False))
    specs = tf.nest.map_structure(
        lambda t: tf.TensorSpec([batch, *t.shape[1:]], t.dtype), core.input)
    forward = tf.function(lambda x: core(x, training=False))
    graph = forward.get_concrete_function(specs).graph
    per_example = graph_matmul_flops(graph) / batch
    return {"forward_flops_per_example": per_example,
            "train_flops_per_example": 3 * per_example,
            "parameters": int(core.count_params())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", default=None,
                        help="a run's model folder: print its matmul FLOPs, not the limit")
    args = parser.parse_args()
    if args.model:
        print(json.dumps(context_model_flops(args.model)))
    else:
        print(json.dumps(measure_limit(args.threads)))


if __name__ == "__main__":
    main()
