"""The Keras-2 import guard, checked in fresh interpreters."""

import os
import subprocess
import sys


def _run(code: str, **env_overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env.update(env_overrides)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)


class TestKerasGuard:
    def test_import_first_gives_keras_2(self):
        proc = _run("import tfdeeprec, tensorflow as tf; print(tf.keras.__name__)")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip().startswith("tf_keras"), proc.stdout

    def test_tensorflow_in_keras_3_mode_first_is_refused_with_the_fix(self):
        proc = _run("import tensorflow\nimport tfdeeprec")
        assert proc.returncode != 0
        assert "KerasVersionError" in proc.stderr
        assert "TF_USE_LEGACY_KERAS=1" in proc.stderr

    def test_tensorflow_first_with_the_variable_set_is_fine(self):
        proc = _run("import tensorflow\nimport tfdeeprec\nfrom tfdeeprec._keras import keras\n"
                    "print(keras.__version__)", TF_USE_LEGACY_KERAS="1")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip().startswith("2.")
