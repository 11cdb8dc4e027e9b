"""Element types: their codes, sizes, and the exact conversions of spec 1.5.

Stored elements are little-endian. Readers get numpy arrays of these types:

========  ====  ======  ==========================================
dtype     code  bytes   numpy type returned by a reader
========  ====  ======  ==========================================
``f32``   1     4       ``float32``
``f64``   2     8       ``float64``
``f16``   3     2       ``float16``
``bf16``  4     2       ``float32`` (every bf16 value is exact in it)
========  ====  ======  ==========================================
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

__all__ = [
    "DTYPES",
    "DTYPE_CODES",
    "ELEMENT_SIZE",
    "normalize_dtype",
    "default_dtype",
    "as_float_array",
    "encode",
    "decode",
    "stored_values",
    "float32_to_bf16_bits",
    "bf16_bits_to_float32",
]

#: dtype name -> code in the manifest
DTYPE_CODES = {"f32": 1, "f64": 2, "f16": 3, "bf16": 4}
#: code -> dtype name
DTYPES = {code: name for name, code in DTYPE_CODES.items()}
#: dtype name -> bytes per element
ELEMENT_SIZE = {"f32": 4, "f64": 8, "f16": 2, "bf16": 2}

# Little-endian storage layout of each dtype (bf16 is handled as its bits).
_STORAGE = {"f32": np.dtype("<f4"), "f64": np.dtype("<f8"), "f16": np.dtype("<f2"), "bf16": np.dtype("<u2")}
_NATIVE = {"f32": np.dtype(np.float32), "f64": np.dtype(np.float64), "f16": np.dtype(np.float16)}


def normalize_dtype(dtype: Any) -> Optional[str]:
    """Return the dtype name for ``dtype`` (a name, or a numpy float type), or None.

    Accepts ``'f32' 'f64' 'f16' 'bf16'`` (and the spellings ``'float32'``,
    ``'float64'``, ``'float16'``, ``'bfloat16'``), numpy's ``float32``,
    ``float64`` and ``float16``, and None (meaning "choose from the data").
    """
    if dtype is None:
        return None
    if isinstance(dtype, str):
        name = dtype.strip().lower()
        aliases = {"float32": "f32", "float64": "f64", "float16": "f16", "bfloat16": "bf16", "double": "f64", "half": "f16"}
        name = aliases.get(name, name)
        if name in DTYPE_CODES:
            return name
        raise ValueError(f"unknown dtype {dtype!r}: use one of 'f32', 'f64', 'f16', 'bf16'")
    try:
        npd = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"unknown dtype {dtype!r}: use one of 'f32', 'f64', 'f16', 'bf16'") from None
    for name, native in _NATIVE.items():
        if npd == native:
            return name
    raise ValueError(f"dtype {npd} cannot be stored: use one of 'f32', 'f64', 'f16', 'bf16'")


def default_dtype(array: np.ndarray) -> str:
    """The dtype a writer uses when none is asked for: the array's own float
    type if it is float64, float32 or float16, else f64."""
    for name, native in _NATIVE.items():
        if array.dtype == native:
            return name
    return "f64"


def as_float_array(data: Any, what: str) -> np.ndarray:
    """``data`` as a numpy array of float16, float32 or float64.

    Booleans, integers and other real floating types are converted to float64;
    anything else (complex, object, strings) is a TypeError naming ``what``.
    """
    array = np.asarray(data)
    if array.dtype.kind == "f" and array.dtype.itemsize in (2, 4, 8):
        return array.astype(array.dtype.newbyteorder("="), copy=False)
    if array.dtype.kind in "biuf":
        return array.astype(np.float64)
    raise TypeError(f"{what}: cannot store an array of {array.dtype} as floating point")


def float32_to_bf16_bits(values: np.ndarray) -> np.ndarray:
    """bf16 bit patterns (uint16) of float32 ``values``: the upper half of
    each binary32, rounded to nearest, ties to even; NaN stays a quiet NaN
    (its sign and upper payload kept, the quiet bit set); overflow gives ±inf."""
    values = np.asarray(values, dtype=np.float32, order="C")
    bits = values.view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    nan = np.isnan(values)
    quiet = (bits >> 16) | 0x0040
    return np.where(nan, quiet, rounded).astype(np.uint16)


def bf16_bits_to_float32(bits: np.ndarray) -> np.ndarray:
    """float32 values of bf16 bit patterns (exact)."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def encode(array: np.ndarray, dtype: str) -> np.ndarray:
    """Convert a float16/32/64 array to the stored form of ``dtype``.

    Returns a C-contiguous little-endian array (for bf16: its uint16 bits)
    whose ``tobytes()`` are the tensor's raw bytes. Narrowing rounds to
    nearest, ties to even; float64 goes to bf16 through float32. Every
    narrowing conversion turns a NaN into a quiet NaN keeping its sign and
    the payload's upper bits (spec 1.5); a stored type equal to the array's
    keeps its bits as they are.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if dtype == "bf16":
            return np.asarray(float32_to_bf16_bits(_to_float32(array)), dtype=_STORAGE["bf16"], order="C")
        if dtype == "f32" and array.dtype == np.float64:
            return np.asarray(_to_float32(array), dtype=_STORAGE["f32"], order="C")
        out = np.asarray(array, dtype=_STORAGE[dtype], order="C")
        if dtype == "f16" and array.dtype != np.float16:
            _quiet_f16_nans(array, out)
        return out


def _to_float32(array: np.ndarray) -> np.ndarray:
    """``array`` as float32, rounded to nearest even; from float64, every NaN
    becomes a quiet NaN with the sign and the payload's upper 22 bits (not
    left to the platform's conversion)."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.array(array, dtype=np.float32, order="C")  # a copy: safe to patch
    if array.dtype == np.float64:
        nan = np.isnan(array)
        if nan.any():
            bits = np.ascontiguousarray(array[nan]).view(np.uint64)
            sign = (bits >> 32) & 0x80000000
            payload = (bits & 0x0007FFFFFFFFFFFF) >> 29
            out.view(np.uint32)[nan] = (sign | 0x7FC00000 | payload).astype(np.uint32)
    return out


def _quiet_f16_nans(source: np.ndarray, out: np.ndarray) -> None:
    """Make every NaN of a narrowing conversion to f16 a quiet NaN keeping the
    sign and the payload's upper bits, as hardware conversions do (numpy's
    software conversion keeps a signalling NaN signalling)."""
    nan = np.isnan(source)
    if not nan.any():
        return
    if source.dtype == np.float64:
        bits = np.ascontiguousarray(source[nan]).view(np.uint64)
        sign = (bits >> 48) & 0x8000
        payload = (bits & 0x0007FFFFFFFFFFFF) >> 42
    else:
        bits = np.asarray(source[nan], dtype=np.float32).view(np.uint32).astype(np.uint64)
        sign = (bits >> 16) & 0x8000
        payload = (bits & 0x003FFFFF) >> 13
    out.view(np.uint16)[nan] = (sign | 0x7E00 | payload).astype(np.uint16)


def decode(raw: Any, dtype: str, shape: tuple) -> np.ndarray:
    """The array (native byte order) held by the raw little-endian bytes ``raw``."""
    stored = np.frombuffer(raw, dtype=_STORAGE[dtype])
    if dtype == "bf16":
        values = bf16_bits_to_float32(stored)
    else:
        values = stored.astype(_NATIVE[dtype])  # a native-order copy that owns its memory
    return values.reshape(shape)


def stored_values(data: Any, dtype: Optional[str] = None) -> np.ndarray:
    """The values a writer stores for ``data`` as ``dtype``, as a float64 array.

    Useful to predict what a reader will return after a round trip.
    """
    array = as_float_array(data, "data")
    name = normalize_dtype(dtype) or default_dtype(array)
    return decode(encode(array, name).tobytes(), name, array.shape).astype(np.float64)
