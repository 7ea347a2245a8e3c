"""The one place that resolves Keras: tf-keras (Keras 2) under TensorFlow 2.20.

Every module imports ``keras`` from here::

    from tfdeeprec._keras import keras
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

__all__ = ["keras", "tf"]
