"""infer_feature_specs: feature specs from a pandas frame's columns.

>>> import pandas as pd
>>> frame = pd.DataFrame({"age": [20, 31], "city": ["a", "b"], "tags": [("x",), ("x", "y")],
...                       "label": [0, 1]})
>>> [s.to_dict()["kind"] for s in infer_feature_specs(frame, exclude=("label",))]
['numeric', 'categorical', 'multi_valued']
"""

from __future__ import annotations

import pandas as pd

from tfdeeprec.features.specs import Categorical, MultiValued, Numeric


def infer_feature_specs(frame: pd.DataFrame, *, exclude=(), hash_above: int = 0,
                        categories_up_to: int = 0) -> tuple:
    """One spec per column not in ``exclude``, in column order: numbers (not bool) become
    :class:`Numeric` (standardised), lists and tuples :class:`MultiValued`, anything else
    :class:`Categorical`.

    Args:
        frame: the training rows.
        exclude: columns that are not features (the label, IDs kept apart, ...).
        hash_above (int): categorical columns with more distinct values than this are
            hashed into twice as many buckets instead of learning a vocabulary; 0 never.
        categories_up_to (int): integer columns (whole numbers, gaps allowed) with at
            most this many distinct values are categorical (ages, years, hours); 0 never.
    """
    specs = []
    for name in frame.columns:
        if name in exclude:
            continue
        column = frame[name]
        first = column.dropna().iloc[0] if column.notna().any() else None
        numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
        if numeric and not _few_whole_numbers(column, categories_up_to):
            specs.append(Numeric(str(name)))
        elif isinstance(first, (list, tuple)):
            specs.append(MultiValued(str(name)))
        else:
            distinct = column.nunique()
            buckets = 2 * distinct if hash_above and distinct > hash_above else 0
            specs.append(Categorical(str(name), hash_buckets=buckets))
    return tuple(specs)


def _few_whole_numbers(column: pd.Series, most: int) -> bool:
    values = column.dropna()
    return bool(most) and values.nunique() <= most and bool((values % 1 == 0).all())
