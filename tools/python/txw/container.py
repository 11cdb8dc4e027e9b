"""Reading `.txw` containers: header, manifest, and blocks (spec part 1).

:func:`read_container` checks the header and the whole manifest when the
file is opened; block contents are checked when they are read
(:meth:`Container.read`) or all at once (:meth:`Container.verify`).
"""

from __future__ import annotations

import os
import struct
import threading
from collections import namedtuple
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np
import zstandard

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
    MAX_ZSTD_EXPANSION,
    META_TYPES,
    MIN_BLOCK_SIZE,
    OFF_DATA_OFFSET,
    OFF_FILE_LENGTH,
    OFF_HEADER_CHECKSUM,
    OFF_MAJOR,
    OFF_MANIFEST_CHECKSUM,
    OFF_MANIFEST_LENGTH,
    OFF_RESERVED_1,
    OFF_RESERVED_2,
    align64,
    hex64,
    xxh3,
)

__all__ = ["BlockInfo", "TensorInfo", "Container", "read_container"]

PathLike = Union[str, "os.PathLike[str]"]

#: One block of a tensor, as the manifest records it.
BlockInfo = namedtuple("BlockInfo", ["offset", "stored_length", "raw_length", "checksum"])


@dataclass(frozen=True, eq=True)
class TensorInfo:
    """A tensor's manifest entry (``blocks``: a list of :data:`BlockInfo`)."""

    __hash__ = None  # type: ignore[assignment]  # holds a list

    name: str
    dtype: str  # 'f32' | 'f64' | 'f16' | 'bf16'
    shape: Tuple[int, ...]
    codec: str  # 'stored' | 'zstd'
    filter: str  # 'none' | 'shuffle'
    block_size: int
    blocks: List[BlockInfo]
    manifest_offset: int  # where the entry starts in the file

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def element_count(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count

    @property
    def element_size(self) -> int:
        return dtypes.ELEMENT_SIZE[self.dtype]

    @property
    def raw_size(self) -> int:
        return self.element_count * self.element_size

    @property
    def stored_size(self) -> int:
        return sum(block.stored_length for block in self.blocks)


class _Cursor:
    """Reads manifest fields front to back; never past the manifest's end."""

    __slots__ = ("buf", "pos", "end", "base")

    def __init__(self, buf: bytes, end: int, base: int) -> None:
        self.buf = buf
        self.pos = 0
        self.end = end  # manifest_length
        self.base = base  # file offset of buf[0]

    @property
    def offset(self) -> int:
        return self.base + self.pos

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def need(self, n: int, what: str, **where: Any) -> None:
        if n > self.end - self.pos:
            raise TXWError(
                "malformedManifest",
                f"{what} needs {n} bytes but the manifest ends after {self.end - self.pos}"
                f" (manifest ends at offset {self.base + self.end})",
                offset=self.offset,
                **where,
            )

    def take(self, n: int, what: str, **where: Any) -> bytes:
        self.need(n, what, **where)
        start = self.pos
        self.pos += n
        return self.buf[start : self.pos]

    def unpack(self, fmt: str, size: int, what: str, **where: Any):
        self.need(size, what, **where)
        value = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += size
        return value

    def u8(self, what: str, **where: Any) -> int:
        return self.unpack("<B", 1, what, **where)

    def u16(self, what: str, **where: Any) -> int:
        return self.unpack("<H", 2, what, **where)

    def u32(self, what: str, **where: Any) -> int:
        return self.unpack("<I", 4, what, **where)

    def u64(self, what: str, **where: Any) -> int:
        return self.unpack("<Q", 8, what, **where)

    def i64(self, what: str, **where: Any) -> int:
        return self.unpack("<q", 8, what, **where)

    def f64(self, what: str, **where: Any) -> float:
        return self.unpack("<d", 8, what, **where)

    def utf8(self, n: int, what: str, **where: Any) -> str:
        start = self.offset
        raw = self.take(n, what, **where)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TXWError(
                "invalidUTF8",
                f"{what} is not well-formed UTF-8 ({exc.reason} at byte {exc.start} of {n})",
                offset=start + exc.start,
                **where,
            ) from None


def _parse_header(head: bytes, size: int) -> Tuple[int, int, int, int, int]:
    """Check the 64-byte header against the file size (spec 1.2 steps 3-9; the
    caller has checked the magic and the size); return
    (minor, manifest_length, data_offset, file_length, manifest_checksum)."""
    major, minor, reserved_1 = struct.unpack_from("<HHI", head, OFF_MAJOR)
    if major != MAJOR_VERSION:
        raise TXWError("unsupportedVersion", "major version", offset=OFF_MAJOR, expected=MAJOR_VERSION, found=major)
    manifest_length, data_offset, file_length, reserved_2, manifest_checksum, header_checksum = struct.unpack_from(
        "<6Q", head, OFF_MANIFEST_LENGTH
    )
    computed = xxh3(head[:OFF_HEADER_CHECKSUM])
    if computed != header_checksum:
        raise TXWError(
            "headerChecksum",
            "header checksum (XXH3-64 of bytes [0, 56))",
            offset=OFF_HEADER_CHECKSUM,
            expected=hex64(header_checksum),
            found=hex64(computed),
        )
    if reserved_1 != 0:
        raise TXWError("layout", "reserved header field must be zero", offset=OFF_RESERVED_1, expected=0, found=reserved_1)
    if reserved_2 != 0:
        raise TXWError("layout", "reserved header field must be zero", offset=OFF_RESERVED_2, expected=0, found=reserved_2)
    if not 1 <= manifest_length <= MAX_MANIFEST_LENGTH:
        raise TXWError(
            "limit",
            "manifest_length out of range",
            offset=OFF_MANIFEST_LENGTH,
            expected=f"1 … {MAX_MANIFEST_LENGTH}",
            found=manifest_length,
        )
    expected_data_offset = align64(HEADER_SIZE + manifest_length)
    if data_offset != expected_data_offset:
        raise TXWError(
            "layout",
            f"data_offset must be align64(64 + manifest_length {manifest_length})",
            offset=OFF_DATA_OFFSET,
            expected=expected_data_offset,
            found=data_offset,
        )
    if file_length > size:
        raise TXWError(
            "truncated",
            "file size (shorter than the header's file_length)",
            offset=OFF_FILE_LENGTH,
            expected=file_length,
            found=size,
        )
    if file_length < size:
        raise TXWError(
            "layout",
            "file size (longer than the header's file_length: bytes follow the end)",
            offset=OFF_FILE_LENGTH,
            expected=file_length,
            found=size,
        )
    if data_offset > size:
        raise TXWError(
            "truncated",
            f"the manifest and its padding end at data_offset {data_offset}, beyond the end of the file",
            offset=OFF_DATA_OFFSET,
            expected=f"≤ {size}",
            found=data_offset,
        )
    return minor, manifest_length, data_offset, file_length, manifest_checksum


def _parse_metadata(cur: _Cursor) -> Tuple[Dict[str, Any], Dict[str, str]]:
    values: Dict[str, Any] = {}
    types: Dict[str, str] = {}
    count_offset = cur.offset
    count = cur.u32("metadata_count")
    if count > MAX_ENTRIES:
        raise TXWError("limit", "metadata_count out of range", offset=count_offset, expected=f"0 … {MAX_ENTRIES}", found=count)
    previous: Optional[bytes] = None
    previous_offset = 0
    for index in range(count):
        entry_offset = cur.offset
        key_length = cur.u16(f"metadata entry {index}: key_length")
        if not 1 <= key_length <= MAX_NAME_LENGTH:
            raise TXWError(
                "limit",
                f"metadata entry {index}: key_length out of range",
                offset=entry_offset,
                expected=f"1 … {MAX_NAME_LENGTH}",
                found=key_length,
            )
        key_offset = cur.offset
        key_bytes = cur.buf[cur.pos : cur.pos + key_length]
        key = cur.utf8(key_length, f"metadata entry {index}: key")
        if previous is not None:
            if key_bytes == previous:
                raise TXWError(
                    "duplicateName",
                    f"metadata key repeated (first at offset {previous_offset})",
                    key=key,
                    offset=key_offset,
                )
            if key_bytes < previous:
                raise TXWError(
                    "malformedManifest",
                    f"metadata keys must be strictly ascending bytewise; this one sorts before"
                    f" the previous key {previous.decode('utf-8')!r}",
                    key=key,
                    offset=key_offset,
                )
        previous, previous_offset = key_bytes, key_offset
        type_offset = cur.offset
        type_code = cur.u8("type", key=key)
        type_name = META_TYPES.get(type_code)
        if type_name is None:
            raise TXWError(
                "unknownValue",
                "unknown metadata type",
                key=key,
                offset=type_offset,
                expected="1 (int), 2 (float), 3 (bool), 4 (string) or 5 (strings)",
                found=type_code,
            )
        if type_name == "int":
            value: Any = cur.i64("int value", key=key)
        elif type_name == "float":
            value = cur.f64("float value", key=key)
        elif type_name == "bool":
            value_offset = cur.offset
            raw = cur.u8("bool value", key=key)
            if raw > 1:
                raise TXWError("malformedManifest", "bool value", key=key, offset=value_offset, expected="0 or 1", found=raw)
            value = raw == 1
        elif type_name == "string":
            value = _read_string(cur, "string value", key)
        else:
            list_offset = cur.offset
            n = cur.u32("strings count", key=key)
            if n > MAX_STRING_COUNT:
                raise TXWError(
                    "limit", "strings count out of range", key=key, offset=list_offset, expected=f"0 … {MAX_STRING_COUNT}", found=n
                )
            # Read front to back: each item takes at least its 4-byte length from
            # the manifest, so the list never grows beyond what the manifest holds.
            value = [_read_string(cur, f"string {i} of the list", key) for i in range(n)]
        values[key] = value
        types[key] = type_name
    return values, types


def _read_string(cur: _Cursor, what: str, key: str) -> str:
    length_offset = cur.offset
    length = cur.u32(f"{what}: length", key=key)
    if length > MAX_STRING_LENGTH:
        raise TXWError(
            "limit", f"{what}: length out of range", key=key, offset=length_offset, expected=f"0 … {MAX_STRING_LENGTH}", found=length
        )
    return cur.utf8(length, what, key=key)


def _parse_tensors(cur: _Cursor, data_offset: int, file_length: int) -> Tuple[List[TensorInfo], int]:
    """Parse the tensor index; return the tensors and the end of the last block."""
    count_offset = cur.offset
    count = cur.u32("tensor_count")
    if count > MAX_ENTRIES:
        raise TXWError("limit", "tensor_count out of range", offset=count_offset, expected=f"0 … {MAX_ENTRIES}", found=count)
    tensors: List[TensorInfo] = []
    seen: Dict[str, int] = {}
    next_offset = data_offset  # where the next block must start
    end = data_offset  # end of the last block so far
    for index in range(count):
        entry_offset = cur.offset
        name_length = cur.u16(f"tensor {index}: name_length")
        if not 1 <= name_length <= MAX_NAME_LENGTH:
            raise TXWError(
                "limit",
                f"tensor {index}: name_length out of range",
                offset=entry_offset,
                expected=f"1 … {MAX_NAME_LENGTH}",
                found=name_length,
            )
        name_offset = cur.offset
        name = cur.utf8(name_length, f"tensor {index}: name")
        if name in seen:
            raise TXWError("duplicateName", f"tensor name repeated (first at offset {seen[name]})", tensor=name, offset=name_offset)
        seen[name] = name_offset

        def enum(table: Dict[int, str], what: str, expected: str) -> str:
            at = cur.offset
            code = cur.u8(what, tensor=name)
            value = table.get(code)
            if value is None:
                raise TXWError("unknownValue", f"unknown {what}", tensor=name, offset=at, expected=expected, found=code)
            return value

        dtype = enum(dtypes.DTYPES, "dtype", "1 (f32), 2 (f64), 3 (f16) or 4 (bf16)")
        codec = enum(codecs.CODECS, "codec", "0 (stored) or 1 (zstd)")
        filt = enum(codecs.FILTERS, "filter", "0 (none) or 1 (byte-shuffle)")
        rank_offset = cur.offset
        rank = cur.u8("rank", tensor=name)
        if rank > MAX_RANK:
            raise TXWError("limit", "rank out of range", tensor=name, offset=rank_offset, expected=f"0 … {MAX_RANK}", found=rank)
        shape = []
        dims_offset = cur.offset
        for axis in range(rank):  # the fields first, front to back ...
            dim_offset = cur.offset
            dim = cur.u64(f"dimension {axis}", tensor=name)
            if not 1 <= dim <= MAX_DIM:
                raise TXWError(
                    "limit", f"dimension {axis} out of range", tensor=name, offset=dim_offset, expected=f"1 … {MAX_DIM}", found=dim
                )
            shape.append(dim)
        element_count = 1  # ... then the derived element count (Python ints: no overflow)
        for dim in shape:
            element_count *= dim
        if element_count > MAX_ELEMENTS:
            raise TXWError(
                "limit",
                f"more than {MAX_ELEMENTS} elements (product of the dimensions {tuple(shape)})",
                tensor=name,
                offset=dims_offset,
                expected=f"≤ {MAX_ELEMENTS}",
                found=element_count,
            )
        element_size = dtypes.ELEMENT_SIZE[dtype]
        raw_size = element_count * element_size
        bs_offset = cur.offset
        block_size = cur.u64("block_size", tensor=name)
        if not MIN_BLOCK_SIZE <= block_size <= MAX_BLOCK_SIZE or block_size % 64:
            raise TXWError(
                "limit",
                "block_size",
                tensor=name,
                offset=bs_offset,
                expected=f"a multiple of 64 in {MIN_BLOCK_SIZE} … {MAX_BLOCK_SIZE}",
                found=block_size,
            )
        expected_blocks = -(-raw_size // block_size)
        bc_offset = cur.offset
        block_count = cur.u32("block_count", tensor=name)
        if block_count != expected_blocks:
            raise TXWError(
                "layout",
                f"block_count must be ceil(raw_size {raw_size} / block_size {block_size})",
                tensor=name,
                offset=bc_offset,
                expected=expected_blocks,
                found=block_count,
            )
        blocks = []
        for b in range(block_count):  # front to back: the manifest bounds the loop (32 bytes an entry)
            block_entry = cur.offset
            cur.need(32, f"block {b} entry", tensor=name, block=b)
            offset, stored_length, raw_length, checksum = struct.unpack_from("<4Q", cur.buf, cur.pos)
            cur.pos += 32
            expected_raw = min(block_size, raw_size - b * block_size)
            if raw_length != expected_raw:
                raise TXWError(
                    "layout", "raw_length", tensor=name, block=b, offset=block_entry + 16, expected=expected_raw, found=raw_length
                )
            if offset != next_offset:
                kind = "hole before the block" if offset > next_offset else "block overlaps the previous data or is out of order"
                raise TXWError(
                    "layout",
                    f"block offset ({kind})",
                    tensor=name,
                    block=b,
                    offset=block_entry,
                    expected=next_offset,
                    found=offset,
                )
            if codec == "stored":
                if stored_length != raw_length:
                    raise TXWError(
                        "layout",
                        "stored_length of a stored block must equal its raw_length",
                        tensor=name,
                        block=b,
                        offset=block_entry + 8,
                        expected=raw_length,
                        found=stored_length,
                    )
            else:
                bound = codecs.zstd_bound(raw_length)
                # The densest zstd encoding (an RLE block) stores 128 KiB in 4
                # bytes: no frame decodes to more than 32768 × its length.
                least = (raw_length + MAX_ZSTD_EXPANSION - 1) // MAX_ZSTD_EXPANSION
                if not max(1, least) <= stored_length <= bound:
                    raise TXWError(
                        "limit",
                        "stored_length of a zstd block",
                        tensor=name,
                        block=b,
                        offset=block_entry + 8,
                        expected=f"{max(1, least)} … {bound}",
                        found=stored_length,
                    )
            block_end = offset + stored_length
            if block_end > file_length:
                raise TXWError(
                    "truncated",
                    f"block ends at {block_end}, beyond the end of the file at {file_length}",
                    tensor=name,
                    block=b,
                    offset=block_entry,
                    expected=f"≤ {file_length}",
                    found=block_end,
                )
            blocks.append(BlockInfo(offset, stored_length, raw_length, checksum))
            end = block_end
            next_offset = align64(block_end)
        tensors.append(
            TensorInfo(
                name=name,
                dtype=dtype,
                shape=tuple(shape),
                codec=codec,
                filter=filt,
                block_size=block_size,
                blocks=blocks,
                manifest_offset=entry_offset,
            )
        )
    return tensors, end


class Container:
    """An open `.txw` file whose header and manifest have been checked.

    Attributes: ``path``, ``version`` ``(major, minor)``, ``metadata``
    (key -> int | float | bool | str | list[str], in file order, which is
    sorted by key), ``metadata_types`` (key -> ``'int' 'float' 'bool'
    'string' 'strings'``), ``tensors`` (list of :class:`TensorInfo` in file
    order), ``manifest_length``, ``data_offset``, ``file_length``.

    Use as a context manager, or call :meth:`close`. Reading is thread-safe.
    """

    def __init__(self, path: PathLike) -> None:
        self.path = os.fspath(path)
        self._file = open(self.path, "rb")
        self._lock = threading.Lock()
        try:
            self._open()
        except TXWError as exc:
            self.close()
            exc.path = self.path
            raise
        except BaseException:
            self.close()
            raise

    # -- opening -------------------------------------------------------------------

    def _open(self) -> None:
        size = os.fstat(self._file.fileno()).st_size
        self.file_length = size  # until the header is checked: bounds the first reads
        # Spec 1.2, steps 1-2: the magic on the first min(8, size) bytes (an
        # empty file or a prefix of the magic passes), then the size.
        head = self._read_at(0, min(size, HEADER_SIZE))
        if head[:8] != MAGIC[: len(head[:8])]:
            raise TXWError(
                "badMagic", "not a txw file: magic number", offset=0, expected=MAGIC.hex(" "), found=head[:8].hex(" ")
            )
        if size < HEADER_SIZE:
            raise TXWError("truncated", f"the file has {size} bytes, less than the 64-byte header", offset=size)
        minor, manifest_length, data_offset, file_length, manifest_checksum = _parse_header(head, size)
        self.version = (MAJOR_VERSION, minor)
        self.manifest_length = manifest_length
        self.data_offset = data_offset
        self.file_length = file_length

        region = self._read_at(HEADER_SIZE, data_offset - HEADER_SIZE)
        computed = xxh3(region)
        if computed != manifest_checksum:
            raise TXWError(
                "manifestChecksum",
                f"manifest checksum (XXH3-64 of bytes [64, {data_offset}))",
                offset=OFF_MANIFEST_CHECKSUM,
                expected=hex64(manifest_checksum),
                found=hex64(computed),
            )
        padding = region[manifest_length:]
        if padding.count(0) != len(padding):
            first = next(i for i, byte in enumerate(padding) if byte)
            raise TXWError(
                "layout",
                "padding after the manifest must be zero",
                offset=HEADER_SIZE + manifest_length + first,
                expected=0,
                found=padding[first],
            )
        cur = _Cursor(region, manifest_length, HEADER_SIZE)
        self.metadata, self.metadata_types = _parse_metadata(cur)
        self.tensors, data_end = _parse_tensors(cur, data_offset, file_length)
        if cur.remaining:
            raise TXWError(
                "malformedManifest",
                f"{cur.remaining} bytes are left after the tensor index: the manifest must be consumed exactly",
                offset=cur.offset,
            )
        if data_end != file_length:
            raise TXWError(
                "layout",
                "file_length must equal the end of the last block" + (" (data_offset: there are none)" if data_end == data_offset else ""),
                offset=OFF_FILE_LENGTH,
                expected=data_end,
                found=file_length,
            )
        self._by_name = {info.name: info for info in self.tensors}

    # -- plumbing --------------------------------------------------------------------

    def _read_at(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.file_length:
            raise AssertionError(f"internal: read [{offset}, {offset + length}) outside the file")
        if self._file is None:
            raise ValueError("I/O operation on a closed txw container")
        if length == 0:
            return b""
        if hasattr(os, "pread"):
            data = os.pread(self._file.fileno(), length, offset)
        else:  # pragma: no cover - Windows
            with self._lock:
                self._file.seek(offset)
                data = self._file.read(length)
        if len(data) != length:
            raise TXWError(
                "truncated",
                f"the file ended while reading {length} bytes (it changed after it was opened)",
                offset=offset + len(data),
            )
        return data

    def close(self) -> None:
        file, self._file = getattr(self, "_file", None), None
        if file is not None:
            file.close()

    def __enter__(self) -> "Container":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<txw.Container {self.path!r} v{self.version[0]}.{self.version[1]}: "
            f"{len(self.metadata)} metadata entries, {len(self.tensors)} tensors>"
        )

    # -- access ----------------------------------------------------------------------

    @property
    def names(self) -> List[str]:
        """Tensor names in file order."""
        return [info.name for info in self.tensors]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[TensorInfo]:
        return iter(self.tensors)

    def __len__(self) -> int:
        return len(self.tensors)

    def tensor(self, name: str) -> TensorInfo:
        """The manifest entry of tensor ``name`` (KeyError if there is none)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no tensor named {name!r} in {self.path}") from None

    def read(self, name: str) -> np.ndarray:
        """Decode tensor ``name`` into a new numpy array of its stored type
        (float32, float64, float16; bf16 as float32, exactly).

        Each block's checksum is verified before it is decoded, and the zero
        padding after it is checked. Raises TXWError on the first problem.
        """
        info = self.tensor(name)
        out = bytearray(info.raw_size)
        view = memoryview(out)
        decompressor = zstandard.ZstdDecompressor() if info.codec == "zstd" else None
        position = 0
        for index, block in enumerate(info.blocks):
            view[position : position + block.raw_length] = self._decode_block(info, index, block, decompressor)
            position += block.raw_length
        return dtypes.decode(out, info.dtype, info.shape)

    def verify(self) -> None:
        """Check every block of every tensor: checksum, padding after it, and
        decoding (the decoded data is discarded).

        Stops at the first problem, in file order, and raises it as a
        TXWError. Returns None when the whole file is sound.
        """
        for info in self.tensors:
            decompressor = zstandard.ZstdDecompressor() if info.codec == "zstd" else None
            for index, block in enumerate(info.blocks):
                self._decode_block(info, index, block, decompressor)

    def _decode_block(self, info: TensorInfo, index: int, block: BlockInfo, decompressor) -> bytes:
        try:
            return self._decode_block_unwrapped(info, index, block, decompressor)
        except TXWError as exc:
            exc.path = self.path
            raise

    def _decode_block_unwrapped(self, info: TensorInfo, index: int, block: BlockInfo, decompressor) -> bytes:
        end = block.offset + block.stored_length
        padding_end = min(align64(end), self.file_length)  # the last block of the file has none
        data = self._read_at(block.offset, padding_end - block.offset)
        stored = memoryview(data)[: block.stored_length]
        computed = xxh3(stored)
        if computed != block.checksum:
            raise TXWError(
                "blockChecksum",
                "checksum",
                tensor=info.name,
                block=index,
                offset=block.offset,
                expected=hex64(block.checksum),
                found=hex64(computed),
            )
        padding = data[block.stored_length :]
        if padding.count(0) != len(padding):
            first = next(i for i, byte in enumerate(padding) if byte)
            raise TXWError(
                "layout",
                "padding after the block must be zero",
                tensor=info.name,
                block=index,
                offset=end + first,
                expected=0,
                found=padding[first],
            )
        if info.codec == "zstd":
            try:
                filtered = codecs.zstd_decompress(decompressor, stored, block.raw_length)
            except codecs.BlockDecodeError as exc:
                raise TXWError("decode", str(exc), tensor=info.name, block=index, offset=block.offset) from None
        else:
            filtered = stored
        if info.filter == "shuffle":
            return codecs.unshuffle(filtered, info.element_size)
        return filtered


def read_container(path: PathLike) -> Container:
    """Open ``path`` and check its header and manifest (every rule of spec
    1.2-1.6 that does not need the block contents). Raises TXWError, or
    OSError when the file cannot be opened."""
    return Container(path)
