"""tfdeeprec: deep recommender systems for TensorFlow / Keras 2.

Importing the package sets ``TF_USE_LEGACY_KERAS=1`` before TensorFlow loads, because
tensorflow-recommenders 0.7.7 requires Keras 2 (tf-keras). If TensorFlow was already
imported in Keras 3 mode, the import fails with an error that says how to fix it.
"""

import os
import sys

__version__ = "0.1.0"


class KerasVersionError(ImportError):
    """TensorFlow was imported in Keras 3 mode before tfdeeprec."""


def _require_legacy_keras() -> None:
    if "tensorflow" not in sys.modules:
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        return
    if os.environ.get("TF_USE_LEGACY_KERAS", "").lower() in ("1", "true"):
        return
    raise KerasVersionError(
        "tfdeeprec needs Keras 2 (tf-keras), but TensorFlow was imported before "
        "tfdeeprec without TF_USE_LEGACY_KERAS=1, so tf.keras is Keras 3. Fix: "
        "`import tfdeeprec` before `import tensorflow`, or set TF_USE_LEGACY_KERAS=1 "
        "in the environment before Python starts. "
        f"Received: TF_USE_LEGACY_KERAS={os.environ.get('TF_USE_LEGACY_KERAS')!r}"
    )


_require_legacy_keras()

__all__ = ["KerasVersionError", "__version__"]
