"""Training: the fit recipe, optimizers (incl. the sparse-aware Adam) and callbacks."""

from tfdeeprec.training.callbacks import EpochTimer, RankingValidation
from tfdeeprec.training.optimizers import make_optimizer
from tfdeeprec.training.recipe import FitResult, TrainingConfig, compile_model, fit
from tfdeeprec.training.sparse_adam import SparseAdam

__all__ = ["EpochTimer", "FitResult", "RankingValidation", "SparseAdam", "TrainingConfig",
           "compile_model", "fit", "make_optimizer"]
