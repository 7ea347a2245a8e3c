"""SASRec: causal self-attention over the user's latest items predicts the next one.

Reference: Kang & McAuley, "Self-Attentive Sequential Recommendation", ICDM 2018.
Defaults are RecBole's (2 blocks, 2 heads, width 64, feed-forward 256, dropout 0.5,
GELU, post-norm), but with layer-norm epsilon 1e-6, not BERT's 1e-12. Like RecBole, it
trains with full softmax cross-entropy, but on the next item at every position of a
window (the original paper's way), not one prefix per example.

>>> model = build_sasrec(5, 8, max_length=6, embedding_dim=8)
>>> model(np.array([[0, 0, 0, 1, 2, 3]], "int32")).shape
TensorShape([1, 8])
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (the doctest)

from tfdeeprec._keras import keras
from tfdeeprec.layers.item_embedding import ItemEmbedding
from tfdeeprec.models._common import check_rate
from tfdeeprec.models._sequence import (ITEM_EMBEDDING, check_sequence_model_args,
                                        history_input, next_item_model, transformer_states)


def build_sasrec(num_users: int, num_items: int, *, max_length: int = 50,
                 embedding_dim: int = 64, num_blocks: int = 2, num_heads: int = 2,
                 inner_dim: int = 256, dropout_rate: float = 0.5,
                 attention_dropout: float = 0.5, task: str = "implicit",
                 name: str = "sasrec") -> keras.Model:
    """Builds SASRec: ``history [b, max_length] -> next-item scores [b, num_items]``.

    Args:
        max_length: the history window (right-aligned, 0-padded in front).
        embedding_dim: the item, position and state width.
        num_blocks, num_heads, inner_dim: the Transformer blocks.
        dropout_rate: on the embeddings and each block's outputs.
        attention_dropout: on the attention weights.
    """
    check_sequence_model_args(num_users, num_items, task, max_length=max_length,
                              embedding_dim=embedding_dim, num_blocks=num_blocks,
                              num_heads=num_heads, inner_dim=inner_dim)
    dropout_rate = check_rate("dropout_rate", dropout_rate)
    attention_dropout = check_rate("attention_dropout", attention_dropout)
    history = history_input(max_length)
    items = ItemEmbedding(num_items, embedding_dim, name=ITEM_EMBEDDING)
    x = transformer_states(history, items, num_blocks=num_blocks, num_heads=num_heads,
                           inner_dim=inner_dim, dropout_rate=dropout_rate,
                           attention_dropout=attention_dropout, causal=True)
    return next_item_model(history, x, items, name)
