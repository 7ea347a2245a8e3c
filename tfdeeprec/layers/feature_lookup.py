"""FeatureLookup: a constant per-index feature table stored inside the model."""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register


@register
class FeatureLookup(keras.layers.Layer):
    """Gathers rows of a fixed (non-trainable) table: ``outputs = table[indices]``.

    Used to keep user/item side features inside a model, so it needs only
    ``user_id`` / ``item_id`` at serving time; row 0 holds the OOV ("unknown") values.
    The table is a weight, not config: it is saved with the weights, and
    ``get_config`` records only its shape and dtype.

    Args:
        table_shape: ``(vocab_size,)`` for a categorical code or
            ``(vocab_size, width)`` for a multi-hot row.
        table_dtype: ``"int32"`` or ``"float32"``.
        table: optional initial values (numpy), e.g. from ``build_feature_tables``.

    Input shape: ``(batch,)`` int indices. Output shape: ``(batch,) + table_shape[1:]``.

    Example:

    >>> layer = FeatureLookup(table=np.array([0, 3, 1], "int32"))
    >>> layer(tf.constant([2, 1])).numpy().tolist()
    [1, 3]
    """

    def __init__(self, table_shape=None, table_dtype: str = "int32", table=None, **kwargs):
        super().__init__(**kwargs)
        if table is not None:
            table = np.asarray(table)
            table_shape, table_dtype = table.shape, str(table.dtype)
        if table_shape is None or len(table_shape) not in (1, 2) or table_shape[0] < 1:
            raise ValueError("`table_shape` must be (vocab_size,) or (vocab_size, width). "
                             f"Received: table_shape={table_shape}")
        if table_dtype not in ("int32", "float32"):
            raise ValueError(f"`table_dtype` must be int32 or float32. Received: {table_dtype}")
        self.table_shape = tuple(int(d) for d in table_shape)
        self.table_dtype = table_dtype
        self._initial = table

    def build(self, input_shape):
        self.table = self.add_weight(name="table", shape=self.table_shape,
                                     dtype=self.table_dtype, initializer="zeros",
                                     trainable=False)
        if self._initial is not None:
            self.table.assign(self._initial)
            self._initial = None
        super().build(input_shape)

    def call(self, indices):
        return tf.gather(self.table, tf.cast(indices, tf.int32))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + self.table_shape[1:]

    def get_config(self):
        return {**super().get_config(), "table_shape": list(self.table_shape),
                "table_dtype": self.table_dtype}
