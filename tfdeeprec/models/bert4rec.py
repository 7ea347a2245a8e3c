"""BERT4Rec: a bidirectional Transformer fills in masked items; the next item is the
mask placed after the history.

Reference: Sun et al., "BERT4Rec: Sequential Recommendation with Bidirectional Encoder
Representations from Transformer", CIKM 2019. Defaults are RecBole's (2 blocks, 2
heads, width 64, feed-forward 256, dropout 0.2, mask ratio 0.2, an output transform
and a per-item output bias; layer-norm epsilon 1e-6, not BERT's 1e-12).

The model reads the latest ``max_length - 1`` items followed by the mask token (index
``num_items``), as it does in training: there, besides the items masked at random
(``mask_ratio``), the last position is always that mask and its target the next item
(:func:`~tfdeeprec.data.sequences.make_next_item_dataset`, ``objective="cloze"``).

>>> model = build_bert4rec(5, 8, max_length=6, embedding_dim=8)
>>> model(np.array([[0, 0, 0, 1, 2, 3]], "int32")).shape
TensorShape([1, 8])
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (the doctest)

from tfdeeprec._keras import keras
from tfdeeprec.layers.item_embedding import ItemEmbedding
from tfdeeprec.layers.shift_in_mask import ShiftInMask
from tfdeeprec.models._common import check_rate
from tfdeeprec.models._sequence import (ITEM_EMBEDDING, NORM_EPSILON,
                                        check_sequence_model_args, history_input,
                                        next_item_model, transformer_states)


def build_bert4rec(num_users: int, num_items: int, *, max_length: int = 50,
                   embedding_dim: int = 64, num_blocks: int = 2, num_heads: int = 2,
                   inner_dim: int = 256, dropout_rate: float = 0.2,
                   attention_dropout: float = 0.2, mask_ratio: float = 0.2,
                   task: str = "implicit", name: str = "bert4rec") -> keras.Model:
    """Builds BERT4Rec: ``history [b, max_length] -> next-item scores [b, num_items]``.

    Args:
        max_length: the history window (right-aligned, 0-padded in front); the model
            reads its latest ``max_length - 1`` items and the mask.
        embedding_dim, num_blocks, num_heads, inner_dim, dropout_rate,
            attention_dropout: as :func:`~tfdeeprec.models.sasrec.build_sasrec`.
        mask_ratio: the share of training items masked (read by the training pipeline;
            kept with the model's hyperparameters).
    """
    check_sequence_model_args(num_users, num_items, task, max_length=max_length,
                              embedding_dim=embedding_dim, num_blocks=num_blocks,
                              num_heads=num_heads, inner_dim=inner_dim)
    if max_length < 2:
        raise ValueError(f"`max_length` must be >= 2 for BERT4Rec (the mask takes a "
                         f"position). Received: max_length={max_length}")
    dropout_rate = check_rate("dropout_rate", dropout_rate)
    attention_dropout = check_rate("attention_dropout", attention_dropout)
    if isinstance(mask_ratio, bool) or not isinstance(mask_ratio, (int, float)) \
            or not 0 <= mask_ratio <= 1:
        raise ValueError(f"`mask_ratio` must be a number in [0, 1]. Received: "
                         f"mask_ratio={mask_ratio!r}")
    history = history_input(max_length)
    tokens = ShiftInMask(num_items, name="shift_in_mask")(history)
    items = ItemEmbedding(num_items, embedding_dim, extra_tokens=1, output_bias=True,
                          name=ITEM_EMBEDDING)
    x = transformer_states(tokens, items, num_blocks=num_blocks, num_heads=num_heads,
                           inner_dim=inner_dim, dropout_rate=dropout_rate,
                           attention_dropout=attention_dropout, causal=False)
    init = keras.initializers.RandomNormal(stddev=0.02)
    x = keras.layers.Dense(embedding_dim, activation="gelu", kernel_initializer=init,
                           name="output_transform")(x)
    x = keras.layers.LayerNormalization(epsilon=NORM_EPSILON, name="output_norm")(x)
    return next_item_model(history, x, items, name)
