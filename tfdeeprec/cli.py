"""The ``tfdeeprec`` command: demo, train, evaluate, export, serve."""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="tfdeeprec", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="train NCF, Wide & Deep and NeuMF on synthetic "
                          "ratings; print tables and write a 12-panel figure")
    demo.add_argument("--out", default="out/demo", help="folder for the figure and JSON")
    demo.add_argument("--epochs", type=int, default=12, help="maximum epochs per model")
    demo.add_argument("--threads", type=int, default=0, help="TF threads (0 = all cores)")

    train = sub.add_parser("train", help="train one model and save it with its metrics")
    train.add_argument("--model", required=True, help="a registered model name")
    train.add_argument("--data", default="synthetic",
                       help="synthetic | a TFDS name (movielens/100k-ratings) | a path")
    train.add_argument("--task", choices=("rating", "implicit"), default="implicit")
    train.add_argument("--split", choices=("user_ratio", "random", "leave_one_out",
                                           "temporal"), default=None)
    train.add_argument("--epochs", type=int, default=20)
    train.add_argument("--batch-size", type=int, default=1024)
    train.add_argument("--learning-rate", type=float, default=1e-3)
    train.add_argument("--optimizer", default="sparse_adam")
    train.add_argument("--loss", choices=("mse", "bce", "bpr"), default=None)
    train.add_argument("--num-negatives", type=int, default=4)
    train.add_argument("--model-arg", action="append", default=[], metavar="KEY=VALUE",
                       help="builder argument, VALUE as JSON (e.g. embedding_dim=32)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=0)
    train.add_argument("--out", default=None, help="folder for model, vocabularies, metrics")

    evaluate = sub.add_parser("evaluate", help="evaluate a `train --out` folder")
    evaluate.add_argument("--model-dir", required=True)
    evaluate.add_argument("--data", default=None, help="defaults to the training source")
    evaluate.add_argument("--threads", type=int, default=0)

    export = sub.add_parser("export", help="write a versioned SavedModel for TF Serving / R")
    export.add_argument("--model-dir", required=True, help="a `train --out` folder")
    export.add_argument("--base", required=True, help="export base: BASE/NAME/VERSION/")
    export.add_argument("--name", required=True, help="model name (letters, digits, _ - .)")
    export.add_argument("--version", type=int, default=None, help="default: next integer")
    export.add_argument("--max-k", type=int, default=100, help="largest k `recommend` serves")
    export.add_argument("--keep-seen", action="store_true",
                        help="do not exclude each user's training items from `recommend`")
    export.add_argument("--data", default=None, help="defaults to the training source")
    export.add_argument("--index", choices=("auto", "scann", "brute_force"), default="auto",
                        help="two-tower runs: also write the ScaNN twin NAME_scann "
                        "(auto: when ScaNN is installed); NAME (brute force) and "
                        "NAME_query_tower are always written")
    export.add_argument("--threads", type=int, default=0)

    serve = sub.add_parser("serve", help="serve exports over TF Serving's REST API")
    serve.add_argument("--model-base", required=True, help="folder with NAME/VERSION/ exports")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: local only)")
    serve.add_argument("--port", type=int, default=8501)
    serve.add_argument("--max-batch-size", type=int, default=None,
                       help="rows per dynamic batch")
    serve.add_argument("--batch-timeout-ms", type=float, default=None,
                       help="longest wait for a batch to fill")
    serve.add_argument("--no-batching", action="store_true", help="run each request alone")
    serve.add_argument("--max-body-bytes", type=int, default=None,
                       help="larger request bodies get HTTP 413")
    serve.add_argument("--poll-seconds", type=float, default=None,
                       help="how often to look for new versions")
    serve.add_argument("--threads", type=int, default=0)

    args = parser.parse_args(argv)
    _set_threads(args.threads)
    try:
        if args.command == "demo":
            from tfdeeprec.demo import run_demo
            run_demo(args.out, epochs=args.epochs)
        elif args.command == "train":
            return _train(args)
        elif args.command == "export":
            from tfdeeprec.export import export_run
            from tfdeeprec.export import read_metadata
            path = export_run(args.model_dir, args.base, args.name, args.version,
                              max_k=args.max_k, exclude_seen=not args.keep_seen,
                              data=args.data, scann={"auto": None, "scann": True,
                                                     "brute_force": False}[args.index])
            retrieval = read_metadata(path).get("retrieval")  # two-tower: three models
            folders = ([os.path.join(args.base, export)
                        for export in retrieval["exports"].values()] if retrieval else [path])
            for folder in folders:
                print(f"exported {folder}")
        elif args.command == "serve":
            from tfdeeprec.serving import serve as run_server
            options = {key: getattr(args, key) for key in (
                "max_batch_size", "batch_timeout_ms", "max_body_bytes", "poll_seconds")
                if getattr(args, key) is not None}
            run_server(args.model_base, args.host, args.port,
                       enable_batching=not args.no_batching, **options)
        else:
            return _evaluate(args)
    except (ValueError, OSError) as err:  # FileNotFoundError, FileExistsError, port in use
        print(f"tfdeeprec {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


def _train(args) -> int:
    from tfdeeprec.training.experiment import ExperimentConfig, run_experiment, save_run
    from tfdeeprec.training.recipe import TrainingConfig

    model_kwargs = {}
    for item in args.model_arg:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--model-arg must be KEY=VALUE. Received: {item!r}")
        try:
            model_kwargs[key] = json.loads(value)
        except json.JSONDecodeError:
            model_kwargs[key] = value
    config = ExperimentConfig(
        model=args.model, data=args.data, task=args.task, split=args.split,
        batch_size=args.batch_size, num_negatives=args.num_negatives, seed=args.seed,
        model_kwargs=model_kwargs,
        training=TrainingConfig(epochs=args.epochs, learning_rate=args.learning_rate,
                                optimizer=args.optimizer, loss=args.loss, seed=args.seed,
                                verbose=2))
    result = run_experiment(config)
    print(format_table(["split", *result.metrics["test"]],
                       [[name, *values.values()] for name, values in result.metrics.items()]))
    print(f"{result.parameters:,} parameters, {len(result.epoch_seconds)} epochs, "
          f"{result.seconds:.1f} s")
    if args.out:
        print(f"saved to {save_run(result, args.out)}")
    return 0


def _evaluate(args) -> int:
    from tfdeeprec.training.experiment import evaluate_model, load_run, prepare_data

    model, user_vocab, item_vocab, config = load_run(args.model_dir)
    if args.data:
        config.data = args.data
    data = prepare_data(config)
    if data.user_vocab != user_vocab or data.item_vocab != item_vocab:
        raise ValueError(f"the data from {config.data!r} does not give the vocabularies the "
                         f"model in {args.model_dir} was trained with (other data or split)")
    valid = evaluate_model(model, data, data.valid, config).metrics
    test = evaluate_model(model, data, data.test, config, exclude=(data.valid,)).metrics
    print(format_table(["split", *valid], [["valid", *valid.values()],
                                           ["test", *test.values()]]))
    return 0


def format_table(header, rows) -> str:
    """Plain-text table; floats to 4 decimals.

    >>> print(format_table(["a", "b"], [["x", 0.5]]))
    a  b
    x  0.5000
    """
    cells = [[f"{c:.4f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)


def _set_threads(threads: int) -> None:
    import tfdeeprec  # noqa: F401  (Keras 2 before TensorFlow)
    from tfdeeprec._keras import tf
    # Each evaluation wraps the model in a fresh tf.function; TF's retracing notice about
    # that is noise on a terminal. Errors still print.
    tf.get_logger().setLevel("ERROR")
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


if __name__ == "__main__":
    sys.exit(main())
