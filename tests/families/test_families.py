"""The families: what each one refuses, and what it writes into an export's metadata."""

import pytest

from tfdeeprec.config import ExperimentConfig, TrainingConfig
from tfdeeprec.data import make_synthetic_ratings
from tfdeeprec.export import read_metadata
from tfdeeprec.families import FAMILIES, FAMILY_KINDS, get_family
from tfdeeprec.models.registry import MODELS
from tfdeeprec.runs import export_run, save_run
from tfdeeprec.training.experiment import run_experiment


def test_every_registered_family_is_a_known_kind_and_models_use_only_those():
    assert set(FAMILIES) == set(FAMILY_KINDS)  # every kind has models now
    assert {spec.family for spec in MODELS.values()} == set(FAMILIES)
    with pytest.raises(ValueError, match="family='graph'"):
        get_family("graph")


def test_pair_family_refuses_a_loss_its_task_cannot_use():
    with pytest.raises(ValueError, match="loss='bpr'"):
        ExperimentConfig(model="mf", task="rating", training=TrainingConfig(loss="bpr"))
    with pytest.raises(ValueError, match="loss='mse'"):
        ExperimentConfig(model="mf", task="implicit", training=TrainingConfig(loss="mse"))
    assert get_family("pair").loss(ExperimentConfig(model="mf", task="implicit")) == "bce"


@pytest.fixture(scope="module")
def frame():
    return make_synthetic_ratings(60, 40, seed=2).frame


@pytest.mark.parametrize("loss, meaning", [("bce", "probability of interaction"),
                                          ("bpr", "uncalibrated ranking score")])
def test_export_metadata_names_the_family_and_what_the_score_means(frame, tmp_path, loss,
                                                                   meaning):
    config = ExperimentConfig(model="gmf", task="implicit", batch_size=256,
                              model_kwargs={"embedding_dim": 4},
                              training=TrainingConfig(epochs=1, loss=loss, verbose=0))
    run = save_run(run_experiment(config, frame=frame), tmp_path / "run")
    meta = read_metadata(export_run(run, tmp_path / "exports", "gmf"))
    assert meta["model"] == {**meta["model"], "name": "gmf", "family": "pair"}
    assert meaning in meta["score"]
    if loss == "bpr":
        assert "not a probability" in meta["score"]
    assert meta["exports"] == {"main": "gmf/1"}
    assert {"score", "recommend", "recommend_default"} <= set(meta["signatures"])


def test_export_options_belong_to_the_family(frame, tmp_path):
    config = ExperimentConfig(model="gmf", batch_size=256, model_kwargs={"embedding_dim": 4},
                              training=TrainingConfig(epochs=1, verbose=0))
    run = save_run(run_experiment(config, frame=frame), tmp_path / "run")
    with pytest.raises(ValueError, match="pair-family exports take no options"):
        export_run(run, tmp_path / "exports", "gmf", scann=True)
    assert not (tmp_path / "exports" / "gmf").exists() or not any(
        (tmp_path / "exports" / "gmf").iterdir())
