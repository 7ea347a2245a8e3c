"""Every model, once: name -> builder. Used by training, the CLI, the R bridge and tests."""

from __future__ import annotations

from tfdeeprec.models.mf import build_mf
from tfdeeprec.models.ncf import build_gmf, build_mlp_ncf, build_neumf
from tfdeeprec.models.two_tower import build_two_tower
from tfdeeprec.models.wide_deep import build_wide_deep

MODELS = {
    "mf": build_mf,
    "gmf": build_gmf,
    "mlp_ncf": build_mlp_ncf,
    "neumf": build_neumf,
    "wide_deep": build_wide_deep,
    "two_tower": build_two_tower,
}

# Models whose builders take ``user_features`` / ``item_features`` tables.
SIDE_FEATURE_MODELS = frozenset({"wide_deep", "two_tower"})

# Retrieval models: trained on positives alone with their own loss (an in-batch
# softmax), for the implicit task only; scored from their towers' embeddings.
RETRIEVAL_MODELS = frozenset({"two_tower"})


def build_model(name: str, num_users: int, num_items: int, *, user_features=None,
                item_features=None, **kwargs):
    """Builds the registered model ``name``; side features go only to models that use them.

    >>> build_model("gmf", 4, 5, embedding_dim=2).name
    'gmf'
    >>> build_model("two_tower", 4, 5, embedding_dim=2).query_tower.name
    'query_tower'
    """
    if name not in MODELS:
        raise ValueError(f"`model` must be one of {sorted(MODELS)}. Received: model={name!r}")
    if name in SIDE_FEATURE_MODELS:
        kwargs.update(user_features=user_features, item_features=item_features)
    return MODELS[name](num_users, num_items, **kwargs)
