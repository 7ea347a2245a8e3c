"""Reusable Keras layers, one public layer per module, all registered as tfdeeprec>Name."""

from tfdeeprec.layers.cin import CIN
from tfdeeprec.layers.cross_mixture import CrossMixture
from tfdeeprec.layers.cross_v1 import CrossV1
from tfdeeprec.layers.crossed_linear import CrossedLinear
from tfdeeprec.layers.feature_lookup import FeatureLookup
from tfdeeprec.layers.field_self_attention import FieldSelfAttention
from tfdeeprec.layers.fm_interaction import FMInteraction
from tfdeeprec.layers.gaussian_latent import GaussianLatent
from tfdeeprec.layers.graph_attention import GraphAttention
from tfdeeprec.layers.graph_convolution import GraphConvolution
from tfdeeprec.layers.last_item import LastItem
from tfdeeprec.layers.lightgcn_propagation import LightGCNPropagation
from tfdeeprec.layers.mlp import MLP
from tfdeeprec.layers.ngcf_propagation import NGCFPropagation
from tfdeeprec.layers.pair_dense import PairDense
from tfdeeprec.layers.rating_clip import RatingClip
from tfdeeprec.layers.reconstruction_loss import ReconstructionLoss
from tfdeeprec.layers.scalar_bias import ScalarBias

__all__ = ["CIN", "CrossMixture", "CrossV1", "CrossedLinear", "FMInteraction", "FeatureLookup",
           "FieldSelfAttention", "GaussianLatent", "GraphAttention", "GraphConvolution",
           "LastItem", "LightGCNPropagation", "MLP", "NGCFPropagation", "PairDense",
           "RatingClip", "ReconstructionLoss", "ScalarBias"]
