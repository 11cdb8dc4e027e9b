"""Writing `.txw` containers (spec 1.7): deterministic and atomic."""

from __future__ import annotations

import errno
import os
import secrets
import struct
from dataclasses import dataclass
from typing import Any, Iterable, List, Mapping, Optional, Tuple, Union

import numpy as np

from . import codecs, dtypes
from .errors import TXWError
from .layout import (
    HEADER_SIZE,
    MAGIC,
    MAJOR_VERSION,
    MAX_BLOCK_SIZE,
    MAX_DIM,
    MAX_ELEMENTS,
    MAX_ENTRIES,
    MAX_MANIFEST_LENGTH,
    MAX_NAME_LENGTH,
    MAX_RANK,
    MAX_STRING_COUNT,
    MAX_STRING_LENGTH,
    META_TYPE_CODES,
    MIN_BLOCK_SIZE,
    MINOR_VERSION,
    align64,
    xxh3,
)

__all__ = ["Tensor", "write_container", "encode_metadata"]

DEFAULT_BLOCK_SIZE = 1 << 20
DEFAULT_LEVEL = 3


@dataclass
class Tensor:
    """One tensor to write.

    ``dtype`` is ``'f32' 'f64' 'f16' 'bf16'`` (or a numpy float type), or None
    for the array's own float type (float64, float32, float16; anything else
    becomes f64). ``codec`` (``'stored'``/``'zstd'``), ``filter``
    (``'none'``/``'shuffle'``) and ``block_size``, when not None, override the
    options given to :func:`write_container` for this tensor.
    """

    name: str
    data: Any
    dtype: Any = None
    codec: Optional[str] = None
    filter: Optional[str] = None
    block_size: Optional[int] = None


@dataclass
class _Plan:
    name: str
    name_bytes: bytes
    array: np.ndarray
    dtype: str
    codec: str
    filter: str
    block_size: int
    shape: Tuple[int, ...]
    raw_size: int
    block_count: int

    @property
    def entry_length(self) -> int:
        return 2 + len(self.name_bytes) + 4 + 8 * len(self.shape) + 8 + 4 + 32 * self.block_count


TensorsArg = Union[Mapping[str, Any], Iterable[Any]]


def _utf8(text: str, what: str, **where: Any) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise TXWError("invalidUTF8", f"{what} cannot be encoded as UTF-8 ({exc.reason} at index {exc.start})", **where) from None


def _codec_name(codec: Any) -> str:
    if codec not in codecs.CODEC_CODES:
        raise ValueError(f"unknown codec {codec!r}: use 'stored' or 'zstd'")
    return codec


def _filter_name(filt: Any) -> str:
    if filt not in codecs.FILTER_CODES:
        raise ValueError(f"unknown filter {filt!r}: use 'none' or 'shuffle'")
    return filt


def _check_block_size(block_size: Any, tensor: Optional[str] = None) -> int:
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)):
        raise TypeError(f"block_size must be an int, not {type(block_size).__name__}")
    block_size = int(block_size)
    if not MIN_BLOCK_SIZE <= block_size <= MAX_BLOCK_SIZE or block_size % 64:
        raise TXWError(
            "limit", "block_size", tensor=tensor, expected=f"a multiple of 64 in {MIN_BLOCK_SIZE} … {MAX_BLOCK_SIZE}", found=block_size
        )
    return block_size


def _items(tensors: TensorsArg) -> List[Tensor]:
    if isinstance(tensors, Mapping):
        return [Tensor(name, data) for name, data in tensors.items()]
    items = []
    for index, item in enumerate(tensors):
        if isinstance(item, Tensor):
            items.append(item)
        elif isinstance(item, (tuple, list)) and len(item) in (2, 3):
            items.append(Tensor(*item))
        else:
            raise TypeError(f"tensor {index}: expected a txw.Tensor or a (name, array[, dtype]) tuple, got {type(item).__name__}")
    return items


def _plan(items: List[Tensor], codec: str, filt: str, block_size: int) -> List[_Plan]:
    plans: List[_Plan] = []
    seen = set()
    if len(items) > MAX_ENTRIES:
        raise TXWError("limit", "too many tensors", expected=f"≤ {MAX_ENTRIES}", found=len(items))
    for item in items:
        name = item.name
        if not isinstance(name, str):
            raise TypeError(f"a tensor name must be a str, not {type(name).__name__}")
        name_bytes = _utf8(name, "tensor name", tensor=name)
        if not 1 <= len(name_bytes) <= MAX_NAME_LENGTH:
            raise TXWError("limit", "tensor name length in UTF-8 bytes", tensor=name, expected=f"1 … {MAX_NAME_LENGTH}", found=len(name_bytes))
        if name in seen:
            raise TXWError("duplicateName", "two tensors have this name", tensor=name)
        seen.add(name)
        array = dtypes.as_float_array(item.data, f"tensor {name!r}")
        dtype = dtypes.normalize_dtype(item.dtype) or dtypes.default_dtype(array)
        if array.ndim > MAX_RANK:
            raise TXWError("limit", "rank", tensor=name, expected=f"0 … {MAX_RANK}", found=array.ndim)
        for axis, dim in enumerate(array.shape):
            if not 1 <= dim <= MAX_DIM:
                raise TXWError("limit", f"dimension {axis}", tensor=name, expected=f"1 … {MAX_DIM}", found=dim)
        if array.size > MAX_ELEMENTS:
            raise TXWError("limit", "element count", tensor=name, expected=f"≤ {MAX_ELEMENTS}", found=array.size)
        size = _check_block_size(block_size if item.block_size is None else item.block_size, name)
        raw_size = array.size * dtypes.ELEMENT_SIZE[dtype]
        plans.append(
            _Plan(
                name=name,
                name_bytes=name_bytes,
                array=array,
                dtype=dtype,
                codec=_codec_name(codec if item.codec is None else item.codec),
                filter=_filter_name(filt if item.filter is None else item.filter),
                block_size=size,
                shape=tuple(int(d) for d in array.shape),
                raw_size=raw_size,
                block_count=-(-raw_size // size),
            )
        )
    return plans


def encode_metadata(metadata: Optional[Mapping[str, Any]]) -> bytes:
    """The manifest's metadata section (count and entries, sorted by key).

    Python values map to types: bool -> bool, int -> int (i64), float ->
    float (f64), str -> string, list/tuple of str -> strings. numpy scalars
    are accepted. Raises TypeError for other values, TXWError for values
    outside the format's limits.
    """
    entries = []
    for key, value in (metadata or {}).items():
        if not isinstance(key, str):
            raise TypeError(f"metadata keys must be str, not {type(key).__name__}")
        key_bytes = _utf8(key, "metadata key", key=key)
        if not 1 <= len(key_bytes) <= MAX_NAME_LENGTH:
            raise TXWError("limit", "key length in UTF-8 bytes", key=key, expected=f"1 … {MAX_NAME_LENGTH}", found=len(key_bytes))
        entries.append((key_bytes, _encode_value(key, value)))
    if len(entries) > MAX_ENTRIES:
        raise TXWError("limit", "too many metadata entries", expected=f"≤ {MAX_ENTRIES}", found=len(entries))
    entries.sort(key=lambda entry: entry[0])
    parts = [struct.pack("<I", len(entries))]
    for key_bytes, value_bytes in entries:
        parts.append(struct.pack("<H", len(key_bytes)))
        parts.append(key_bytes)
        parts.append(value_bytes)
    return b"".join(parts)


def _encode_string(key: str, text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise TypeError(f"metadata {key!r}: {what} must be a str, not {type(text).__name__}")
    data = _utf8(text, what, key=key)
    if len(data) > MAX_STRING_LENGTH:
        raise TXWError("limit", f"{what} length in bytes", key=key, expected=f"≤ {MAX_STRING_LENGTH}", found=len(data))
    return struct.pack("<I", len(data)) + data


def _encode_value(key: str, value: Any) -> bytes:
    if isinstance(value, (bool, np.bool_)):
        return struct.pack("<BB", META_TYPE_CODES["bool"], 1 if value else 0)
    if isinstance(value, (int, np.integer)):
        number = int(value)
        if not -(1 << 63) <= number < (1 << 63):
            raise TXWError("limit", "int value outside the signed 64-bit range", key=key, found=number)
        return struct.pack("<Bq", META_TYPE_CODES["int"], number)
    if isinstance(value, (float, np.floating)):
        return struct.pack("<Bd", META_TYPE_CODES["float"], float(value))
    if isinstance(value, str):
        return bytes([META_TYPE_CODES["string"]]) + _encode_string(key, value, "string value")
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_STRING_COUNT:
            raise TXWError("limit", "number of strings", key=key, expected=f"≤ {MAX_STRING_COUNT}", found=len(value))
        parts = [struct.pack("<BI", META_TYPE_CODES["strings"], len(value))]
        parts.extend(_encode_string(key, item, f"string {i} of the list") for i, item in enumerate(value))
        return b"".join(parts)
    raise TypeError(
        f"metadata {key!r}: cannot store a {type(value).__name__}; use bool, int, float, str or a list of str"
    )


def _manifest(metadata_bytes: bytes, plans: List[_Plan], blocks: List[List[Tuple[int, int, int, int]]]) -> bytes:
    parts = [metadata_bytes, struct.pack("<I", len(plans))]
    for plan, entries in zip(plans, blocks):
        parts.append(struct.pack("<H", len(plan.name_bytes)))
        parts.append(plan.name_bytes)
        parts.append(
            struct.pack(
                "<BBBB",
                dtypes.DTYPE_CODES[plan.dtype],
                codecs.CODEC_CODES[plan.codec],
                codecs.FILTER_CODES[plan.filter],
                len(plan.shape),
            )
        )
        parts.append(struct.pack(f"<{len(plan.shape)}Q", *plan.shape))
        parts.append(struct.pack("<QI", plan.block_size, len(entries)))
        for entry in entries:
            parts.append(struct.pack("<4Q", *entry))
    return b"".join(parts)


def write_container(
    path: Union[str, "os.PathLike[str]"],
    tensors: TensorsArg,
    metadata: Optional[Mapping[str, Any]] = None,
    *,
    level: int = DEFAULT_LEVEL,
    codec: str = "zstd",
    shuffle: bool = True,
    block_size: int = DEFAULT_BLOCK_SIZE,
    overwrite: bool = False,
    minor_version: int = 0,
) -> None:
    """Write a `.txw` container.

    ``tensors`` is an ordered list of ``(name, array)`` or
    ``(name, array, dtype)`` tuples or :class:`Tensor` objects (or a dict
    name -> array); ``metadata`` a dict (see :func:`encode_metadata`).
    ``codec``, ``shuffle`` (byte-shuffle filter on/off) and ``block_size``
    are the defaults for tensors that do not set their own; ``level`` is the
    zstd level. ``minor_version`` (0 … ``MINOR_VERSION``, default 0) is the
    minor format version the file declares: the lowest one whose additions
    it uses (spec 1.8; :func:`txw.save` declares 1 for ``model.context_length``).

    The same input gives the same bytes. The file is written to a temporary
    file in the same directory, fsynced, then moved into place: an existing
    file is replaced only with ``overwrite=True`` (else FileExistsError),
    and a failed write leaves nothing behind.
    """
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or not codecs.ZSTD_MIN_LEVEL <= level <= codecs.ZSTD_MAX_LEVEL:
        raise ValueError(f"zstd level must be an int in {codecs.ZSTD_MIN_LEVEL} … {codecs.ZSTD_MAX_LEVEL}, not {level!r}")
    if isinstance(minor_version, bool) or not isinstance(minor_version, (int, np.integer)) or not 0 <= minor_version <= MINOR_VERSION:
        raise ValueError(f"minor_version must be an int in 0 … {MINOR_VERSION} (the versions this package knows), not {minor_version!r}")
    default_codec = _codec_name(codec)
    default_filter = "shuffle" if shuffle else "none"
    default_block_size = _check_block_size(block_size)
    plans = _plan(_items(tensors), default_codec, default_filter, default_block_size)
    metadata_bytes = encode_metadata(metadata)
    manifest_length = len(metadata_bytes) + 4 + sum(plan.entry_length for plan in plans)
    if manifest_length > MAX_MANIFEST_LENGTH:
        raise TXWError("limit", "manifest_length", expected=f"≤ {MAX_MANIFEST_LENGTH}", found=manifest_length)
    data_offset = align64(HEADER_SIZE + manifest_length)

    target = os.fspath(path)
    if not overwrite and os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, "file exists (pass overwrite=True to replace it)", target)
    directory = os.path.dirname(os.path.abspath(target))
    fd, temp = _create_temp(directory, os.path.basename(target))
    try:
        with os.fdopen(fd, "wb") as out:
            compressor = codecs.new_compressor(int(level))
            out.seek(data_offset)
            position = data_offset
            all_entries = []
            for plan in plans:
                entries = []
                with np.errstate(all="ignore"):
                    raw = memoryview(dtypes.encode(plan.array, plan.dtype).reshape(-1).view(np.uint8))
                element_size = dtypes.ELEMENT_SIZE[plan.dtype]
                for index in range(plan.block_count):
                    start = index * plan.block_size
                    chunk = raw[start : start + plan.block_size]
                    filtered = codecs.shuffle(chunk, element_size) if plan.filter == "shuffle" else chunk
                    stored = compressor.compress(filtered) if plan.codec == "zstd" else bytes(filtered)
                    if plan.codec == "zstd":
                        if len(stored) > codecs.zstd_bound(len(chunk)):
                            raise AssertionError("internal: zstd output exceeds the format's bound")
                        if codecs.zstd_content_size(stored) != len(chunk):  # spec 1.4: the header must declare it
                            raise AssertionError("internal: zstd frame does not declare its content size")
                    aligned = align64(position)
                    out.write(bytes(aligned - position))
                    out.write(stored)
                    entries.append((aligned, len(stored), len(chunk), xxh3(stored)))
                    position = aligned + len(stored)
                all_entries.append(entries)
            file_length = position
            manifest = _manifest(metadata_bytes, plans, all_entries)
            if len(manifest) != manifest_length:
                raise AssertionError("internal: manifest length changed")
            region = manifest + bytes(data_offset - HEADER_SIZE - manifest_length)
            head = MAGIC + struct.pack(
                "<HHIQQQQQ", MAJOR_VERSION, int(minor_version), 0, manifest_length, data_offset, file_length, 0, xxh3(region)
            )
            head += struct.pack("<Q", xxh3(head))
            out.seek(0)
            out.write(head)
            out.write(region)
            out.flush()
            os.fsync(out.fileno())
        _publish(temp, target, overwrite)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def _create_temp(directory: str, base: str) -> Tuple[int, str]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        temp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "could not create a unique temporary file", directory)


def _publish(temp: str, target: str, overwrite: bool) -> None:
    if overwrite:
        os.replace(temp, target)
        return
    try:
        os.link(temp, target)  # fails if target exists: no race with another writer
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "file exists (pass overwrite=True to replace it)", target) from None
    except OSError:
        # The file system has no hard links: fall back to a checked rename
        # (atomic on Windows, which refuses to rename over a file).
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "file exists (pass overwrite=True to replace it)", target) from None
        os.rename(temp, target)
        return
    os.unlink(temp)


def _fsync_directory(directory: str) -> None:
    if os.name == "nt":  # directories cannot be opened for fsync there
        return
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems do not support it
    finally:
        os.close(fd)
