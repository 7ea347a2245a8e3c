"""What gradient-trained sequence models share: the history input, the tied item table,
the scoring head, and the training model that scores every position.

A trained sequence model (SASRec, GRU4Rec, BERT4Rec) is a functional model
``{history: int32 [b, max_length]} -> scores [b, num_items]`` with two named layers:

* ``item_embedding``: an :class:`~tfdeeprec.layers.ItemEmbedding`, the items' input
  vectors and, reversed, their output scores;
* ``sequence_states``: its output is the state at every position ``[b, max_length, d]``.

The model itself scores the state at the last position (the next item).
:func:`sequence_trainer` scores every position with the same layers, for training on
the next item at every position (or the masked items, BERT4Rec); with
``targets_only=True`` it scores only the positions that have a target.
"""

from __future__ import annotations

from tfdeeprec._keras import keras
from tfdeeprec.data import schema
from tfdeeprec.layers.last_item import LastItem
from tfdeeprec.layers.masked_positions import MaskedPositions
from tfdeeprec.layers.position_embedding import PositionEmbedding
from tfdeeprec.layers.stateless_dropout import StatelessDropout
from tfdeeprec.layers.transformer_block import TransformerBlock
from tfdeeprec.models._common import check_implicit_args

ITEM_EMBEDDING = "item_embedding"
SEQUENCE_STATES = "sequence_states"
# Layer norms' epsilon (BERT's 1e-12 overflowed gradients on all-zero vectors; see
# TransformerBlock).
NORM_EPSILON = 1e-6


def check_sequence_model_args(num_users, num_items, task, **positive) -> None:
    """Refuses, by name, a task other than ``implicit``, a size below 2 or a value of
    ``positive`` that is not a positive integer."""
    check_implicit_args("sequence models", num_users, num_items, task, **positive)


def history_input(max_length: int):
    return keras.Input(shape=(max_length,), dtype="int32", name=schema.HISTORY)


def transformer_states(tokens, items, *, num_blocks: int, num_heads: int, inner_dim: int,
                       dropout_rate: float, attention_dropout: float, causal: bool):
    """SASRec's and BERT4Rec's encoder: ``tokens`` (int ``[b, length]``, 0 = padding)
    -> item vectors (``items``, the tied table) plus learned positions -> layer norm ->
    dropout -> ``num_blocks`` :class:`~tfdeeprec.layers.TransformerBlock` (causal or
    bidirectional, padding keys masked) -> states ``[b, length, dim]``."""
    x = PositionEmbedding(name="positions")(items(tokens))
    x = keras.layers.LayerNormalization(epsilon=NORM_EPSILON, name="input_norm")(x)
    x = StatelessDropout(dropout_rate, name="input_dropout")(x)
    for i in range(num_blocks):
        x = TransformerBlock(num_heads, inner_dim, dropout_rate, attention_dropout,
                             causal=causal, name=f"block_{i}")([x, tokens])
    return x


def next_item_model(history, states, items, name: str) -> keras.Model:
    """``history -> scores of every item`` from the last position's state; ``states``
    becomes the ``sequence_states`` output."""
    states = keras.layers.Identity(name=SEQUENCE_STATES)(states)
    scores = items(LastItem(name="latest_state")(states), reverse=True)
    return keras.Model(history, scores, name=name)


def sequence_trainer(model: keras.Model, *, targets_only: bool = False,
                     sampled_loss: dict | None = None) -> keras.Model:
    """The model's layers scoring every position: ``history -> [b, max_length, items]``.

    It shares every weight with ``model``; fitting it trains ``model``. It also takes
    windows narrower than ``max_length`` (``[b, l]``, the leading padding columns
    dropped, as length bucketing batches them), scoring ``[b, l, items]``.

    With ``targets_only``, the trainer also takes ``target_mask`` (float ``[b,
    max_length]``) and scores only the positions where it is positive: ``[n, items]``,
    row-major, the rows of ``tf.boolean_mask(targets, target_mask > 0)`` (what
    :func:`~tfdeeprec.data.sequences.make_next_item_dataset` yields with
    ``targets_only=True``). The softmax over every item, most of a step's cost, then
    follows the targets: BERT4Rec masks about a fifth of the positions.

    With ``sampled_loss`` (the arguments of
    :class:`~tfdeeprec.losses.sampled_next_item.SampledNextItemLoss` but ``items``), the
    trainer scores no item table: it also takes ``target_item_id`` (int ``[n]``, the
    targets of the masked positions), returns each target's loss and adds their mean
    as its own loss (its ``adds_own_loss`` is true: compile it without one; the data has
    no labels).

    >>> from tfdeeprec.models.sasrec import build_sasrec
    >>> model = build_sasrec(3, 6, max_length=4, embedding_dim=8)
    >>> sequence_trainer(model).output_shape
    (None, 4, 6)
    >>> sequence_trainer(model, targets_only=True).output_shape
    (None, 6)
    """
    try:
        items = model.get_layer(ITEM_EMBEDDING)
        states = model.get_layer(SEQUENCE_STATES).output
    except ValueError as error:
        raise ValueError(f"{model.name!r} is not a trained sequence model: it needs layers "
                         f"{ITEM_EMBEDDING!r} and {SEQUENCE_STATES!r}") from error
    if sampled_loss is not None and not targets_only:
        raise ValueError("`sampled_loss` needs `targets_only=True`")
    if not targets_only:
        inputs, outputs = model.inputs, items(states, reverse=True)
    else:
        mask = keras.Input(shape=(None,), dtype="float32", name=schema.TARGET_MASK)
        selected = MaskedPositions(name="target_positions")([states, mask])
        inputs = {schema.HISTORY: model.inputs[0], schema.TARGET_MASK: mask}
        if sampled_loss is None:
            outputs = items(selected, reverse=True)
        else:
            from tfdeeprec.losses.sampled_next_item import SampledNextItemLoss

            targets = keras.Input(batch_shape=(None,), dtype="int32",
                                  name=schema.TARGET_ITEM_ID)
            inputs[schema.TARGET_ITEM_ID] = targets
            outputs = SampledNextItemLoss(items, name="sampled_loss", **sampled_loss)(
                [selected, targets])
    trainer = keras.Model(inputs, outputs, name=f"{model.name}_trainer")
    # A functional model refuses any width but the one it was built with; its layers
    # take narrower histories (positions count from the right, padding is masked).
    trainer.input_spec = None
    trainer.adds_own_loss = sampled_loss is not None  # compile_model then adds none
    return trainer
