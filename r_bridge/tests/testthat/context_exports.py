"""Context (CTR) exports for the R tests, built in the R session's Python (reticulate).

``build(out)`` trains two tiny context models for one epoch and exports them under
``out/exports``: ``fm_ctr`` on user/item-keyed synthetic ratings (numeric, categorical
and multi-valued features; ``score_features`` beside ``score`` and ``recommend``) and
``deepfm_criteo`` on Criteo-shaped rows without IDs (``score_features`` only).
``served(export_dir, signature, columns)`` is Python's answer: the SavedModel's signature
called on columns of raw values (strings with "" for missing, floats with NaN).
"""

import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import numpy as np  # noqa: E402

import tfdeeprec  # noqa: E402,F401
from tfdeeprec._keras import tf  # noqa: E402
from tfdeeprec.data import make_synthetic_ratings  # noqa: E402
from tfdeeprec.data.criteo_synthetic import write_synthetic_criteo  # noqa: E402
from tfdeeprec.models.registry import MODELS  # noqa: E402
from tfdeeprec.runs import export_run, save_run  # noqa: E402
from tfdeeprec.training import TrainingConfig  # noqa: E402
from tfdeeprec.training.experiment import ExperimentConfig, run_experiment  # noqa: E402

KEYED_FEATURES = [
    {"kind": "categorical", "name": "user_id"},
    {"kind": "categorical", "name": "item_id"},
    {"kind": "numeric", "name": "age"},
    {"kind": "categorical", "name": "gender"},
    {"kind": "categorical", "name": "occupation"},
    {"kind": "multi_valued", "name": "genres"},
    {"kind": "numeric", "name": "year"},
    {"kind": "categorical", "name": "hour"},
    {"kind": "categorical", "name": "weekday"},
]
CRITEO_FEATURES = [
    {"kind": "numeric", "name": "I1", "transform": "log1p"},
    {"kind": "numeric", "name": "I2"},
    {"kind": "categorical", "name": "C1", "min_count": 1},
    {"kind": "categorical", "name": "C2", "min_count": 1},
]


def build(out):
    """Exports ``fm_ctr`` and ``deepfm_criteo`` under ``out/exports``; returns that base."""
    base = os.path.join(out, "exports")
    frame = make_synthetic_ratings(60, 40, seed=3).frame
    train(ExperimentConfig(model="fm", task="ctr", batch_size=128, features=KEYED_FEATURES,
                           model_kwargs=MODELS["fm"].test_kwargs,
                           training=TrainingConfig(epochs=1, verbose=0)),
          out, base, "fm_ctr", frame=frame)
    criteo = os.path.join(out, "criteo.tsv")
    write_synthetic_criteo(criteo, 2000, seed=0)
    train(ExperimentConfig(model="deepfm", task="ctr", data=f"criteo:{criteo}",
                           batch_size=256, features=CRITEO_FEATURES,
                           model_kwargs=MODELS["deepfm"].test_kwargs,
                           training=TrainingConfig(epochs=1, verbose=0)),
          out, base, "deepfm_criteo")
    return base


def train(config, out, base, name, frame=None):
    result = run_experiment(config, frame=frame)
    export_run(save_run(result, os.path.join(out, "runs", name)), base, name, max_k=20)


def served(export_dir, signature, columns):
    """The export's ``signature`` on ``columns`` (name -> list of raw values), each a
    tensor of the signature's dtype; the ``score`` output as a list of floats."""
    fn = tf.saved_model.load(export_dir).signatures[signature]
    specs = fn.structured_input_signature[1]
    tensors = {}
    for name, spec in specs.items():
        values = np.atleast_1d(np.asarray(columns[name]))
        if spec.dtype == tf.string:
            tensors[name] = tf.constant([str(v) for v in values], dtype=tf.string)
        else:
            tensors[name] = tf.constant(values.astype(spec.dtype.as_numpy_dtype))
    return [float(s) for s in fn(**tensors)["score"].numpy()]
