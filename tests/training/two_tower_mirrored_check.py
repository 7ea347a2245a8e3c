"""Run as a script: TwoTower training steps on 1 device and on 2 logical CPUs (MirroredStrategy).

Both runs start from the same weights and take the same global batches: 16 rows (8 per
replica), then 15 rows (8 + 7, an uneven split). Prints one JSON line with each step's
loss, the largest absolute difference of the trainable weights after each step,
and the largest change of a trainable weight over the two steps.
"""

import json
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import numpy as np  # noqa: E402

import tfdeeprec  # noqa: E402,F401
from tfdeeprec._keras import keras, tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from tfdeeprec.data.side_features import FeatureTables  # noqa: E402
from tfdeeprec.models.two_tower import (TwoTower, build_candidate_tower,  # noqa: E402
                                        build_query_tower, sampling_probabilities)
from tfdeeprec.training import SparseAdam  # noqa: E402

NUM_USERS, NUM_ITEMS = 12, 20
rng = np.random.default_rng(0)
users_side = FeatureTables(
    categorical={"occupation": rng.integers(0, 4, NUM_USERS).astype("int32")},
    values={"occupation": ["[UNK]", "a", "b", "c"]})
items_side = FeatureTables(
    multi_hot={"genres": (rng.random((NUM_ITEMS, 5)) < 0.4).astype("float32")},
    values={"genres": list("vwxyz")})
history = rng.integers(0, NUM_ITEMS, (NUM_USERS, 4)).astype("int32")
# Popular items repeat inside a batch, so accidental hits are exercised.
item_rows = rng.choice(NUM_ITEMS - 1, 31, p=np.linspace(2, 1, NUM_ITEMS - 1) / 28.5) + 1
batches = [{"user_id": rng.integers(1, NUM_USERS, n).astype("int32"),
            "item_id": item_rows[start:start + n].astype("int32")}
           for start, n in ((0, 16), (16, 15))]
probabilities = sampling_probabilities(item_rows, NUM_ITEMS)


def build():
    keras.utils.set_random_seed(0)
    query = build_query_tower(NUM_USERS, users_side, user_history=history, num_items=NUM_ITEMS,
                              embedding_dim=8, hidden_units=(16,))
    candidate = build_candidate_tower(NUM_ITEMS, items_side, embedding_dim=8, hidden_units=(16,))
    model = TwoTower(query, candidate, NUM_ITEMS, item_probabilities=probabilities,
                     temperature=0.2, learn_temperature=True, num_uniform_negatives=5)
    model.compile(optimizer=SparseAdam(learning_rate=0.05))
    model({"user_id": batches[0]["user_id"][:2], "item_id": batches[0]["item_id"][:2]})
    return model


def run(strategy, initial):
    with strategy.scope():
        model = build()
    model.set_weights(initial)
    losses, weights = [], [[v.numpy() for v in model.trainable_variables]]
    for batch in batches:
        losses.append(float(model.train_on_batch(batch, return_dict=True)["loss"]))
        weights.append([v.numpy() for v in model.trainable_variables])
    return losses, weights


devices = [d.name for d in tf.config.list_logical_devices("CPU")]
mirrored = tf.distribute.MirroredStrategy(devices)
initial = build().get_weights()
single_losses, single_weights = run(tf.distribute.get_strategy(), initial)
mirrored_losses, mirrored_weights = run(mirrored, initial)
weight_diff = [max(float(np.max(np.abs(a - b))) for a, b in zip(ws, wm))
               for ws, wm in zip(single_weights[1:], mirrored_weights[1:])]
moved = max(float(np.max(np.abs(a - b))) for a, b in zip(single_weights[0], single_weights[-1]))
print(json.dumps({"replicas": mirrored.num_replicas_in_sync, "single": single_losses,
                  "mirrored": mirrored_losses, "max_weight_diff": weight_diff,
                  "max_weight_change": moved}))
