"""The project decorator that registers a Keras object and lists it as public."""

from tfdeeprec._keras import keras

PACKAGE = "tfdeeprec"
REGISTERED: dict[str, type] = {}


def register(cls):
    """Registers ``cls`` as ``tfdeeprec>ClassName`` so saved models reload.

    Example:

    >>> @register
    ... class Doubler(keras.layers.Layer):
    ...     def call(self, x):
    ...         return 2 * x
    >>> keras.saving.get_registered_name(Doubler)
    'tfdeeprec>Doubler'
    """
    registered = keras.saving.register_keras_serializable(package=PACKAGE)(cls)
    REGISTERED[cls.__name__] = registered
    return registered
