"""A trained sequence model's export answers ``recommend_from_items`` for 100 random
sessions (variable length, unknown items among them) exactly as the Keras model does on
the same history: the known items in order, the latest ``max_length`` right-aligned,
the session's own items and the padding index left out."""

import numpy as np
import pytest

from tfdeeprec._keras import tf
from tfdeeprec.data.synthetic_sequences import make_markov_sequences
from tfdeeprec.export import read_metadata
from tfdeeprec.runs import export_run, save_run
from tfdeeprec.training import TrainingConfig
from tfdeeprec.training.experiment import ExperimentConfig, run_experiment

K, MAX_LENGTH = 10, 6


@pytest.fixture(scope="module", params=["bert4rec"])  # the export is model-agnostic
def trained(request, tmp_path_factory):
    frame = make_markov_sequences(num_users=60, num_items=40, length=10, seed=3).frame
    config = ExperimentConfig(model=request.param, split="leave_one_out",
                              model_kwargs={"max_length": MAX_LENGTH, "embedding_dim": 16,
                                            "inner_dim": 32},
                              training=TrainingConfig(epochs=2, verbose=0))
    result = run_experiment(config, frame)
    work = tmp_path_factory.mktemp(request.param)
    path = export_run(save_run(result, work / "run"), work / "exports", "sessions", max_k=K)
    return result, tf.saved_model.load(str(path)).signatures, path


def _sessions(item_ids, rng, count=100):
    sessions = []
    for _ in range(count):
        session = list(rng.choice(item_ids, size=rng.integers(1, MAX_LENGTH + 4),
                                  replace=False))
        if rng.random() < 0.3:  # an item the model never saw, somewhere in the session
            session.insert(int(rng.integers(len(session) + 1)), "no-such-item")
        sessions.append(session)
    return sessions


def _keras_top_k(result, sessions):
    vocab, model = result.data.item_vocab, result.model
    histories = np.zeros((len(sessions), MAX_LENGTH), np.int32)
    for row, session in enumerate(sessions):
        known = [i for i in vocab.lookup(session) if i > 0][-MAX_LENGTH:]
        histories[row, MAX_LENGTH - len(known):] = known
    scores = model(histories, training=False).numpy()
    for row, session in enumerate(sessions):
        scores[row, vocab.lookup(session)] = -np.inf  # the session's own items (and OOV 0)
    scores[:, 0] = -np.inf
    top = tf.math.top_k(scores, k=K)
    return vocab.ids_of(top.indices.numpy()).astype(str), top.values.numpy()


def test_recommend_from_items_of_100_random_sessions_equals_the_keras_top_k(trained):
    result, signatures, _ = trained
    item_ids = [str(i) for i in result.data.item_vocab.tokens]
    sessions = _sessions(item_ids, np.random.default_rng(0))
    width = max(len(s) for s in sessions)
    out = signatures["recommend_from_items"](
        item_ids=tf.constant([s + [""] * (width - len(s)) for s in sessions]),
        k=tf.constant(K), exclude=tf.zeros([len(sessions), 0], tf.string))
    want_items, want_scores = _keras_top_k(result, sessions)
    assert out["item_ids"].numpy().astype(str).tolist() == want_items.tolist()
    np.testing.assert_allclose(out["scores"].numpy(), want_scores, rtol=0, atol=1e-6)


def test_the_metadata_says_unknown_session_items_are_skipped(trained):
    oov = read_metadata(trained[2])["oov"]
    assert oov["recommend_from_items_unknown_item"].startswith("skipped")
