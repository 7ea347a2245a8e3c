"""Losses: BPR for pairwise ranking, sampled next-item losses for sequence models (BCE
and MSE come from Keras)."""

from tfdeeprec.losses.bpr_loss import BPRLoss
from tfdeeprec.losses.sampled_next_item import SampledNextItemLoss, gbce_beta

__all__ = ["BPRLoss", "SampledNextItemLoss", "gbce_beta"]
