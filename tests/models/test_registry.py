"""Every registered model: builds small, fits a step, predicts, round-trips through SavedModel.

Driven by the registry alone: a new model is tested here with no edit.
"""

import numpy as np
import pytest

from tfdeeprec._keras import keras, tf  # noqa: F401
from tfdeeprec.data.side_features import FeatureTables
from tfdeeprec.families import get_family
from tfdeeprec.models import MODELS, build_model, get_spec
from tfdeeprec.models.registry import DATA_ARGUMENTS
from tfdeeprec.training.recipe import TrainingConfig, compile_model

NUM_USERS, NUM_ITEMS = 7, 9


def _side_features():
    rng = np.random.default_rng(0)
    users = FeatureTables(categorical={"occupation": rng.integers(0, 3, NUM_USERS).astype("int32")},
                          values={"occupation": ["[UNK]", "a", "b"]})
    items = FeatureTables(multi_hot={"genres": (rng.random((NUM_ITEMS, 4)) < 0.5).astype("float32")},
                          values={"genres": ["w", "x", "y", "z"]})
    return users, items


def _small_kwargs(name):
    return dict(MODELS[name].test_kwargs)


def _batch():
    rng = np.random.default_rng(1)
    features = {"user_id": rng.integers(0, NUM_USERS, 32).astype("int32"),
                "item_id": rng.integers(0, NUM_ITEMS, 32).astype("int32")}
    return features, rng.integers(0, 2, 32).astype("float32")


def test_every_spec_is_complete_and_its_defaults_are_builder_arguments():
    for name, spec in MODELS.items():
        assert spec.name == name and spec.tasks and spec.description and spec.paper
        assert get_family(spec.family).tasks  # a family that exists
        assert set(spec.tasks) <= set(get_family(spec.family).tasks)
        arguments = spec.builder_arguments()
        assert set(spec.defaults()) <= set(arguments) - DATA_ARGUMENTS
        assert set(spec.file_defaults()) <= set(arguments)
        assert set(spec.test_kwargs) <= set(arguments)
        assert build_model(name, 5, 6, **spec.test_kwargs).name == name


def test_defaults_file_overrides_the_builder_and_user_arguments_override_both(monkeypatch):
    spec = get_spec("gmf")
    monkeypatch.setattr(type(spec), "file_defaults", lambda self: {"embedding_dim": 3})
    assert spec.defaults()["embedding_dim"] == 3
    assert spec.build(4, 5).get_layer("user_embedding").output_dim == 3
    assert spec.build(4, 5, embedding_dim=2).get_layer("user_embedding").output_dim == 2
    with pytest.raises(ValueError, match=r"takes no argument\(s\) \['embeding_dim'\]"):
        spec.build(4, 5, embeding_dim=2)


@pytest.mark.parametrize("task", ["implicit", "rating"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_build_fit_predict_reload(name, task, reload_check):
    users, items = _side_features()
    spec = MODELS[name]
    extra = {"rating_range": (1.0, 5.0), "global_mean": 3.0} if task == "rating" else {}
    if task not in spec.tasks:
        with pytest.raises(ValueError, match=f"task='{task}'"):
            build_model(name, NUM_USERS, NUM_ITEMS, task=task, user_features=users,
                        item_features=items, **_small_kwargs(name))
        return
    model = build_model(name, NUM_USERS, NUM_ITEMS, task=task, user_features=users,
                        item_features=items, **_small_kwargs(name), **extra)
    if spec.solver is not None:
        _check_closed_form(spec, model, reload_check)
        return
    if spec.objective == "bpr":
        _check_graph_model(spec, reload_check)
        return
    if spec.objective is not None:
        _check_sequence_model(spec, model, reload_check)
        return
    if spec.family == "row":
        _check_row_model(model, reload_check)
        return
    compile_model(model, task, TrainingConfig(optimizer="adam", learning_rate=0.05))
    features, labels = _batch()
    if spec.family == "context":  # raw named features: IDs as strings
        features = {key: value.astype(str) for key, value in features.items()}
    if task == "rating":
        labels = 1.0 + 4.0 * labels
    own_loss = not get_family(spec.family).losses.get(task)
    ds = tf.data.Dataset.from_tensor_slices(features if own_loss else (features, labels))
    ds = ds.batch(16)
    before = model.evaluate(ds, verbose=0)
    before = before[0] if isinstance(before, list) else before
    history = model.fit(ds, epochs=5, verbose=0)
    assert history.history["loss"][-1] < before
    predictions = model.predict(features, verbose=0)
    assert predictions.shape == (32,)
    if task == "rating":
        assert predictions.min() >= 1.0 and predictions.max() <= 5.0
    reload_check(model, features)


def _check_sequence_model(spec, model, reload_check):
    """A trained sequence model: fitted through its every-position trainer on next-item
    (or cloze) windows of the batch's pairs, it predicts every item, and reloads."""
    from tfdeeprec.data import EncodedInteractions, build_histories
    from tfdeeprec.data.sequences import make_next_item_dataset
    from tfdeeprec.models._sequence import sequence_trainer
    features, _ = _batch()
    train = EncodedInteractions(features["user_id"], features["item_id"], NUM_USERS, NUM_ITEMS)
    length = model.input_shape[1]
    windows = make_next_item_dataset(train, max_length=length, objective=spec.objective,
                                     mask_token=NUM_ITEMS, mask_ratio=0.5, batch_size=8,
                                     shuffle=False)
    trainer = compile_model(sequence_trainer(model), "implicit",
                            TrainingConfig(optimizer="adam", learning_rate=0.05, loss="softmax"))
    before = trainer.evaluate(windows, verbose=0)
    assert trainer.fit(windows, epochs=3, verbose=0).history["loss"][-1] < before
    inputs = build_histories(train, max_length=length)["history"]
    assert model.predict(inputs, verbose=0).shape == (len(inputs), NUM_ITEMS)
    reload_check(model, inputs)


def _check_graph_model(spec, reload_check):
    """An embedding model trained on BPR triples over the batch's graph: its loss falls,
    and its frozen two-tower form reloads."""
    from tfdeeprec.data import EncodedInteractions
    from tfdeeprec.data.graph import bipartite_adjacency
    from tfdeeprec.data.pairwise import make_pairwise_dataset
    features, _ = _batch()
    train = EncodedInteractions(features["user_id"], features["item_id"], NUM_USERS, NUM_ITEMS)
    model = build_model(spec.name, NUM_USERS, NUM_ITEMS, adjacency=bipartite_adjacency(train),
                        **spec.test_kwargs)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    history = model.fit(make_pairwise_dataset(train.known(), batch_size=8), epochs=5,
                        verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    reload_check(model.freeze(), features)


def _batch_rows():
    """The batch's pairs as multi-hot user rows (column 0, the OOV slot, zero)."""
    features, _ = _batch()
    rows = np.zeros((NUM_USERS, NUM_ITEMS), "float32")
    rows[features["user_id"], features["item_id"]] = 1.0
    rows[:, 0] = 0.0
    return rows


def _check_row_model(model, reload_check):
    """A gradient-trained row model: fitted on the rows with its own loss, it scores
    every item, and reloads."""
    from tfdeeprec.models._row import row_model_inputs, row_trainer
    rows = _batch_rows()
    inputs = row_model_inputs(model, rows, np.arange(NUM_USERS, dtype="int32"))
    trainer = compile_model(row_trainer(model), "implicit",
                            TrainingConfig(optimizer="adam", learning_rate=0.01))
    ds = tf.data.Dataset.from_tensor_slices(
        {"user_row": rows, "user_id": np.arange(NUM_USERS, dtype="int32")}).batch(8)
    history = trainer.fit(ds, epochs=20, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.predict(inputs, verbose=0).shape == rows.shape
    reload_check(model, inputs)


def _check_closed_form(spec, model, reload_check):
    """A model solved from the data: its scores change from the built zeros, and reload."""
    from tfdeeprec.data import EncodedInteractions
    features, _ = _batch()
    train = EncodedInteractions(features["user_id"], features["item_id"], NUM_USERS, NUM_ITEMS)
    if model.input_names == ["user_row"]:  # a row model: the users' items as multi-hot rows
        inputs = _batch_rows()
    elif model.input_names == ["history"]:  # a sequence model: the latest items, in order
        from tfdeeprec.data import build_histories
        inputs = build_histories(train, max_length=model.input_shape[1])["history"]
    else:
        inputs = features
    before = np.asarray(model.predict(inputs, verbose=0))
    spec.solver(model, train)
    after = np.asarray(model.predict(inputs, verbose=0))
    assert not np.allclose(before, after)
    reload_check(model, inputs)


def test_side_features_reach_only_models_that_use_them():
    users, items = _side_features()
    plain = build_model("mf", NUM_USERS, NUM_ITEMS, user_features=users, embedding_dim=2)
    assert not any("lookup" in layer.name for layer in plain.layers)
    towers = build_model("two_tower", NUM_USERS, NUM_ITEMS, user_features=users,
                         item_features=items, embedding_dim=2)
    assert "occupation_lookup" in {layer.name for layer in towers.query_tower.layers}
    assert "genres_lookup" in {layer.name for layer in towers.candidate_tower.layers}


def test_unknown_model_and_task_are_named():
    with pytest.raises(ValueError, match="model='svdpp'"):
        build_model("svdpp", 3, 3)
    with pytest.raises(ValueError, match="task='ctr'"):
        build_model("mf", 3, 3, task="ctr")
    with pytest.raises(ValueError, match="task='rating'"):
        build_model("two_tower", 3, 3, task="rating")
    with pytest.raises(ValueError, match="num_items=1"):
        build_model("gmf", 3, 1)
