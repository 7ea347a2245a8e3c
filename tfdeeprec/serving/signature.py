"""One SavedModel signature: its specs, request parsing, the call, and the JSON answer.

Everything is read from the loaded signature (``structured_input_signature`` and
``structured_outputs``), so any SavedModel with keyword-input signatures is served; the
SavedModel's ``signature_def`` proto only adds the graph tensor names and the method name
that TF Serving prints in ``/metadata``.

Request formats, as TF Serving's REST API defines them:

- row ("instances"): a list with one entry per row; an entry is an object keyed by input
  name, or a bare value when the signature has a single input. Every input is stacked
  along a new first (batch) dimension. Answer: ``{"predictions": [...]}``, one object per
  row keyed by output name, or bare values when the signature has one output.
- columnar ("inputs"): an object keyed by input name (or a bare value for a single
  input); each value is the whole tensor. Answer: ``{"outputs": {...}}`` (or a bare value
  for a single output).

Scalar (rank-0) inputs such as ``recommend``'s ``k`` have no batch dimension. The
columnar format carries them as they are. In the row format, which TF Serving only
defines for batched inputs, a scalar input must appear in every instance with the same
value, and is passed once; instances that disagree are a 400 error that says to use the
columnar format. This is an extension: real TF Serving rejects such a row request.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2

from tfdeeprec.serving.errors import ApiError, bad_request
from tfdeeprec.serving.json_tensors import to_array, to_json

PREDICT_METHOD = "tensorflow/serving/predict"


@dataclass(frozen=True)
class TensorInfo:
    """One input or output: its key, dtype, shape and graph tensor name."""

    key: str
    dtype: tf.DType
    shape: tuple
    tensor_name: str = ""

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def padded(self) -> bool:
        """A string input whose non-batch dimensions vary: batching pads it with ``""``."""
        return self.dtype == tf.string and self.rank >= 2 and None in self.shape[1:]

    def metadata(self) -> dict:
        return {
            "dtype": types_pb2.DataType.Name(self.dtype.as_datatype_enum),
            "tensor_shape": {
                "dim": [{"size": str(-1 if d is None else d), "name": ""} for d in self.shape],
                "unknown_rank": False,
            },
            "name": self.tensor_name,
        }


@dataclass
class PredictRequest:
    """A validated request: numpy inputs, its row count and how to answer it.

    ``rows`` is the shared size of the first dimension of every rank >= 1 input (``None``
    when they disagree); ``batch_key`` is ``None`` when the request cannot share a batch.
    """

    inputs: dict
    rows: int | None
    row_format: bool
    batch_key: tuple | None


class Signature:
    """A callable signature of a loaded SavedModel.

    Args:
        name: (str) the signature key, e.g. ``"serving_default"``.
        function: the loaded ``ConcreteFunction`` (``loaded.signatures[name]``).
        signature_def: (SignatureDef | None) the proto, for tensor and method names.
    """

    def __init__(self, name: str, function, signature_def=None):
        args, kwargs = function.structured_input_signature
        if args:
            raise ValueError(f"signature `{name}` takes positional inputs; only keyword "
                             "inputs can be addressed by name over REST")
        outputs = function.structured_outputs
        if not isinstance(outputs, dict):
            raise ValueError(f"signature `{name}` must return a dict of named outputs. "
                             f"Received: {type(outputs).__name__}")
        proto_in = dict(signature_def.inputs) if signature_def is not None else {}
        proto_out = dict(signature_def.outputs) if signature_def is not None else {}
        self.name = name
        self.function = function
        self.method_name = (signature_def.method_name if signature_def is not None
                            and signature_def.method_name else PREDICT_METHOD)
        self.inputs = {k: _info(k, kwargs[k], proto_in) for k in sorted(kwargs)}
        self.outputs = {k: _info(k, outputs[k], proto_out) for k in sorted(outputs)}
        self.batchable = (
            any(i.rank >= 1 for i in self.inputs.values())
            and all(i.rank == 0 or i.shape[0] is None for i in self.inputs.values())
            and all(o.rank >= 1 and o.shape[0] is None for o in self.outputs.values()))

    def metadata(self) -> dict:
        return {
            "inputs": {k: i.metadata() for k, i in self.inputs.items()},
            "outputs": {k: o.metadata() for k, o in self.outputs.items()},
            "method_name": self.method_name,
            "defaults": {},
        }

    def parse(self, body: dict) -> PredictRequest:
        """Validates a predict body (already parsed JSON) against this signature."""
        if "instances" in body and "inputs" in body:
            raise bad_request("give either 'instances' (row format) or 'inputs' (columnar "
                              "format), not both")
        if "instances" in body:
            inputs, rows = self._parse_rows(body["instances"]), len(body["instances"])
            row_format = True
        elif "inputs" in body:
            inputs, row_format = self._parse_columns(body["inputs"]), False
            sizes = {a.shape[0] for k, a in inputs.items() if self.inputs[k].rank >= 1}
            rows = sizes.pop() if len(sizes) == 1 else None
        else:
            raise bad_request("the body must have 'instances' (row format) or 'inputs' "
                              "(columnar format)")
        return PredictRequest(inputs, rows, row_format, self._batch_key(inputs, rows))

    def run(self, inputs: dict) -> dict:
        """Calls the signature on numpy inputs; returns numpy outputs."""
        tensors = {k: _tensor(inputs[k], info.dtype) for k, info in self.inputs.items()}
        try:
            result = self.function(**tensors)
        except (tf.errors.InvalidArgumentError, tf.errors.OutOfRangeError,
                tf.errors.FailedPreconditionError, TypeError, ValueError) as err:
            raise bad_request(f"signature `{self.name}` rejected the input: "
                              f"{_first_lines(err)}") from None
        except tf.errors.OpError as err:
            raise ApiError(500, f"signature `{self.name}` failed: {_first_lines(err)}") \
                from None
        return {k: v.numpy() for k, v in result.items()}

    def respond(self, request: PredictRequest, outputs: dict) -> dict:
        """The JSON answer for ``outputs`` in the request's format."""
        if not request.row_format:
            if len(outputs) == 1:
                (key, value), = outputs.items()
                return {"outputs": to_json(value, key)}
            return {"outputs": {k: to_json(v, k) for k, v in sorted(outputs.items())}}
        rows = request.rows
        for key, value in outputs.items():
            if value.ndim == 0 or value.shape[0] != rows:
                raise bad_request(
                    f"output `{key}` has shape {list(value.shape)}, not {rows} rows, so it "
                    "cannot be split into instances; use the columnar format ('inputs')")
        if len(outputs) == 1:
            (key, value), = outputs.items()
            return {"predictions": to_json(value, key)}
        columns = {k: to_json(v, k) for k, v in sorted(outputs.items())}
        return {"predictions": [{k: c[i] for k, c in columns.items()} for i in range(rows)]}

    def _parse_rows(self, instances) -> dict:
        if not isinstance(instances, list) or not instances:
            raise bad_request("'instances' must be a non-empty list")
        names = list(self.inputs)
        if len(names) == 1 and not all(_keyed(x, names[0]) for x in instances):
            columns = {names[0]: instances}
        else:
            for i, instance in enumerate(instances):
                if not isinstance(instance, dict):
                    raise bad_request(
                        f"instance {i} must be an object keyed by input name; signature "
                        f"`{self.name}` takes {_listing(names)}")
                self._check_keys(instance, f"instance {i}")
            columns = {k: [x[k] for x in instances] for k in names}
        arrays = {}
        for key, info in self.inputs.items():
            if info.rank >= 1:
                arrays[key] = to_array(columns[key], info.dtype.name, info.shape, key,
                                       batched=True)
                continue
            values = [to_array(v, info.dtype.name, (), key) for v in columns[key]]
            if any(v.tolist() != values[0].tolist() for v in values[1:]):
                raise bad_request(
                    f"input `{key}` is a scalar (no batch dimension), so every instance must "
                    "give it the same value; send different values in separate requests, "
                    "or use the columnar format ('inputs')")
            arrays[key] = values[0]
        return arrays

    def _parse_columns(self, inputs) -> dict:
        names = list(self.inputs)
        if len(names) == 1 and not _keyed(inputs, names[0]):
            inputs = {names[0]: inputs}
        if not isinstance(inputs, dict):
            raise bad_request(f"'inputs' must be an object keyed by input name; signature "
                              f"`{self.name}` takes {_listing(names)}")
        self._check_keys(inputs, "'inputs'")
        return {k: to_array(inputs[k], info.dtype.name, info.shape, k)
                for k, info in self.inputs.items()}

    def _check_keys(self, given: dict, where: str) -> None:
        missing = [k for k in self.inputs if k not in given]
        unknown = sorted(k for k in given if k not in self.inputs)
        if unknown:
            raise bad_request(f"{where} has unknown input {_listing(unknown)}; signature "
                              f"`{self.name}` takes {_listing(list(self.inputs))}")
        if missing:
            raise bad_request(f"{where} is missing input {_listing(missing)}; signature "
                              f"`{self.name}` takes {_listing(list(self.inputs))}")

    def _batch_key(self, inputs: dict, rows: int | None) -> tuple | None:
        if not self.batchable or not rows:
            return None
        key = [self.name]
        for name, info in self.inputs.items():
            value = inputs[name]
            if info.rank == 0:
                key.append((name, value.item() if value.dtype == object else value.tobytes()))
            elif not info.padded:
                key.append((name, value.shape[1:]))
        return tuple(key)


def _info(key: str, spec, proto_map: dict) -> TensorInfo:
    shape = tuple(spec.shape.as_list()) if spec.shape.rank is not None else None
    if shape is None:
        raise ValueError(f"`{key}` has an unknown rank; the REST API needs a known rank")
    proto = proto_map.get(key)
    return TensorInfo(key, tf.as_dtype(spec.dtype), shape, proto.name if proto else "")


def _tensor(array: np.ndarray, dtype: tf.DType):
    if dtype in (tf.bfloat16, tf.float16) and array.dtype != dtype.as_numpy_dtype:
        return tf.cast(tf.constant(array), dtype)
    return tf.constant(array, dtype=dtype)


def _keyed(value, name: str) -> bool:
    return isinstance(value, dict) and len(value) == 1 and name in value


def _listing(names) -> str:
    return ", ".join(f"`{n}`" for n in names)


def _first_lines(err: Exception, limit: int = 400) -> str:
    text = getattr(err, "message", None) or str(err)
    text = text.strip().split("\n\n")[0].replace("\n", " ")
    return text if len(text) <= limit else text[:limit - 3] + "..."
