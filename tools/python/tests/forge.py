"""Build `.txw` files byte by byte for the tests, including broken ones.

This is deliberately independent of the package's writer: every field can be
overridden, and the checksums are recomputed unless a test says otherwise.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import numpy as np
import xxhash
import zstandard

MAGIC = b"\x89TXW\r\n\x1a\n"
ESIZE = {1: 4, 2: 8, 3: 2, 4: 2}
NPTYPE = {1: "<f4", 2: "<f8", 3: "<f2"}


def xxh3(data) -> int:
    return xxhash.xxh3_64_intdigest(bytes(data))


def align64(x: int) -> int:
    return (x + 63) // 64 * 64


# -- metadata entries -----------------------------------------------------------


def entry(key, type_code: int, value: bytes, key_length: Optional[int] = None) -> bytes:
    key = key.encode() if isinstance(key, str) else key
    return struct.pack("<H", len(key) if key_length is None else key_length) + key + bytes([type_code]) + value


def m_int(key, value: int) -> bytes:
    return entry(key, 1, struct.pack("<q", value))


def m_float(key, value: float) -> bytes:
    return entry(key, 2, struct.pack("<d", value))


def m_bool(key, raw: int) -> bytes:
    return entry(key, 3, bytes([raw]))


def string(value, length: Optional[int] = None) -> bytes:
    value = value.encode() if isinstance(value, str) else value
    return struct.pack("<I", len(value) if length is None else length) + value


def m_str(key, value, length: Optional[int] = None) -> bytes:
    return entry(key, 4, string(value, length))


def m_strs(key, values: Sequence, count: Optional[int] = None) -> bytes:
    body = struct.pack("<I", len(values) if count is None else count) + b"".join(string(v) for v in values)
    return entry(key, 5, body)


# -- tensors -------------------------------------------------------------------


@dataclass
class Block:
    stored: bytes
    offset: Optional[int] = None  # None: placed right after the previous block
    stored_length: Optional[int] = None
    raw_length: Optional[int] = None
    checksum: Optional[int] = None
    padding: Optional[bytes] = None  # bytes written after the block (None: zeros to the next 64)


@dataclass
class T:
    name: bytes
    dtype: int = 1
    codec: int = 0
    filter: int = 0
    dims: Sequence[int] = ()
    block_size: int = 64
    blocks: List[Block] = field(default_factory=list)
    name_length: Optional[int] = None
    rank: Optional[int] = None
    block_count: Optional[int] = None

    def raw_size(self) -> int:
        n = 1
        for d in self.dims:
            n *= d
        return n * ESIZE.get(self.dtype, 4)


def encode_blocks(values, dtype: int = 1, codec: int = 0, filt: int = 0, block_size: int = 64, level: int = 3) -> List[Block]:
    """Blocks holding ``values`` (flattened) as the given dtype/codec/filter."""
    raw = np.ascontiguousarray(np.asarray(values, dtype=np.float64).astype(NPTYPE[dtype])).tobytes()
    size = ESIZE[dtype]
    blocks = []
    for start in range(0, len(raw), block_size):
        chunk = raw[start : start + block_size]
        if filt == 1:
            chunk = np.frombuffer(chunk, np.uint8).reshape(-1, size).T.tobytes()
        if codec == 1:
            chunk = zstandard.ZstdCompressor(level=level).compress(chunk)
        blocks.append(Block(chunk))
    return blocks


def tensor(name, values, dtype: int = 1, codec: int = 0, filt: int = 0, block_size: int = 64) -> T:
    array = np.asarray(values, dtype=np.float64)
    return T(
        name=name.encode() if isinstance(name, str) else name,
        dtype=dtype,
        codec=codec,
        filter=filt,
        dims=array.shape,
        block_size=block_size,
        blocks=encode_blocks(array.reshape(-1), dtype, codec, filt, block_size),
    )


# -- the file ------------------------------------------------------------------


def build(
    metadata: Sequence[bytes] = (),
    tensors: Sequence[T] = (),
    *,
    metadata_count: Optional[int] = None,
    tensor_count: Optional[int] = None,
    manifest_tail: bytes = b"",
    manifest_override: Optional[bytes] = None,
    magic: bytes = MAGIC,
    major: int = 1,
    minor: int = 0,
    reserved1: int = 0,
    reserved2: int = 0,
    manifest_length: Optional[int] = None,
    data_offset: Optional[int] = None,
    file_length: Optional[int] = None,
    manifest_checksum: Optional[int] = None,
    header_checksum: Optional[int] = None,
    manifest_padding: Optional[bytes] = None,
    trailing: bytes = b"",
) -> bytes:
    # The manifest's length does not depend on block offsets: compute it first.
    def manifest_bytes(entries_by_tensor) -> bytes:
        parts = [struct.pack("<I", len(metadata) if metadata_count is None else metadata_count)]
        parts.extend(metadata)
        parts.append(struct.pack("<I", len(tensors) if tensor_count is None else tensor_count))
        for t, entries in zip(tensors, entries_by_tensor):
            parts.append(struct.pack("<H", len(t.name) if t.name_length is None else t.name_length))
            parts.append(t.name)
            parts.append(bytes([t.dtype, t.codec, t.filter, len(t.dims) if t.rank is None else t.rank]))
            parts.extend(struct.pack("<Q", d) for d in t.dims)
            parts.append(struct.pack("<Q", t.block_size))
            parts.append(struct.pack("<I", len(t.blocks) if t.block_count is None else t.block_count))
            parts.extend(struct.pack("<4Q", *e) for e in entries)
        parts.append(manifest_tail)
        return b"".join(parts)

    placeholder = [[(0, 0, 0, 0)] * len(t.blocks) for t in tensors]
    real_length = len(manifest_bytes(placeholder)) if manifest_override is None else len(manifest_override)
    computed_data_offset = align64(64 + real_length)

    data = bytearray()
    position = computed_data_offset
    entries_by_tensor = []
    for t in tensors:
        entries = []
        raw_size = t.raw_size()
        for i, b in enumerate(t.blocks):
            offset = align64(position) if b.offset is None else b.offset
            rel = offset - computed_data_offset
            if 0 <= rel < (1 << 30):  # far-away offsets only go into the manifest
                if len(data) < rel:
                    data.extend(bytes(rel - len(data)))
                data[rel : rel + len(b.stored)] = b.stored
            end = offset + len(b.stored)
            if b.padding is not None and 0 <= rel < (1 << 30):
                data[end - computed_data_offset : end - computed_data_offset + len(b.padding)] = b.padding
            if b.raw_length is None:
                raw_length = min(t.block_size, raw_size - i * t.block_size)
                raw_length = min(max(raw_length, 0), (1 << 64) - 1)
            else:
                raw_length = b.raw_length
            entries.append(
                (
                    offset,
                    len(b.stored) if b.stored_length is None else b.stored_length,
                    raw_length,
                    xxh3(b.stored) if b.checksum is None else b.checksum,
                )
            )
            position = end + (len(b.padding) if b.padding is not None else 0)
        entries_by_tensor.append(entries)

    manifest = manifest_bytes(entries_by_tensor) if manifest_override is None else manifest_override
    padding = bytes(computed_data_offset - 64 - len(manifest)) if manifest_padding is None else manifest_padding
    region = manifest + padding
    body = region + bytes(data) + trailing
    total = 64 + len(body)
    head = magic + struct.pack(
        "<HHIQQQQ",
        major,
        minor,
        reserved1,
        len(manifest) if manifest_length is None else manifest_length,
        computed_data_offset if data_offset is None else data_offset,
        total if file_length is None else file_length,
        reserved2,
    )
    head += struct.pack("<Q", xxh3(region) if manifest_checksum is None else manifest_checksum)
    head += struct.pack("<Q", xxh3(head) if header_checksum is None else header_checksum)
    return head + body


def refresh(data: bytes) -> bytes:
    """Recompute the manifest checksum (over [64, data_offset) as the header
    says) and the header checksum of ``data``."""
    data = bytearray(data)
    data_offset = struct.unpack_from("<Q", data, 24)[0]
    struct.pack_into("<Q", data, 48, xxh3(data[64:data_offset]))
    struct.pack_into("<Q", data, 56, xxh3(data[:56]))
    return bytes(data)


def refresh_header(data: bytes) -> bytes:
    data = bytearray(data)
    struct.pack_into("<Q", data, 56, xxh3(data[:56]))
    return bytes(data)
