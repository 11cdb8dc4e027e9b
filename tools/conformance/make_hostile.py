#!/usr/bin/env python3
"""Writes the conformance set of hostile but valid `.txw` files (Spec/txw-format.md §1.9).

    python3 tools/conformance/make_hostile.py [OUT_DIR]
    python3 tools/conformance/make_hostile.py --table     # the README's table, to stdout

OUT_DIR defaults to Tests/Fixtures/hostile. The bytes are built field by field
with make_malformed.py's writer (independently of both readers and writers;
Zstandard frames written by hand). Every file is VALID: a conforming reader
must accept it and report exactly what expected.json lists — names, keys and
strings byte for byte, values bit for bit — without allocating what it does
not need. See tools/conformance/README.md for the meaning of each field.

The output is deterministic: running it twice gives identical bytes.
"""

from __future__ import annotations

import json
import math
import os
import struct
import sys
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_malformed as mm  # noqa: E402  (the field-by-field writer)
from make_malformed import (  # noqa: E402
    BF16, F16, F32, F64, NONE, SHUFFLE, STORED, ZSTD, T_BOOL, T_FLOAT, T_INT, T_STRING, T_STRINGS,
    Blk, Doc, Ten, build, v_float, v_int, v_str, v_strs,
)

DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "..", "Tests", "Fixtures", "hostile"))
MAX_FILE_SIZE = 4096  # per file, except the cases that say why they need more
MAX_SET_SIZE = 200 * 1024  # the whole set
DTYPE = {F32: "f32", F64: "f64", F16: "f16", BF16: "bf16"}
CODEC = {STORED: "stored", ZSTD: "zstd"}
FILTER = {NONE: "none", SHUFFLE: "shuffle"}
TYPE = {T_INT: "int", T_FLOAT: "float", T_BOOL: "bool", T_STRING: "string", T_STRINGS: "strings"}

# -- hostile strings ------------------------------------------------------------------------------
# Each is valid UTF-8 and legal wherever a string may be (a name or key is 1 … 255 bytes; U+0000 is
# allowed, Spec/txw-format.md §1.3). A reader must return them exactly; a tool escapes them to print.

HOSTILE: List[Tuple[str, str]] = [
    ("esc_title", "\x1b]0;owned\x07"),  # OSC: sets the terminal window title
    ("esc_clear", "\x1b[2J\x1b[H"),  # CSI: clears the screen
    ("esc_fake_ok", "\x1b[1A\x1b[2K\rOK, verified"),  # moves up, erases the line, prints a fake result
    ("c1_csi", "\u009b31mred"),  # the 8-bit CSI, U+009B (C2 9B in UTF-8)
    ("newline", "two\nlines"),
    ("carriage_return", "over\rwrite"),
    ("tab", "a\tb"),
    ("nul", "a\x00b"),
    ("del_backspace", "a\x7f\x08b"),
    ("bidi_override", "\u202egnp.exe"),  # right-to-left override: shows as exe.png
    ("zero_width", "a\u200bb\u200dc\ufeff"),  # zero-width space, joiner, BOM
    ("line_separators", "a\u2028b\u2029c"),
    ("backslash_x1b", "\\x1b[2J"),  # literal backslash: must not read back as an escaped ESC
    ("quotes", "'\"`"),
    ("nfc_e_acute", "caf\u00e9"),  # these two are canonically equivalent, and different
    ("nfd_e_acute", "cafe\u0301"),  # strings (bytes, code points): both must come back as written
    ("astral", "\U0001f600\U0010ffff"),
    ("noncharacters", "\ufffe\uffff"),
    ("max_255_bytes", "\x1b[0m" * 63 + "end"),  # the longest name or key: 255 bytes
]
assert len({s for _, s in HOSTILE}) == len(HOSTILE)
assert all(1 <= len(s.encode()) <= 255 for _, s in HOSTILE)
assert len(HOSTILE[-1][1].encode()) == 255


# -- bit-exact values -----------------------------------------------------------------------------


def f64_bits(x: float) -> str:
    return "0x%016x" % struct.unpack("<Q", struct.pack("<d", x))[0]


def bits_f64(b: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", b))[0]


def widen(raw: bytes, dtype: int) -> List[str]:
    """The exact float64 value of each element of `raw`, as bit patterns (every f32, f16 and bf16
    value is exact in f64; a NaN keeps its sign and becomes the quiet NaN with no payload)."""
    size = mm.ESIZE[dtype]
    out = []
    for i in range(0, len(raw), size):
        e = raw[i : i + size]
        if dtype == F64:
            out.append("0x%016x" % struct.unpack("<Q", e)[0])
            continue
        x = {F32: lambda: struct.unpack("<f", e)[0], F16: lambda: struct.unpack("<e", e)[0],
             BF16: lambda: struct.unpack("<f", b"\0\0" + e)[0]}[dtype]()
        if math.isnan(x):
            sign = e[-1] & 0x80
            out.append("0xfff8000000000000" if sign else "0x7ff8000000000000")
        else:
            out.append(f64_bits(x))
    return out


F64_EXTREMES = [  # bit patterns
    0x7FE1CCF385EBC8A0,  # 1e308
    0xFFE1CCF385EBC8A0,  # -1e308
    0x7FEFFFFFFFFFFFFF,  # the largest finite
    0xFFEFFFFFFFFFFFFF,
    0x7FF0000000000000,  # +inf
    0xFFF0000000000000,  # -inf
    0x7FF8000000000000,  # quiet NaN
    0xFFF8000000000000,  # negative quiet NaN
    0x0000000000000001,  # the smallest subnormal, 5e-324
    0x800FFFFFFFFFFFFF,  # the most negative subnormal
    0x0010000000000000,  # the smallest normal
    0x8000000000000000,  # -0
    0x0000000000000000,
    0x3FF0000000000000,  # 1
]
assert bits_f64(F64_EXTREMES[0]) == 1e308
F32_EXTREMES = [0x7F7FFFFF, 0xFF7FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000,
                0x00000001, 0x807FFFFF, 0x00800000, 0x80000000, 0x3F800000, 0x4B800001]
F16_EXTREMES = [0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x7E00, 0xFE00, 0x0001, 0x83FF, 0x0400, 0x8000, 0x3C00]
BF16_EXTREMES = [0x7F7F, 0xFF7F, 0x7F80, 0xFF80, 0x7FC0, 0xFFC0, 0x0001, 0x807F, 0x0080, 0x8000, 0x3F80]


def raw_of(bits: Sequence[int], dtype: int) -> bytes:
    fmt = {F64: "Q", F32: "I", F16: "H", BF16: "H"}[dtype]
    return struct.pack(f"<{len(bits)}{fmt}", *bits)


# -- Zstandard frames beyond make_malformed's one-byte sizes -----------------------------------------


def zframe_rle_large(byte: int, n: int) -> bytes:
    """One single-segment frame with a 4-byte content size, made of RLE blocks of at most
    128 KiB each (the largest block zstd allows): the densest frame for `n` bytes."""
    assert 256 <= n < (1 << 32)
    out = [mm.ZSTD_MAGIC, bytes([0xA0]), struct.pack("<I", n)]  # FCS 4 bytes, single segment
    left = n
    while left:
        size = min(left, 1 << 17)
        left -= size
        out.append(mm.zblock(size, 1, last=left == 0) + bytes([byte]))
    return b"".join(out)


def zframe_raw_large(content: bytes) -> bytes:
    """One single-segment frame with a 2-byte content size field and one raw block."""
    assert 256 <= len(content) < 65536 + 256
    return mm.ZSTD_MAGIC + bytes([0x60]) + struct.pack("<H", len(content) - 256) + mm.zblock(len(content), 0) + content


def tensor(name: str, dims: Tuple[int, ...], dtype: int, raw: bytes, codec: int = STORED, filt: int = NONE,
           block_size: int = 64) -> Ten:
    t = Ten(name.encode(), dtype, codec, filt, tuple(dims), raw, block_size=block_size)
    t.blocks = []
    for start in range(0, len(raw), block_size):
        chunk = raw[start : start + block_size]
        filtered = mm.shuffle(chunk, mm.ESIZE[dtype]) if filt == SHUFFLE else chunk
        if codec == ZSTD:
            stored = mm.zstd_encode(filtered) if len(filtered) < 256 else zframe_raw_large(filtered)
        else:
            stored = filtered
        t.blocks.append(Blk(stored, len(chunk)))
    return t


# -- the cases ------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    level: str  # "container" or "model"
    why: str
    make: Callable[[], Doc]
    details: Sequence[str] = ()  # tensors whose bytes and values expected.json lists (all: None)
    model: Optional[dict] = None  # for level "model": {"f64": ..., "f32": ...}
    max_size: int = MAX_FILE_SIZE


CASES: List[Case] = []


def case(name: str, why: str, level: str = "container", details: Optional[Sequence[str]] = None,
         model: Optional[dict] = None, max_size: int = MAX_FILE_SIZE):
    def register(make: Callable[[], Doc]) -> Callable[[], Doc]:
        assert name not in {c.name for c in CASES}, name
        CASES.append(Case(name + ".txw", level, why, make, details, model, max_size))
        return make

    return register


LOADS = {"result": "load"}


def refused(key: str) -> dict:
    return {"result": "reject", "category": "model", "mentions": [key]}


@case("container_empty", "no metadata and no tensors: the smallest valid file (file_length = data_offset = 128)")
def _():
    return Doc([], [])


@case("strings_tensor_names", "one tensor per hostile string, named by it (escapes, C1 CSI, newline, CR, NUL, bidi "
      "override, zero-width, U+2028, a literal backslash, NFC/NFD twins, 255 bytes); tensor i holds the f32 value i")
def _():
    return Doc([], [tensor(s, (1,), F32, struct.pack("<f", i)) for i, (_, s) in enumerate(HOSTILE)])


@case("strings_metadata", "every hostile string as a metadata key, as a string value, and in a list of strings "
      "(with the empty string); a tensor 'x' so blocks are verified too")
def _():
    meta = []
    n = len(HOSTILE)
    for i, (_, s) in enumerate(HOSTILE):
        meta.append([s.encode(), T_STRING, v_str(HOSTILE[(i + 1) % n][1])])  # each key holds the next string
    meta.append([b"all", T_STRINGS, v_strs([s for _, s in HOSTILE] + [""])])
    meta.append([b"empty", T_STRING, v_str("")])
    meta.append([b"empty_list", T_STRINGS, v_strs([])])
    return Doc(meta, [tensor("x", (2,), F32, struct.pack("<2f", 1.5, -2.5))])


@case("values_extreme", "±1e308, the largest finite, ±inf, ±NaN, subnormals, ±0 in f64, f32, f16 and bf16 tensors "
      "(stored, and zstd with byte-shuffle), a rank-8 tensor, and extreme int/float/bool metadata (±NaN, signalling NaN, "
      "±inf, -0, i64 min and max)")
def _():
    meta = [
        [b"float.1e308", T_FLOAT, v_float(1e308)],
        [b"float.max", T_FLOAT, struct.pack("<Q", 0x7FEFFFFFFFFFFFFF)],
        [b"float.minus_1e308", T_FLOAT, v_float(-1e308)],
        [b"float.minus_inf", T_FLOAT, struct.pack("<Q", 0xFFF0000000000000)],
        [b"float.minus_zero", T_FLOAT, struct.pack("<Q", 0x8000000000000000)],
        [b"float.nan_negative", T_FLOAT, struct.pack("<Q", 0xFFF8000000000000)],
        [b"float.nan_payload", T_FLOAT, struct.pack("<Q", 0x7FF800000000ABCD)],
        [b"float.nan_signalling", T_FLOAT, struct.pack("<Q", 0x7FF0000000000001)],
        [b"float.subnormal", T_FLOAT, struct.pack("<Q", 0x0000000000000001)],
        [b"int.max", T_INT, v_int((1 << 63) - 1)],
        [b"int.min", T_INT, v_int(-(1 << 63))],
        [b"bool.false", T_BOOL, b"\x00"],
    ]
    tensors = [
        tensor("f64", (len(F64_EXTREMES),), F64, raw_of(F64_EXTREMES, F64)),
        tensor("f64.zstd_shuffle", (2, 7), F64, raw_of(F64_EXTREMES, F64), ZSTD, SHUFFLE),
        tensor("f32", (len(F32_EXTREMES),), F32, raw_of(F32_EXTREMES, F32)),
        tensor("f32.zstd_shuffle", (len(F32_EXTREMES),), F32, raw_of(F32_EXTREMES, F32), ZSTD, SHUFFLE),
        tensor("f16", (len(F16_EXTREMES),), F16, raw_of(F16_EXTREMES, F16)),
        tensor("bf16", (len(BF16_EXTREMES),), BF16, raw_of(BF16_EXTREMES, BF16), ZSTD, SHUFFLE),
        tensor("rank8", (1, 1, 1, 2, 1, 1, 1, 1), F64, raw_of(F64_EXTREMES[:2], F64)),
        tensor("scalar", (), F64, raw_of([F64_EXTREMES[8]], F64)),
    ]
    return Doc(meta, tensors)


HUGE_DIMS = (1 << 16, 1 << 15)  # 2^31 f16 elements: 2^32 bytes (4 GiB)
HUGE_BLOCK = 1 << 26  # the largest block_size: 64 blocks
HUGE_BYTE = 0x3C  # every element is 0x3c3c (1.05859375)


@case("huge_tensor", "'huge' declares 2^31 f16 elements (4 GiB, 64 blocks of 64 MiB) stored as the densest zstd "
      "frames (RLE blocks, 2057 bytes a block, near the 32768x limit): a reader opens and verifies it without "
      "allocating the tensor; reading it is a memory-budget decision", details=["tail"], max_size=140 * 1024)
def _():
    raw_size = math.prod(HUGE_DIMS) * 2
    t = Ten(b"huge", F16, ZSTD, NONE, HUGE_DIMS, b"", block_size=HUGE_BLOCK)
    frame = zframe_rle_large(HUGE_BYTE, HUGE_BLOCK)
    assert len(frame) >= HUGE_BLOCK // 32768
    t.blocks = [Blk(frame, HUGE_BLOCK) for _ in range(raw_size // HUGE_BLOCK)]
    tail = tensor("tail", (2,), F32, struct.pack("<2f", 1.5, -2.5))
    return Doc([[b"description", T_STRING, v_str("a 4 GiB tensor in a small file")]], [t, tail])


MANY = 256


def many_name(i: int) -> str:
    return "t%03d" % ((i * 7) % MANY)  # a permutation (7 is prime to 256): file order is not sorted order


@case("many_tensors", f"{MANY} one-element (rank 0) f32 tensors in an order that is not sorted; tensor i holds the "
      f"value i (a reader keeps file order and finds each by name)", details=["t000", "t255", many_name(MANY - 1)],
      max_size=32 * 1024)
def _():
    return Doc([], [tensor(many_name(i), (), F32, struct.pack("<f", i)) for i in range(MANY)])


# models ...........................................................................................


def model_doc(**changes) -> Doc:
    doc = mm.base()
    for key, (type_code, value) in changes.items():
        key = ("model." + key).encode()
        doc.meta = [e for e in doc.meta if e[0] != key] + [[key, type_code, value]]
    return doc


def model_case(name: str, why: str, f32: dict):
    return case(name, why, level="model", details=[], model={"f64": LOADS, "f32": f32})


@model_case("model_vocab_hostile", "a model whose vocabulary is the hostile strings (NFC and NFD 'café' are "
            "distinct tokens as code points); loads in both precisions with every token exact", LOADS)
def _():
    tokens = [s for _, s in HOSTILE]
    doc = mm.base(V=len(tokens))
    doc.m("model.vocab")[2] = v_strs(tokens)
    return doc


@model_case("model_mask_value_zero", "mask_value 0: legal (sampling recomputes every token, as the notebook does); "
            "loads in both precisions", LOADS)
def _():
    return model_doc(mask_value=(T_FLOAT, v_float(0.0)))


@model_case("model_mask_value_1e300", "mask_value -1e300: finite in f64, -inf in f32 (every logit NaN): loads in f64, "
            "refused in f32 naming the key", refused("model.mask_value"))
def _():
    return model_doc(mask_value=(T_FLOAT, v_float(-1e300)))


@model_case("model_mask_value_f32_max", "mask_value -3.4028234663852886e38, exactly the most negative finite f32: "
            "loads in both precisions", LOADS)
def _():
    return model_doc(mask_value=(T_FLOAT, v_float(-3.4028234663852886e38)))


@model_case("model_epsilon_1e-50", "rmsnorm_epsilon 1e-50: positive in f64, 0 in f32: loads in f64, refused in f32 "
            "naming the key", refused("model.rmsnorm_epsilon"))
def _():
    return model_doc(rmsnorm_epsilon=(T_FLOAT, v_float(1e-50)))


@model_case("model_epsilon_zero", "rmsnorm_epsilon 0 (allowed: ≥ 0): loads in both precisions", LOADS)
def _():
    return model_doc(rmsnorm_epsilon=(T_FLOAT, v_float(0.0)))


@model_case("model_positional_base_1e300", "positional_base 1e300 (positions are computed in f64 in both "
            "precisions): loads in both", LOADS)
def _():
    return model_doc(positional_base=(T_FLOAT, v_float(1e300)))


@model_case("model_n_block_zero", "n_block 0: only W_E, the block hyperparameters still present; loads in both", LOADS)
def _():
    return mm.base(N=0)


# -- expected.json ------------------------------------------------------------------------------


def meta_value(type_code: int, value: bytes):
    if type_code == T_INT:
        return str(struct.unpack("<q", value)[0])
    if type_code == T_FLOAT:
        return "0x%016x" % struct.unpack("<Q", value)[0]
    if type_code == T_BOOL:
        return value == b"\x01"
    if type_code == T_STRING:
        return value[4:].decode()
    count = struct.unpack_from("<I", value)[0]
    items, pos = [], 4
    for _ in range(count):
        n = struct.unpack_from("<I", value, pos)[0]
        items.append(value[pos + 4 : pos + 4 + n].decode())
        pos += 4 + n
    return items


def expectation(c: Case, doc: Doc) -> dict:
    meta = sorted(doc.meta, key=lambda e: e[0])
    entry: dict = {
        "level": c.level,
        "why": c.why,
        "metadata": [{"key": k.decode(), "type": TYPE[t], "value": meta_value(t, v)} for k, t, v in meta],
        "tensor_names": [t.name.decode() for t in doc.tensors],
        "tensors": {},
    }
    for t in doc.tensors:
        name = t.name.decode()
        info = {
            "dtype": DTYPE[t.dtype], "shape": list(t.dims), "codec": CODEC[t.codec], "filter": FILTER[t.filt],
            "block_size": t.block_size, "block_count": len(t.blocks),
            "raw_size": sum(b.raw_length for b in t.blocks), "stored_size": sum(len(b.data) for b in t.blocks),
        }
        assert info["raw_size"] == math.prod(t.dims) * mm.ESIZE[t.dtype]
        if c.details is None or name in c.details:
            info["raw"] = t.raw.hex()
            info["values"] = widen(t.raw, t.dtype)
        if c.details is None or name in c.details or len(doc.tensors) <= 64:
            entry["tensors"][name] = info
    if c.level == "model":
        vocab = next((meta_value(t, v) for k, t, v in meta if k == b"model.vocab"), None)
        entry["model"] = dict(c.model, vocab=vocab)
    return entry


def generate() -> Dict[str, Tuple[bytes, dict]]:
    out = {}
    for c in CASES:
        doc = c.make()
        data = build(doc)
        assert len(data) < c.max_size, (c.name, len(data))
        out[c.name] = (data, expectation(c, doc))
    assert sum(len(d) for d, _ in out.values()) < MAX_SET_SIZE
    return out


def expected_json(files: Dict[str, Tuple[bytes, dict]]) -> str:
    """One line per field of each file's entry, compact within it; ensure_ascii: the file itself
    holds no raw control, bidi or separator characters."""
    def dump(value) -> str:
        return json.dumps(value, ensure_ascii=True, sort_keys=True, separators=(",", ":"))

    entries = []
    for name, (_, entry) in sorted(files.items()):
        fields = ",\n".join(f"  {dump(k)}: {dump(v)}" for k, v in sorted(entry.items()))
        entries.append(f" {dump(name)}: {{\n{fields}\n }}")
    text = "{\n" + ",\n".join(entries) + "\n}\n"
    assert json.loads(text) == {name: entry for name, (_, entry) in files.items()}
    return text


def write(out_dir: str) -> int:
    return mm.write_set(out_dir, generate(), expected_json)


def table() -> str:
    files = generate()
    rows = ["| file | bytes | level | f64 | f32 | why |", "|---|---|---|---|---|---|"]
    for c in CASES:
        data, entry = files[c.name]
        model = entry.get("model") or {}

        def outcome(p):
            if not model:
                return ""
            r = model[p]
            return "load" if r["result"] == "load" else f"refused (`{r['category']}`, {', '.join(r['mentions'])})"

        why = c.why.replace("|", "\\|")
        rows.append(f"| `{c.name}` | {len(data)} | {c.level} | {outcome('f64')} | {outcome('f32')} | {why} |")
    return "\n".join(rows) + "\n"


def main(argv: Sequence[str]) -> int:
    return mm.run_generator(argv, "make_hostile.py", "hostile", write, table, DEFAULT_OUT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
