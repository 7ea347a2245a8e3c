"""Evaluation: ranking, rating and CTR metrics, full-ranking and sampled protocols."""

from tfdeeprec.evaluation.ctr import auc, ctr_metrics, gauc, log_loss
from tfdeeprec.evaluation.full_ranking import (DEFAULT_METRICS, EvaluationResult,
                                               FullRankingEvaluator)
from tfdeeprec.evaluation.metrics import (evaluate_ratings, f1_at_k, global_auc, hit_rate_at_k,
                                          item_coverage, mae, map_at_k, mrr_at_k, ndcg_at_k,
                                          per_row_auc, precision_at_k, recall_at_k, rmse)
from tfdeeprec.evaluation.sampled import SampledEvaluator, full_scores_to_pair_scorer
from tfdeeprec.evaluation.scoring import embedding_score_fn, model_score_fn

__all__ = [
    "DEFAULT_METRICS", "EvaluationResult", "FullRankingEvaluator", "SampledEvaluator", "auc",
    "ctr_metrics", "gauc", "log_loss",
    "embedding_score_fn", "evaluate_ratings", "f1_at_k", "full_scores_to_pair_scorer",
    "global_auc", "hit_rate_at_k", "item_coverage", "mae", "map_at_k", "model_score_fn",
    "mrr_at_k", "ndcg_at_k", "per_row_auc", "precision_at_k", "recall_at_k", "rmse",
]
