"""The CTR view of user/item-keyed data: labelled rows of named features, and per-ID tables.

RecBole's context-aware protocol on MovieLens: ratings in ``drop_ratings`` are dropped
(RecBole's ml-100k CTR set-up drops 3), the label is ``rating >= label_threshold``, and
each row carries the user's and the item's side features plus the hour and weekday
of its timestamp (UTC). ``zip_code`` becomes its first three characters
(``zip_prefix``); a ``title`` is left out (one per item: it adds nothing the item ID
does not).

>>> import pandas as pd
>>> from tfdeeprec.data import InteractionFrame
>>> frame = InteractionFrame.from_pandas(
...     pd.DataFrame({"user_id": [1, 1, 2], "item_id": [5, 6, 5], "rating": [5, 3, 2],
...                   "timestamp": [0, 3600, 90000]}),
...     users=pd.DataFrame({"gender": ["F", "M"], "zip_code": ["12345", "9"]},
...                        index=pd.Index(["1", "2"], name="user_id")))
>>> rows = ctr_rows(label_ratings(frame, drop_ratings=(3,)).interactions, frame)
>>> rows[["user_id", "gender", "zip_prefix", "hour", "weekday", "label"]].to_dict("list")
{'user_id': ['1', '2'], 'gender': ['F', 'M'], 'zip_prefix': ['123', '9'], 'hour': ['0', '1'], 'weekday': ['3', '4'], 'label': [1.0, 0.0]}
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tfdeeprec.data import schema
from tfdeeprec.data.errors import DataError
from tfdeeprec.data.interaction_frame import InteractionFrame
from tfdeeprec.data.vocabulary import Vocabulary

DROPPED_SIDE_COLUMNS = (schema.TITLE,)
CONTEXT_COLUMNS = ("hour", "weekday")  # from the timestamp; unknown when ranking


def label_ratings(frame: InteractionFrame, *, label_threshold: float = 4.0,
                  drop_ratings=()) -> InteractionFrame:
    """``frame`` without the rows whose rating is in ``drop_ratings``, with a ``label``
    column: 1.0 where ``rating >= label_threshold``, else 0.0."""
    if not frame.has_ratings:
        raise DataError("the ctr task on user/item data needs ratings to label "
                        "(label = rating >= label_threshold); this data has none",
                        source=frame.source)
    rows = frame.interactions
    rows = rows[~rows[schema.RATING].isin([float(r) for r in drop_ratings])]
    if len(rows) == 0:
        raise DataError(f"no rows left after dropping ratings {list(drop_ratings)}",
                        source=frame.source)
    rows = rows.assign(**{schema.LABEL: (rows[schema.RATING] >= label_threshold)
                          .astype(np.float32)}).reset_index(drop=True)
    return frame.with_interactions(rows)


def side_columns(frame: InteractionFrame) -> tuple[list, list]:
    """The user-side and item-side feature columns :func:`ctr_rows` adds."""
    users = [] if frame.users is None else [_renamed(c) for c in frame.users.columns
                                            if c not in DROPPED_SIDE_COLUMNS]
    items = [] if frame.items is None else [_renamed(c) for c in frame.items.columns
                                            if c not in DROPPED_SIDE_COLUMNS]
    return users, items


def ctr_rows(interactions: pd.DataFrame, frame: InteractionFrame) -> pd.DataFrame:
    """One row per interaction: IDs, the user's and the item's side features (missing
    for an ID without them), hour and weekday (when there are timestamps), ``label``."""
    out = pd.DataFrame({schema.USER_ID: interactions[schema.USER_ID].to_numpy(),
                        schema.ITEM_ID: interactions[schema.ITEM_ID].to_numpy()})
    for side, key in ((frame.users, schema.USER_ID), (frame.items, schema.ITEM_ID)):
        table = _side_table(side)
        if table is not None:
            joined = table.reindex(out[key].to_numpy())
            for column in table.columns:
                out[column] = joined[column].to_numpy()
    if schema.TIMESTAMP in interactions:
        when = pd.to_datetime(interactions[schema.TIMESTAMP].to_numpy(), unit="s", utc=True)
        out["hour"] = when.hour.astype(str)
        out["weekday"] = when.weekday.astype(str)
    if schema.LABEL in interactions:
        out[schema.LABEL] = interactions[schema.LABEL].to_numpy(np.float32)
    return out


def id_tables(frame: InteractionFrame, vocab: Vocabulary, side: str) -> pd.DataFrame:
    """Per vocabulary index (row 0: the OOV slot, every value missing), the raw ID and
    the side features of the ``"user"`` or ``"item"`` side: what scoring a (user, item)
    pair joins."""
    key = schema.USER_ID if side == "user" else schema.ITEM_ID
    ids = np.array(("",) + tuple(vocab.tokens), dtype=object)
    out = pd.DataFrame({key: ids})
    table = _side_table(frame.users if side == "user" else frame.items)
    if table is not None:
        joined = table.reindex(ids)
        for column in table.columns:
            out[column] = joined[column].to_numpy()
        out.iloc[0, 1:] = None
    return out


def _side_table(side: pd.DataFrame | None) -> pd.DataFrame | None:
    if side is None:
        return None
    table = side.drop(columns=[c for c in DROPPED_SIDE_COLUMNS if c in side.columns])
    if schema.ZIP_CODE in table.columns:
        table[schema.ZIP_CODE] = table[schema.ZIP_CODE].map(
            lambda z: z[:3] if isinstance(z, str) else z)
        table = table.rename(columns={schema.ZIP_CODE: "zip_prefix"})
    return table


def _renamed(column: str) -> str:
    return "zip_prefix" if column == schema.ZIP_CODE else column
