"""Declarative feature specs: what each named input of a context model is and how it is encoded.

A spec says how a raw value becomes model input; what is learned from the training data
(vocabularies, means, quantiles) is kept apart, in :class:`~tfdeeprec.features.FeatureStats`.
Raw values, as a served model takes them:

============= =================== ===============================================
kind          raw value           missing value
============= =================== ===============================================
categorical   ``tf.string [B]``   ``""`` (its own "missing" row)
multi_valued  ``tf.string [B]``   ``""`` (no values); values joined by ``separator``
numeric       ``tf.float32 [B]``  ``NaN`` (imputed: the training mean)
============= =================== ===============================================

A category not seen in training goes to the out-of-vocabulary (OOV) row.

>>> spec = Categorical("gender")
>>> spec_from_dict(spec.to_dict()) == spec
True
>>> Numeric("age", transform="bucketize", boundaries=(18, 25)).to_dict()
{'kind': 'numeric', 'name': 'age', 'transform': 'bucketize', 'boundaries': [18.0, 25.0], 'num_buckets': 10}
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import ClassVar

KINDS = ("categorical", "multi_valued", "numeric")
TRANSFORMS = ("standardize", "log1p", "bucketize", "none")
POOLINGS = ("mean", "sum")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Categorical:
    """One category per row (a string).

    Args:
        name (str): the input's name (letters, digits, ``_``).
        hash_buckets (int): 0 learns a vocabulary from the training data; ``N > 0``
            hashes values into ``N`` buckets (no vocabulary, nothing is OOV).
        min_count (int): with a vocabulary, values seen fewer times in training go to
            the OOV row. Default 1.
        embedding (str | None): the embedding table's name; features naming the same
            table share it (and one vocabulary, learned from all of them). Default:
            the feature's own name.
    """

    kind: ClassVar[str] = "categorical"
    name: str
    hash_buckets: int = 0
    min_count: int = 1
    embedding: str | None = None

    def __post_init__(self):
        _check_name(self.name)
        _check_int("hash_buckets", self.hash_buckets, 0)
        _check_int("min_count", self.min_count, 1)

    @property
    def table(self) -> str:
        """The embedding table (and vocabulary) this feature uses."""
        return self.embedding or self.name

    def to_dict(self) -> dict:
        return _as_dict(self)


@dataclass(frozen=True)
class MultiValued(Categorical):
    """Several categories per row (e.g. genres), pooled into one embedding.

    Args (beyond :class:`Categorical`'s):
        separator (str): joins the values in the raw string. Default ``"|"``.
        pooling (str): ``mean`` or ``sum`` of the values' embeddings. Default ``mean``.
    """

    kind: ClassVar[str] = "multi_valued"
    separator: str = "|"
    pooling: str = "mean"

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.separator, str) or len(self.separator) != 1:
            raise ValueError("`separator` must be one character. "
                             f"Received: separator={self.separator!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"`pooling` must be one of {POOLINGS}. "
                             f"Received: pooling={self.pooling!r}")


@dataclass(frozen=True)
class Numeric:
    """One number per row.

    Args:
        name (str): the input's name.
        transform (str): ``standardize`` (z-score with the training mean and variance),
            ``log1p`` (``log(1 + max(x, 0))``, then standardised: for counts),
            ``bucketize`` (a category per bucket, with its own embedding) or ``none``.
        boundaries (tuple): bucket edges for ``bucketize``; empty: ``num_buckets``
            training quantiles.
        num_buckets (int): buckets learned when ``boundaries`` is empty. Default 10.
    """

    kind: ClassVar[str] = "numeric"
    name: str
    transform: str = "standardize"
    boundaries: tuple = ()
    num_buckets: int = 10

    def __post_init__(self):
        _check_name(self.name)
        if self.transform not in TRANSFORMS:
            raise ValueError(f"`transform` must be one of {TRANSFORMS}. "
                             f"Received: transform={self.transform!r}")
        edges = tuple(float(b) for b in self.boundaries)
        if list(edges) != sorted(set(edges)):
            raise ValueError("`boundaries` must be strictly increasing. "
                             f"Received: boundaries={self.boundaries!r}")
        object.__setattr__(self, "boundaries", edges)
        _check_int("num_buckets", self.num_buckets, 2)

    @property
    def table(self) -> str:
        return self.name

    def to_dict(self) -> dict:
        return _as_dict(self)


SPEC_TYPES = {cls.kind: cls for cls in (Categorical, MultiValued, Numeric)}


def spec_from_dict(data: dict):
    """The spec a ``to_dict()`` made; an unknown kind or key is refused by name."""
    if not isinstance(data, dict) or data.get("kind") not in SPEC_TYPES:
        kind = data.get("kind") if isinstance(data, dict) else data
        raise ValueError(f"a feature spec needs `kind`, one of {KINDS}. Received: kind={kind!r}")
    cls = SPEC_TYPES[data["kind"]]
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - fields - {"kind"})
    if unknown:
        raise ValueError(f"{data['kind']} feature {data.get('name')!r} takes no key(s) "
                         f"{unknown}; it takes {sorted(fields)}")
    values = {k: v for k, v in data.items() if k != "kind"}
    if "boundaries" in values:
        values["boundaries"] = tuple(values["boundaries"])
    return cls(**values)


def check_specs(specs) -> tuple:
    """``specs`` as a tuple of spec objects (dicts are read); names must be unique and a
    shared table must join features of one kind and hashing."""
    out = tuple(s if isinstance(s, tuple(SPEC_TYPES.values())) else spec_from_dict(s)
                for s in specs)
    if not out:
        raise ValueError("a context model needs at least one feature. Received: features=[]")
    names = [s.name for s in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"feature names must be unique. Received twice: {twice}")
    tables: dict = {}
    for spec in out:
        if isinstance(spec, Numeric):
            if spec.table in tables:
                raise ValueError(f"numeric feature {spec.name!r} cannot share a table")
            tables[spec.table] = spec
            continue
        first = tables.setdefault(spec.table, spec)
        if isinstance(first, Numeric) or first.hash_buckets != spec.hash_buckets:
            raise ValueError(f"features {first.name!r} and {spec.name!r} share the table "
                             f"{spec.table!r} but not its kind of lookup (hash_buckets "
                             "must be equal and neither numeric)")
    return out


def _as_dict(spec) -> dict:
    out = {"kind": spec.kind}
    for f in dataclasses.fields(spec):
        value = getattr(spec, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def _check_name(name):
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError("a feature `name` must be letters, digits and '_', not starting "
                         f"with a digit. Received: name={name!r}")


def _check_int(label, value, least):
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"`{label}` must be an integer >= {least}. Received: {label}={value!r}")
