"""What row-family models share: the ``user_row`` input, the closed-form models' item table,
the training wrapper and the checks of their arguments.

A row model is a functional model ``{user_row: float32 [b, num_items]} -> scores [b,
num_items]``; one may also read ``user_id`` (int32 ``[b]``, CDAE's user vectors), and is
then given the OOV index 0 for an anonymous user (:func:`row_model_inputs`).
Closed-form models (ItemKNN, EASE) are one non-trainable ``[num_items, num_items]``
table, ``scores = user_row @ table``, that their solver fills; gradient-trained ones
(Mult-DAE, Mult-VAE, CDAE) end in a :class:`~tfdeeprec.layers.ReconstructionLoss`,
which adds their training loss.
"""

from __future__ import annotations

from tfdeeprec._keras import keras
from tfdeeprec.data import schema

ITEM_TABLE = "item_table"


def row_input(num_items: int):
    return keras.Input(shape=(num_items,), dtype="float32", name=schema.USER_ROW)


def reads_user(model: keras.Model) -> bool:
    """Whether the row model has a ``user_id`` input beside ``user_row``."""
    return schema.USER_ID in model.input_names


def row_model_inputs(model: keras.Model, rows, users):
    """What ``model`` takes: ``{user_row: rows}``, plus ``user_id: users`` when it
    reads the user (``users``: int32 ``[b]``, 0 for an anonymous row)."""
    inputs = {schema.USER_ROW: rows}
    if reads_user(model):
        inputs[schema.USER_ID] = users
    return inputs


def row_trainer(model: keras.Model) -> keras.Model:
    """``model`` fed from the training rows' ``{user_id, user_row}`` (it shares every
    weight: fitting it trains ``model``), reading only the inputs ``model`` reads; it
    adds its own loss (``adds_own_loss``: compile it without one)."""
    inputs = {schema.USER_ROW: row_input(model.input_shape[schema.USER_ROW][1]
                                         if isinstance(model.input_shape, dict)
                                         else model.input_shape[1]),
              schema.USER_ID: keras.Input(shape=(), dtype="int32", name=schema.USER_ID)}
    trainer = keras.Model(inputs, model(row_model_inputs(model, inputs[schema.USER_ROW],
                                                         inputs[schema.USER_ID])),
                          name=f"{model.name}_trainer")
    trainer.adds_own_loss = True
    return trainer


def item_table_model(num_items: int, name: str) -> keras.Model:
    """``user_row -> user_row @ W`` with ``W`` an all-zero, non-trainable ``[num_items,
    num_items]`` table (the layer :data:`ITEM_TABLE`) that a solver sets."""
    rows = row_input(num_items)
    scores = keras.layers.Dense(num_items, use_bias=False, trainable=False,
                                kernel_initializer="zeros", name=ITEM_TABLE)(rows)
    return keras.Model(rows, scores, name=name)


def set_item_table(model: keras.Model, table) -> None:
    """Writes a solver's ``[num_items, num_items]`` table into the model."""
    model.get_layer(ITEM_TABLE).kernel.assign(table)
