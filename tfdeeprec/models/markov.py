"""First-order Markov chain: the next item follows from the latest one.

Reference: Rendle, Freudenthaler, Schmidt-Thieme, "Factorizing Personalized Markov
Chains for Next-Basket Recommendation", WWW 2010 (the plain, unfactorised chain they
build on; a standard sequential baseline).

Input ``history``: int32 ``[batch, max_length]``, the user's items in time order,
right-aligned (latest last, 0-padded in front). Output: ``[batch, num_items]``,
``P(next = j | latest = i) = count(i -> j) / count(i -> .)`` over consecutive training
items of the same user; an item never followed by another (and an empty history)
gets the items' training popularity instead. Default ``max_length`` 50 (only the
latest item is read; the length is the family's history window).

The transition table is not learned by gradient descent: :func:`solve_markov` counts it
from the training interactions (the registry's ``solver``). It is a dense
``num_items x num_items`` table.
"""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import keras
from tfdeeprec.data import schema
from tfdeeprec.data.sequences import build_histories
from tfdeeprec.layers.last_item import LastItem
from tfdeeprec.models._common import check_implicit_task, check_positive_ints, check_sizes


def build_markov(num_users: int, num_items: int, *, max_length: int = 50,
                 task: str = "implicit", name: str = "markov") -> keras.Model:
    """The Markov-chain scorer with an all-zero table (see :func:`solve_markov`).

    >>> build_markov(3, 4, max_length=2)(np.array([[0, 2]], "int32")).shape
    TensorShape([1, 4])
    """
    check_implicit_task("the Markov chain", task)
    check_sizes(num_users, num_items)
    check_positive_ints(max_length=max_length)
    history = keras.Input(shape=(max_length,), dtype="int32", name=schema.HISTORY)
    latest = LastItem(name="latest_item")(history)
    scores = keras.layers.Embedding(num_items, num_items, trainable=False,
                                    embeddings_initializer="zeros",
                                    name="transitions")(latest)
    return keras.Model(history, scores, name=name)


def solve_markov(model: keras.Model, train) -> None:
    """Counts the transition table from ``train`` (``EncodedInteractions``, time-ordered
    by its timestamps, else by row order).

    >>> from tfdeeprec.data import EncodedInteractions
    >>> train = EncodedInteractions(np.array([1, 1, 1, 2, 2]), np.array([1, 2, 3, 1, 3]),
    ...                             3, 4, timestamp=np.array([1, 2, 3, 1, 2]))
    >>> model = build_markov(3, 4, max_length=2)
    >>> solve_markov(model, train)
    >>> model(np.array([[0, 1]], "int32")).numpy().tolist()
    [[0.0, 0.0, 0.5, 0.5]]
    """
    layer = model.get_layer("transitions")
    num_items = layer.embeddings.shape[0]
    layer.embeddings.assign(markov_table(train, num_items))


def markov_table(train, num_items: int) -> np.ndarray:
    """The row-normalised transition counts, popularity where a row has none."""
    longest = int(np.bincount(train.known().user).max()) if len(train.known()) else 1
    histories = build_histories(train, max_length=longest, align="left")
    items = histories[schema.HISTORY]
    before, after = items[:, :-1].ravel(), items[:, 1:].ravel()
    keep = (before > 0) & (after > 0)
    counts = np.zeros((num_items, num_items), np.float64)
    np.add.at(counts, (before[keep], after[keep]), 1.0)
    popularity = np.bincount(items[items > 0], minlength=num_items).astype(np.float64)
    popularity /= max(popularity.sum(), 1.0)
    totals = counts.sum(axis=1, keepdims=True)
    table = np.where(totals > 0, counts / np.maximum(totals, 1.0), popularity[None, :])
    table[:, 0] = 0.0
    return table.astype(np.float32)
