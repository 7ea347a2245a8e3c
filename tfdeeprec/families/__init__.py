"""Model families: each owns what is kind-specific (pipeline, loss, scoring, export).

See :mod:`tfdeeprec.families.base` for the interface and the five kinds. ``pair``,
``embedding``, ``row`` and ``sequence`` have models today; ``context`` (FM, DeepFM,
xDeepFM, DCN) arrives with the declarative feature specs its rows are made of, as one
more module here.

>>> sorted(FAMILIES)
['embedding', 'pair', 'row', 'sequence']
>>> get_family("pair").tasks
('rating', 'implicit')
"""

from tfdeeprec.families.base import Family, TrainingPlan
from tfdeeprec.families.embedding import EmbeddingFamily
from tfdeeprec.families.pair import PairFamily
from tfdeeprec.families.row import RowFamily
from tfdeeprec.families.sequence import SequenceFamily

FAMILIES = {family.name: family for family in (PairFamily(), EmbeddingFamily(), RowFamily(),
                                               SequenceFamily())}
FAMILY_KINDS = ("pair", "embedding", "row", "sequence", "context")


def get_family(name: str) -> Family:
    """The family called ``name``; a kind without models yet is named as such."""
    if name not in FAMILIES:
        planned = " (planned: no model of this kind yet)" if name in FAMILY_KINDS else ""
        raise ValueError(f"`family` must be one of {sorted(FAMILIES)}{planned}. "
                         f"Received: family={name!r}")
    return FAMILIES[name]


__all__ = ["FAMILIES", "FAMILY_KINDS", "EmbeddingFamily", "Family", "PairFamily",
           "RowFamily", "SequenceFamily", "TrainingPlan", "get_family"]
