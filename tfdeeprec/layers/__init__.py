"""Reusable Keras layers, one public layer per module, all registered as tfdeeprec>Name."""

from tfdeeprec.layers.crossed_linear import CrossedLinear
from tfdeeprec.layers.feature_lookup import FeatureLookup
from tfdeeprec.layers.last_item import LastItem
from tfdeeprec.layers.mlp import MLP
from tfdeeprec.layers.pair_dense import PairDense
from tfdeeprec.layers.rating_clip import RatingClip
from tfdeeprec.layers.scalar_bias import ScalarBias

__all__ = ["CrossedLinear", "FeatureLookup", "LastItem", "MLP", "PairDense", "RatingClip",
           "ScalarBias"]
