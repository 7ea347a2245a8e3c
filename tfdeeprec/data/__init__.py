"""Data: sources into one InteractionFrame, vocabularies, splits, samplers, tf.data."""

from tfdeeprec.data.csv_file import read_csv_interactions
from tfdeeprec.data.encoded import EncodedInteractions, encode
from tfdeeprec.data.errors import DataError
from tfdeeprec.data.grouplens import read_grouplens
from tfdeeprec.data.interaction_frame import InteractionFrame
from tfdeeprec.data.load import load_interactions
from tfdeeprec.data.negative_sampler import NegativeSampler
from tfdeeprec.data.pairwise import make_pairwise_dataset
from tfdeeprec.data.pointwise import (make_implicit_dataset, make_positive_dataset,
                                      make_rating_dataset)
from tfdeeprec.data.prepared import PreparedData, RatingFallbacks, prepare_data
from tfdeeprec.data.recbole_atomic import read_recbole_atomic
from tfdeeprec.data.sequences import build_histories, make_sequence_dataset
from tfdeeprec.data.split import (Split, build_vocabularies, split_by_user_ratio,
                                  split_leave_one_out, split_random, split_temporal)
from tfdeeprec.data.synthetic import SyntheticData, SyntheticTruth, make_synthetic_ratings
from tfdeeprec.data.user_rows import make_user_row_dataset
from tfdeeprec.data.vocabulary import Vocabulary

__all__ = [
    "DataError", "EncodedInteractions", "InteractionFrame", "NegativeSampler", "PreparedData",
    "RatingFallbacks", "Split",
    "SyntheticData", "SyntheticTruth", "Vocabulary", "build_histories", "build_vocabularies",
    "encode", "load_interactions", "make_implicit_dataset", "make_pairwise_dataset",
    "make_positive_dataset", "make_rating_dataset", "make_sequence_dataset",
    "make_synthetic_ratings", "make_user_row_dataset", "prepare_data", "read_csv_interactions",
    "read_grouplens", "read_recbole_atomic", "read_tfds_movielens", "split_by_user_ratio",
    "split_leave_one_out", "split_random", "split_temporal",
]


def __getattr__(name):
    # tensorflow-datasets is slow to import; load it only when asked for.
    if name == "read_tfds_movielens":
        from tfdeeprec.data.tfds_movielens import read_tfds_movielens
        return read_tfds_movielens
    raise AttributeError(f"module 'tfdeeprec.data' has no attribute {name!r}")
