"""The machine's matmul limit, measured, and the FLOPs a model's epoch performs.

    .venv/bin/python bench/flops.py [--threads 1]     # prints the measured limit as JSON

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
            "cpu_flags": cpu_flags()}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    print(json.dumps(measure_limit(parser.parse_args().threads)))


if __name__ == "__main__":
    main()
