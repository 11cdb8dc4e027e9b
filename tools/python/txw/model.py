"""The model profile (spec part 2): :func:`save` and :func:`load`."""

from __future__ import annotations

import math
import os
from collections import namedtuple
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import dtypes
from .container import Container, read_container
from .errors import TXWError
from .layout import MINOR_VERSION
from .writer import DEFAULT_BLOCK_SIZE, DEFAULT_LEVEL, Tensor, write_container

__all__ = ["BlockParameter", "Model", "save", "load", "tensor_shapes", "MODEL_PREFIX"]

#: The parameters of one transformer block, as the notebook names them.
BlockParameter = namedtuple("BlockParameter", ["W_1", "b_1", "W_2", "b_2", "W_Q", "W_K", "W_V", "W_O"])

MODEL_PREFIX = "model."
_LIMIT = 1 << 24

# (hyperparameter, smallest, largest), in the order of spec 2.1
_INT_KEYS = (
    ("vocab_size", 1, _LIMIT),
    ("d_model", 2, _LIMIT),
    ("n_head", 1, _LIMIT),
    ("d_head", 1, _LIMIT),
    ("d_mlp", 1, _LIMIT),
    ("n_block", 0, _LIMIT),
)
_FLOAT_KEYS = ("rmsnorm_epsilon", "positional_base", "mask_value")
#: The longest context length, ``model.context_length`` (spec 2.1).
MAX_CONTEXT_LENGTH = _LIMIT
_CONTEXT_KEY = MODEL_PREFIX + "context_length"
#: Every profile key and the minor format version that added it (spec 2.3):
#: a file declaring minor version m may hold the keys added in m or before.
_KEY_SINCE = {MODEL_PREFIX + k: 0 for k in [k for k, _, _ in _INT_KEYS] + list(_FLOAT_KEYS) + ["vocab"]}
_KEY_SINCE[_CONTEXT_KEY] = 1

PathLike = Union[str, "os.PathLike[str]"]


@dataclass
class Model:
    """A loaded txw model.

    ``hyperparameters`` has ``vocab_size, d_model, n_head, d_head, d_mlp,
    n_block`` (int) and ``rmsnorm_epsilon, positional_base, mask_value``
    (float); ``vocab`` is the list of token strings or None; ``metadata``
    holds the user keys (those not starting with ``model.``);
    ``context_length`` is ``model.context_length`` — the longest token
    sequence the model was trained to see — or None when the file has none.
    It is not a hyperparameter: nothing in the math uses it.
    """

    W_E: np.ndarray
    blocks: List[BlockParameter]
    hyperparameters: Dict[str, Any]
    vocab: Optional[List[str]]
    metadata: Dict[str, Any]
    context_length: Optional[int] = None

    def named_tensors(self) -> Iterator[Tuple[str, np.ndarray]]:
        """(name, array) of every tensor, in the canonical order writers use."""
        yield "W_E", self.W_E
        for i, block in enumerate(self.blocks):
            for field in BlockParameter._fields:
                yield f"blocks.{i}.{field}", getattr(block, field)


def tensor_shapes(hyperparameters: Mapping[str, int]) -> Iterator[Tuple[str, Tuple[int, ...]]]:
    """(name, shape) of every tensor a model with these hyperparameters
    holds, in canonical order (spec 2.2). A generator: a caller may stop early."""
    V, d = hyperparameters["vocab_size"], hyperparameters["d_model"]
    H, dh = hyperparameters["n_head"], hyperparameters["d_head"]
    F, N = hyperparameters["d_mlp"], hyperparameters["n_block"]
    yield "W_E", (V, d)
    for i in range(N):
        prefix = f"blocks.{i}."
        yield prefix + "W_1", (d, F)
        yield prefix + "b_1", (F,)
        yield prefix + "W_2", (F, d)
        yield prefix + "b_2", (d,)
        yield prefix + "W_Q", (d, dh, H)
        yield prefix + "W_K", (d, dh, H)
        yield prefix + "W_V", (d, dh, H)
        yield prefix + "W_O", (H * dh, d)


# -- checks shared by save and load ----------------------------------------------------


def _check_int(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise TXWError("model", f"{name} out of range", key=MODEL_PREFIX + name, expected=f"{low} … {high}", found=value)
    if name == "d_model" and value % 2:
        raise TXWError("model", "d_model must be even (sinusoidal positions pair the columns)", key=MODEL_PREFIX + name, found=value)


def _check_float(name: str, value: float) -> None:
    ok = math.isfinite(value)
    if name == "rmsnorm_epsilon":
        ok, rule = ok and value >= 0, "finite and ≥ 0"
    elif name == "positional_base":
        ok, rule = ok and value > 1, "finite and > 1"
    else:
        rule = "finite"
    if not ok:
        raise TXWError("model", f"{name} out of range", key=MODEL_PREFIX + name, expected=rule, found=value)


def _check_context_length(value: int) -> None:
    if not 1 <= value <= MAX_CONTEXT_LENGTH:
        raise TXWError("model", "context_length out of range", key=_CONTEXT_KEY, expected=f"1 … {MAX_CONTEXT_LENGTH}", found=value)


def _check_vocab(vocab: Sequence[str], vocab_size: int) -> None:
    key = MODEL_PREFIX + "vocab"
    if len(vocab) != vocab_size:
        raise TXWError("model", "vocabulary length must equal vocab_size", key=key, expected=vocab_size, found=len(vocab))
    first: Dict[str, int] = {}
    for index, token in enumerate(vocab):
        if not isinstance(token, str):
            raise TypeError(f"vocab[{index}] must be a str, not {type(token).__name__}")
        if token == "":
            raise TXWError("model", f"token {index} is empty", key=key)
        if token in first:
            raise TXWError("model", f"tokens {first[token]} and {index} are both {token!r}", key=key)
        first[token] = index


# -- save ----------------------------------------------------------------------------


def _field(block: Any, field: str, index: int) -> Any:
    try:
        if isinstance(block, Mapping):
            return block[field]
        return getattr(block, field)
    except (KeyError, AttributeError):
        raise TXWError("model", f"block {index} has no {field}", tensor=f"blocks.{index}.{field}") from None


def _option(option: Any, name: str) -> Any:
    return option.get(name) if isinstance(option, Mapping) else option


def _real(name: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, not {type(value).__name__}")
    return float(value)


def save(
    path: PathLike,
    W_E: Any,
    blocks: Sequence[Any],
    vocab: Optional[Sequence[str]] = None,
    metadata: Optional[Mapping[str, Any]] = None,
    dtype: Any = None,
    level: int = DEFAULT_LEVEL,
    *,
    shuffle: Any = True,
    codec: Any = "zstd",
    block_size: int = DEFAULT_BLOCK_SIZE,
    overwrite: bool = False,
    rmsnorm_epsilon: float = 1e-9,
    positional_base: float = 10000.0,
    mask_value: float = -1e9,
    n_head: Optional[int] = None,
    d_head: Optional[int] = None,
    d_mlp: Optional[int] = None,
    context_length: Optional[int] = None,
) -> Dict[str, Any]:
    """Write a txw model file; return its hyperparameters.

    ``W_E`` is ``(vocab_size, d_model)``; ``blocks`` is a list of objects with
    the :class:`BlockParameter` fields (namedtuples, dataclasses or dicts).
    The hyperparameters come from the shapes: ``d_head, n_head`` from
    ``W_Q (d_model, d_head, n_head)``, ``d_mlp`` from ``W_1 (d_model,
    d_mlp)``; ``n_head``, ``d_head`` and ``d_mlp`` may be given (they are then
    checked), and must be when ``blocks`` is empty. Every shape is checked
    (TXWError ``model`` naming the tensor).

    ``dtype`` None keeps each array's float type (float64, float32, float16;
    others become f64); else ``'f32' 'f64' 'f16' 'bf16'`` or a numpy float
    type. ``dtype``, ``codec`` and ``shuffle`` may also be dicts keyed by
    tensor name (a missing name means the default). ``metadata`` keys must
    not start with ``model.``. ``context_length`` (an int, 1 … 2^24, or
    None) is written as ``model.context_length``, the longest token sequence
    the model was trained to see; the file then declares format version 1.1
    (without it, 1.0). The other options are those of
    :func:`txw.write_container`.
    """
    W_E = dtypes.as_float_array(W_E, "tensor 'W_E'")
    if W_E.ndim != 2:
        raise TXWError("model", "W_E must have rank 2 (vocab_size, d_model)", tensor="W_E", found=W_E.shape)
    blocks = list(blocks)
    arrays: List[Tuple[str, np.ndarray]] = [("W_E", W_E)]
    for i, block in enumerate(blocks):
        for field in BlockParameter._fields:
            name = f"blocks.{i}.{field}"
            arrays.append((name, dtypes.as_float_array(_field(block, field, i), f"tensor {name!r}")))
    by_name = dict(arrays)

    hp: Dict[str, Any] = {"vocab_size": W_E.shape[0], "d_model": W_E.shape[1], "n_block": len(blocks)}
    given = {"n_head": n_head, "d_head": d_head, "d_mlp": d_mlp}
    if blocks:
        W_Q, W_1 = by_name["blocks.0.W_Q"], by_name["blocks.0.W_1"]
        if W_Q.ndim != 3:
            raise TXWError("model", "W_Q must have rank 3 (d_model, d_head, n_head)", tensor="blocks.0.W_Q", found=W_Q.shape)
        if W_1.ndim != 2:
            raise TXWError("model", "W_1 must have rank 2 (d_model, d_mlp)", tensor="blocks.0.W_1", found=W_1.shape)
        inferred = {"d_head": W_Q.shape[1], "n_head": W_Q.shape[2], "d_mlp": W_1.shape[1]}
        for key, value in given.items():
            if value is not None and value != inferred[key]:
                source = "blocks.0.W_1" if key == "d_mlp" else "blocks.0.W_Q"
                raise TXWError("model", f"{key} given as {value} disagrees with the shape of {source}", tensor=source, found=inferred[key])
        hp.update(inferred)
    else:
        missing = [key for key, value in given.items() if value is None]
        if missing:
            raise TXWError("model", f"a model without blocks needs {', '.join(missing)} passed explicitly")
        for key, value in given.items():
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{key} must be an int, not {type(value).__name__}")
            hp[key] = int(value)
    for key, low, high in _INT_KEYS:
        hp[key] = int(hp[key])
        _check_int(key, hp[key], low, high)
    for key, value in (("rmsnorm_epsilon", rmsnorm_epsilon), ("positional_base", positional_base), ("mask_value", mask_value)):
        hp[key] = _real(key, value)
        _check_float(key, hp[key])
    if context_length is not None:
        if isinstance(context_length, (bool, np.bool_)) or not isinstance(context_length, (int, np.integer)):
            raise TypeError(f"context_length must be an int, not {type(context_length).__name__}")
        context_length = int(context_length)
        _check_context_length(context_length)

    for name, shape in tensor_shapes(hp):
        found = by_name[name].shape
        if found != shape:
            raise TXWError("model", "shape", tensor=name, expected=shape, found=found)

    meta: Dict[str, Any] = {}
    for key, value in (metadata or {}).items():
        if isinstance(key, str) and key.startswith(MODEL_PREFIX):
            raise TXWError("model", "user metadata keys must not start with 'model.' (reserved for the model profile)", key=key)
        meta[key] = value
    if vocab is not None:
        if isinstance(vocab, str):
            raise TypeError("vocab must be a list of str, not a str")
        vocab = list(vocab)
        _check_vocab(vocab, hp["vocab_size"])
        meta[MODEL_PREFIX + "vocab"] = vocab
    for key, _, _ in _INT_KEYS:
        meta[MODEL_PREFIX + key] = hp[key]
    for key in _FLOAT_KEYS:
        meta[MODEL_PREFIX + key] = hp[key]
    if context_length is not None:
        meta[_CONTEXT_KEY] = context_length

    tensors = []
    for name, array in arrays:
        filt = _option(shuffle, name)
        tensors.append(
            Tensor(
                name,
                array,
                dtype=_option(dtype, name),
                codec=_option(codec, name) or "zstd",
                filter=None if filt is None else ("shuffle" if filt else "none"),
            )
        )
    write_container(
        path,
        tensors,
        meta,
        level=level,
        codec="zstd",
        shuffle=True,
        block_size=block_size,
        overwrite=overwrite,
        minor_version=0 if context_length is None else _KEY_SINCE[_CONTEXT_KEY],
    )
    return hp


# -- load ----------------------------------------------------------------------------


def _model_metadata(container: Container) -> Tuple[Dict[str, Any], Optional[List[str]], Dict[str, Any], Optional[int]]:
    values, types = container.metadata, container.metadata_types
    hp: Dict[str, Any] = {}

    def typed(name: str, kind: str) -> Any:
        key = MODEL_PREFIX + name
        if key not in values:
            raise TXWError("model", "missing metadata key", key=key)
        if types[key] != kind:
            raise TXWError("model", "wrong type", key=key, expected=kind, found=types[key])
        return values[key]

    for name, low, high in _INT_KEYS:
        hp[name] = typed(name, "int")
        _check_int(name, hp[name], low, high)
    for name in _FLOAT_KEYS:
        hp[name] = typed(name, "float")
        _check_float(name, hp[name])
    # Spec 2.2 step 2: the context length (version, type, range).
    minor = container.version[1]
    context_length = None
    if _CONTEXT_KEY in values:
        since = _KEY_SINCE[_CONTEXT_KEY]
        if minor < since:
            raise TXWError(
                "model",
                f"part of format version 1.{since} and later, but the file declares version 1.{minor}",
                key=_CONTEXT_KEY,
                expected=f"1.{since}",
                found=f"1.{minor}",
            )
        context_length = typed("context_length", "int")
        _check_context_length(context_length)
    # Step 3: other model. keys are unknown in a version this package knows,
    # ignored in a newer minor version (spec 2.3).
    if minor <= MINOR_VERSION:
        for key in values:
            if key.startswith(MODEL_PREFIX) and key not in _KEY_SINCE:
                raise TXWError("model", "unknown key in the reserved 'model.' namespace", key=key)
    vocab = None
    if MODEL_PREFIX + "vocab" in values:
        vocab = typed("vocab", "strings")
        _check_vocab(vocab, hp["vocab_size"])
    user = {key: value for key, value in values.items() if not key.startswith(MODEL_PREFIX)}
    return hp, vocab, user, context_length


def _check_model_tensors(container: Container, hp: Mapping[str, Any]) -> None:
    """Spec 2.2, steps 4-5: each tensor of the profile in canonical order
    (missing, then shape), then any tensor not in the profile (file order).

    The canonical list is walked lazily and stops at the first missing
    tensor, so the work is bounded by the file's tensor count whatever
    ``n_block`` says."""
    present = {info.name: info for info in container.tensors}
    expected = set()
    for name, shape in tensor_shapes(hp):
        info = present.get(name)
        if info is None:
            raise TXWError("model", "missing tensor", tensor=name, expected=f"shape {shape}")
        if info.shape != shape:
            raise TXWError("model", "shape", tensor=name, expected=shape, found=info.shape)
        expected.add(name)
    for info in container.tensors:
        if info.name not in expected:
            raise TXWError("model", "unexpected tensor (not part of the model profile)", tensor=info.name)


def load(path: PathLike, dtype: Any = np.float64) -> Model:
    """Read and fully check a txw model file.

    Every model rule is checked (missing, unknown or mistyped ``model.``
    keys, ranges, ``model.context_length`` and the format version it needs,
    the vocabulary, exactly the required tensors, their shapes; unknown
    ``model.`` keys of a newer minor version are ignored, spec 2.3), then every tensor is read, which verifies every block checksum
    and all the padding. Tensors are converted to ``dtype`` (default
    float64; None keeps the stored type, bf16 as float32). Raises TXWError.
    """
    target = None if dtype is None else np.dtype(dtype)
    with read_container(path) as container:
        try:
            hp, vocab, user, context_length = _model_metadata(container)
            _check_model_tensors(container, hp)
        except TXWError as exc:
            exc.path = container.path
            raise
        arrays = {}
        for info in container.tensors:  # file order: sequential reads
            array = container.read(info.name)
            arrays[info.name] = array if target is None else array.astype(target, copy=False)
    blocks = [
        BlockParameter(*(arrays[f"blocks.{i}.{field}"] for field in BlockParameter._fields)) for i in range(hp["n_block"])
    ]
    return Model(W_E=arrays["W_E"], blocks=blocks, hyperparameters=hp, vocab=vocab, metadata=user, context_length=context_length)
