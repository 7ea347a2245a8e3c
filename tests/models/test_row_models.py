"""Row-family models: EASE's closed form, the autoencoders' losses, and quality on planted data."""

import numpy as np
import pytest

from tfdeeprec._keras import keras, tf
from tfdeeprec.data import EncodedInteractions, make_synthetic_ratings
from tfdeeprec.layers.gaussian_latent import GaussianLatent
from tfdeeprec.layers.reconstruction_loss import ReconstructionLoss
from tfdeeprec.models._row import row_trainer
from tfdeeprec.models.cdae import build_cdae
from tfdeeprec.models.ease import build_ease, ease_table, solve_ease
from tfdeeprec.models.item_knn import training_matrix
from tfdeeprec.models.mult_vae import build_mult_dae, build_mult_vae
from tfdeeprec.training import TrainingConfig
from tfdeeprec.training.experiment import ExperimentConfig, run_experiment


def test_ease_table_solves_each_items_ridge_regression_on_the_other_items():
    x = np.random.default_rng(0).integers(0, 2, size=(9, 5)).astype(float)
    table = ease_table(x, l2=2.0)
    gram = x.T @ x
    for j in range(5):  # column j: ridge regression of item j on the others, by hand
        others = [i for i in range(5) if i != j]
        want = np.linalg.solve(gram[np.ix_(others, others)] + 2.0 * np.eye(4),
                               gram[others, j])
        np.testing.assert_allclose(table[others, j], want, rtol=1e-5, atol=1e-6)
        assert table[j, j] == 0.0


def test_ease_scores_are_the_users_row_times_the_table_without_the_oov_slot():
    train = EncodedInteractions(np.array([1, 1, 2, 2, 3]), np.array([1, 2, 2, 3, 1]), 4, 4)
    matrix = training_matrix(train)
    assert matrix[:, 0].sum() == 0 and matrix[0].sum() == 0 and matrix.sum() == 5
    model = build_ease(4, 4, l2=0.5)
    solve_ease(model, train)
    row = np.array([[0, 1, 0, 1]], "float32")
    np.testing.assert_allclose(model(row).numpy(), row @ ease_table(matrix, 0.5), rtol=1e-6)
    assert np.all(model(row).numpy()[:, 0] == 0)


@pytest.mark.parametrize("l2", [0, -1.0, True, "big"])
def test_ease_refuses_a_bad_l2_by_name(l2):
    with pytest.raises(ValueError, match="l2"):
        build_ease(3, 4, l2=l2)


def test_multinomial_and_bce_reconstruction_losses_by_hand():
    scores = tf.constant([[0.0, np.log(3.0)], [0.0, 0.0]])
    rows = tf.constant([[0.0, 1.0], [1.0, 1.0]])
    multinomial = ReconstructionLoss("multinomial")
    assert multinomial([scores, rows], training=False) is not None and not multinomial.losses
    multinomial([scores, rows], training=True)
    # user 1: -log(3/4); user 2: -2 log(1/2); mean over the users
    assert float(multinomial.losses[0]) == pytest.approx((-np.log(0.75) + 2 * np.log(2)) / 2,
                                                         rel=1e-6)
    bce = ReconstructionLoss("bce")
    bce([scores, rows], training=True)
    # user 1: -log(1/2) - log(3/4); user 2: -2 log(1/2)
    assert float(bce.losses[0]) == pytest.approx((np.log(2) - np.log(0.75) + 2 * np.log(2)) / 2,
                                                 rel=1e-6)
    with pytest.raises(ValueError, match="kind='poisson'"):
        ReconstructionLoss("poisson")


def test_gaussian_latent_kl_by_hand_with_its_annealed_weight():
    layer = GaussianLatent(anneal_steps=4, anneal_cap=0.5)
    mean = tf.constant([[1.0, 0.0], [0.0, 2.0]])
    log_var = tf.constant([[0.0, np.log(2.0)], [0.0, 0.0]])
    np.testing.assert_array_equal(layer([mean, log_var]).numpy(), mean.numpy())
    assert not layer.losses
    # KL per user: 1/2 sum(mean^2 + var - 1 - log var): (1 + (2 - 1 - log 2)) / 2, 4 / 2
    kl = ((1.0 + (2.0 - 1.0 - np.log(2.0))) / 2 + 2.0) / 2
    betas = []
    for _ in range(4):
        layer([mean, log_var], training=True)
        betas.append(float(layer.losses[0]) / kl)
    np.testing.assert_allclose(betas, [0.0, 0.25, 0.5, 0.5], atol=1e-6)  # capped at 0.5


def test_gaussian_latent_samples_around_the_mean_with_its_variance():
    layer = GaussianLatent(anneal_steps=10, anneal_cap=0.2)
    mean = tf.fill([20000, 1], 3.0)
    log_var = tf.fill([20000, 1], float(np.log(4.0)))
    z = layer([mean, log_var], training=True).numpy()
    assert abs(z.mean() - 3.0) < 0.05 and abs(z.std() - 2.0) < 0.05


@pytest.mark.parametrize("bad", [{"anneal_steps": 0}, {"anneal_cap": 1.5}])
def test_gaussian_latent_refuses_bad_annealing_by_name(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        GaussianLatent(**({"anneal_steps": 10, "anneal_cap": 0.2} | bad))


@pytest.mark.parametrize("build", [build_mult_dae, build_mult_vae])
def test_autoencoders_score_deterministically_and_add_their_loss_only_in_training(build):
    model = build(5, 7, hidden_units=[6], latent_dim=3)
    rows = np.eye(7, dtype="float32")[[1, 2, 3]]
    np.testing.assert_array_equal(model(rows).numpy(), model(rows).numpy())
    assert not model.losses
    model(rows, training=True)
    assert len(model.losses) == (2 if build is build_mult_vae else 1)


@pytest.mark.parametrize("kwargs, name", [({"hidden_units": []}, "hidden_units"),
                                          ({"latent_dim": 0}, "latent_dim"),
                                          ({"dropout_rate": 1.0}, "dropout_rate"),
                                          ({"task": "rating"}, "task")])
def test_autoencoders_refuse_bad_arguments_by_name(kwargs, name):
    for build in (build_mult_dae, build_mult_vae):
        with pytest.raises(ValueError, match=name):
            build(5, 7, **kwargs)


@pytest.fixture(scope="module")
def planted():
    return make_synthetic_ratings(300, 120, seed=3).frame


def _ndcg(model, frame, **kwargs):
    config = ExperimentConfig(model=model, seed=0, **kwargs)
    return run_experiment(config, frame=frame).metrics["test"]["ndcg@10"]


def test_row_models_beat_popularity_on_planted_data(planted):
    training = dict(training=TrainingConfig(epochs=60, learning_rate=3e-3,
                                            early_stopping_patience=10, reduce_lr_patience=0,
                                            verbose=0, seed=0))
    pop = _ndcg("pop", planted, **training)
    scores = {"ease": _ndcg("ease", planted, model_kwargs={"l2": 20.0}),
              "mult_dae": _ndcg("mult_dae", planted, batch_size=64, **training),
              "mult_vae": _ndcg("mult_vae", planted, batch_size=64, **training),
              "cdae": _ndcg("cdae", planted, batch_size=64, **training)}
    assert all(score > pop + 0.1 for score in scores.values()), (pop, scores)


def test_row_models_train_with_their_own_loss_only(planted):
    with pytest.raises(ValueError, match="loss='bce'"):
        run_experiment(ExperimentConfig(model="mult_vae", training=TrainingConfig(
            loss="bce", epochs=1, verbose=0)), frame=planted)


def test_cdae_adds_the_users_vector_and_keeps_the_oov_users_at_zero():
    model = build_cdae(4, 5, embedding_dim=3, l2=0.01)
    table = model.get_layer("user_embedding").embeddings
    np.testing.assert_array_equal(table.numpy()[0], 0.0)
    rows = np.eye(5, dtype="float32")[[1, 2, 3]]
    users = np.array([1, 2, 3], "int32")
    hidden = keras.Model(model.inputs, model.get_layer("hidden").output)
    items = model.get_layer("item_weights")
    want = np.maximum(rows @ items.kernel.numpy() + items.bias.numpy()
                      + table.numpy()[users], 0.0)
    np.testing.assert_allclose(hidden({"user_row": rows, "user_id": users}).numpy(), want,
                               rtol=1e-5, atol=1e-6)
    trainer = row_trainer(model)
    trainer.compile(optimizer=keras.optimizers.Adam(0.05))
    trainer.fit(tf.data.Dataset.from_tensor_slices({"user_row": rows, "user_id": users})
                .batch(2), epochs=5, verbose=0)
    assert np.abs(table.numpy()[1:]).sum() > 0
    np.testing.assert_array_equal(table.numpy()[0], 0.0)  # no row reads it, l2 keeps it


def test_cdae_refuses_bad_arguments_by_name():
    for kwargs, name in (({"activation": "gelu"}, "activation"), ({"l2": -1}, "l2"),
                         ({"corruption_rate": 1.0}, "corruption_rate"),
                         ({"embedding_dim": 0}, "embedding_dim")):
        with pytest.raises(ValueError, match=name):
            build_cdae(4, 5, **kwargs)
