"""Content digests (spec part 4): SHA-256 of canonical byte sequences.

A tensor digest covers a tensor's name, dtype, shape and raw little-endian
element bytes; a model digest covers the ``model.`` keys, the vocabulary and
every tensor digest in the profile's order. Neither depends on the codec,
level, byte shuffle, block size, tensor order or user metadata::

    txw.digest("model.txw")                  # '3f5a…' (64 hex digits)
    txw.tensor_digests("model.txw")          # {'W_E': '…', 'blocks.0.W_1': '…', …}
    txw.tensor_digest("cache.txw", "blocks.0.attn.z")
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any, Dict, Iterable, Optional, Sequence, Tuple

import zstandard

from .container import Container, TensorInfo, read_container
from .dtypes import DTYPE_CODES
from .errors import TXWError
from .layout import META_TYPE_CODES

__all__ = ["TENSOR_TAG", "MODEL_TAG", "digest", "model_digest", "tensor_digest", "tensor_digests", "digest_from_hex"]

#: The tag that opens a tensor digest's bytes (spec 4.1).
TENSOR_TAG = b"txw-tensor-digest-v1\x00"
#: The tag that opens a model digest's bytes (spec 4.2).
MODEL_TAG = b"txw-model-digest-v1\x00"


def _u64(value: int) -> bytes:
    return struct.pack("<Q", value)


def _str(text: str) -> bytes:
    data = text.encode("utf-8")
    return _u64(len(data)) + data


def _tensor_prefix(name: str, dtype: str, shape: Sequence[int]) -> bytes:
    out = TENSOR_TAG + _str(name) + bytes([DTYPE_CODES[dtype]]) + _u64(len(shape))
    for dim in shape:
        out += _u64(dim)
    return out


def _container_tensor_digest(container: Container, info: TensorInfo) -> bytes:
    """The 32-byte digest of one tensor, its blocks decoded one at a time."""
    hasher = hashlib.sha256(_tensor_prefix(info.name, info.dtype, info.shape))
    decompressor = zstandard.ZstdDecompressor() if info.codec == "zstd" else None
    for index, block in enumerate(info.blocks):
        hasher.update(container._decode_block(info, index, block, decompressor))
    return hasher.digest()


def tensor_digest(path, name: str) -> str:
    """The content digest (spec 4.1) of tensor ``name`` in the container at
    ``path`` (any container), as 64 lower-case hex digits."""
    with read_container(path) as container:
        return _container_tensor_digest(container, container.tensor(name)).hex()


def _metadata_value(kind: str, value: Any) -> bytes:
    if kind == "int":
        return struct.pack("<q", value)
    if kind == "float":
        return struct.pack("<d", value)
    if kind == "bool":
        return bytes([1 if value else 0])
    if kind == "string":
        return _str(value)
    return _u64(len(value)) + b"".join(_str(item) for item in value)


def _model_bytes(values: Dict[str, Any], types: Dict[str, str], tensor_digests: Iterable[bytes]) -> bytes:
    keys = sorted((key for key in values if key.startswith("model.") and key != "model.vocab"), key=lambda k: k.encode("utf-8"))
    out = MODEL_TAG + _u64(len(keys))
    for key in keys:
        out += _str(key) + bytes([META_TYPE_CODES[types[key]]]) + _metadata_value(types[key], values[key])
    vocab = values.get("model.vocab")
    if vocab is None:
        out += b"\x00"
    else:
        out += b"\x01" + _u64(len(vocab)) + b"".join(_str(token) for token in vocab)
    digests = list(tensor_digests)
    return out + _u64(len(digests)) + b"".join(digests)


def model_digest(path) -> Tuple[str, Dict[str, str]]:
    """The model digest (spec 4.2) of the model at ``path`` and each tensor's
    digest (a dict in the profile's order), as hex. The model is checked as
    :func:`txw.load` checks it (raises TXWError for a container that is not
    a model); its tensors are decoded one block at a time."""
    from .model import _check_model_tensors, _model_metadata, tensor_shapes

    with read_container(path) as container:
        try:
            if container.metadata.get("cache.profile") == "activation-cache":
                raise TXWError("model", "an activation cache (txw-run --cache), not a model")
            hp, _vocab, _user, _context = _model_metadata(container)
            _check_model_tensors(container, hp)
        except TXWError as exc:
            exc.path = container.path
            raise
        tensors: Dict[str, bytes] = {}
        for name, _shape in tensor_shapes(hp):
            tensors[name] = _container_tensor_digest(container, container.tensor(name))
        whole = hashlib.sha256(_model_bytes(container.metadata, container.metadata_types, tensors.values())).hexdigest()
    return whole, {name: value.hex() for name, value in tensors.items()}


def digest(path) -> str:
    """The model digest (spec 4.2) of the model at ``path``: 64 lower-case hex digits."""
    return model_digest(path)[0]


def tensor_digests(path) -> Dict[str, str]:
    """Each tensor's digest of the model at ``path``, in the profile's order."""
    return model_digest(path)[1]


def digest_from_hex(text: str) -> Optional[bytes]:
    """The 32 bytes of a digest's text (64 hex digits, either case, an
    optional ``sha256:`` prefix), or None when ``text`` is not one."""
    if text.startswith("sha256:"):
        text = text[len("sha256:") :]
    if len(text) != 64 or any(c not in "0123456789abcdefABCDEF" for c in text):
        return None
    return bytes.fromhex(text)
