"""The context family: models that map a row of named features to a click probability.

FM, DeepFM, xDeepFM, DCN, DCN-v2, AutoInt and Wide & Deep take raw named features
(``tfdeeprec.features``) and return a logit. They train with BCE on given labels (task
``ctr``: no sampled negatives) and report AUC, LogLoss and, where rows have a user,
per-user GAUC.

Where the data is keyed by user and item (an InteractionFrame: labels from ratings, see
:mod:`tfdeeprec.data.ctr_view`), a (user, item) pair is scored by joining the user's and
the item's features (``EncodedInteractions.id_features``), so these models also rank
every item for a user and export ``score`` and ``recommend``. Labelled rows without
IDs (a labelled file, Criteo) give AUC and LogLoss only, and export ``score_features``.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec._memory import release_free_memory
from tfdeeprec.data import schema
from tfdeeprec.data.ctr_view import ctr_rows, id_tables, label_ratings
from tfdeeprec.data.encoded import IdFeatures
from tfdeeprec.data.labelled import LabelledRows
from tfdeeprec.data.load import load_interactions
from tfdeeprec.data.prepared import PreparedData, prepare_data
from tfdeeprec.evaluation import FullRankingEvaluator
from tfdeeprec.families.base import Family, TrainingPlan
from tfdeeprec.features import (Categorical, FeatureStats, Numeric, check_specs,
                                fit_feature_stats, infer_feature_specs, raw_arrays,
                                raw_values)
from tfdeeprec.layers.feature_encoder import FeatureEncoder
from tfdeeprec.models._context import ENCODER, core_of

CATEGORIES_UP_TO = 100  # integer columns with at most this many values are categories
EVAL_BATCH = 8192
RANKING_METRICS = ("hit", "precision", "recall", "ndcg", "mrr")  # as the other families
PAIRS_PER_CALL = 1 << 14  # rows per model call when ranking: xDeepFM's CIN holds
# a [rows, k, maps x fields] tensor per layer (at 1 << 16 rows, 2.6 GB on ml-100k)
SCORE = "probability of a click (label 1), sigmoid(logit)"


@dataclass
class ContextData:
    """Labelled rows split three ways, their feature specs and what the specs learned.

    ``keyed`` is the user/item split behind the rows (``None`` for rows without IDs);
    ``user_vocab``, ``item_vocab``, ``train``, ``valid``, ``test`` are its parts (the
    encoded training split carries the per-ID feature tables).
    """

    specs: tuple
    stats: FeatureStats
    rows: dict  # "train" | "valid" | "test" -> LabelledRows
    keyed: PreparedData | None = None

    def __getattr__(self, name):
        if name in ("user_vocab", "item_vocab", "train", "valid", "test", "frame", "split"):
            return None if self.keyed is None else getattr(self.keyed, name)
        raise AttributeError(name)


class ContextFamily(Family):
    """Named feature row -> probability models."""

    name = "context"
    description = "a row of named features -> click probability; trains on given labels"
    tasks = ("ctr", "rating")
    losses = {"ctr": ("bce",), "rating": ("mse",)}
    serves = ("serving_default", "score_features", "score", "recommend",
              "recommend_default")
    ranks_seen_items = False

    # -- data ---------------------------------------------------------------------------
    def prepare(self, config, frame=None) -> ContextData:
        """Keyed data (an InteractionFrame) -> the CTR view; ``criteo:PATH`` -> streamed
        Criteo rows; a file with a ``config.label`` column -> labelled rows."""
        source = config.data if frame is None else frame
        if isinstance(source, str) and source.startswith("criteo:"):
            return _criteo_data(source[len("criteo:"):], config)
        if frame is None and _is_labelled_file(source, config.label):
            return _file_data(source, config)
        frame = frame if frame is not None else load_interactions(source)
        return _keyed_data(frame, config)

    def model_arguments(self, spec, config, data) -> dict:
        args = {"task": config.task, "features": [s.to_dict() for s in data.specs],
                "feature_stats": data.stats.to_dict()}
        if config.task == "rating":
            labels = data.rows["train"].labels
            args.update(global_mean=float(labels.mean()),
                        rating_range=(float(labels.min()), float(labels.max())))
        return args

    def builder(self, spec, config, data, **arguments):
        kwargs = (self.model_arguments(spec, config, data) | arguments
                  | dict(config.model_kwargs))
        sizes = (0, 0) if data.keyed is None else (data.train.num_users, data.train.num_items)
        return lambda: spec.build(*sizes, **kwargs)

    # -- training -----------------------------------------------------------------------
    def training_plan(self, spec, config, data) -> TrainingPlan:
        """Fits the model's ``core`` on encoded rows (encoded once in memory, or in the
        streamed pipeline), so no step looks strings up; evaluates and exports the
        model around it, which takes raw values and shares its weights."""
        encoder = FeatureEncoder([s.to_dict() for s in data.specs], data.stats, name=ENCODER)
        train = encoded_rows(data.rows["train"], encoder).dataset(
            config.batch_size, shuffle=True, seed=config.seed)
        evaluator = RowEvaluator(encoded_rows(data.rows["valid"], encoder), config.task)
        # the model shares the pipeline's encoder: one set of lookup tables in memory
        build = self.builder(spec, config, data, feature_stats=encoder)
        box = {}

        def build_core():
            box["model"] = build()
            return core_of(box["model"])

        return TrainingPlan(build_core, train, self.loss(config), ranking_evaluator=evaluator,
                            monitor="val_auc" if config.task == "ctr" else "val_rmse",
                            validation_score=lambda core: core,
                            scorer=lambda core: box["model"])

    def evaluate(self, model, data, part: str, config) -> dict:
        """Row metrics on the part's labelled rows (CTR: AUC, LogLoss, GAUC; rating: RMSE,
        MAE), plus full ranking over its relevant pairs (positives; every rated pair)
        where the rows are keyed."""
        metrics = RowEvaluator(data.rows[part], config.task).evaluate(model).metrics
        if data.keyed is not None:
            labels = data.rows[part].labels
            positives = _positives(getattr(data, part), labels > 0.5 if config.task == "ctr"
                                   else np.ones(len(labels), bool))
            if len(positives):
                exclude = (data.valid,) if part == "test" else ()
                ranking = FullRankingEvaluator(data.train, positives, exclude=exclude,
                                               ks=config.ks, metrics=RANKING_METRICS)
                metrics.update(ranking.evaluate(self.score_fn(model, data.train)).metrics)
        return metrics

    # -- scoring ------------------------------------------------------------------------
    def score_fn(self, model, train, *, live=False):
        """Every item for each user, from the joined features (keyed data only)."""
        features = getattr(train, "id_features", None)
        if features is None:
            raise ValueError("this context model was trained on rows without user and item "
                             "IDs; it scores feature rows (score_features), not pairs")
        num_items = train.num_items
        items = np.arange(num_items)

        def scores(users):
            users = np.asarray(users)
            out = np.empty((len(users), num_items), np.float32)
            per_call = max(1, PAIRS_PER_CALL // num_items)
            for start in range(0, len(users), per_call):
                block = users[start:start + per_call]
                rows = features.join(np.repeat(block, num_items), np.tile(items, len(block)))
                logits = model(_tensors(rows), training=False)
                out[start:start + len(block)] = np.reshape(logits, [len(block), num_items])
            return out

        return scores

    def rating_predictions(self, model, data, part):
        """``(actual, predicted)`` over every labelled row of the part."""
        outputs, labels = _predict_rows(_traced_call(model), data.rows[part], EVAL_BATCH)[:2]
        return labels, outputs

    def serving_score(self, scores, config):
        return scores if config.task == "rating" else 1.0 / (1.0 + np.exp(-scores))

    # -- export ---------------------------------------------------------------------------
    def export(self, model, user_vocab, item_vocab, *, config, base, name, train, version,
               metadata, max_k, exclude_seen, options):
        from tfdeeprec.export.context_exporter import export_context_model

        if options:
            raise ValueError(f"context-family exports take no options. Received: {options}")
        path = export_context_model(model, user_vocab, item_vocab, task=config.task,
                                    base=base, name=name, train=train, version=version,
                                    metadata=metadata, max_k=max_k, exclude_seen=exclude_seen)
        return {"main": path}


class RowEvaluator:
    """Metrics of a model on labelled rows: task ``ctr``: AUC, LogLoss and (rows with a
    ``user_id``) GAUC; task ``rating``: RMSE and MAE.

    ``evaluate(model)`` runs ``model`` (raw features -> logit or rating) over the rows once.
    """

    def __init__(self, rows: LabelledRows, task: str = "ctr", batch_size: int = EVAL_BATCH):
        self.rows = rows
        self.task = task
        self.protocol = task
        self.batch_size = batch_size
        self._traced = (None, None)  # (model, its traced call): traced once per model

    def evaluate(self, model):
        from tfdeeprec.evaluation import evaluate_ratings

        if self._traced[0] is not model:
            self._traced = (model, _traced_call(model))
        logits, labels, groups = _predict_rows(self._traced[1], self.rows, self.batch_size)
        if self.task == "rating":
            metrics = evaluate_ratings(labels, logits.astype(np.float64))
            return _Result(self.protocol, metrics | {"rows": int(len(labels))}, len(labels))
        from tfdeeprec.evaluation.ctr import ctr_metrics

        metrics = ctr_metrics(labels, logits, groups, from_logits=True)
        return _Result(self.protocol, metrics, len(labels))


def encoded_rows(rows: LabelledRows, encoder, chunk: int = 1 << 16) -> LabelledRows:
    """``rows`` with their features encoded by ``encoder``: once, in chunks (in memory;
    multi-valued features padded to the longest row), or in the pipeline (streamed)."""
    if not rows.in_memory:
        def stream(batch_size, shuffle_buffer, seed):
            return rows.stream(batch_size, shuffle_buffer, seed).map(
                lambda features, label: (encoder(features), label),
                num_parallel_calls=tf.data.AUTOTUNE)
        return LabelledRows(stream=stream)
    parts = [encoder({k: tf.constant(v[i:i + chunk]) for k, v in rows.arrays.items()})
             for i in range(0, len(rows.labels), chunk)]
    arrays = {}
    for name in parts[0]:
        values = [p[name].numpy() for p in parts]
        if values[0].ndim == 2:
            width = max(v.shape[1] for v in values)
            values = [np.pad(v, [(0, 0), (0, width - v.shape[1])]) for v in values]
        arrays[name] = np.concatenate(values)
    return LabelledRows.from_arrays(arrays, rows.labels)


def _traced_call(model):
    """``model`` in inference mode, traced once for any batch size."""
    signature = {name: tf.TensorSpec(tensor.shape, tensor.dtype, name=name)
                 for name, tensor in zip(model.input_names, model.inputs)}
    call = tf.function(lambda features: model(features, training=False),
                       input_signature=[signature])
    return lambda features: call({name: features[name] for name in signature})


def _predict_rows(predict, rows: LabelledRows, batch_size: int):
    """``(outputs, labels, user IDs or None)`` of ``predict`` (a model, or its traced
    call) over ``rows``, in order."""
    outputs, labels, groups = [], [], []
    for features, label in rows.dataset(batch_size):
        outputs.append(np.reshape(predict(features).numpy(), [-1]))
        labels.append(label.numpy())
        if schema.USER_ID in features:
            groups.append(features[schema.USER_ID].numpy())
    return (np.concatenate(outputs), np.concatenate(labels),
            np.concatenate(groups) if groups else None)


@dataclass
class _Result:
    protocol: str
    metrics: dict
    num_users: int


def _tensors(rows: dict) -> dict:
    return {k: tf.constant(v.astype(str) if v.dtype == object else v) for k, v in rows.items()}


def _positives(part, keep):
    return dataclasses.replace(part, user=part.user[keep], item=part.item[keep],
                               rating=None if part.rating is None else part.rating[keep],
                               timestamp=None if part.timestamp is None
                               else part.timestamp[keep])


def _keyed_data(frame, config) -> ContextData:
    if config.task == "rating":  # the label is the rating itself
        if not frame.has_ratings:
            raise ValueError(f"task 'rating' needs ratings, but {frame.source} has none")
        labelled = frame.with_interactions(frame.interactions.assign(
            **{schema.LABEL: frame.interactions[schema.RATING]}))
    else:
        labelled = label_ratings(frame, label_threshold=config.label_threshold,
                                 drop_ratings=config.drop_ratings)
    prepared = prepare_data(labelled, split=config.split, ratios=config.ratios,
                            seed=config.seed, validation_fraction=config.validation_fraction)
    parts = {name: ctr_rows(part.interactions, labelled)
             for name, part in zip(("train", "valid", "test"), prepared.split)}
    specs = _specs(config, parts["train"])
    rows = {name: LabelledRows.from_arrays(raw_arrays(frame_, specs),
                                           frame_[schema.LABEL].to_numpy(np.float32))
            for name, frame_ in parts.items()}
    stats = fit_feature_stats(specs, rows["train"].batches(), seed=config.seed)
    names = {s.name: s for s in specs}
    tables = {side: id_tables(labelled, vocab, side) for side, vocab in
              (("user", prepared.user_vocab), ("item", prepared.item_vocab))}
    per_side = {side: {c: raw_values(t[c], names[c]) for c in t.columns if c in names}
                for side, t in tables.items()}
    context = {s.name: "float32" if isinstance(s, Numeric) else "str" for s in specs
               if s.name not in per_side["user"] and s.name not in per_side["item"]}
    train = dataclasses.replace(prepared.train, id_features=IdFeatures(
        per_side["user"], per_side["item"], context))
    return ContextData(specs, stats, rows, dataclasses.replace(prepared, train=train))


def _file_data(path, config) -> ContextData:
    from tfdeeprec.data.labelled_file import read_labelled_file

    frame = read_labelled_file(path, label=config.label)
    order = np.random.default_rng(config.seed).permutation(len(frame))
    cuts = np.cumsum(np.round(np.array(config.ratios) / sum(config.ratios) * len(frame))
                     .astype(int))[:-1]
    parts = dict(zip(("train", "valid", "test"), np.split(order, cuts)))
    specs = _specs(config, frame.iloc[parts["train"]].drop(columns=[config.label]))
    arrays = raw_arrays(frame, specs)
    labels = frame[config.label].to_numpy(np.float32)
    rows = {name: LabelledRows.from_arrays({k: v[index] for k, v in arrays.items()},
                                           labels[index]) for name, index in parts.items()}
    stats = fit_feature_stats(specs, rows["train"].batches(), seed=config.seed)
    return ContextData(specs, stats, rows)


# Rows a batch of the Criteo statistics pass: small enough that its numpy copies of the
# 26 text columns stay below training's memory (at 2**16 they set the run's peak RSS).
CRITEO_STATS_BATCH = 1 << 14


def criteo_specs(min_count: int = 10) -> tuple:
    """The feature specs of ``--data criteo:PATH`` without ``features`` in the config:
    I1..I13 numeric (``log1p``, then standardised), C1..C26 categorical with a vocabulary
    of the values seen at least ``min_count`` times in training.

    >>> [(s.name, type(s).__name__) for s in criteo_specs()][12:14]
    [('I13', 'Numeric'), ('C1', 'Categorical')]
    """
    from tfdeeprec.data.criteo import CRITEO_CATEGORICAL, CRITEO_NUMERIC

    return (tuple(Numeric(n, transform="log1p") for n in CRITEO_NUMERIC)
            + tuple(Categorical(n, min_count=min_count) for n in CRITEO_CATEGORICAL))


def _criteo_data(path, config) -> ContextData:
    from tfdeeprec.data.criteo import criteo_dataset

    specs = (check_specs(config.features) if config.features is not None
             else criteo_specs(config.min_count))

    names = [s.name for s in specs]

    def part(name):
        def stream(batch_size, shuffle_buffer, seed):
            return criteo_dataset(path, batch_size=batch_size, part=name,
                                  ratios=config.ratios, seed=config.seed,
                                  shuffle_buffer=shuffle_buffer, shuffle_seed=seed).map(
                lambda features, label: ({n: features[n] for n in names}, label))
        return LabelledRows(stream=stream)

    rows = {name: part(name) for name in ("train", "valid", "test")}
    stats = fit_feature_stats(specs, rows["train"].batches(CRITEO_STATS_BATCH),
                              seed=config.seed)
    release_free_memory()  # the pass's token counters: not under training's peak
    return ContextData(specs, stats, rows)


def _specs(config, train_rows):
    if config.features is not None:
        return check_specs(config.features)
    return infer_feature_specs(train_rows, exclude=(schema.LABEL, config.label),
                               categories_up_to=CATEGORIES_UP_TO)


def _is_labelled_file(source, label) -> bool:
    if not isinstance(source, (str, os.PathLike)):
        return False
    path = os.fspath(source)
    if not os.path.isfile(path) or path.endswith(".inter"):
        return False
    if path.endswith(".parquet"):
        return True
    with open(path) as f:
        header = f.readline()
    sep = "\t" if path.endswith((".tsv", ".txt")) else ","
    return label in [c.strip() for c in header.split(sep)]
