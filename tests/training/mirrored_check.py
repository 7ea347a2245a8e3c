"""Run as a script: NeuMF loss curves on 1 device and on 2 logical CPUs under MirroredStrategy.

Prints one JSON line with per-epoch losses: ``fixed_*`` train on one materialised
epoch of sampled data (identical input for both strategies), ``live_*`` on the live
sampling pipeline, which draws fresh negatives every epoch from the same seeds.
"""

import json
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import tfdeeprec  # noqa: E402,F401
from tfdeeprec._keras import keras, tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from tfdeeprec.data import (build_vocabularies, encode, make_implicit_dataset,  # noqa: E402
                            make_synthetic_ratings)
from tfdeeprec.models import build_neumf  # noqa: E402
from tfdeeprec.training import TrainingConfig, fit  # noqa: E402

frame = make_synthetic_ratings(num_users=120, num_items=300, seed=3).frame
users, items = build_vocabularies(frame)
encoded = encode(frame, users, items)


def live_data():
    return make_implicit_dataset(encoded, num_negatives=2, batch_size=128, seed=0)


fixed_batches = list(live_data())
fixed_features = {key: tf.concat([f[key] for f, _ in fixed_batches], 0)
                  for key in fixed_batches[0][0]}
fixed_labels = tf.concat([label for _, label in fixed_batches], 0)


def fixed_data():  # the same examples in the same batches, every epoch
    batch = int(fixed_labels.shape[0]) if len(fixed_batches) == 1 else \
        int(fixed_batches[0][1].shape[0])
    return tf.data.Dataset.from_tensor_slices((fixed_features, fixed_labels)).batch(batch)


def losses(strategy, make_dataset):
    dataset = make_dataset()
    config = TrainingConfig(epochs=4, optimizer=os.environ.get("CHECK_OPTIMIZER", "sparse_adam"), learning_rate=5e-3, verbose=0,
                            seed=0)
    result = fit(lambda: build_neumf(len(users), len(items), gmf_dim=8, mlp_dim=8,
                                     hidden_units=(16, 8)),
                 dataset, task="implicit", config=config, strategy=strategy)
    return result.history["loss"]


devices = [d.name for d in tf.config.list_logical_devices("CPU")]
mirrored = tf.distribute.MirroredStrategy(devices)
single = tf.distribute.get_strategy()
print(json.dumps({"replicas": mirrored.num_replicas_in_sync,
                  "fixed_single": losses(single, fixed_data),
                  "fixed_mirrored": losses(mirrored, fixed_data),
                  "live_single": losses(single, live_data),
                  "live_mirrored": losses(mirrored, live_data)}))
