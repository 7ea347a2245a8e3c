"""Raw feature values from pandas, in the dtypes a context model (and its export) takes.

>>> import pandas as pd
>>> from tfdeeprec.features.specs import Categorical, MultiValued, Numeric
>>> frame = pd.DataFrame({"g": ["F", None], "genres": [("A", "B"), ()], "age": [31, None]})
>>> raw = raw_arrays(frame, (Categorical("g"), MultiValued("genres"), Numeric("age")))
>>> raw["g"].tolist(), raw["genres"].tolist(), raw["age"].tolist()
(['F', ''], ['A|B', ''], [31.0, nan])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tfdeeprec.features.specs import Numeric, check_specs


def raw_arrays(frame: pd.DataFrame, specs) -> dict[str, np.ndarray]:
    """``{name: values}`` for every spec: numeric as ``float32`` with ``NaN`` for missing;
    categorical as ``str`` with ``""`` for missing; multi-valued lists/tuples joined by
    the spec's separator. A missing column is refused by name."""
    specs = check_specs(specs)
    absent = [s.name for s in specs if s.name not in frame.columns]
    if absent:
        raise ValueError(f"the rows have no column(s) {absent} for the feature specs; "
                         f"they have {list(frame.columns)}")
    return {s.name: raw_values(frame[s.name], s) for s in specs}


def raw_values(column: pd.Series, spec) -> np.ndarray:
    """One column's raw values for ``spec`` (see :func:`raw_arrays`)."""
    if isinstance(spec, Numeric):
        try:
            return pd.to_numeric(column, errors="raise").to_numpy(np.float32, na_value=np.nan)
        except (TypeError, ValueError):
            bad = next(v for v in column if not _is_number(v))
            raise ValueError(f"numeric feature {spec.name!r} has a value that is not a "
                             f"number: {bad!r}") from None
    if spec.kind == "multi_valued":
        return np.array([_joined(v, spec) for v in column], dtype=str)
    return np.array(["" if _missing(v) else _text(v) for v in column], dtype=str)


def _joined(value, spec) -> str:
    if isinstance(value, (list, tuple, np.ndarray)):
        parts = [_text(v) for v in value if not _missing(v)]
        bad = [p for p in parts if spec.separator in p]
        if bad:
            raise ValueError(f"multi-valued feature {spec.name!r} has a value holding its "
                             f"separator {spec.separator!r}: {bad[0]!r}")
        return spec.separator.join(parts)
    return "" if _missing(value) else _text(value)


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 3.0 read from a column with gaps is the category "3"
    return str(value)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _is_number(value) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False
