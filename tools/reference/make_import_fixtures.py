#!/usr/bin/env python3
"""Writes the fixtures of the npz / safetensors importers (Tests/TXWModelTests/ImportTests.swift).

    python3 tools/reference/make_import_fixtures.py [OUT_DIR]

OUT_DIR defaults to Tests/Fixtures/import. Needs numpy only: npz files come
from np.savez / np.savez_compressed (or, for damaged ones, from the small zip
writer below), safetensors files are written by hand with struct + json.
Output is deterministic (numpy's zip members carry the fixed 1980-01-01 date).

Written:
  - valid files, and expected.json: for each file, its arrays in the order the
    importer returns them (npz: archive order; safetensors: data-offset order),
    each {"name", "dtype" (f16/f32/f64/bf16), "shape", "values"}, the values in
    C order as "0x%016x" float64 bit patterns (every f16/f32/bf16 value is
    exactly a float64);
  - malformed files, and malformed.json: for each, the reader to use ("auto"
    is ArrayImporter.read), the ImportError category it must produce, and
    strings its description must contain (the member / tensor at fault).
"""

import io
import json
import os
import struct
import sys
import zipfile
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "import")


# ---------------------------------------------------------------- values

def arrays():
    """The arrays of the valid npz files: every float dtype, ranks 0..3,
    Fortran order, big-endian, and special values (±0, ±inf, NaN, subnormals)."""
    rng = np.random.default_rng(20260501)
    a = {}
    a["scalar_f64"] = np.array(3.25, dtype=np.float64)
    a["scalar_f16"] = np.array(-0.333, dtype=np.float16)
    a["vec_f32"] = np.array([1.5, -0.0, np.inf, np.nan, 1e-45, -np.inf, 3.4e38], dtype=np.float32)
    a["vec_f64"] = np.array([0.1, -2.5e-310, 1e300, -0.0], dtype=np.float64)
    a["mat_f16"] = np.concatenate([rng.normal(size=10), [65504.0, 6e-8]]).astype(np.float16).reshape(3, 4)
    a["mat_f32"] = rng.normal(size=(4, 3)).astype(np.float32)
    a["cube_f64"] = rng.normal(size=(2, 3, 4))
    a["cube_f32_fortran"] = np.asfortranarray(rng.normal(size=(2, 3, 4)).astype(np.float32))
    a["fortran_f64"] = np.asfortranarray(rng.normal(size=(3, 4)))
    a["big_f32"] = rng.normal(size=(2, 3)).astype(">f4")
    a["big_f64"] = rng.normal(size=(4,)).astype(">f8")
    a["big_f16"] = rng.normal(size=(2, 2)).astype(">f2")
    a["big_fortran_f64"] = np.asfortranarray(rng.normal(size=(2, 3)).astype(">f8"))
    a["nested/name.with.dots"] = np.array([7.0], dtype=np.float64)
    for name, v in a.items():
        assert v.dtype.kind == "f", name
    assert a["fortran_f64"].flags.f_contiguous and not a["fortran_f64"].flags.c_contiguous
    return a


def dtype_name(dt):
    return {2: "f16", 4: "f32", 8: "f64"}[np.dtype(dt).itemsize]


def bits(values_f64):
    return ["0x%016x" % int(b) for b in np.asarray(values_f64, dtype="<f8").ravel(order="C").view("<u8")]


def expected_entry(name, arr):
    arr = np.asarray(arr)
    return {"name": name, "dtype": dtype_name(arr.dtype), "shape": list(arr.shape),
            "values": bits(arr.astype(np.float64))}


def npy_bytes(arr, version=None):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(arr), version=version, allow_pickle=True)
    return buf.getvalue()


def savez(compressed, **named):
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **named)
    return buf.getvalue()


# ---------------------------------------------------------------- zip writer (for damaged archives)

def deflate(raw):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(raw) + c.flush()


def make_zip(members):
    """A plain (non-zip64) zip. Each member: {"name": str or bytes, "data": bytes,
    "method": 0 | 8 | other, optional "compressed", "crc", "usize", "flags"}."""
    out = bytearray()
    central = bytearray()
    for m in members:
        name = m["name"].encode() if isinstance(m["name"], str) else m["name"]
        raw = m["data"]
        method = m.get("method", 0)
        comp = m.get("compressed", deflate(raw) if method == 8 else raw)
        crc = m.get("crc", zlib.crc32(raw))
        usize = m.get("usize", len(raw))
        flags = m.get("flags", 0)
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, 0, 0x21, crc, len(comp), usize, len(name), 0)
        out += name + comp
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, method, 0, 0x21, crc,
                               len(comp), usize, len(name), 0, 0, 0, 0, 0, offset)
        central += name
    cd_offset = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), cd_offset, 0)
    return bytes(out)


def zip64_npz(**named):
    """np.savez_compressed with zipfile's zip64 threshold lowered to 0, so the
    archive has zip64 extra fields in its central directory and the zip64 end
    of central directory record and locator (as a > 2 GiB archive would)."""
    saved = zipfile.ZIP64_LIMIT
    zipfile.ZIP64_LIMIT = 0
    try:
        data = savez(True, **named)
    finally:
        zipfile.ZIP64_LIMIT = saved
    assert b"PK\x06\x06" in data and b"PK\x06\x07" in data
    return data


def versions_npz(a):
    """.npy format versions 1.0, 2.0 and 3.0, stored and deflated."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, version, method in [("v1", (1, 0), zipfile.ZIP_STORED), ("v2", (2, 0), zipfile.ZIP_DEFLATED),
                                      ("v3", (3, 0), zipfile.ZIP_STORED)]:
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            z.writestr(info, npy_bytes(a, version=version))
    return buf.getvalue(), [expected_entry(n, a) for n in ("v1", "v2", "v3")]


# ---------------------------------------------------------------- safetensors

def bf16_bits(x):
    """float64 -> bf16 as the format spec does: to binary32, then round to nearest even."""
    b = int(np.array(x, dtype=np.float32).view(np.uint32))
    return ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) & 0xFFFF


def safetensors(tensors, metadata=None, header_override=None, length_override=None, trailing=b""):
    """tensors: list of (name, dtype, shape, data bytes, offsets or None), data laid out in list order."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    data = bytearray()
    for name, dtype, shape, raw, offsets in tensors:
        begin = len(data)
        data += raw
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": offsets or [begin, len(data)]}
    text = header_override if header_override is not None else json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    n = length_override if length_override is not None else len(text)
    return struct.pack("<Q", n) + text + bytes(data) + trailing


def valid_safetensors():
    rng = np.random.default_rng(20260502)
    f32 = rng.normal(size=(2, 3)).astype("<f4")
    f64 = np.array([1.0, -0.0, np.inf, 2.0 ** -1074], dtype="<f8")
    f16 = rng.normal(size=(3, 2)).astype("<f2")
    scalar = np.array(42.5, dtype="<f4")
    bf_src = [1.0, -2.5, 0.1, 3.0e38, -1e-40, np.pi]
    bf = np.array([bf16_bits(x) for x in bf_src], dtype="<u2").reshape(2, 3)
    bf_values = (bf.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    # Data order (the importer's output order) differs from the header's key order.
    layout = [("bf", "BF16", [2, 3], bf.tobytes()), ("s", "F32", [], scalar.tobytes()),
              ("w_f32", "F32", [2, 3], f32.tobytes()), ("h", "F16", [3, 2], f16.tobytes()),
              ("b.f64", "F64", [4], f64.tobytes())]
    header = {"__metadata__": {"format": "pt", "note": "txw import fixture"}}
    data = bytearray()
    offsets = {}
    for name, dtype, shape, raw in layout:
        offsets[name] = (dtype, shape, [len(data), len(data) + len(raw)])
        data += raw
    for name in ["w_f32", "b.f64", "s", "h", "bf"]:
        dtype, shape, off = offsets[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": off}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    blob = struct.pack("<Q", len(text)) + text + bytes(data)
    expected = [
        {"name": "bf", "dtype": "bf16", "shape": [2, 3], "values": bits(bf_values)},
        {"name": "s", "dtype": "f32", "shape": [], "values": bits(scalar.astype(np.float64))},
        {"name": "w_f32", "dtype": "f32", "shape": [2, 3], "values": bits(f32.astype(np.float64))},
        {"name": "h", "dtype": "f16", "shape": [3, 2], "values": bits(f16.astype(np.float64))},
        {"name": "b.f64", "dtype": "f64", "shape": [4], "values": bits(f64)},
    ]
    return blob, expected


# ---------------------------------------------------------------- malformed

def malformed(valid_stored):
    """(file name, bytes, reader, category, [strings the description must contain])."""
    out = []

    def add(name, blob, reader, category, *mentions):
        out.append((name, blob, reader, category, list(mentions)))

    m = np.arange(12, dtype=np.float64).reshape(3, 4)
    npy_m = npy_bytes(m)

    add("truncated.npz", valid_stored[: len(valid_stored) // 2], "auto", "malformed", "end of central directory")

    bad = bytearray(npy_m)
    bad[-3] ^= 0x40
    add("bad_crc.npz", make_zip([{"name": "w.npy", "data": bytes(bad), "crc": zlib.crc32(npy_m)}]),
        "npz", "checksum", "w.npy")
    bad_deflated = make_zip([{"name": "w.npy", "data": bytes(bad), "method": 8, "crc": zlib.crc32(npy_m)}])
    add("bad_crc_deflated.npz", bad_deflated, "npz", "checksum", "w.npy")

    add("int64.npz", savez(False, x=np.arange(3, dtype=np.int64)), "auto", "dtype", "x.npy", "<i8")
    add("object.npz", savez(False, obj=np.array([1, "a", None], dtype=object)), "auto", "dtype", "obj.npy", "|O")
    add("complex.npz", savez(True, c=np.array([1 + 2j])), "auto", "dtype", "c.npy", "<c16")
    add("structured.npz", savez(False, s=np.zeros(2, dtype=[("a", "<f8"), ("b", "<i4")])), "auto", "dtype", "s.npy")
    add("zero_dim.npz", savez(False, empty=np.zeros((0, 3))), "auto", "shape", "empty.npy")
    add("rank9.npz", savez(False, r=np.zeros((1,) * 9)), "auto", "shape", "r.npy")

    # Header says (3, 5) but the member holds 3 × 4 float64 (CRC made consistent).
    lie = npy_m.replace(b"(3, 4)", b"(3, 5)")
    assert lie != npy_m and len(lie) == len(npy_m)
    add("shape_mismatch.npz", make_zip([{"name": "m.npy", "data": lie}]), "npz", "size", "m.npy")
    # '(3)' is an int in Python, not a tuple.
    one = npy_bytes(np.zeros(3))
    not_tuple = one.replace(b"(3,)", b"(3) ")
    assert not_tuple != one
    add("shape_not_tuple.npz", make_zip([{"name": "t.npy", "data": not_tuple}]), "npz", "malformed", "t.npy")
    add("bad_magic.npz", make_zip([{"name": "q.npy", "data": b"\x93NUMPX" + one[6:]}]), "npz", "malformed", "q.npy")

    # A deflate stream that goes on past the size its .npy header implies
    # (the central directory agrees with the header): inflating must stop.
    npy2 = npy_bytes(np.array([1.0, 2.0]))
    long_stream = npy2 + bytes(100000)
    add("deflate_overrun.npz", make_zip([{"name": "d.npy", "data": long_stream, "method": 8,
                                          "usize": len(npy2), "crc": zlib.crc32(npy2)}]),
        "npz", "inflate", "d.npy")
    # A deflate stream cut short.
    short = deflate(npy_m)
    add("deflate_truncated.npz", make_zip([{"name": "d.npy", "data": npy_m, "method": 8,
                                            "compressed": short[: len(short) // 2]}]), "npz", "inflate", "d.npy")
    # Central directory declares an uncompressed size deflate cannot reach.
    add("deflate_ratio.npz", make_zip([{"name": "z.npy", "data": npy_m, "method": 8, "usize": 0x7FFFFFFF}]),
        "npz", "limit", "z.npy")

    add("not_npy.npz", make_zip([{"name": "a.npy", "data": npy_m}, {"name": "readme.txt", "data": b"hello"}]),
        "npz", "malformed", "readme.txt")
    add("duplicate.npz", make_zip([{"name": "a.npy", "data": npy_m}, {"name": "a.npy", "data": npy_m}]),
        "npz", "duplicateName", "a.npy")
    add("encrypted.npz", make_zip([{"name": "e.npy", "data": npy_m, "flags": 1}]), "npz", "unsupported", "e.npy")
    add("bzip2.npz", make_zip([{"name": "b.npy", "data": npy_m, "method": 12}]), "npz", "unsupported", "b.npy")
    add("bad_name.npz", make_zip([{"name": b"\xff\xfe.npy", "data": npy_m}]), "npz", "invalidUTF8")

    # safetensors
    t4 = np.arange(4, dtype="<f4").tobytes()
    add("st_overlap.safetensors",
        safetensors([("a", "F32", [4], t4, [0, 16]), ("b", "F32", [2], t4[:8], [8, 16])]),
        "auto", "layout", "'b'", "'a'")
    add("st_hole.safetensors",
        safetensors([("a", "F32", [2], t4[:8], [0, 8]), ("b", "F32", [2], t4[8:], [8, 16]),
                     ("c", "F32", [1], t4[:4], [20, 24])], trailing=b"\0" * 4),
        "auto", "layout", "'c'", "hole")
    add("st_offsets_beyond.safetensors", safetensors([("far", "F32", [4], t4, [64, 80])]),
        "auto", "truncated", "'far'")
    add("st_header_beyond.safetensors", safetensors([("a", "F32", [4], t4, None)], length_override=4096),
        "auto", "truncated", "header")
    add("st_header_limit.safetensors", safetensors([("a", "F32", [4], t4, None)], length_override=1 << 63),
        "safetensors", "limit", "header length")
    add("st_not_json.safetensors", safetensors([], header_override=b"{not json at all}"),
        "auto", "malformed", "JSON")
    add("st_not_object.safetensors", struct.pack("<Q", 8) + b"{\"a\":1} ", "auto", "malformed", "'a'")
    add("st_unknown_dtype.safetensors",
        safetensors([("ints", "I64", [2], np.arange(2, dtype="<i8").tobytes(), None)]), "auto", "dtype", "'ints'", "I64")
    add("st_zero_dim.safetensors", safetensors([("z", "F32", [0, 3], b"", None), ("a", "F32", [4], t4, None)]),
        "auto", "shape", "'z'")
    add("st_size_mismatch.safetensors", safetensors([("w", "F32", [2, 3], t4 + t4[:4], None)]),
        "auto", "size", "'w'")
    add("st_trailing.safetensors", safetensors([("a", "F32", [4], t4, None)], trailing=b"\0" * 8),
        "auto", "layout", "after the last tensor")
    add("st_fraction.safetensors", safetensors([("f", "F32", [2.5], t4, None)]), "auto", "malformed", "'f'")
    add("st_negative.safetensors", safetensors([("n", "F32", [-4], t4, None)]), "auto", "malformed", "'n'")
    add("st_bool_dim.safetensors", safetensors([("b", "F32", [True], t4[:4], None)]), "auto", "malformed", "'b'")
    add("st_metadata.safetensors", safetensors([("a", "F32", [4], t4, None)], metadata=3), "auto", "malformed",
        "__metadata__")
    bad_utf8 = b"{\"\xff\":1}"
    add("st_invalid_utf8.safetensors", struct.pack("<Q", len(bad_utf8)) + bad_utf8, "safetensors", "invalidUTF8")
    add("neither.bin", b"hello, this is not an array file\n", "auto", "unrecognized", "neither")
    add("empty.bin", b"", "auto", "unrecognized")
    return out


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    os.makedirs(out_dir, exist_ok=True)

    def write(name, blob):
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(blob)

    a = arrays()
    expected = {}
    stored = savez(False, **a)
    write("savez.npz", stored)
    expected["savez.npz"] = [expected_entry(k, v) for k, v in a.items()]
    write("savez_compressed.npz", savez(True, **a))
    expected["savez_compressed.npz"] = expected["savez.npz"]
    small = {k: a[k] for k in ("scalar_f64", "mat_f16", "big_fortran_f64")}
    write("zip64.npz", zip64_npz(**small))
    expected["zip64.npz"] = [expected_entry(k, v) for k, v in small.items()]
    blob, entries = versions_npz(a["cube_f64"])
    write("versions.npz", blob)
    expected["versions.npz"] = entries
    write("empty.npz", savez(False))
    expected["empty.npz"] = []
    blob, entries = valid_safetensors()
    write("tensors.safetensors", blob)
    expected["tensors.safetensors"] = entries

    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")

    manifest = {}
    for name, blob, reader, category, mentions in malformed(stored):
        write(name, blob)
        manifest[name] = {"reader": reader, "category": category, "mentions": mentions}
    with open(os.path.join(out_dir, "malformed.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
