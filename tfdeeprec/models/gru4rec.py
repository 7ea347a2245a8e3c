"""GRU4Rec: a GRU reads the user's items in order; its state scores the next item.

Reference: Hidasi et al., "Session-based Recommendations with Recurrent Neural
Networks", ICLR 2016 (RecBole's form: item embeddings -> dropout -> GRU -> a dense
projection back to the embedding width, scored against the same item embeddings, full
softmax cross-entropy). Defaults are RecBole's (embedding 64, hidden 128, one layer,
dropout 0.3). Padding (item 0, in front) is masked, so the state starts at the
user's first item.

>>> model = build_gru4rec(5, 8, max_length=6, embedding_dim=8, hidden_units=16)
>>> model(np.array([[0, 0, 0, 1, 2, 3]], "int32")).shape
TensorShape([1, 8])
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (the doctest)

from tfdeeprec._keras import keras
from tfdeeprec.layers.item_embedding import ItemEmbedding
from tfdeeprec.models._common import check_rate
from tfdeeprec.models._sequence import (ITEM_EMBEDDING, check_sequence_model_args,
                                        history_input, next_item_model)


def build_gru4rec(num_users: int, num_items: int, *, max_length: int = 50,
                  embedding_dim: int = 64, hidden_units: int = 128, num_layers: int = 1,
                  dropout_rate: float = 0.3, task: str = "implicit",
                  name: str = "gru4rec") -> keras.Model:
    """Builds GRU4Rec: ``history [b, max_length] -> next-item scores [b, num_items]``.

    Args:
        max_length: the history window (right-aligned, 0-padded in front).
        embedding_dim: the item embedding width.
        hidden_units: the GRU state width.
        num_layers: stacked GRU layers.
        dropout_rate: on the item embeddings.
    """
    check_sequence_model_args(num_users, num_items, task, max_length=max_length,
                              embedding_dim=embedding_dim, hidden_units=hidden_units,
                              num_layers=num_layers)
    dropout_rate = check_rate("dropout_rate", dropout_rate)
    history = history_input(max_length)
    items = ItemEmbedding(num_items, embedding_dim, mask_zero=True, name=ITEM_EMBEDDING)
    x = keras.layers.Dropout(dropout_rate, name="input_dropout")(items(history))
    for i in range(num_layers):
        x = keras.layers.GRU(hidden_units, return_sequences=True, name=f"gru_{i}")(x)
    x = keras.layers.Dense(embedding_dim, name="projection")(x)
    return next_item_model(history, x, items, name)
