"""Declarative features for context (CTR) models: specs, what they learn, raw values.

A context model takes a row of named raw features (strings and numbers); its first
layers (:class:`~tfdeeprec.layers.FeatureEncoder`, :class:`~tfdeeprec.layers.FieldEmbedding`)
encode them with what :func:`fit_feature_stats` learned from the training rows.

>>> import pandas as pd
>>> frame = pd.DataFrame({"city": ["a", "b", "a"], "age": [20.0, 40.0, 30.0]})
>>> specs = infer_feature_specs(frame)
>>> stats = fit_feature_stats(specs, [raw_arrays(frame, specs)])
>>> stats.vocabularies, stats.moments
({'city': ['a', 'b']}, {'age': [30.0, 66.66666666666667]})
"""

from tfdeeprec.features.inference import infer_feature_specs
from tfdeeprec.features.raw import raw_arrays, raw_values
from tfdeeprec.features.specs import (KINDS, Categorical, MultiValued, Numeric, check_specs,
                                      spec_from_dict)
from tfdeeprec.features.statistics import FeatureStats, fit_feature_stats

__all__ = ["KINDS", "Categorical", "FeatureStats", "MultiValued", "Numeric", "check_specs",
           "fit_feature_stats", "infer_feature_specs", "raw_arrays", "raw_values",
           "spec_from_dict"]
