#!/usr/bin/env python3
"""Writes the conformance set of malformed `.txw` files (Spec/txw-format.md §1.9).

    python3 tools/conformance/make_malformed.py [OUT_DIR]
    python3 tools/conformance/make_malformed.py --table     # the README's table, to stdout

OUT_DIR defaults to Tests/Fixtures/malformed. Needs only `xxhash`: every byte
is built here field by field (independently of both readers and writers),
including the Zstandard frames, which are written by hand (raw and RLE blocks)
so the output does not depend on a zstd library version.

Every file is a small valid *model* (V=5, d_model=4, n_head=2, d_head=2,
d_mlp=4, n_block=1, block_size 64, a mix of dtypes, codecs and filters) with
exactly one rule broken; lengths, offsets and checksums are recomputed so that
the broken rule is the first one a reader meets in the spec's check order.

Also written: expected.json, mapping each file name to
    {"category": <§1.9 category>,
     "mentions": [substrings every reader's message must contain: the tensor
                  name or metadata key at fault, or nothing],
     "level": "container" (rejected by opening the file and verifying every
              block) | "model" (a sound container, rejected by the model
              profile, §2),
     "why": <one line>}

The output is deterministic: running it twice gives identical bytes.
"""

from __future__ import annotations

import json
import math
import os
import struct
import sys
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

try:
    import xxhash
except ImportError:  # pragma: no cover
    sys.exit("make_malformed.py needs the xxhash module (pip install xxhash, or use .build-python/bin/python)")

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "..", "Tests", "Fixtures", "malformed"))

MAGIC = b"\x89TXW\r\n\x1a\n"
F32, F64, F16, BF16 = 1, 2, 3, 4
STORED, ZSTD = 0, 1
NONE, SHUFFLE = 0, 1
ESIZE = {F32: 4, F64: 8, F16: 2, BF16: 2}
T_INT, T_FLOAT, T_BOOL, T_STRING, T_STRINGS = 1, 2, 3, 4, 5
MAX_FILE_SIZE = 4096


def xxh3(data) -> int:
    return xxhash.xxh3_64_intdigest(bytes(data))


def align64(x: int) -> int:
    return (x + 63) // 64 * 64


# -- element encoding, filter ---------------------------------------------------------


def encode_values(values: Sequence[float], dtype: int) -> bytes:
    if dtype == F32:
        return struct.pack(f"<{len(values)}f", *values)
    if dtype == F64:
        return struct.pack(f"<{len(values)}d", *values)
    if dtype == F16:
        return struct.pack(f"<{len(values)}e", *values)
    if dtype == BF16:
        out = b""
        for v in values:
            hi = struct.pack("<f", v)[2:]
            assert struct.unpack("<f", b"\0\0" + hi)[0] == v, "bf16 values must be exact"
            out += hi
        return out
    raise ValueError(dtype)


def shuffle(raw: bytes, element_size: int) -> bytes:
    n = len(raw) // element_size
    return bytes(raw[i * element_size + j] for j in range(element_size) for i in range(n))


# -- hand-made Zstandard frames (RFC 8878) ---------------------------------------------

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
SKIPPABLE_MAGIC = b"\x50\x2a\x4d\x18"


def zblock(size: int, kind: int, last: bool = True) -> bytes:
    """A block header: kind 0 raw, 1 RLE (size = regenerated size)."""
    return ((size << 3) | (kind << 1) | int(last)).to_bytes(3, "little")


def zframe_raw(content: bytes) -> bytes:
    """One frame, single segment, 1-byte content size, one raw block."""
    assert len(content) < 256
    return ZSTD_MAGIC + bytes([0x20, len(content)]) + zblock(len(content), 0) + content


def zframe_rle(byte: int, n: int) -> bytes:
    assert n < 256
    return ZSTD_MAGIC + bytes([0x20, n]) + zblock(n, 1) + bytes([byte])


def zstd_encode(filtered: bytes) -> bytes:
    if filtered and filtered.count(filtered[0]) == len(filtered):
        return zframe_rle(filtered[0], len(filtered))
    return zframe_raw(filtered)


# -- the model of a file ----------------------------------------------------------------


@dataclass
class Blk:
    data: bytes  # the stored bytes
    raw_length: int
    offset: Optional[int] = None  # manifest value (None: where the block really is)
    stored_length: Optional[int] = None  # manifest value (None: len(data))
    checksum: Optional[int] = None  # manifest value (None: XXH3 of data)
    gap: int = 0  # zero bytes inserted before the block in the file (a hole)
    pad: Optional[bytes] = None  # bytes written right after the block (instead of zero padding)


@dataclass
class Ten:
    name: bytes
    dtype: int
    codec: int
    filt: int
    dims: Tuple[int, ...]
    raw: bytes  # the tensor's raw bytes (before filtering and encoding)
    block_size: int = 64
    blocks: List[Blk] = field(default_factory=list)
    name_length: Optional[int] = None
    rank: Optional[int] = None
    block_count: Optional[int] = None

    def encode(self, block_size: Optional[int] = None) -> "Ten":
        if block_size is not None:
            self.block_size = block_size
        self.blocks = []
        for start in range(0, len(self.raw), self.block_size):
            chunk = self.raw[start : start + self.block_size]
            filtered = shuffle(chunk, ESIZE[self.dtype]) if self.filt == SHUFFLE else chunk
            stored = zstd_encode(filtered) if self.codec == ZSTD else filtered
            self.blocks.append(Blk(stored, len(chunk)))
        return self


@dataclass
class Doc:
    meta: List[list]  # [key bytes, type code, value bytes]
    tensors: List[Ten]
    sort_meta: bool = True
    metadata_count: Optional[int] = None
    tensor_count: Optional[int] = None
    key_lengths: Dict[int, int] = field(default_factory=dict)  # entry index (after sorting) -> key_length
    manifest_tail: bytes = b""
    manifest_padding: Optional[bytes] = None
    order: Optional[List[Tuple[int, int]]] = None  # placement of (tensor, block) in the file
    header: Dict[str, int] = field(default_factory=dict)  # overrides: see build()
    magic: bytes = MAGIC

    def t(self, name: str) -> Ten:
        return next(t for t in self.tensors if t.name == name.encode())

    def ti(self, name: str) -> int:
        return next(i for i, t in enumerate(self.tensors) if t.name == name.encode())

    def m(self, key: str) -> list:
        return next(e for e in self.meta if e[0] == key.encode())

    def drop_meta(self, key: str) -> None:
        self.meta = [e for e in self.meta if e[0] != key.encode()]


def v_int(v: int) -> bytes:
    return struct.pack("<q", v)


def v_float(v: float) -> bytes:
    return struct.pack("<d", v)


def v_str(s) -> bytes:
    s = s.encode() if isinstance(s, str) else s
    return struct.pack("<I", len(s)) + s


def v_strs(items) -> bytes:
    return struct.pack("<I", len(items)) + b"".join(v_str(s) for s in items)


def manifest_bytes(doc: Doc, meta: List[list], entries: List[List[Tuple[int, int, int, int]]]) -> bytes:
    out = [struct.pack("<I", len(meta) if doc.metadata_count is None else doc.metadata_count)]
    for index, (key, type_code, value) in enumerate(meta):
        out.append(struct.pack("<H", doc.key_lengths.get(index, len(key))) + key + bytes([type_code]) + value)
    out.append(struct.pack("<I", len(doc.tensors) if doc.tensor_count is None else doc.tensor_count))
    for t, blocks in zip(doc.tensors, entries):
        out.append(struct.pack("<H", len(t.name) if t.name_length is None else t.name_length) + t.name)
        out.append(bytes([t.dtype, t.codec, t.filt, len(t.dims) if t.rank is None else t.rank]))
        out.append(b"".join(struct.pack("<Q", d) for d in t.dims))
        out.append(struct.pack("<QI", t.block_size, len(t.blocks) if t.block_count is None else t.block_count))
        out.extend(struct.pack("<4Q", *e) for e in blocks)
    out.append(doc.manifest_tail)
    return b"".join(out)


def build(doc: Doc) -> bytes:
    """Serialize ``doc``; every length, offset and checksum not overridden is computed."""
    meta = sorted(doc.meta, key=lambda e: e[0]) if doc.sort_meta else list(doc.meta)
    placeholder = [[(0, 0, 0, 0)] * len(t.blocks) for t in doc.tensors]
    manifest_length = len(manifest_bytes(doc, meta, placeholder))
    data_offset = align64(64 + manifest_length)

    order = doc.order or [(ti, bi) for ti, t in enumerate(doc.tensors) for bi in range(len(t.blocks))]
    data = bytearray()
    position = data_offset
    where: Dict[Tuple[int, int], int] = {}
    for ti, bi in order:
        b = doc.tensors[ti].blocks[bi]
        position = align64(position) + b.gap
        data.extend(bytes(position - data_offset - len(data)))
        where[(ti, bi)] = position
        data.extend(b.data)
        position += len(b.data)
        if b.pad is not None:
            data.extend(b.pad)
            position += len(b.pad)

    entries = []
    for ti, t in enumerate(doc.tensors):
        entries.append(
            [
                (
                    where[(ti, bi)] if b.offset is None else b.offset,
                    len(b.data) if b.stored_length is None else b.stored_length,
                    b.raw_length,
                    xxh3(b.data) if b.checksum is None else b.checksum,
                )
                for bi, b in enumerate(t.blocks)
            ]
        )
    manifest = manifest_bytes(doc, meta, entries)
    assert len(manifest) == manifest_length
    padding = bytes(data_offset - 64 - manifest_length) if doc.manifest_padding is None else doc.manifest_padding
    assert len(padding) == data_offset - 64 - manifest_length
    body = manifest + padding + bytes(data)

    h = doc.header
    head = doc.magic + struct.pack(
        "<HHIQQQQ",
        h.get("major", 1),
        h.get("minor", 0),
        h.get("reserved1", 0),
        h.get("manifest_length", manifest_length),
        h.get("data_offset", data_offset),
        h.get("file_length", 64 + len(body)),
        h.get("reserved2", 0),
    )
    head += struct.pack("<Q", h.get("manifest_checksum", xxh3(manifest + padding)))
    head += struct.pack("<Q", h.get("header_checksum", xxh3(head)))
    return head + body


def set_header_u64(data: bytes, offset: int, value: int) -> bytes:
    """Patch a header field and recompute the header checksum."""
    data = bytearray(data)
    struct.pack_into("<Q", data, offset, value)
    struct.pack_into("<Q", data, 56, xxh3(data[:56]))
    return bytes(data)


# -- the base model -----------------------------------------------------------------------

BLOCK_PLAN = (  # field, dtype, codec, filter (a mix, so every path is exercised)
    ("W_1", F64, STORED, NONE),
    ("b_1", F16, STORED, SHUFFLE),
    ("W_2", BF16, STORED, NONE),
    ("b_2", F32, ZSTD, NONE),
    ("W_Q", F32, STORED, NONE),
    ("W_K", F32, STORED, SHUFFLE),
    ("W_V", F16, ZSTD, SHUFFLE),
    ("W_O", F32, STORED, NONE),
)
VOCAB = ["\n", "a", "b", "ab", "é"]


def values(n: int, seed: int) -> List[float]:
    """n small multiples of 1/4 (exact in every dtype)."""
    return [((i * 5 + seed * 3) % 13 - 6) / 4 for i in range(n)]


def make_tensor(name: str, dims: Tuple[int, ...], dtype: int, codec: int, filt: int, vals: List[float]) -> Ten:
    return Ten(name.encode(), dtype, codec, filt, tuple(dims), encode_values(vals, dtype)).encode()


def base(V: int = 5, d: int = 4, H: int = 2, dh: int = 2, F: int = 4, N: int = 1) -> Doc:
    tensors = [make_tensor("W_E", (V, d), F32, ZSTD, SHUFFLE, values(V * d, 0))]
    shapes = {
        "W_1": (d, F), "b_1": (F,), "W_2": (F, d), "b_2": (d,),
        "W_Q": (d, dh, H), "W_K": (d, dh, H), "W_V": (d, dh, H), "W_O": (H * dh, d),
    }
    for i in range(N):
        for k, (fname, dtype, codec, filt) in enumerate(BLOCK_PLAN):
            dims = shapes[fname]
            n = math.prod(dims)
            vals = [0.0] * n if fname == "b_2" else values(n, k + 1)  # zeros: an RLE zstd block
            tensors.append(make_tensor(f"blocks.{i}.{fname}", dims, dtype, codec, filt, vals))
    meta = [
        [b"description", T_STRING, v_str("txw conformance base model")],
        [b"model.d_head", T_INT, v_int(dh)],
        [b"model.d_mlp", T_INT, v_int(F)],
        [b"model.d_model", T_INT, v_int(d)],
        [b"model.mask_value", T_FLOAT, v_float(-1e9)],
        [b"model.n_block", T_INT, v_int(N)],
        [b"model.n_head", T_INT, v_int(H)],
        [b"model.positional_base", T_FLOAT, v_float(10000.0)],
        [b"model.rmsnorm_epsilon", T_FLOAT, v_float(1e-9)],
        [b"model.vocab", T_STRINGS, v_strs(VOCAB)],
        [b"model.vocab_size", T_INT, v_int(V)],
        [b"training.done", T_BOOL, b"\x01"],
    ]
    return Doc(meta, tensors)


def base_bytes() -> bytes:
    """The valid model every case starts from."""
    return build(base())


# -- the cases ----------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    category: str
    level: str
    mentions: List[str]
    why: str
    make: Callable[[], bytes]


CASES: List[Case] = []


def case(name: str, category: str, why: str, mentions: Sequence[str] = (), level: str = "container"):
    def register(make: Callable[[], bytes]) -> Callable[[], bytes]:
        assert name not in {c.name for c in CASES}, name
        CASES.append(Case(name + ".txw", category, level, list(mentions), why, make))
        return make

    return register


def mutate(fn: Callable[[Doc], None]) -> bytes:
    doc = base()
    fn(doc)
    return build(doc)


# header (§1.2) ...............................................................................


@case("header_empty", "truncated", "an empty file: it passes the magic step, then is shorter than the header")
def _():
    return b""


@case("header_short", "truncated", "the first 40 bytes of a valid file: shorter than the 64-byte header")
def _():
    return base_bytes()[:40]


@case("header_bad_magic_short", "badMagic", "a 6-byte file that is not a prefix of the magic: the magic is checked before the size")
def _():
    return b"GIF89a"


@case("header_bad_magic", "badMagic", "the last magic byte is 0x0b instead of 0x0a")
def _():
    doc = base()
    doc.magic = MAGIC[:7] + b"\x0b"
    return build(doc)


@case("header_major_version_2", "unsupportedVersion", "major version 2 (header checksum recomputed)")
def _():
    return mutate(lambda d: d.header.update(major=2))


@case("header_checksum", "headerChecksum", "the header_checksum field does not match bytes [0, 56)")
def _():
    data = bytearray(base_bytes())
    data[56] ^= 0x01
    return bytes(data)


@case("header_reserved_12", "layout", "the reserved u32 at offset 12 is 1")
def _():
    return mutate(lambda d: d.header.update(reserved1=1))


@case("header_reserved_40", "layout", "the reserved u64 at offset 40 is 2^63")
def _():
    return mutate(lambda d: d.header.update(reserved2=1 << 63))


@case("header_manifest_length_zero", "limit", "manifest_length 0 (the minimum is 1)")
def _():
    return mutate(lambda d: d.header.update(manifest_length=0, data_offset=64))


@case("header_manifest_length_over_limit", "limit", "manifest_length 2^28 + 1, above the 256 MiB limit")
def _():
    ml = (1 << 28) + 1
    return mutate(lambda d: d.header.update(manifest_length=ml, data_offset=align64(64 + ml)))


@case("header_manifest_length_beyond_file", "truncated",
      "manifest_length 2^20 with a matching data_offset: the manifest would end far beyond the (consistent) file_length")
def _():
    ml = 1 << 20
    return mutate(lambda d: d.header.update(manifest_length=ml, data_offset=align64(64 + ml)))


@case("header_data_offset_wrong", "layout", "data_offset is align64(64 + manifest_length) + 64")
def _():
    good = base_bytes()
    return set_header_u64(good, 24, struct.unpack_from("<Q", good, 24)[0] + 64)


@case("header_file_length_larger", "truncated", "the file was cut: its last 64 bytes are missing, the header still says the full length")
def _():
    return base_bytes()[:-64]


@case("header_file_length_huge", "truncated", "file_length 2^64 - 1")
def _():
    return set_header_u64(base_bytes(), 32, (1 << 64) - 1)


@case("header_file_length_smaller", "layout", "8 bytes were appended after file_length (the header is unchanged)")
def _():
    return base_bytes() + b"trailing"


@case("header_manifest_checksum", "manifestChecksum", "one manifest byte changed (a letter of the description) after the checksum was computed")
def _():
    data = bytearray(base_bytes())
    at = data.index(b"conformance base")
    data[at] = ord("C")
    return bytes(data)


@case("header_manifest_padding", "layout", "a non-zero byte in the padding between the manifest and data_offset (covered by the manifest checksum)")
def _():
    doc = base()
    good = build(doc)
    ml, do = struct.unpack_from("<QQ", good, 16)
    gap = do - 64 - ml
    assert gap >= 2, gap
    doc.manifest_padding = bytes(gap - 1) + b"\x01"
    return build(doc)


# manifest: metadata (§1.3) ...................................................................


@case("meta_count_over_limit", "limit", "metadata_count 65537")
def _():
    return mutate(lambda d: setattr(d, "metadata_count", 65537))


@case("meta_key_empty", "limit", "a metadata key_length of 0")
def _():
    def fn(d):
        d.m("description")[0] = b""
    return mutate(fn)


@case("meta_key_256_bytes", "limit", "a metadata key of 256 bytes")
def _():
    def fn(d):
        d.m("description")[0] = b"d" * 256
    return mutate(fn)


@case("meta_key_not_utf8", "invalidUTF8", "a metadata key with the byte 0xff")
def _():
    def fn(d):
        d.m("description")[0] = b"descr\xffiption"
    return mutate(fn)


@case("meta_keys_out_of_order", "malformedManifest", "'model.d_mlp' is written before 'model.d_head'", ["model.d_head"])
def _():
    def fn(d):
        d.meta.sort(key=lambda e: e[0])
        a, b = [i for i, e in enumerate(d.meta) if e[0] in (b"model.d_head", b"model.d_mlp")]
        d.meta[a], d.meta[b] = d.meta[b], d.meta[a]
        d.sort_meta = False
    return mutate(fn)


@case("meta_duplicate_key", "duplicateName", "'model.n_head' appears twice (same value)", ["model.n_head"])
def _():
    return mutate(lambda d: d.meta.append([b"model.n_head", T_INT, v_int(2)]))


@case("meta_unknown_type", "unknownValue", "metadata type 6 for 'description'", ["description"])
def _():
    return mutate(lambda d: d.m("description").__setitem__(1, 6))


@case("meta_bool_2", "malformedManifest", "the bool 'training.done' is 2", ["training.done"])
def _():
    return mutate(lambda d: d.m("training.done").__setitem__(2, b"\x02"))


@case("meta_string_not_utf8", "invalidUTF8", "the string 'description' holds a UTF-16 surrogate (ED A0 80)", ["description"])
def _():
    return mutate(lambda d: d.m("description").__setitem__(2, v_str(b"tiny \xed\xa0\x80")))


@case("meta_vocab_token_overlong", "invalidUTF8", "a token of 'model.vocab' is an overlong encoding of '/' (C0 AF)", ["model.vocab"])
def _():
    return mutate(lambda d: d.m("model.vocab").__setitem__(2, v_strs(["\n", "a", b"\xc0\xaf", "ab", "é"])))


@case("meta_string_over_limit", "limit", "the string 'description' declares 2^24 + 1 bytes", ["description"])
def _():
    return mutate(lambda d: d.m("description").__setitem__(2, struct.pack("<I", (1 << 24) + 1) + b"txw"))


@case("meta_string_beyond_manifest", "malformedManifest", "the string 'description' declares 2^20 bytes, more than the manifest holds", ["description"])
def _():
    return mutate(lambda d: d.m("description").__setitem__(2, struct.pack("<I", 1 << 20) + b"txw"))


@case("meta_strings_count_over_limit", "limit", "'model.vocab' declares 2^24 + 1 strings", ["model.vocab"])
def _():
    def fn(d):
        e = d.m("model.vocab")
        e[2] = struct.pack("<I", (1 << 24) + 1) + e[2][4:]
    return mutate(fn)


# manifest: tensors (§1.3) ....................................................................


@case("tensor_count_over_limit", "limit", "tensor_count 65537")
def _():
    return mutate(lambda d: setattr(d, "tensor_count", 65537))


@case("tensor_count_beyond_manifest", "malformedManifest", "tensor_count 10 with 9 tensors: the 10th runs past the manifest")
def _():
    return mutate(lambda d: setattr(d, "tensor_count", 10))


@case("tensor_name_empty", "limit", "a tensor name_length of 0 (blocks.0.b_1's entry, name removed)")
def _():
    return mutate(lambda d: setattr(d.t("blocks.0.b_1"), "name", b""))


@case("tensor_name_256_bytes", "limit", "a tensor name of 256 bytes")
def _():
    return mutate(lambda d: setattr(d.t("blocks.0.b_1"), "name", b"blocks.0.b_1." + b"x" * 243))


@case("tensor_name_not_utf8", "invalidUTF8", "a tensor name with the byte 0xff")
def _():
    return mutate(lambda d: setattr(d.t("blocks.0.b_1"), "name", b"blocks.0.b_\xff"))


@case("tensor_name_surrogate", "invalidUTF8", "a tensor name holding a UTF-16 surrogate (ED B0 80)")
def _():
    return mutate(lambda d: setattr(d.t("blocks.0.b_1"), "name", b"blocks.0.b_1\xed\xb0\x80"))


@case("tensor_name_overlong", "invalidUTF8", "a tensor name with an overlong encoding of '.' (C0 AE)")
def _():
    return mutate(lambda d: setattr(d.t("blocks.0.b_1"), "name", b"blocks\xc0\xae0.b_1"))


@case("tensor_duplicate_name", "duplicateName", "two tensors named 'blocks.0.W_Q' (the second is W_K's entry)", ["blocks.0.W_Q"])
def _():
    return mutate(lambda d: setattr(d.t("blocks.0.W_K"), "name", b"blocks.0.W_Q"))


@case("tensor_unknown_dtype", "unknownValue", "dtype 5 for 'W_E'", ["W_E"])
def _():
    return mutate(lambda d: setattr(d.t("W_E"), "dtype", 5))


@case("tensor_unknown_codec", "unknownValue", "codec 2 for 'W_E'", ["W_E"])
def _():
    return mutate(lambda d: setattr(d.t("W_E"), "codec", 2))


@case("tensor_unknown_filter", "unknownValue", "filter 2 for 'W_E'", ["W_E"])
def _():
    return mutate(lambda d: setattr(d.t("W_E"), "filt", 2))


@case("tensor_rank_9", "limit", "'W_E' has rank 9: dims (5, 4, 1, 1, 1, 1, 1, 1, 1), the same 20 elements", ["W_E"])
def _():
    return mutate(lambda d: setattr(d.t("W_E"), "dims", (5, 4, 1, 1, 1, 1, 1, 1, 1)))


@case("tensor_dim_zero", "limit", "'W_E' has dims (5, 0)", ["W_E"])
def _():
    return mutate(lambda d: setattr(d.t("W_E"), "dims", (5, 0)))


@case("tensor_dim_over_limit", "limit", "'W_E' has dims (2^40 + 1, 4)", ["W_E"])
def _():
    return mutate(lambda d: setattr(d.t("W_E"), "dims", ((1 << 40) + 1, 4)))


# 51228 * 10827767 * 33256261 = 2^64 + 20: with wrapping arithmetic the product is
# 20, W_E's real element count, and everything after it would look right.
OVERFLOW_DIMS = (51228, 10827767, 33256261)
assert math.prod(OVERFLOW_DIMS) == (1 << 64) + 20


@case("tensor_dims_overflow", "limit",
      "'W_E' has dims (51228, 10827767, 33256261), each ≤ 2^40, whose product 2^64 + 20 overflows 64 bits (20 if wrapped)", ["W_E"])
def _():
    return mutate(lambda d: setattr(d.t("W_E"), "dims", OVERFLOW_DIMS))


@case("tensor_dims_overflow_to_zero", "limit", "'W_E' has dims (2^32, 2^32): the product 2^64 overflows (0 if wrapped)", ["W_E"])
def _():
    return mutate(lambda d: setattr(d.t("W_E"), "dims", (1 << 32, 1 << 32)))


@case("tensor_elements_over_limit", "limit", "'W_E' has dims (2^20, 2^20, 2): 2^41 elements, over 2^40, no overflow", ["W_E"])
def _():
    return mutate(lambda d: setattr(d.t("W_E"), "dims", (1 << 20, 1 << 20, 2)))


@case("tensor_block_size_not_multiple_of_64", "limit", "'blocks.0.W_Q' (64 bytes, one block) has block_size 100", ["blocks.0.W_Q"])
def _():
    return mutate(lambda d: setattr(d.t("blocks.0.W_Q"), "block_size", 100))


@case("tensor_block_size_too_large", "limit", "'blocks.0.W_Q' (one block) has block_size 2^26 + 64", ["blocks.0.W_Q"])
def _():
    return mutate(lambda d: setattr(d.t("blocks.0.W_Q"), "block_size", (1 << 26) + 64))


@case("tensor_block_size_too_small", "limit", "'blocks.0.W_Q' is cut into two blocks of block_size 32 (the minimum is 64)", ["blocks.0.W_Q"])
def _():
    return mutate(lambda d: d.t("blocks.0.W_Q").encode(block_size=32))


@case("tensor_block_size_zero", "limit", "'blocks.0.W_Q' has block_size 0 (a reader must not divide by it)", ["blocks.0.W_Q"])
def _():
    return mutate(lambda d: setattr(d.t("blocks.0.W_Q"), "block_size", 0))


@case("tensor_block_count_wrong", "layout", "'blocks.0.W_1' (128 bytes, block_size 64) has block_count 1 and only its first block", ["blocks.0.W_1"])
def _():
    def fn(d):
        t = d.t("blocks.0.W_1")
        t.blocks = t.blocks[:1]
    return mutate(fn)


@case("manifest_trailing_bytes", "malformedManifest", "3 zero bytes after the tensor index, counted in manifest_length")
def _():
    return mutate(lambda d: setattr(d, "manifest_tail", b"\0\0\0"))


# manifest: block entries (§1.3, §1.4) ...........................................................


@case("block_raw_length_wrong", "layout",
      "'blocks.0.W_1' block 1 stores 72 bytes with raw_length 72 (it must be 64)", ["blocks.0.W_1"])
def _():
    def fn(d):
        b = d.t("blocks.0.W_1").blocks[1]
        b.data += bytes(8)
        b.raw_length = 72
    return mutate(fn)


@case("block_stored_length_not_raw_length", "layout",
      "'blocks.0.W_2' is stored (codec 0) with stored_length 30 and raw_length 32", ["blocks.0.W_2"])
def _():
    def fn(d):
        b = d.t("blocks.0.W_2").blocks[0]
        b.data = b.data[:30]
    return mutate(fn)


@case("block_zstd_stored_length_zero", "limit", "'W_E' block 1 is a zstd block with stored_length 0", ["W_E"])
def _():
    return mutate(lambda d: setattr(d.t("W_E").blocks[1], "data", b""))


@case("block_offset_beyond_file", "layout", "the offset of 'blocks.0.W_O' block 0 is 2^40, far beyond the file (its data is in place)", ["blocks.0.W_O"])
def _():
    return mutate(lambda d: setattr(d.t("blocks.0.W_O").blocks[0], "offset", 1 << 40))


@case("block_overlap", "layout", "'W_E' block 1 is recorded at data_offset + 32, inside block 0", ["W_E"])
def _():
    doc = base()
    good = build(doc)
    doc.t("W_E").blocks[1].offset = struct.unpack_from("<Q", good, 24)[0] + 32
    return build(doc)


@case("block_out_of_order", "layout",
      "the blocks of 'blocks.0.W_Q' and 'blocks.0.W_K' are swapped in the file (offsets point at them)", ["blocks.0.W_Q"])
def _():
    doc = base()
    q, k = doc.ti("blocks.0.W_Q"), doc.ti("blocks.0.W_K")
    order = [(ti, bi) for ti, t in enumerate(doc.tensors) for bi in range(len(t.blocks))]
    a, b = order.index((q, 0)), order.index((k, 0))
    order[a], order[b] = order[b], order[a]
    doc.order = order
    return build(doc)


@case("block_hole", "layout", "64 zero bytes before 'blocks.0.b_1' block 0 (offsets and file_length follow)", ["blocks.0.b_1"])
def _():
    return mutate(lambda d: setattr(d.t("blocks.0.b_1").blocks[0], "gap", 64))


@case("block_truncated", "truncated",
      "the file is cut 32 bytes inside the last block ('blocks.0.W_O'); file_length says the cut size", ["blocks.0.W_O"])
def _():
    data = base_bytes()[:-32]
    return set_header_u64(data, 32, len(data))


@case("data_trailing_garbage", "layout", "64 bytes of text after the last block; file_length counts them")
def _():
    data = base_bytes() + b"garbage after the last block, counted in file_length by the header"[:64]
    return set_header_u64(data, 32, len(data))


@case("data_trailing_zeros", "layout", "64 zero bytes after the last block; file_length counts them (nothing may follow the last block)")
def _():
    data = base_bytes() + bytes(64)
    return set_header_u64(data, 32, len(data))


# blocks, when read (§1.4) ......................................................................


@case("block_checksum", "blockChecksum", "one byte of 'blocks.0.W_Q' block 0 changed after its checksum was computed", ["blocks.0.W_Q"])
def _():
    def fn(d):
        b = d.t("blocks.0.W_Q").blocks[0]
        b.checksum = xxh3(b.data)
        b.data = b.data[:10] + bytes([b.data[10] ^ 0x40]) + b.data[11:]
    return mutate(fn)


@case("block_padding_nonzero", "layout", "a 0x01 in the zero padding after 'blocks.0.b_1' block 0 (8 bytes)", ["blocks.0.b_1"])
def _():
    return mutate(lambda d: setattr(d.t("blocks.0.b_1").blocks[0], "pad", bytes(20) + b"\x01"))


def zstd_case(name: str, why: str, make_frame: Callable[[bytes], bytes]):
    """A case whose only fault is the stored bytes of 'W_E' block 0 (zstd,
    shuffled, raw_length 64); make_frame gets the block's filtered bytes."""

    @case(name, "decode", why, ["W_E"])
    def _():
        doc = base()
        t = doc.t("W_E")
        filtered = shuffle(t.raw[:64], 4)
        t.blocks[0].data = make_frame(filtered)
        return build(doc)


zstd_case("zstd_garbage", "'W_E' block 0 holds 24 bytes of text, not a zstd frame (checksum valid)",
          lambda f: b"this is not a zstd frame")
@case("zstd_expansion_over_limit", "limit",
      "'W_E' block 0 declares 262144 raw bytes stored in 4 zstd bytes: more than 32768x, "
      "the densest zstd encoding (an RLE block), so no frame could produce it", mentions=["W_E"])
def _():
    def fn(d):
        t = d.t("W_E")
        t.codec, t.filt = ZSTD, NONE
        t.dims = (16384, 4)
        t.raw = bytes(262144)
        t.block_size = 262144
        t.blocks = [Blk(b"\x28\xb5\x2f\xfd", 262144)]
    return mutate(fn)


zstd_case("zstd_bomb", "'W_E' block 0: a frame declaring content size 64 (= raw_length) whose RLE block makes 128 KiB",
          lambda f: ZSTD_MAGIC + bytes([0x80, 0x38]) + struct.pack("<I", 64) + zblock(1 << 17, 1) + b"\xab")
zstd_case("zstd_content_size_mismatch", "'W_E' block 0: a sound frame of 80 bytes that declares 80, raw_length is 64",
          lambda f: zframe_raw(f + bytes(16)))
zstd_case("zstd_no_content_size", "'W_E' block 0: the right 64 bytes in a frame whose header declares no content size",
          lambda f: ZSTD_MAGIC + bytes([0x00, 0x00]) + zblock(64, 0) + f)
zstd_case("zstd_short_output", "'W_E' block 0: a frame declaring 64 bytes whose only block holds 32",
          lambda f: ZSTD_MAGIC + bytes([0x20, 64]) + zblock(32, 0) + f[:32])
zstd_case("zstd_two_frames", "'W_E' block 0: the right frame followed by a second, empty frame",
          lambda f: zframe_raw(f) + zframe_raw(b""))
zstd_case("zstd_trailing_byte", "'W_E' block 0: the right frame followed by one zero byte",
          lambda f: zframe_raw(f) + b"\0")
zstd_case("zstd_skippable_frame", "'W_E' block 0: a skippable frame holding the 64 bytes",
          lambda f: SKIPPABLE_MAGIC + struct.pack("<I", 64) + f)
zstd_case("zstd_dictionary", "'W_E' block 0: the right bytes in a frame that names dictionary 7",
          lambda f: ZSTD_MAGIC + bytes([0x21, 7, 64]) + zblock(64, 0) + f)
zstd_case("zstd_content_checksum", "'W_E' block 0: a frame with a content checksum that does not match its content",
          lambda f: ZSTD_MAGIC + bytes([0x24, 64]) + zblock(64, 0) + f
          + struct.pack("<I", (xxhash.xxh64_intdigest(f) & 0xFFFFFFFF) ^ 1))
zstd_case("zstd_truncated_frame", "'W_E' block 0: the right frame with its last 8 bytes cut off",
          lambda f: zframe_raw(f)[:-8])


# the model profile (§2) ........................................................................


def model_case(name: str, why: str, mentions: Sequence[str]):
    return case(name, "model", why, mentions, level="model")


@model_case("model_missing_tensor", "'blocks.0.W_O' is missing", ["blocks.0.W_O"])
def _():
    return mutate(lambda d: d.tensors.remove(d.t("blocks.0.W_O")))


@model_case("model_unexpected_tensor", "an extra tensor 'W_U' (4, 5)", ["W_U"])
def _():
    return mutate(lambda d: d.tensors.append(make_tensor("W_U", (4, 5), F32, STORED, NONE, values(20, 9))))


@model_case("model_unexpected_leading_zero", "an extra tensor 'blocks.00.W_1' (indices have no leading zeros)", ["blocks.00.W_1"])
def _():
    return mutate(lambda d: d.tensors.append(make_tensor("blocks.00.W_1", (4, 4), F32, STORED, NONE, values(16, 9))))


@model_case("model_shape_mismatch", "'W_E' has shape (4, 5), expected (V, d_model) = (5, 4)", ["W_E"])
def _():
    return mutate(lambda d: setattr(d.t("W_E"), "dims", (4, 5)))


@model_case("model_shape_rank", "'blocks.0.b_1' has shape (4, 1), expected (d_mlp) = (4)", ["blocks.0.b_1"])
def _():
    return mutate(lambda d: setattr(d.t("blocks.0.b_1"), "dims", (4, 1)))


@model_case("model_vocab_length", "'model.vocab' has 4 strings, vocab_size is 5", ["model.vocab"])
def _():
    return mutate(lambda d: d.m("model.vocab").__setitem__(2, v_strs(VOCAB[:4])))


@model_case("model_vocab_empty_token", "token 2 of 'model.vocab' is empty", ["model.vocab"])
def _():
    return mutate(lambda d: d.m("model.vocab").__setitem__(2, v_strs(["\n", "a", "", "ab", "é"])))


@model_case("model_vocab_duplicate_token", "tokens 1 and 3 of 'model.vocab' are both 'a'", ["model.vocab"])
def _():
    return mutate(lambda d: d.m("model.vocab").__setitem__(2, v_strs(["\n", "a", "b", "a", "é"])))


@model_case("model_vocab_wrong_type", "'model.vocab' is a string, not a list of strings", ["model.vocab"])
def _():
    return mutate(lambda d: d.m("model.vocab").__setitem__(slice(1, 3), [T_STRING, v_str("abcde")]))


@model_case("model_d_model_string", "'model.d_model' is the string \"4\"", ["model.d_model"])
def _():
    return mutate(lambda d: d.m("model.d_model").__setitem__(slice(1, 3), [T_STRING, v_str("4")]))


@model_case("model_n_block_float", "'model.n_block' is the float 1.0", ["model.n_block"])
def _():
    return mutate(lambda d: d.m("model.n_block").__setitem__(slice(1, 3), [T_FLOAT, v_float(1.0)]))


@model_case("model_d_model_odd", "d_model 3 (odd), every shape consistent with it", ["model.d_model"])
def _():
    return build(base(d=3))


@model_case("model_missing_key", "'model.mask_value' is missing", ["model.mask_value"])
def _():
    return mutate(lambda d: d.drop_meta("model.mask_value"))


@model_case("model_unknown_key", "an unknown reserved key 'model.n_ctx' (int 8)", ["model.n_ctx"])
def _():
    return mutate(lambda d: d.meta.append([b"model.n_ctx", T_INT, v_int(8)]))


@model_case("model_positional_base_one", "'model.positional_base' is 1.0 (it must be > 1)", ["model.positional_base"])
def _():
    return mutate(lambda d: d.m("model.positional_base").__setitem__(2, v_float(1.0)))


@model_case("model_epsilon_nan", "'model.rmsnorm_epsilon' is NaN", ["model.rmsnorm_epsilon"])
def _():
    return mutate(lambda d: d.m("model.rmsnorm_epsilon").__setitem__(2, struct.pack("<Q", 0x7FF8000000000000)))


@model_case("model_mask_value_infinite", "'model.mask_value' is -infinity", ["model.mask_value"])
def _():
    return mutate(lambda d: d.m("model.mask_value").__setitem__(2, v_float(-math.inf)))


def with_context_length(type_code: int, value: bytes, minor: int = 1) -> bytes:
    """The base model with 'model.context_length' (spec 2.1, format version 1.1) declaring ``minor``."""

    def edit(d: Doc) -> None:
        d.header["minor"] = minor
        d.meta.append([b"model.context_length", type_code, value])

    return mutate(edit)


@model_case("model_context_length_zero", "'model.context_length' is 0 (format version 1.1; it must be 1 … 2^24)", ["model.context_length"])
def _():
    return with_context_length(T_INT, v_int(0))


@model_case("model_context_length_over_limit", "'model.context_length' is 2^24 + 1 (format version 1.1)", ["model.context_length"])
def _():
    return with_context_length(T_INT, v_int((1 << 24) + 1))


@model_case("model_context_length_float", "'model.context_length' is the float 64.0 (format version 1.1)", ["model.context_length"])
def _():
    return with_context_length(T_FLOAT, v_float(64.0))


@model_case("model_context_length_in_1_0", "'model.context_length' 64 in a file declaring format version 1.0 (the key is part of 1.1)", ["model.context_length"])
def _():
    return with_context_length(T_INT, v_int(64), minor=0)


@model_case("model_unknown_key_1_1", "an unknown reserved key 'model.n_ctx' (int 8) in a file declaring format version 1.1, which the readers know", ["model.n_ctx"])
def _():
    def edit(d: Doc) -> None:
        d.header["minor"] = 1
        d.meta.append([b"model.n_ctx", T_INT, v_int(8)])

    return mutate(edit)


# -- output -------------------------------------------------------------------------------------


def generate() -> Dict[str, Tuple[bytes, dict]]:
    out = {}
    for c in CASES:
        data = c.make()
        assert len(data) < MAX_FILE_SIZE, (c.name, len(data))
        out[c.name] = (data, {"category": c.category, "mentions": c.mentions, "level": c.level, "why": c.why})
    return out


def expected_json(files: Dict[str, Tuple[bytes, dict]]) -> str:
    return json.dumps({name: entry for name, (_, entry) in sorted(files.items())}, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def write(out_dir: str) -> int:
    return write_set(out_dir, generate(), expected_json)


def write_set(out_dir: str, files, expected_text) -> int:
    """Writes `files` (name → (bytes, entry)) and `expected_text(files)` as
    expected.json into `out_dir`; returns how many files."""
    os.makedirs(out_dir, exist_ok=True)
    # Remove files a previous run wrote that are no longer part of the set.
    old = os.path.join(out_dir, "expected.json")
    if os.path.exists(old):
        with open(old, encoding="utf-8") as f:
            for name in json.load(f):
                path = os.path.join(out_dir, name)
                if name not in files and os.path.basename(name) == name and os.path.exists(path):
                    os.remove(path)
    for name, (data, _) in sorted(files.items()):
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
    with open(old, "w", encoding="utf-8", newline="\n") as f:
        f.write(expected_text(files))
    return len(files)


def table() -> str:
    rows = ["| file | level | category | mentions | why |", "|---|---|---|---|---|"]
    for c in CASES:
        mentions = ", ".join(f"`{m}`" for m in c.mentions)
        why = c.why.replace("|", "\\|")
        rows.append(f"| `{c.name}` | {c.level} | `{c.category}` | {mentions} | {why} |")
    return "\n".join(rows) + "\n"


def run_generator(argv: Sequence[str], program: str, what: str, write_set, table_text, default_out: str) -> int:
    """The command line of a set's generator: `[OUT_DIR]` writes the set
    (default `default_out`), `--table` prints its Markdown table."""
    if argv[:1] == ["--table"]:
        sys.stdout.write(table_text())
        return 0
    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        sys.stderr.write(f"usage: {program} [OUT_DIR] | --table\n")
        return 2
    out_dir = argv[0] if argv else default_out
    n = write_set(out_dir)
    print(f"wrote {n} {what} files and expected.json to {out_dir}")
    return 0


def main(argv: Sequence[str]) -> int:
    return run_generator(argv, "make_malformed.py", "malformed", write, table, DEFAULT_OUT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
