"""The ``tfdeeprec`` command: demo, models, train, evaluate, recommend, export, serve."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tfdeeprec.tables import format_table, metrics_table  # noqa: E402  (format_table re-exported)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="tfdeeprec", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="train NCF, Wide & Deep and NeuMF on synthetic "
                          "ratings; print tables and write a 12-panel figure")
    demo.add_argument("--out", default="out/demo", help="folder for the figure and JSON")
    demo.add_argument("--epochs", type=int, default=12, help="maximum epochs per model")
    demo.add_argument("--threads", type=int, default=0, help="TF threads (0 = all cores)")

    from tfdeeprec.models.registry import MODELS

    train = sub.add_parser(
        "train", help="train one model and save it with its metrics",
        description="Train one model. Settings come from the model's defaults, then "
        "--config FILE, then the flags given here (flags win).")
    train.add_argument("--model", choices=sorted(MODELS), metavar="MODEL",
                       help="a registered model: " + ", ".join(sorted(MODELS))
                       + " (`tfdeeprec models` describes them)")
    train.add_argument("--config", default=None, metavar="FILE",
                       help="YAML (or JSON) file of experiment fields: model, data, task, "
                       "split, ratios, batch_size, num_negatives, ks, model_kwargs, seed, "
                       "training: {epochs, learning_rate, ...} (training fields may also "
                       "sit at the top level)")
    train.add_argument("--data", help="synthetic (default) | a TFDS name "
                       "(movielens/100k-ratings) | a path | criteo:PATH (task ctr: a "
                       "Criteo-format TSV, streamed)")
    train.add_argument("--task", help="rating | implicit | ctr (default: the model's first "
                       "task)")
    train.add_argument("--drop-ratings", type=float, nargs="+", metavar="R",
                       help="task ctr on rated data: rows with these ratings are dropped "
                       "before the split (RecBole's ml-100k CTR protocol: 3)")
    train.add_argument("--label-threshold", type=float,
                       help="task ctr on rated data: label = rating >= this (default 4)")
    train.add_argument("--split", choices=("user_ratio", "random", "leave_one_out",
                                           "temporal"))
    train.add_argument("--epochs", type=int, help="default 20")
    train.add_argument("--early-stopping-patience", type=int, metavar="N",
                       help="epochs without a better validation metric before stopping "
                            "(0: never stop early); default 3")
    train.add_argument("--reduce-lr-patience", type=int, metavar="N",
                       help="epochs without a better validation metric before the "
                            "learning rate is halved (0: never); default 2")
    train.add_argument("--rank-seen", action="store_true",
                       help="rank the user's own (training, and for test validation) "
                            "items too in evaluation, as RecBole's sequential protocol "
                            "does; default: leave them out")
    train.add_argument("--window-stride", type=int, metavar="N",
                       help="sequence models: cut training windows every N items (below "
                            "max_length they overlap: more contexts an epoch); default "
                            "max_length")
    train.add_argument("--bucket-width", type=int, metavar="N",
                       help="sequence models: batch windows of similar length and drop "
                            "their shared leading padding in steps of N columns (same "
                            "scores, less work on short histories, less mixed batches: "
                            "it lowered BERT4Rec's quality on ml-100k); default: off")
    train.add_argument("--batch-size", type=int,
                       help="default 1024 (128 history windows for sequence models)")
    train.add_argument("--learning-rate", type=float, help="default 1e-3")
    train.add_argument("--optimizer", help="sparse_adam (default) | adam | adagrad | sgd")
    train.add_argument("--loss", choices=("mse", "bce", "bpr", "softmax", "sampled_softmax",
                                          "gbce"),
                       help="default: the model's (sequence models: softmax; sampled_softmax, "
                            "bce and gbce sample --num-negatives items per batch)")
    train.add_argument("--num-negatives", type=int, help="default 4")
    train.add_argument("--model-arg", action="append", default=[], metavar="KEY=VALUE",
                       help="builder argument, VALUE as JSON (e.g. embedding_dim=32)")
    train.add_argument("--seed", type=int, help="split, sampling and weight seed (default 0)")
    train.add_argument("--threads", type=int, default=0)
    train.add_argument("--out", default=None, help="folder for model, vocabularies, metrics")
    train.add_argument("--overwrite", action="store_true",
                       help="replace an existing non-empty --out folder")
    train.add_argument("--resume", action="store_true",
                       help="continue an interrupted `train --out` run from its last "
                       "finished epoch (same settings)")

    sub.add_parser("models", help="list the registered models").add_argument(
        "--markdown", action="store_true", help="the README's Markdown table")

    recommend = sub.add_parser("recommend", help="top-k items for users, from a run folder")
    recommend.add_argument("--model-dir", required=True, help="a `train --out` folder")
    recommend.add_argument("--user", action="append", required=True, metavar="USER_ID",
                           help="a raw user ID (repeat for several)")
    recommend.add_argument("--k", type=int, default=10)
    recommend.add_argument("--keep-seen", action="store_true",
                           help="do not leave out the user's training items")
    recommend.add_argument("--threads", type=int, default=0)

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
    _set_threads(getattr(args, "threads", 0))
    try:
        if args.command == "models":
            from tfdeeprec.tables import models_markdown, models_text
            print(models_markdown() if args.markdown else models_text())
        elif args.command == "recommend":
            return _recommend(args)
        elif args.command == "demo":
            from tfdeeprec.demo import run_demo
            run_demo(args.out, epochs=args.epochs)
        elif args.command == "train":
            return _train(args)
        elif args.command == "export":
            return _export(args)
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
    from tfdeeprec.config import ExperimentConfig, load_config_file, split_training_fields
    from tfdeeprec.runs import check_out_dir, save_run
    from tfdeeprec.training.experiment import run_experiment

    fields = load_config_file(args.config) if args.config else {}
    flags = {"model": args.model, "data": args.data, "task": args.task, "split": args.split,
             "batch_size": args.batch_size, "num_negatives": args.num_negatives,
             "seed": args.seed, "epochs": args.epochs, "learning_rate": args.learning_rate,
             "optimizer": args.optimizer, "loss": args.loss,
             "early_stopping_patience": args.early_stopping_patience,
             "reduce_lr_patience": args.reduce_lr_patience,
             "drop_ratings": args.drop_ratings, "label_threshold": args.label_threshold,
             "exclude_seen": False if args.rank_seen else None,
             "window_stride": args.window_stride, "bucket_width": args.bucket_width}
    given = split_training_fields({k: v for k, v in flags.items() if v is not None})
    fields.update({k: v for k, v in given.items() if k != "training"})
    fields["training"] = {**fields.get("training", {}), **given.get("training", {})}
    if args.seed is not None:  # one seed for the split, the sampling and the weights
        fields["training"].setdefault("seed", args.seed)
    if "model" not in fields:
        raise ValueError("--model (or `model:` in --config) is required")
    if args.model_arg:
        fields["model_kwargs"] = {**fields.get("model_kwargs", {}),
                                  **_model_args(args.model_arg)}
    if "task" not in fields:
        from tfdeeprec.models.registry import get_spec
        fields["task"] = get_spec(fields["model"]).tasks[0]
    fields["training"].setdefault("verbose", 1 if sys.stdout.isatty() else 2)
    if args.resume and not args.out:
        raise ValueError("--resume needs --out (the interrupted run's folder)")
    backup = None
    if args.out:
        out = Path(args.out)
        backup = out.parent / f".{out.name}.backup"
        resuming = args.resume and (backup / "config.json").exists()
        if args.resume and not resuming and out.is_dir() and any(out.iterdir()):
            raise FileExistsError(f"{out} holds a finished run and {backup} nothing to "
                                  "resume; pass --overwrite (without --resume) to train again")
        check_out_dir(out, overwrite=args.overwrite or resuming)
        fields["training"]["backup_dir"] = str(backup)
    config = ExperimentConfig.from_dict(fields)
    if backup is not None:
        _prepare_backup(backup, config, resume=args.resume)
    result = run_experiment(config)
    if result.initial_epoch:
        print(f"resumed from epoch {result.initial_epoch + 1} (BackupAndRestore in {backup})")
    # Saved before anything is printed: a report that fails loses no trained run.
    saved = save_run(result, args.out, overwrite=True) if args.out else None
    if saved is not None:
        shutil.rmtree(backup, ignore_errors=True)
    print(metrics_table(result.metrics))
    print(f"{result.parameters:,} parameters, {len(result.epoch_seconds)} epochs, "
          f"{result.seconds:.1f} s")
    if saved is not None:
        print(f"saved to {saved}")
    return 0


def _model_args(items) -> dict:
    model_kwargs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--model-arg must be KEY=VALUE. Received: {item!r}")
        try:
            model_kwargs[key] = json.loads(value)
        except json.JSONDecodeError:
            model_kwargs[key] = value
    return model_kwargs


def _prepare_backup(backup, config, *, resume: bool) -> None:
    """A fresh run clears an old backup; a resumed one must have the same settings."""
    from tfdeeprec.config import config_json

    settings = backup / "config.json"
    if resume and settings.exists():
        before = json.loads(settings.read_text())
        now = json.loads(config_json(config))
        changed = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
        if changed:
            raise ValueError(f"--resume needs the interrupted run's settings; these differ: "
                             f"{changed} (in {settings})")
        return
    if resume:
        print(f"nothing to resume in {backup}; starting from epoch 1")
    shutil.rmtree(backup, ignore_errors=True)
    backup.mkdir(parents=True)
    settings.write_text(config_json(config))


def _evaluate(args) -> int:
    import dataclasses

    from tfdeeprec.runs import load_run, prepare_config_data, rebuild_run_data
    from tfdeeprec.training.experiment import evaluate_part

    model, user_vocab, item_vocab, config = load_run(args.model_dir)
    if user_vocab is None:  # rows without IDs (a CTR file): split again from the source
        data = prepare_config_data(dataclasses.replace(config, data=args.data or config.data))
    else:
        data = rebuild_run_data(args.model_dir, config, user_vocab, item_vocab, args.data)
    valid = evaluate_part(model, data, "valid", config)
    test = evaluate_part(model, data, "test", config)
    print(metrics_table({"valid": valid, "test": test}))
    return 0


def _export(args) -> int:
    from tfdeeprec.export import read_metadata
    from tfdeeprec.runs import export_run

    options = {}
    if args.index != "auto":
        options["scann"] = args.index == "scann"
    path = export_run(args.model_dir, args.base, args.name, args.version, max_k=args.max_k,
                      exclude_seen=not args.keep_seen, data=args.data, **options)
    exports = read_metadata(path).get("exports") or {"main": f"{args.name}/{path.name}"}
    for folder in dict.fromkeys(exports.values()):
        print(f"exported {os.path.join(args.base, folder)}")
    return 0


def _recommend(args) -> int:
    from tfdeeprec.runs import recommend_from_run

    rows = []
    for user, items in zip(args.user, recommend_from_run(args.model_dir, args.user, args.k,
                                                         exclude_seen=not args.keep_seen)):
        if not items:
            print(f"user {user!r} is not in the run's training data (an export answers it "
                  "with its cold-start fallback)", file=sys.stderr)
        rows += [[user, rank, item, score] for rank, (item, score) in enumerate(items, 1)]
    print(format_table(["user_id", "rank", "item_id", "score"], rows))
    return 0


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
