"""Models: Keras builders, one model (or close variants) per module, all in the registry."""

from tfdeeprec.models.item_knn import build_item_knn, solve_item_knn
from tfdeeprec.models.mf import build_mf
from tfdeeprec.models.ncf import build_gmf, build_mlp_ncf, build_neumf, load_pretrained_neumf
from tfdeeprec.models.pairwise import build_pairwise_trainer
from tfdeeprec.models.pop import build_pop
from tfdeeprec.models.registry import MODELS, ModelSpec, build_model, get_spec
from tfdeeprec.models.two_tower import (TwoTower, build_candidate_tower, build_query_tower,
                                        build_two_tower, sampling_probabilities,
                                        tower_embeddings, tower_score_fn)
from tfdeeprec.models.wide_deep import build_wide_deep

__all__ = ["MODELS", "ModelSpec", "TwoTower", "build_candidate_tower", "build_gmf",
           "build_item_knn", "build_mf", "build_mlp_ncf", "build_model", "build_neumf",
           "build_pairwise_trainer", "build_pop", "build_query_tower", "build_two_tower",
           "build_wide_deep", "get_spec", "load_pretrained_neumf", "sampling_probabilities",
           "solve_item_knn", "tower_embeddings", "tower_score_fn"]
