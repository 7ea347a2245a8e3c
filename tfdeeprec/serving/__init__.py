"""tfdeeprec's embedded server for exported SavedModels, speaking TF Serving's REST API.

Needs TensorFlow only: it loads any ``BASE/NAME/VERSION/`` SavedModel with
``tf.saved_model.load`` and never imports tfdeeprec's training, model or Keras code.
``serve`` blocks (the ``tfdeeprec serve`` command); ``make_server`` returns a running
server for tests and embedding.

Modules: ``model_registry`` (scan BASE, load, poll for versions, hot-swap, reference
counts), ``signature`` (specs, request formats, answers, metadata), ``json_tensors`` (JSON
<-> numpy by dtype), ``batcher`` (dynamic batching), ``rest_api`` (routes, errors and
HTTP/1.1 on asyncio), ``server`` (``serve`` / ``make_server``).
"""

from tfdeeprec.serving.batcher import Batcher
from tfdeeprec.serving.errors import ApiError
from tfdeeprec.serving.model_registry import ModelRegistry, Servable
from tfdeeprec.serving.rest_api import RestApi
from tfdeeprec.serving.server import ServingServer, make_server, serve
from tfdeeprec.serving.signature import Signature

__all__ = ["ApiError", "Batcher", "ModelRegistry", "RestApi", "Servable", "ServingServer",
           "Signature", "make_server", "serve"]
