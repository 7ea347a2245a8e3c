"""Typed run configuration: how to train (``TrainingConfig``), what to run (``ExperimentConfig``).

Both are plain dataclasses that round-trip through JSON (a run folder's ``config.json``)
and YAML (``tfdeeprec train --config run.yaml``). A config that cannot be written as JSON
is refused when it is made, before any training, with the field named.

Example:

>>> config = ExperimentConfig(model="mf", task="rating", model_kwargs={"embedding_dim": 8})
>>> ExperimentConfig.from_dict(config.to_dict()) == config
True
>>> ExperimentConfig(model="mf", model_kwargs={"table": object()})
Traceback (most recent call last):
...
ValueError: `model_kwargs['table']` must be JSON-serialisable (str, number, bool, None, list, dict); a run's config is saved with the run. Received: model_kwargs['table']=<object object at ...>
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from tfdeeprec.families import get_family
from tfdeeprec.models.registry import get_spec

LOSSES = ("mse", "bce", "bpr", "softmax", "sampled_softmax", "gbce")
SPLITS = ("user_ratio", "random", "leave_one_out", "temporal")


@dataclass
class TrainingConfig:
    """How to train. Every field has a default; ``loss=None`` picks by task.

    Attributes:
        epochs (int): maximum epochs. Default 20.
        learning_rate (float): Default 1e-3.
        optimizer (str): ``sparse_adam`` | ``adam`` | ``adagrad`` | ``sgd``.
        loss (str | None): ``mse`` (rating), ``bce`` (implicit, on logits), ``bpr``;
            sequence models: ``softmax`` (their default: cross-entropy over every
            item), or, against ``num_negatives`` items sampled per batch,
            ``sampled_softmax`` (logQ-corrected), ``bce`` (SASRec's paper) or ``gbce``
            (gSASRec).
        monitor (str): metric for early stopping / LR reduction, e.g. ``val_loss``
            or ``val_ndcg@10`` (ranking metrics are maximised). Default ``val_loss``.
        early_stopping_patience (int): epochs without improvement; 0 disables. Default 3.
        reduce_lr_patience (int): epochs before the LR is cut; 0 disables. Default 2.
        reduce_lr_factor (float): Default 0.5.
        steps_per_execution (int): batches run per call into the compiled train step.
            Above 1, the Python round trip, the callbacks' per-batch hooks and the
            ``TerminateOnNaN`` check happen once per call instead of once per batch,
            which takes about a third off a NeuMF epoch on ml-100k with 1 CPU thread
            (``bench/neumf_speed.py``); the examples, the updates and the epoch's loss
            stay the same. 1 is used instead under a multi-replica ``tf.distribute``
            strategy (in TF 2.20 the all-gather of embedding gradients fails inside
            Keras's multi-step loop) and, by :func:`~tfdeeprec.training.fit`, when the
            training or validation data's number of batches is unknown (Keras needs it
            to run several). Default 32.
        jit_compile (bool): compile the train step with XLA. Default False: on CPU it
            made the NeuMF epoch slower (``bench/neumf_speed.py``); try it on GPUs.
        tensorboard_dir (str | None): write TensorBoard logs there.
        backup_dir (str | None): BackupAndRestore folder: a run killed part-way resumes
            from its last finished epoch when started again with the same folder.
        seed (int): seeds Python, NumPy and TensorFlow. Default 0.
        verbose (int | str): Keras progress bar setting. Default ``"auto"``.
    """

    epochs: int = 20
    learning_rate: float = 1e-3
    optimizer: str = "sparse_adam"
    loss: str | None = None
    monitor: str = "val_loss"
    early_stopping_patience: int = 3
    reduce_lr_patience: int = 2
    reduce_lr_factor: float = 0.5
    steps_per_execution: int = 32
    jit_compile: bool = False
    tensorboard_dir: str | None = None
    backup_dir: str | None = None
    seed: int = 0
    verbose: int | str = "auto"

    def __post_init__(self):
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"`epochs` must be an integer >= 1. Received: epochs={self.epochs!r}")
        if (not isinstance(self.steps_per_execution, int)
                or isinstance(self.steps_per_execution, bool) or self.steps_per_execution < 1):
            raise ValueError("`steps_per_execution` must be an integer >= 1. "
                             f"Received: steps_per_execution={self.steps_per_execution!r}")
        if self.loss is not None and self.loss not in LOSSES:
            raise ValueError(f"`loss` must be one of {LOSSES}. Received: loss={self.loss!r}")
        if not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0):
            raise ValueError("`learning_rate` must be a positive number. "
                             f"Received: learning_rate={self.learning_rate!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class ExperimentConfig:
    """What to train on what, and how to measure it.

    Attributes:
        model (str): a registered name (``tfdeeprec models`` lists them).
        data (str): a source for ``load_interactions`` (``synthetic``, a TFDS name, a path).
        task (str): one of the model's tasks (``rating``, ``implicit``, ...). Models of
            the embedding family (e.g. ``two_tower``) are implicit only and train on
            the positives alone with their own loss, so ``num_negatives``,
            ``negative_distribution`` and ``training.loss`` do not apply to them
            (``training.loss`` must stay ``None``).
        split (str): ``user_ratio`` | ``random`` | ``leave_one_out`` | ``temporal``;
            default ``user_ratio`` for implicit and ``random`` for rating.
        ratios (tuple): split ratios; with two ratios, ``validation_fraction`` of the
            training part is held out for early stopping.
        validation_fraction (float): Default 0.1.
        batch_size (int | None): positives per batch (implicit), examples (rating, ctr)
            or history windows (sequence models). Default (``None``): the model
            family's, 1024 (128 windows for sequence models).
        num_negatives (int): sampled negatives per positive (implicit, BCE).
        negative_distribution (str): ``uniform`` or ``popularity``.
        ks (tuple): ranking cut-offs. Default ``(10,)``.
        model_kwargs (dict): builder arguments over the model's defaults (its
            ``tfdeeprec/configs/<model>.yaml``, then the builder's own defaults).
            JSON values only: the config is saved with the run.
        training (TrainingConfig): optimizer, epochs, callbacks.
        seed (int): split (every kind, leave-one-out's tie order included) and
            sampling seed.
        features (list | None): context models' feature specs, as dicts
            (``tfdeeprec.features``: ``{"kind": "categorical", "name": "city"}``, ...);
            ``None`` infers them from the training rows, and the run's saved config
            holds the specs used.
        label (str): the label column of a labelled file (task ``ctr``). Default
            ``"label"``.
        label_threshold (float): task ``ctr`` on rated user/item data: the label is
            ``rating >= label_threshold``. Default 4.
        drop_ratings (tuple): task ``ctr`` on rated data: ratings whose rows are dropped
            first (RecBole's ml-100k CTR protocol drops 3). Default none.
        min_count (int): Criteo's categorical fields: values seen fewer times in
            training go to the OOV row. Default 10.
        window_stride (int | None): sequence models' training windows are cut every
            ``window_stride`` items; below the model's ``max_length`` they overlap, so
            each target keeps at least ``max_length - window_stride`` items of context
            (costing ``max_length / window_stride`` times the work an epoch). Default
            ``None``: ``max_length``, no overlap.
        bucket_width (int | None): sequence models' training batches group windows of
            similar length and drop the leading padding columns they share, in steps
            of ``bucket_width``: the same scores, less work where histories are short,
            but batches less mixed (on ml-100k it lowered BERT4Rec's validation NDCG;
            see the README). Default ``None``: every batch is ``max_length`` wide.
        exclude_seen (bool): full ranking leaves out each user's training items (and,
            for test, validation items). Default ``True``. ``False`` ranks them too,
            as RecBole's sequential protocol does (not for context models).
    """

    model: str = "neumf"
    data: str = "synthetic"
    task: str = "implicit"
    split: str | None = None
    ratios: tuple = (0.8, 0.1, 0.1)
    validation_fraction: float = 0.1
    batch_size: int | None = None
    num_negatives: int = 4
    negative_distribution: str = "uniform"
    ks: tuple = (10,)
    model_kwargs: dict = field(default_factory=dict)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    seed: int = 0
    features: list | None = None
    label: str = "label"
    label_threshold: float = 4.0
    drop_ratings: tuple = ()
    min_count: int = 10
    exclude_seen: bool = True
    window_stride: int | None = None
    bucket_width: int | None = None

    def __post_init__(self):
        spec = get_spec(self.model)
        if self.task not in spec.tasks:
            raise ValueError(f"`task` must be one of {spec.tasks} for the model "
                             f"{self.model!r}. Received: task={self.task!r}")
        if self.split is None:
            self.split = "random" if self.task in ("rating", "ctr") else "user_ratio"
        if self.split not in SPLITS:
            raise ValueError(f"`split` must be one of {SPLITS}. Received: split={self.split!r}")
        if isinstance(self.training, dict):
            self.training = TrainingConfig(**self.training)
        if self.batch_size is None:
            self.batch_size = get_family(spec.family).default_batch_size
        if not isinstance(self.model_kwargs, dict):
            raise ValueError("`model_kwargs` must be a dict. "
                             f"Received: model_kwargs={self.model_kwargs!r}")
        for name, least in (("batch_size", 1), ("num_negatives", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"`{name}` must be an integer >= {least}. "
                                 f"Received: {name}={value!r}")
        self.ratios = tuple(self.ratios)
        self.ks = tuple(self.ks)
        self.drop_ratings = tuple(self.drop_ratings)
        if self.features is not None:
            from tfdeeprec.features import check_specs

            self.features = [s.to_dict() for s in check_specs(self.features)]
        get_family(spec.family).check_config(spec, self)
        check_serialisable(self.to_dict())

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ExperimentConfig":
        """The inverse of :meth:`to_dict`; unknown keys are refused by name."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise ValueError(f"unknown experiment field(s) {unknown}; the fields are "
                             f"{sorted(fields)}")
        data = dict(data)
        if isinstance(data.get("training"), dict):
            known = {f.name for f in dataclasses.fields(TrainingConfig)}
            bad = sorted(set(data["training"]) - known)
            if bad:
                raise ValueError(f"unknown training field(s) {bad}; the fields are "
                                 f"{sorted(known)}")
        return cls(**data)


def load_config_file(path) -> dict:
    """Reads a YAML (or JSON) experiment file into a dict for :meth:`ExperimentConfig.from_dict`.

    Top-level keys are :class:`ExperimentConfig` fields; training fields may sit under
    ``training:`` or at the top level (``epochs: 5`` is ``training.epochs``).
    """
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML ({err})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: must hold a mapping of experiment fields. "
                         f"Received: {type(data).__name__}")
    return split_training_fields(data)


def split_training_fields(data: dict) -> dict:
    """Moves top-level :class:`TrainingConfig` fields under ``training``.

    >>> split_training_fields({"model": "mf", "epochs": 3})
    {'model': 'mf', 'training': {'epochs': 3}}
    """
    training_fields = {f.name for f in dataclasses.fields(TrainingConfig)}
    experiment_fields = {f.name for f in dataclasses.fields(ExperimentConfig)}
    out, training = {}, dict(data.get("training") or {})
    for key, value in data.items():
        if key == "training":
            continue
        if key in training_fields and key not in experiment_fields:
            training[key] = value
        else:
            out[key] = value
    if training:
        out["training"] = training
    return out


def check_serialisable(value, path: str = "") -> None:
    """Raises ``ValueError`` naming the first part of ``value`` that JSON cannot hold."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"`{path or 'config'}` keys must be strings. Received: {key!r}")
            check_serialisable(item, f"{path}['{key}']" if path else key)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_serialisable(item, f"{path}[{i}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"`{path}` must be a finite number. Received: {path}={value!r}")
    elif not (value is None or isinstance(value, (str, int, float, bool))):
        raise ValueError(f"`{path}` must be JSON-serialisable (str, number, bool, None, list, "
                         f"dict); a run's config is saved with the run. "
                         f"Received: {path}={value!r}")


def config_json(config: ExperimentConfig) -> str:
    """The JSON text of ``config`` (what a run folder's ``config.json`` holds)."""
    return json.dumps(config.to_dict(), indent=2)
