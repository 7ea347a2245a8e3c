"""TF Serving's ``BASE/NAME/VERSION`` layout: validation, next version, atomic appearance."""

from __future__ import annotations

import contextlib
import numbers
import os
import re
import shutil
import tempfile
from pathlib import Path

_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*\Z")


def validate_name(name) -> str:
    """A model name: letters, digits, ``_ - .``; no path separator; no leading ``.``.

    >>> validate_name("movielens_neumf-v2.1")
    'movielens_neumf-v2.1'
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError("`name` must be letters, digits, '_', '-' or '.', not start with "
                         f"'.' and hold no path separator. Received: name={name!r}")
    return name


def validate_version(version) -> int:
    """A version: a positive integer (TF Serving's version folders are integers).

    >>> validate_version(3)
    3
    """
    if isinstance(version, bool) or not isinstance(version, numbers.Integral) or version < 1:
        raise ValueError(f"`version` must be a positive integer. Received: version={version!r}")
    return int(version)


def existing_versions(model_root) -> list[int]:
    """The visible versions under ``BASE/NAME``, sorted (folders named by an integer > 0)."""
    root = Path(model_root)
    if not root.is_dir():
        return []
    return sorted(int(p.name) for p in root.iterdir()
                  if p.is_dir() and p.name.isdigit() and int(p.name) > 0)


def next_version(model_root) -> int:
    """One more than the highest visible version, or 1.

    >>> next_version("/nonexistent/base/name")
    1
    """
    versions = existing_versions(model_root)
    return versions[-1] + 1 if versions else 1


def resolve_version(base, name: str, version=None) -> int:
    """Validates ``name`` and ``version`` (``None``: the next one) and refuses a taken one.

    >>> resolve_version("/nonexistent/base", "movies")
    1
    """
    root = Path(base) / validate_name(name)
    version = next_version(root) if version is None else validate_version(version)
    _refuse_existing(root / str(version))
    return version


@contextlib.contextmanager
def atomic_version_dir(base, name: str, version: int):
    """Yields a hidden temporary folder in ``BASE/NAME``; on success it becomes ``VERSION``.

    The temporary folder's name starts with ``.`` (TF Serving skips it) and is removed
    on any failure, so ``BASE/NAME/VERSION`` is either complete or absent. An existing
    version is never replaced: :class:`FileExistsError` before anything is written, and
    again at the rename if another writer got there first.
    """
    name, version = validate_name(name), validate_version(version)
    root = Path(base) / name
    final = root / str(version)
    _refuse_existing(final)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{version}.tmp-", dir=root))
    try:
        yield tmp
        _refuse_existing(final)
        os.rename(tmp, final)  # fails if a non-empty `final` appeared meanwhile
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _refuse_existing(final: Path) -> None:
    if final.exists():
        raise FileExistsError(f"{final} already exists and versions are never overwritten; "
                              "pass another `version`, or none to take the next one")
