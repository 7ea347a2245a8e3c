"""Losses: BPR for pairwise ranking (BCE and MSE come from Keras)."""

from tfdeeprec.losses.bpr_loss import BPRLoss

__all__ = ["BPRLoss"]
