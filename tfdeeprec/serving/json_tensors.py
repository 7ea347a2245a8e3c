"""JSON values <-> numpy arrays, converted strictly by the signature's dtype.

TF Serving converts JSON by the dtype the signature declares; so does this module, but
strictly: a JSON number where a string is expected, a float or a boolean where an
integer is expected, or a string where a number is expected is a 400 error that names
the input, the expected dtype and the offending value. Strings are UTF-8 text, or
``{"b64": "..."}`` for arbitrary bytes (TF Serving's convention, both directions: an
output whose name ends in ``_bytes``, or whose bytes are not UTF-8, is written as
``{"b64": ...}``). Floats are written with the shortest decimal that reads back as the
same float32, so a client gets the model's numbers to the last bit.
"""

from __future__ import annotations

import base64
import binascii

import numpy as np

from tfdeeprec.serving.errors import bad_request

_INT_KINDS = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}
_FLOAT_KINDS = {"float16", "bfloat16", "float32", "float64"}


def to_array(value, dtype_name: str, shape: tuple, name: str, *, batched: bool = False):
    """Converts a JSON value to a numpy array with the signature's dtype and rank.

    Args:
        value: the parsed JSON value (nested lists for rank >= 1).
        dtype_name: (str) TF dtype name: ``string``, ``float32``, ``int32``, ``bool``...
        shape: (tuple) the signature's shape, ``None`` for unknown dimensions.
        name: (str) the input's name, for error messages.
        batched: (bool) ``value`` lists the rows of a row-format request; errors then
            say "instances" rather than "shape".

    Returns:
        ``np.ndarray`` (``object`` of ``bytes`` for strings).

    Raises:
        ApiError: 400 on a wrong rank, ragged lists, a mismatched known dimension or a
            value of the wrong JSON type.
    """
    rank = len(shape)
    dims, flat = _flatten(value, rank, name, batched)
    for axis, (want, got) in enumerate(zip(shape, dims)):
        if want is not None and want != got:
            raise bad_request(
                f"input `{name}` must have size {want} in dimension {axis} (shape "
                f"{_shape_text(shape)}). Received: shape {_shape_text(dims)}")
    return _convert(flat, dtype_name, name).reshape(dims)


def to_json(array: np.ndarray, name: str = ""):
    """Converts an output array to nested JSON-ready lists (or a scalar)."""
    kind = array.dtype
    if kind == object or kind.kind in "SU":
        force_b64 = name.endswith("_bytes")
        flat = [_bytes_to_json(x, force_b64) for x in array.ravel()]
        return _nest(flat, array.shape)
    if kind.kind == "f" and kind.itemsize < 8:
        # numpy prints the shortest decimal that round-trips at this precision.
        return array.astype(str).astype(np.float64).tolist()
    return array.tolist()


def _flatten(value, rank: int, name: str, batched: bool):
    expected = f"rank {rank - 1} in each instance" if batched else f"rank {rank}"
    dims, level = [], [value]
    for axis in range(rank):
        size = None
        for item in level:
            if not isinstance(item, list):
                raise bad_request(f"input `{name}` must have {expected}; received a value "
                                  f"with fewer dimensions")
            if size is None:
                size = len(item)
            elif len(item) != size:
                raise bad_request(
                    f"input `{name}` is ragged: lists in dimension {axis} have different "
                    f"lengths ({size} and {len(item)}); tensors must be rectangular, so "
                    "pad the short rows")
        dims.append(size or 0)
        level = [x for item in level for x in item]
    if any(isinstance(x, list) for x in level):
        raise bad_request(f"input `{name}` has too many dimensions: the signature expects "
                          f"{expected}")
    return tuple(dims), level


def _convert(flat: list, dtype_name: str, name: str) -> np.ndarray:
    if dtype_name == "string":
        out = np.empty(len(flat), dtype=object)
        for i, x in enumerate(flat):
            if type(x) is str:
                out[i] = x.encode("utf-8")
            elif isinstance(x, dict) and len(x) == 1 and "b64" in x:
                out[i] = _b64_decode(x["b64"], name)
            else:
                raise _type_error(name, "DT_STRING (a JSON string or {\"b64\": ...})", x)
        return out
    if dtype_name in _FLOAT_KINDS:
        for x in flat:
            if type(x) not in (int, float):
                raise _type_error(name, f"DT_{dtype_name.upper()} (a JSON number)", x)
        return np.asarray(flat, dtype=np.float64).astype(_np_dtype(dtype_name))
    if dtype_name in _INT_KINDS:
        info = np.iinfo(dtype_name)
        for x in flat:
            if type(x) is not int:
                raise _type_error(name, f"DT_{dtype_name.upper()} (a JSON integer)", x)
            if not info.min <= x <= info.max:
                raise bad_request(f"input `{name}`: {x} is out of range for "
                                  f"DT_{dtype_name.upper()}")
        return np.asarray(flat, dtype=dtype_name)
    if dtype_name == "bool":
        for x in flat:
            if type(x) is not bool:
                raise _type_error(name, "DT_BOOL (true or false)", x)
        return np.asarray(flat, dtype=bool)
    raise bad_request(f"input `{name}` has dtype {dtype_name}, which the REST API cannot "
                      "carry")


def _np_dtype(dtype_name: str):
    if dtype_name == "bfloat16":  # numpy has no bfloat16; TF converts float32 inputs.
        return np.float32
    return np.dtype(dtype_name)


def _type_error(name: str, expected: str, value):
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return bad_request(f"input `{name}` expects {expected}. Received: {shown} "
                       f"({type(value).__name__})")


def _b64_decode(text, name: str) -> bytes:
    if not isinstance(text, str):
        raise bad_request(f"input `{name}`: the value of \"b64\" must be a string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(f"input `{name}`: invalid base64 in \"b64\"") from None


def _bytes_to_json(value, force_b64: bool):
    if isinstance(value, str):
        return value
    if not force_b64:
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return {"b64": base64.b64encode(value).decode("ascii")}


def _nest(flat: list, shape: tuple):
    if not shape:
        return flat[0]
    if len(shape) == 1:
        return flat
    step = int(np.prod(shape[1:]))
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def _shape_text(shape) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"
