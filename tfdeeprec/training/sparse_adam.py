"""SparseAdam: Adam that updates only the embedding rows a batch touches ("lazy" Adam)."""

from __future__ import annotations

import numbers

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register


@register
class SparseAdam(keras.optimizers.Optimizer):
    r"""Adam for dense weights, lazy Adam for embedding tables.

    Dense gradients get exactly the Adam update of ``keras.optimizers.Adam``. For a
    ``tf.IndexedSlices`` gradient (what ``keras.layers.Embedding`` and ``tf.gather``
    produce for their table) the duplicate indices are summed first, then only the touched
    rows ``i`` are read and written (gather, compute, scatter)::

        t     = iterations + 1                      # the global step, as in Adam
        m[i]  = beta_1 * m[i] + (1 - beta_1) * g[i]
        v[i]  = beta_2 * v[i] + (1 - beta_2) * g[i]**2
        w[i] -= lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m[i] / (sqrt(v[i]) + epsilon)

    Rows outside the batch keep their weights, ``m`` and ``v`` unchanged, so a step costs
    O(batch) instead of O(table size). Plain Adam decays ``m`` and ``v`` of every row and
    moves every row with a non-zero ``m`` on every step; the two agree on the first step
    and on rows touched at every step, and differ only in the momentum that untouched rows
    keep coasting on under plain Adam.

    Duplicate indices are summed once, inside ``update_step``, with ``tf.unique`` and
    ``tf.math.unsorted_segment_sum`` (the Keras base class's own pre-pass is skipped: a
    second ``tf.unique`` on a dynamically sized result gives wrong sums under XLA in TF
    2.20). Both paths compile with XLA (``jit_compile=True`` in ``Model.compile``, or the
    optimizer's own ``jit_compile`` on GPU) and run under ``tf.distribute`` strategies
    (``MirroredStrategy`` included) like Adam. ``weight_decay`` and ``use_ema``, when
    used, are applied by the Keras base class to whole tables every step (dense, O(table
    size)). AMSGrad is not supported.

    Args:
        learning_rate: float > 0, a ``keras.optimizers.schedules.LearningRateSchedule``,
            or a callable with no arguments. Default ``0.001``.
        beta_1: (float) decay rate of the first moment, in ``[0, 1)``. Default ``0.9``.
        beta_2: (float) decay rate of the second moment, in ``[0, 1)``. Default ``0.999``.
        epsilon: (float) the "epsilon hat" added to ``sqrt(v)``, ``>= 0``. Default ``1e-7``.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, jit_compile: as in ``keras.optimizers.Adam``
            (``jit_compile`` only takes effect on a GPU; Keras turns it off on CPU).
        name: Default ``"SparseAdam"``.

    Example:

    >>> import numpy as np
    >>> table = tf.Variable(np.zeros((4, 2), "float32"))
    >>> grad = tf.IndexedSlices(tf.ones((3, 2)), tf.constant([1, 3, 1]),
    ...                         tf.constant([4, 2]))
    >>> _ = SparseAdam(learning_rate=0.1).apply_gradients([(grad, table)])
    >>> np.round(table.numpy(), 4)
    array([[ 0. ,  0. ],
           [-0.1, -0.1],
           [ 0. ,  0. ],
           [-0.1, -0.1]], dtype=float32)
    >>> ids = keras.Input((1,), dtype="int32")
    >>> model = keras.Model(ids, keras.layers.Dense(1)(keras.layers.Flatten()(
    ...     keras.layers.Embedding(100, 8)(ids))))
    >>> model.compile(optimizer=SparseAdam(learning_rate=1e-3), loss="mse")

    References:
        - [Kingma and Ba, 2014](https://arxiv.org/abs/1412.6980) (Adam).
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency=None,
        jit_compile: bool = True,
        name: str = "SparseAdam",
        **kwargs,
    ):
        if kwargs.pop("amsgrad", False):
            raise ValueError("`amsgrad` is not supported by SparseAdam; use "
                             "`keras.optimizers.Adam(amsgrad=True)`. Received: amsgrad=True")
        if isinstance(learning_rate, numbers.Real) and not learning_rate > 0:
            raise ValueError("`learning_rate` must be positive. "
                             f"Received: learning_rate={learning_rate}")
        for arg, value in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
                raise ValueError(f"`{arg}` must be a float in [0, 1). Received: {arg}={value}")
        if not isinstance(epsilon, numbers.Real) or not epsilon >= 0.0:
            raise ValueError(f"`epsilon` must be non-negative. Received: epsilon={epsilon}")
        super().__init__(
            name=name,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            jit_compile=jit_compile,
            **kwargs,
        )
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)

    def build(self, var_list):
        """Creates the slots ``m`` (first moment) and ``v`` (second moment) per variable."""
        super().build(var_list)
        if getattr(self, "_built", False):
            return
        self._built = True
        self._momentums = [self.add_variable_from_reference(var, "m") for var in var_list]
        self._velocities = [self.add_variable_from_reference(var, "v") for var in var_list]

    def _deduplicate_sparse_grad(self, grads):
        # The base class sums duplicate indices before `update_step`; `update_step` does it
        # itself (so it is correct when called directly), and a second `tf.unique` on the
        # first one's dynamically sized output computes wrong values under XLA (TF 2.20).
        return grads

    def update_step(self, gradient, variable):
        """Applies one Adam step; lazily (touched rows only) for ``tf.IndexedSlices``."""
        # The same arithmetic, in the same order, as keras.optimizers.Adam, so the dense
        # path matches it bit for bit.
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1_power = tf.pow(tf.cast(self.beta_1, dtype), step)
        beta_2_power = tf.pow(tf.cast(self.beta_2, dtype), step)
        lr = tf.cast(self.learning_rate, dtype)
        alpha = lr * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        index = self._index_dict[self._var_key(variable)]
        m = self._momentums[index]
        v = self._velocities[index]

        if isinstance(gradient, tf.IndexedSlices):
            indices, values = _sum_duplicates(gradient)
            m_rows = tf.gather(m, indices)
            v_rows = tf.gather(v, indices)
            m_rows = m_rows + (values - m_rows) * (1 - self.beta_1)
            v_rows = v_rows + (tf.square(values) - v_rows) * (1 - self.beta_2)
            m.scatter_update(tf.IndexedSlices(m_rows, indices))
            v.scatter_update(tf.IndexedSlices(v_rows, indices))
            variable.scatter_sub(tf.IndexedSlices(
                (m_rows * alpha) / (tf.sqrt(v_rows) + self.epsilon), indices))
        else:
            m.assign_add((gradient - m) * (1 - self.beta_1))
            v.assign_add((tf.square(gradient) - v) * (1 - self.beta_2))
            variable.assign_sub((m * alpha) / (tf.sqrt(v) + self.epsilon))

    @classmethod
    def from_config(cls, config, custom_objects=None):
        # The base class replaces a serialized schedule in place; leave the caller's dict alone.
        return super().from_config(dict(config), custom_objects=custom_objects)

    def get_config(self):
        return {
            **super().get_config(),
            "learning_rate": self._serialize_hyperparameter(self._learning_rate),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


def _sum_duplicates(gradient: tf.IndexedSlices):
    """Returns ``(unique_indices, summed_values)`` of an ``IndexedSlices`` gradient."""
    indices, positions = tf.unique(gradient.indices)
    values = tf.math.unsorted_segment_sum(gradient.values, positions, tf.shape(indices)[0])
    return indices, values
