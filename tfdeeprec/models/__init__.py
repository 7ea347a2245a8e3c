"""Models: Keras functional builders, one family per module, all listed in the registry."""

from tfdeeprec.models.mf import build_mf
from tfdeeprec.models.ncf import build_gmf, build_mlp_ncf, build_neumf, load_pretrained_neumf
from tfdeeprec.models.pairwise import build_pairwise_trainer
from tfdeeprec.models.registry import MODELS, ModelSpec, build_model, get_spec
from tfdeeprec.models.two_tower import (TwoTower, build_candidate_tower, build_query_tower,
                                        build_two_tower, sampling_probabilities,
                                        tower_embeddings, tower_score_fn)
from tfdeeprec.models.wide_deep import build_wide_deep

__all__ = ["MODELS", "ModelSpec", "TwoTower", "get_spec",
           "build_candidate_tower", "build_gmf", "build_mf", "build_mlp_ncf", "build_model",
           "build_neumf", "build_pairwise_trainer", "build_query_tower", "build_two_tower",
           "build_wide_deep", "load_pretrained_neumf", "sampling_probabilities",
           "tower_embeddings", "tower_score_fn"]
