"""Every docstring example in the package runs, and the README's quick start runs."""

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import tfdeeprec

MODULES = sorted(name for _, name, _ in pkgutil.walk_packages(tfdeeprec.__path__, "tfdeeprec."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} failing docstring examples in {name}"


def test_readme_quick_start_runs():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    code = code.replace("TrainingConfig(epochs=5)", "TrainingConfig(epochs=1, verbose=0)")
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["evaluator"].num_users > 0
