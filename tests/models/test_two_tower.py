"""TwoTower: towers, the in-batch softmax with logQ correction, temperature, training, saving."""

import numpy as np
import pytest

from tfdeeprec._keras import keras, tf
from tfdeeprec.data.side_features import FeatureTables
from tfdeeprec.models.two_tower import (TwoTower, build_candidate_tower, build_query_tower,
                                        sampling_probabilities, tower_embeddings,
                                        tower_score_fn)

NUM_USERS, NUM_ITEMS = 9, 12


def _tables():
    rng = np.random.default_rng(0)
    users = FeatureTables(
        categorical={"gender": rng.integers(0, 3, NUM_USERS).astype("int32"),
                     "occupation": rng.integers(0, 4, NUM_USERS).astype("int32")},
        values={"gender": ["[UNK]", "F", "M"], "occupation": ["[UNK]", "a", "b", "c"]})
    items = FeatureTables(
        categorical={"year": rng.integers(0, 5, NUM_ITEMS).astype("int32")},
        multi_hot={"genres": (rng.random((NUM_ITEMS, 4)) < 0.5).astype("float32")},
        values={"year": ["[UNK]", "1", "2", "3", "4"], "genres": list("wxyz")})
    return users, items


def _towers(dim=4, history=True, **kwargs):
    users, items = _tables()
    hist = np.random.default_rng(1).integers(0, NUM_ITEMS, (NUM_USERS, 3)) if history else None
    query = build_query_tower(NUM_USERS, users, user_history=hist, num_items=NUM_ITEMS,
                              embedding_dim=dim, hidden_units=(8,), **kwargs)
    candidate = build_candidate_tower(NUM_ITEMS, items, embedding_dim=dim, hidden_units=(8,))
    return query, candidate


def _batch():
    return {"user_id": np.array([1, 2, 3, 4, 5], "int32"),
            "item_id": np.array([3, 7, 3, 1, 9], "int32")}  # item 3 twice: an accidental hit


def _numpy_loss(q, c, ids, temperature, log_q=None, hits=True):
    logits = q @ c.T / temperature
    if log_q is not None:
        logits = logits - log_q[None, :]
    n = len(q)
    if hits:
        duplicate = (ids[:n, None] == ids[None, :]) & ~np.eye(n, len(ids), dtype=bool)
        logits = np.where(duplicate, -1e30, logits)
    logits = logits - logits.max(axis=1, keepdims=True)
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -np.mean(np.diag(log_softmax[:, :n]))


class TestTowers:
    def test_towers_build_with_side_features_and_history(self):
        query, candidate = _towers(dim=6)
        users = np.arange(NUM_USERS, dtype="int32")
        items = np.arange(NUM_ITEMS, dtype="int32")
        assert query(users).shape == (NUM_USERS, 6)
        assert candidate(items).shape == (NUM_ITEMS, 6)
        names = {layer.name for layer in query.layers}
        assert {"gender_lookup", "occupation_lookup", "history_lookup", "history_mean"} <= names
        assert {"genres_lookup", "year_lookup"} <= {layer.name for layer in candidate.layers}
        assert query.input.name == "user_id" and candidate.input.name == "item_id"

    def test_outputs_are_l2_normalised(self):
        query, candidate = _towers()
        for tower, n in ((query, NUM_USERS), (candidate, NUM_ITEMS)):
            norms = np.linalg.norm(tower_embeddings(tower, n), axis=1)
            np.testing.assert_allclose(norms, 1.0, rtol=1e-5)
        raw = build_candidate_tower(NUM_ITEMS, embedding_dim=4, normalize=False)
        assert not np.allclose(np.linalg.norm(tower_embeddings(raw, NUM_ITEMS), axis=1), 1.0)

    def test_history_mean_ignores_padding(self):
        history = np.array([[0, 0], [2, 0], [2, 3]] + [[0, 0]] * (NUM_USERS - 3))
        query = build_query_tower(NUM_USERS, user_history=history, num_items=NUM_ITEMS,
                                  embedding_dim=2)
        table = query.get_layer("history_item_embedding").embeddings.numpy()
        mean = keras.Model(query.input, query.get_layer("history_mean").output)
        out = mean(np.array([0, 1, 2], "int32")).numpy()
        np.testing.assert_allclose(out, [np.zeros(2), table[2], (table[2] + table[3]) / 2],
                                   rtol=1e-6, atol=1e-7)

    def test_score_fn_matches_embedding_tables(self):
        query, candidate = _towers()
        scores = tower_score_fn(query, candidate, NUM_ITEMS)(np.array([1, 4]))
        want = tower_embeddings(query, NUM_USERS)[[1, 4]] @ tower_embeddings(candidate, NUM_ITEMS).T
        np.testing.assert_allclose(scores, want, rtol=1e-5, atol=1e-6)

    def test_invalid_arguments_raise(self):
        with pytest.raises(ValueError, match="num_items"):
            build_query_tower(NUM_USERS, user_history=np.zeros((NUM_USERS, 2)))
        with pytest.raises(ValueError, match="shape"):
            build_query_tower(NUM_USERS, user_history=np.zeros((3, 2)), num_items=NUM_ITEMS)
        with pytest.raises(ValueError, match="embedding_dim=0"):
            build_candidate_tower(NUM_ITEMS, embedding_dim=0)


class TestLoss:
    def test_in_batch_softmax_with_and_without_logq_matches_numpy(self):
        query, candidate = _towers()
        probabilities = sampling_probabilities(
            np.random.default_rng(2).integers(1, NUM_ITEMS, 200), NUM_ITEMS)
        batch = _batch()
        q = query(batch["user_id"]).numpy()
        c = candidate(batch["item_id"]).numpy()
        ids = batch["item_id"]
        losses = {}
        for logq in (True, False):
            model = TwoTower(query, candidate, NUM_ITEMS, item_probabilities=probabilities,
                             temperature=0.2, logq_correction=logq)
            losses[logq] = float(model.compute_loss(batch))
        want_logq = _numpy_loss(q, c, ids, 0.2, np.log(probabilities[ids]))
        want_plain = _numpy_loss(q, c, ids, 0.2)
        assert losses[True] == pytest.approx(want_logq, rel=1e-5)
        assert losses[False] == pytest.approx(want_plain, rel=1e-5)
        assert abs(want_logq - want_plain) > 1e-2

    def test_accidental_hits_can_be_kept(self):
        query, candidate = _towers()
        batch = _batch()
        q, c = query(batch["user_id"]).numpy(), candidate(batch["item_id"]).numpy()
        model = TwoTower(query, candidate, NUM_ITEMS, logq_correction=False,
                         remove_accidental_hits=False, temperature=0.1)
        assert float(model.compute_loss(batch)) == pytest.approx(
            _numpy_loss(q, c, batch["item_id"], 0.1, hits=False), rel=1e-5)

    def test_uniform_negatives_use_the_mixture_probability(self):
        query, candidate = _towers()
        probabilities = sampling_probabilities(np.arange(1, NUM_ITEMS).repeat(3), NUM_ITEMS)
        probabilities[5] *= 4  # not uniform
        probabilities /= probabilities.sum()
        model = TwoTower(query, candidate, NUM_ITEMS, item_probabilities=probabilities,
                         num_uniform_negatives=6, seed=3, temperature=0.5)
        batch = _batch()
        negatives = model._uniform_negatives(training=False).numpy()
        assert negatives.min() >= 1 and negatives.max() < NUM_ITEMS
        ids = np.concatenate([batch["item_id"], negatives])
        q = query(batch["user_id"]).numpy()
        c = candidate(ids).numpy()
        b, m = 5, 6
        mixture = (b * probabilities[ids] + m / (NUM_ITEMS - 1)) / (b + m)
        want = _numpy_loss(q, c, ids, 0.5, np.log(mixture))
        assert float(model.compute_loss(batch)) == pytest.approx(want, rel=1e-5)

    def test_temperature_scales_the_scores(self):
        query, candidate = _towers()
        batch = _batch()
        cosine = np.sum(query(batch["user_id"]).numpy() * candidate(batch["item_id"]).numpy(), 1)
        for temperature in (0.05, 1.0):
            model = TwoTower(query, candidate, NUM_ITEMS, temperature=temperature)
            np.testing.assert_allclose(model(batch).numpy(), cosine / temperature, rtol=1e-5)
        fixed = TwoTower(query, candidate, NUM_ITEMS, temperature=0.3)
        assert all(v is not fixed.log_temperature for v in fixed.trainable_variables)
        learned = TwoTower(query, candidate, NUM_ITEMS, temperature=0.3, learn_temperature=True)
        assert any(v is learned.log_temperature for v in learned.trainable_variables)

    def test_invalid_arguments_raise(self):
        query, candidate = _towers()
        with pytest.raises(ValueError, match="temperature=0"):
            TwoTower(query, candidate, NUM_ITEMS, temperature=0)
        with pytest.raises(ValueError, match="shape"):
            TwoTower(query, candidate, NUM_ITEMS, item_probabilities=np.ones(3))
        with pytest.raises(ValueError, match="num_uniform_negatives=-1"):
            TwoTower(query, candidate, NUM_ITEMS, num_uniform_negatives=-1)


def _training_data(seed=0, n=600):
    """Users prefer the items of their own group (user % 3 == item % 3)."""
    rng = np.random.default_rng(seed)
    users = rng.integers(1, NUM_USERS, n)
    items = 1 + (users % 3) + 3 * rng.integers(0, (NUM_ITEMS - 1) // 3, n)
    return {"user_id": users.astype("int32"), "item_id": items.astype("int32")}


class TestTraining:
    def test_fit_reduces_the_loss_and_learns_the_preference(self):
        keras.utils.set_random_seed(0)
        query, candidate = _towers(dim=8)
        data = _training_data()
        model = TwoTower(query, candidate, NUM_ITEMS,
                         item_probabilities=sampling_probabilities(data["item_id"], NUM_ITEMS),
                         num_uniform_negatives=4, learn_temperature=True)
        model.compile(optimizer=keras.optimizers.Adam(0.02))
        ds = tf.data.Dataset.from_tensor_slices(data).shuffle(600, seed=0).batch(64)
        temperature = float(model.log_temperature.numpy())
        history = model.fit(ds, epochs=8, verbose=0).history["loss"]
        assert history[-1] < 0.8 * history[0]
        assert float(model.log_temperature.numpy()) != temperature
        scores = tower_score_fn(query, candidate, NUM_ITEMS)(np.arange(1, NUM_USERS))
        top = np.argmax(scores[:, 1:], axis=1) + 1
        assert np.mean((top - 1) % 3 == np.arange(1, NUM_USERS) % 3) >= 0.75
        evaluated = model.evaluate(ds, verbose=0)
        assert np.isfinite(evaluated)

    def test_config_round_trip_and_saved_model_reload_with_the_towers(self, tmp_path):
        query, candidate = _towers()
        data = _training_data(n=64)
        model = TwoTower(query, candidate, NUM_ITEMS, temperature=0.2, learn_temperature=True,
                         num_uniform_negatives=2, remove_accidental_hits=False, seed=5,
                         item_probabilities=sampling_probabilities(data["item_id"], NUM_ITEMS))
        model.compile(optimizer="adam")
        model.fit(tf.data.Dataset.from_tensor_slices(data).batch(32), epochs=1, verbose=0)
        config = model.get_config()
        clone = TwoTower.from_config(config)
        assert clone.get_config() == config
        assert [layer.name for layer in clone.query_tower.layers] == \
            [layer.name for layer in query.layers]
        expected = model.predict(data, verbose=0)
        model.save(tmp_path / "two_tower")
        reloaded = keras.models.load_model(tmp_path / "two_tower")
        assert type(reloaded) is TwoTower
        np.testing.assert_allclose(reloaded.predict(data, verbose=0), expected, rtol=1e-6)
        # The towers (functional sub-models with registered layers) reload too.
        for name, n in (("query_tower", NUM_USERS), ("candidate_tower", NUM_ITEMS)):
            tower = getattr(reloaded, name)
            assert isinstance(tower, keras.Model) and tower.name == name
            np.testing.assert_allclose(tower_embeddings(tower, n),
                                       tower_embeddings(getattr(model, name), n), rtol=1e-6)
        np.testing.assert_allclose(reloaded.item_probability.numpy(),
                                   model.item_probability.numpy())


def test_sampling_probabilities_are_training_frequencies():
    probabilities = sampling_probabilities(np.array([1, 1, 3, 1]), 5)
    np.testing.assert_allclose(probabilities, [0, 0.75, 0, 0.25, 0])


def test_build_two_tower_has_the_registry_signature():
    from tfdeeprec.models.two_tower import build_two_tower
    users, items = _tables()
    model = build_two_tower(NUM_USERS, NUM_ITEMS, user_features=users, item_features=items,
                            embedding_dim=4, num_uniform_negatives=2, temperature=0.3)
    assert isinstance(model, TwoTower) and model.num_uniform_negatives == 2
    assert "genres_lookup" in {layer.name for layer in model.candidate_tower.layers}
    assert model(_batch()).shape == (5,)
    with pytest.raises(ValueError, match="task='rating'"):
        build_two_tower(NUM_USERS, NUM_ITEMS, task="rating")
