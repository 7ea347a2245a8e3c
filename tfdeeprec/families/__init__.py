"""Model families: each owns what is kind-specific (pipeline, loss, scoring, export).

See :mod:`tfdeeprec.families.base` for the interface and the five kinds, each with
models: ``pair``, ``embedding``, ``row``, ``sequence`` and ``context`` (FM, DeepFM,
xDeepFM, DCN, DCN-v2, AutoInt, on the declarative features of ``tfdeeprec.features``).

>>> sorted(FAMILIES)
['context', 'embedding', 'pair', 'row', 'sequence']
>>> get_family("pair").tasks
('rating', 'implicit')
"""

from tfdeeprec.families.base import Family, TrainingPlan
from tfdeeprec.families.context import ContextFamily
from tfdeeprec.families.embedding import EmbeddingFamily
from tfdeeprec.families.pair import PairFamily
from tfdeeprec.families.row import RowFamily
from tfdeeprec.families.sequence import SequenceFamily

FAMILIES = {family.name: family for family in (PairFamily(), EmbeddingFamily(), RowFamily(),
                                               SequenceFamily(), ContextFamily())}
FAMILY_KINDS = ("pair", "embedding", "row", "sequence", "context")


def get_family(name: str) -> Family:
    """The family called ``name``; a kind without models yet is named as such."""
    if name not in FAMILIES:
        planned = " (planned: no model of this kind yet)" if name in FAMILY_KINDS else ""
        raise ValueError(f"`family` must be one of {sorted(FAMILIES)}{planned}. "
                         f"Received: family={name!r}")
    return FAMILIES[name]


__all__ = ["FAMILIES", "FAMILY_KINDS", "ContextFamily", "EmbeddingFamily", "Family", "PairFamily",
           "RowFamily", "SequenceFamily", "TrainingPlan", "get_family"]
