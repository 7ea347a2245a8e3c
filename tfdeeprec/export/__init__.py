"""Export: versioned serving SavedModels that TF Serving, the embedded server and R load.

``export_model`` writes a (user, item) -> score model and ``export_retrieval`` an
embedding model to ``base/name/<version>/`` (TF Serving's layout); a model's family
picks one (``tfdeeprec.runs.export_run`` exports a ``tfdeeprec train --out`` folder).
The version folder appears atomically: it is written to a hidden temporary folder in ``base/name`` (TF Serving skips names
starting with ``.``), reloaded and checked, then renamed; on failure the temporary
folder is removed. Existing versions are never overwritten.

The SavedModel is a ``tf.Module`` holding the model's weights, the vocabularies as
``tf.lookup.StaticHashTable`` s and plain-TF graphs traced from the Keras model, so
``tf.saved_model.load(path)`` needs only TensorFlow (no tfdeeprec, no Keras, no
``custom_objects``, no ``TF_USE_LEGACY_KERAS``). Raw string IDs go in and come out.

Signatures (``B`` = batch):

======================  ==========================================  ===========================
signature               inputs                                      outputs
======================  ==========================================  ===========================
``serving_default``,    ``user_id`` string [B], ``item_id``         ``score`` float32 [B],
``score``               string [B]                                  ``known`` bool [B]
``recommend``           ``user_id`` string [B], ``k`` int32 [] (     ``item_ids`` string [B, k],
                        required, clipped to 1..max_k),             ``scores`` float32 [B, k]
                        ``exclude`` string [B, E] (padded with
                        ``""``; E may be 0)
``recommend_default``   ``user_id`` string [B] (k = max_k,          as ``recommend``
                        nothing extra excluded)
======================  ==========================================  ===========================

``score`` is the predicted rating (task ``rating``) or the probability
``sigmoid(logit)`` (task ``implicit``); ``recommend`` scores are on the same scale and
equal ``score`` for the same pair. ``recommend`` scores every item for each user, leaves
out the OOV slot, ``exclude`` and, when exported with ``exclude_seen=True``, the user's
training items; rows with fewer eligible items than ``k`` end with item ID ``""`` and
score ``-inf``. Ties keep vocabulary order.

Out-of-vocabulary IDs (``known`` is false) get a defined score, never a crash and never
an untrained embedding row:

* rating: unknown user & known item -> the item's mean training rating; known user &
  unknown item -> the user's mean training rating; both unknown -> the global mean.
* implicit: unknown user & known item -> the item's popularity, the share of training
  users who interacted with it (in ``(0, 1]``); unknown item -> ``0.0``.
* ``recommend`` for an unknown user ranks by that same fallback (item mean rating or
  popularity).

Embedding-family (two-tower) models go through ``export_retrieval`` and give up to three TF Serving models with one version: ``NAME`` (``score`` and
``recommend`` over an exact brute-force index, stock TF ops only), ``NAME_scann`` (the
same signatures over a ScaNN index, saved with the ``Scann`` op namespace; loading it
needs ScaNN's TF ops) and ``NAME_query_tower`` (``embed`` and ``item_embedding``, for
your own ANN service). Their ``score`` is the dot product of the tower embeddings and
an unknown user gets the most popular items (:data:`RETRIEVAL_OOV`); see
:mod:`tfdeeprec.export.retrieval_module`.

Row and sequence models (a user's items, as a set or in time order -> scores over all
items) go through ``export_items_model``: ``recommend``, ``score`` and
``recommend_from_items(item_ids, k, exclude)``, which folds in an anonymous user's or a
session's items (:mod:`tfdeeprec.export.items_module`).

``assets/tfdeeprec.json`` records the model name and family, task, versions,
vocabulary sizes, training config, metrics, export options, this OOV behaviour and each
signature's inputs and outputs.
"""

from tfdeeprec.export.exporter import export_model, write_saved_model
from tfdeeprec.export.metadata import METADATA_FILE, read_metadata
from tfdeeprec.export.retrieval_exporter import export_retrieval, retrieval_export_names
from tfdeeprec.export.retrieval_module import (RETRIEVAL_OOV, QueryTowerModule,
                                               RetrievalServingModule, RetrievalTables)
from tfdeeprec.export.items_exporter import export_items_model
from tfdeeprec.export.items_module import ITEMS_OOV, ItemsServingModule
from tfdeeprec.export.serving_module import OOV_BEHAVIOUR, FallbackTables, ServingModule
from tfdeeprec.export.verify import ExportVerificationError, check_plain_tf, verify_export
from tfdeeprec.export.versioning import (existing_versions, next_version, validate_name,
                                         validate_version)

__all__ = ["ITEMS_OOV", "METADATA_FILE", "OOV_BEHAVIOUR", "RETRIEVAL_OOV",
           "ExportVerificationError", "FallbackTables", "ItemsServingModule",
           "QueryTowerModule", "RetrievalServingModule", "RetrievalTables", "ServingModule",
           "check_plain_tf", "existing_versions", "export_items_model", "export_model",
           "export_retrieval", "next_version", "read_metadata", "retrieval_export_names",
           "validate_name", "validate_version", "verify_export", "write_saved_model"]
