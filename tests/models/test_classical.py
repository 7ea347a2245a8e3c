"""PureSVD and implicit ALS: their solves against the textbook formulas computed densely
in numpy, and their quality on planted-structure data."""

import numpy as np
import pytest

from tfdeeprec.data import EncodedInteractions, make_synthetic_ratings
from tfdeeprec.models import als
from tfdeeprec.models.als import build_als, chunk_plan, confidence_rows, solve_side
from tfdeeprec.models.pure_svd import build_pure_svd, pure_svd_factors
from tfdeeprec.training import TrainingConfig
from tfdeeprec.training.experiment import ExperimentConfig, run_experiment


def random_train(num_users=9, num_items=12, seed=0):
    """Users with 1 to 8 items (so chunks pad), a repeated pair and an OOV row."""
    rng = np.random.default_rng(seed)
    users, items = [], []
    for user in range(1, num_users):
        chosen = rng.choice(np.arange(1, num_items), size=rng.integers(1, 9), replace=False)
        users += [user] * len(chosen)
        items += chosen.tolist()
    users += [users[0], 0, 3]  # the first pair again (r = 2), an OOV user, an OOV item
    items += [items[0], 4, 0]
    return EncodedInteractions(np.array(users), np.array(items), num_users, num_items)


def dense_counts(train):
    counts = np.zeros((train.num_users, train.num_items))
    known = train.known()
    np.add.at(counts, (known.user, known.item), 1.0)
    counts[0, :] = counts[:, 0] = 0.0
    return counts


def hu_koren_volinsky_users(items, counts, alpha, l2):
    """Eq. (4) of the paper, one user at a time over the whole dense matrix."""
    d = items.shape[1]
    out = np.zeros((counts.shape[0], d))
    for u in range(counts.shape[0]):
        if not counts[u].any():
            continue
        confidence = 1.0 + alpha * counts[u]
        preference = (counts[u] > 0).astype(float)
        lhs = items.T @ (confidence[:, None] * items) + l2 * np.eye(d)
        out[u] = np.linalg.solve(lhs, items.T @ (confidence * preference))
    return out


@pytest.mark.parametrize("chunk_entries", [4, 1 << 14])
def test_exact_user_solve_equals_the_papers_formula(monkeypatch, chunk_entries):
    monkeypatch.setattr(als, "CHUNK_ENTRIES", chunk_entries)  # 4: many padded chunks
    train = random_train()
    items = np.random.default_rng(1).standard_normal((train.num_items, 3)).astype("float32")
    items[0] = 0.0
    by_user, _ = confidence_rows(train, alpha=2.0)
    plan = chunk_plan(*by_user, 3)
    assert (len(plan) > 1) is (chunk_entries == 4)
    got = solve_side(items, plan, np.zeros((train.num_users, 3), "float32"), 0.5)
    want = hu_koren_volinsky_users(items.astype(float), dense_counts(train), 2.0, 0.5)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert not got[0].any()  # the OOV user has no pairs


def test_conjugate_gradient_reaches_the_exact_solution_in_d_steps():
    train = random_train(seed=3)
    items = np.random.default_rng(2).standard_normal((train.num_items, 4)).astype("float32")
    by_user, _ = confidence_rows(train, alpha=3.0)
    plan = chunk_plan(*by_user, 4)
    start = np.zeros((train.num_users, 4), "float32")
    exact = solve_side(items, plan, start, 0.1)
    one_step = solve_side(items, plan, start, 0.1, cg_steps=1)
    four_steps = solve_side(items, plan, start, 0.1, cg_steps=4)
    np.testing.assert_allclose(four_steps, exact, rtol=1e-3, atol=1e-4)
    assert np.abs(one_step - exact).max() > 1e-3  # one step alone is not there


def als_loss(train, users, items, alpha, l2):
    counts = dense_counts(train)
    confidence, preference = 1.0 + alpha * counts, (counts > 0).astype(float)
    confidence[0, :] = confidence[:, 0] = 0.0  # OOV rows are not in the fit
    error = preference - users.astype(float) @ items.astype(float).T
    return float(np.sum(confidence * error ** 2) + l2 * (np.sum(users.astype(float) ** 2) +
                                                          np.sum(items.astype(float) ** 2)))


def test_exact_als_lowers_its_objective_at_every_iteration():
    train = random_train(seed=5)
    losses = [als_loss(train, *als.als_factors(train, embedding_dim=3, l2=0.3, alpha=2.0,
                                               iterations=n, cg_steps=0), 2.0, 0.3)
              for n in (1, 2, 3, 6)]
    assert all(b <= a + 1e-6 for a, b in zip(losses, losses[1:])), losses


def test_pure_svd_scores_are_the_rank_d_projection_of_the_training_matrix():
    train = random_train(num_users=30, num_items=25, seed=7)
    x = (dense_counts(train) > 0).astype(float)
    _, _, vt = np.linalg.svd(x)
    want = x @ vt[:4].T @ vt[:4]
    users, items = pure_svd_factors(train, embedding_dim=4)
    np.testing.assert_allclose(users @ items.T, want, atol=1e-4)


def test_classical_models_refuse_bad_settings_by_name():
    with pytest.raises(ValueError, match="alpha=-1"):
        build_als(3, 4, alpha=-1)
    with pytest.raises(ValueError, match="cg_steps=1.5"):
        build_als(3, 4, cg_steps=1.5)
    with pytest.raises(ValueError, match="embedding_dim=5"):
        build_pure_svd(3, 4, embedding_dim=5)


@pytest.mark.parametrize("model,kwargs", [
    ("als", {"embedding_dim": 8, "l2": 5.0, "alpha": 4.0}),
    ("pure_svd", {"embedding_dim": 8})])
def test_classical_models_beat_popularity_on_planted_data(model, kwargs):
    frame = make_synthetic_ratings(300, 120, seed=3).frame
    training = TrainingConfig(epochs=10, learning_rate=1e-2, verbose=0, seed=0,
                              optimizer="adam")
    pop = run_experiment(ExperimentConfig(model="pop", seed=0, training=training),
                         frame=frame).metrics["test"]["ndcg@10"]
    result = run_experiment(ExperimentConfig(model=model, seed=0, model_kwargs=kwargs,
                                             training=training), frame=frame)
    assert result.metrics["test"]["ndcg@10"] > pop + 0.1, (pop, result.metrics["test"])
