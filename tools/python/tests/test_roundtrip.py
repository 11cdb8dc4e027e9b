"""Round trips through write_container / read_container, and the writer's rules."""

import itertools
import math
import os
import struct

import numpy as np
import pytest

import txw
from txw import dtypes

import forge

DTYPES = ["f32", "f64", "f16", "bf16"]
CODECS = ["stored", "zstd"]
FILTERS = ["none", "shuffle"]
NUMPY_OF = {"f32": np.float32, "f64": np.float64, "f16": np.float16, "bf16": np.float32}


def bits64(array):
    return np.asarray(array, dtype=np.float64).reshape(-1).view(np.uint64)


def same_values(a, b):
    """Bit-identical float64 values, any NaN matching any NaN."""
    a, b = np.asarray(a, dtype=np.float64).reshape(-1), np.asarray(b, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        return False
    nan = np.isnan(a)
    return bool(np.array_equal(nan, np.isnan(b)) and np.array_equal(bits64(a[~nan]), bits64(b[~nan])))


def sample_values(n, seed=0):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=n) * 10
    specials = [np.inf, -np.inf, np.nan, -0.0, 0.0, 65504.0, 1e-8, 3.4e38, 1e-45, 5e-324]
    values[: len(specials)] = specials[:n]
    return values


@pytest.mark.parametrize("dtype,codec,filt", list(itertools.product(DTYPES, CODECS, FILTERS)))
def test_round_trip_every_combination(tmp_path, dtype, codec, filt):
    path = tmp_path / "t.txw"
    a = sample_values(3 * 5, seed=1).reshape(3, 5)
    b = sample_values(200, seed=2)
    s = np.float64(-2.75)
    tensors = [
        txw.Tensor("a", a, dtype, codec, filt),
        txw.Tensor("b", b, dtype, codec, filt),
        txw.Tensor("s", s, dtype, codec, filt),
    ]
    txw.write_container(path, tensors, block_size=64)
    with txw.read_container(path) as c:
        assert c.names == ["a", "b", "s"]
        c.verify()
        for t, source in zip(c.tensors, (a, b, s)):
            assert (t.dtype, t.codec, t.filter, t.block_size) == (dtype, codec, filt, 64)
            assert t.shape == np.shape(source)
            value = c.read(t.name)
            assert value.dtype == NUMPY_OF[dtype]
            assert value.shape == np.shape(source)
            assert same_values(value, dtypes.stored_values(source, dtype))
        assert len(c.tensor("b").blocks) == math.ceil(200 * dtypes.ELEMENT_SIZE[dtype] / 64)


def test_defaults_and_kept_dtypes(tmp_path):
    path = tmp_path / "d.txw"
    arrays = {
        "f64": np.arange(6.0),
        "f32": np.arange(6, dtype=np.float32),
        "f16": np.arange(6, dtype=np.float16),
        "int": np.arange(6),
        "bool": np.array([True, False]),
        "big_endian": np.arange(4, dtype=">f8"),
    }
    txw.write_container(path, arrays)
    with txw.read_container(path) as c:
        got = {t.name: (t.dtype, t.codec, t.filter, t.block_size) for t in c.tensors}
        assert got["f64"] == ("f64", "zstd", "shuffle", 1 << 20)
        assert got["f32"][0] == "f32" and got["f16"][0] == "f16"
        assert got["int"][0] == "f64" and got["bool"][0] == "f64" and got["big_endian"][0] == "f64"
        np.testing.assert_array_equal(c.read("big_endian"), [0, 1, 2, 3])
        np.testing.assert_array_equal(c.read("bool"), [1.0, 0.0])


def test_multi_block_exact_and_partial(tmp_path):
    path = tmp_path / "m.txw"
    exact = np.arange(64, dtype=np.float32)  # 256 bytes: 4 full blocks
    partial = np.arange(37, dtype=np.float64)  # 296 bytes: 4 blocks + 40
    txw.write_container(path, [("exact", exact), ("partial", partial)], block_size=64, codec="stored", shuffle=False)
    with txw.read_container(path) as c:
        e, p = c.tensor("exact"), c.tensor("partial")
        assert [b.raw_length for b in e.blocks] == [64] * 4
        assert [b.raw_length for b in p.blocks] == [64] * 4 + [40]
        assert all(b.offset % 64 == 0 for b in e.blocks + p.blocks)
        assert c.file_length == p.blocks[-1].offset + 40 == os.path.getsize(path)
        np.testing.assert_array_equal(c.read("exact"), exact)
        np.testing.assert_array_equal(c.read("partial"), partial)


def test_stored_none_is_plain_little_endian_bytes(tmp_path):
    path = tmp_path / "p.txw"
    values = np.linspace(-1, 1, 50)
    txw.write_container(path, [("v", values, "f64")], codec="stored", shuffle=False, block_size=1 << 20)
    with txw.read_container(path) as c:
        block = c.tensor("v").blocks[0]
    raw = path.read_bytes()[block.offset : block.offset + block.stored_length]
    assert raw == values.astype("<f8").tobytes()


def test_shuffle_layout_matches_spec(tmp_path):
    path = tmp_path / "s.txw"
    values = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    txw.write_container(path, [("v", values)], codec="stored", shuffle=True)
    with txw.read_container(path) as c:
        block = c.tensor("v").blocks[0]
    stored = path.read_bytes()[block.offset : block.offset + 12]
    raw = values.astype("<f4").tobytes()
    n, size = 3, 4
    assert all(stored[j * n + i] == raw[i * size + j] for i in range(n) for j in range(size))


def test_determinism(tmp_path):
    a = sample_values(1000, seed=3).reshape(10, 100)
    meta = {"z": 1, "a": "first", "m": [u"ü", ""], "f": 0.1, "b": False}
    for index in range(2):
        txw.write_container(tmp_path / f"{index}.txw", [("x", a), ("y", a, "bf16"), ("s", 1.5)], meta, block_size=256)
    assert (tmp_path / "0.txw").read_bytes() == (tmp_path / "1.txw").read_bytes()
    # metadata order in the file is bytewise by key, whatever the dict order
    txw.write_container(tmp_path / "2.txw", [("x", a), ("y", a, "bf16"), ("s", 1.5)], dict(reversed(list(meta.items()))), block_size=256)
    assert (tmp_path / "0.txw").read_bytes() == (tmp_path / "2.txw").read_bytes()


def test_rank_zero_and_rank_eight(tmp_path):
    path = tmp_path / "r.txw"
    eight = np.arange(2 ** 8, dtype=np.float32).reshape((2,) * 8)
    txw.write_container(path, [("scalar", np.float64(7.25)), ("eight", eight)], block_size=64)
    with txw.read_container(path) as c:
        scalar = c.read("scalar")
        assert scalar.shape == () and scalar.dtype == np.float64 and float(scalar) == 7.25
        assert c.tensor("scalar").rank == 0 and c.tensor("scalar").element_count == 1
        np.testing.assert_array_equal(c.read("eight"), eight)


def test_metadata_every_type(tmp_path):
    path = tmp_path / "meta.txw"
    meta = {
        "int.max": 2 ** 63 - 1,
        "int.min": -(2 ** 63),
        "int.zero": 0,
        "float": 0.1,
        "float.nan": float("nan"),
        "float.inf": float("-inf"),
        "float.neg_zero": -0.0,
        "numpy.float32": np.float32(0.5),
        "numpy.int": np.int16(-3),
        "bool.true": True,
        "bool.false": np.bool_(False),
        "string": "héllo ∑ 🎉",
        "string.empty": "",
        "string.nul": "a\x00b",
        "strings": ["a", "β", "", "🎉"],
        "strings.empty": [],
        "ключ ∑": "unicode key",
    }
    txw.write_container(path, [], meta)
    with txw.read_container(path) as c:
        assert c.tensors == []
        assert c.file_length == c.data_offset
        assert list(c.metadata) == sorted(meta, key=lambda k: k.encode())
        types = c.metadata_types
        assert types["int.max"] == types["int.min"] == types["numpy.int"] == "int"
        assert types["float"] == types["float.nan"] == types["numpy.float32"] == "float"
        assert types["bool.true"] == types["bool.false"] == "bool"
        assert types["string"] == types["string.empty"] == "string"
        assert types["strings"] == types["strings.empty"] == "strings"
        m = c.metadata
        assert m["int.max"] == 2 ** 63 - 1 and m["int.min"] == -(2 ** 63) and m["numpy.int"] == -3
        assert m["float"] == 0.1 and math.isnan(m["float.nan"]) and m["float.inf"] == -math.inf
        assert math.copysign(1, m["float.neg_zero"]) == -1
        assert m["bool.true"] is True and m["bool.false"] is False
        assert m["string"] == "héllo ∑ 🎉" and m["string.nul"] == "a\x00b"
        assert m["strings"] == ["a", "β", "", "🎉"] and m["strings.empty"] == []
        assert m["ключ ∑"] == "unicode key"


def test_nan_float_metadata_keeps_its_bits(tmp_path):
    path = tmp_path / "nan.txw"
    payload = struct.unpack("<d", struct.pack("<Q", 0x7FF4000000000123))[0]
    txw.write_container(path, [], {"x": payload})
    with txw.read_container(path) as c:
        assert struct.pack("<d", c.metadata["x"]) == struct.pack("<Q", 0x7FF4000000000123)


# -- conversions (spec 1.5) -------------------------------------------------------


def bf16_reference(value: float) -> int:
    """bf16 bits of a float64, by the spec's words, one value at a time."""
    with np.errstate(over="ignore"):
        f32 = struct.unpack("<I", np.float32(value).tobytes())[0]
    if math.isnan(value):
        return (f32 >> 16) | 0x0040
    upper, lower = f32 >> 16, f32 & 0xFFFF
    if lower > 0x8000 or (lower == 0x8000 and upper & 1):
        upper += 1
    return upper


def test_bf16_rounding():
    cases = [
        1.0,
        -1.0,
        1.0 + 2 ** -8,  # tie, even below: stays 1.0
        1.0 + 3 * 2 ** -8,  # tie, odd below: rounds up
        1.0 + 2 ** -8 + 2 ** -20,  # above tie
        3.3895313892515355e38,  # largest bf16
        3.4028234663852886e38,  # largest f32: overflows to inf
        1e39,  # beyond f32
        -1e39,
        float("inf"),
        float("-inf"),
        float("nan"),
        -0.0,
        1e-40,  # f32 subnormal
        1e-46,  # rounds to zero in f32
        0.1,
    ]
    with np.errstate(over="ignore"):
        got = txw.dtypes.float32_to_bf16_bits(np.array(cases, dtype=np.float64).astype(np.float32))
    assert [int(g) for g in got] == [bf16_reference(v) for v in cases]
    assert int(got[2]) == 0x3F80 and int(got[3]) == 0x3F82
    assert int(got[6]) == 0x7F80 and int(got[8]) == 0xFF80
    signalling = np.array([0x7F800001, 0xFF800001], dtype=np.uint32).view(np.float32)
    quiet = txw.dtypes.float32_to_bf16_bits(signalling)
    assert [hex(int(q)) for q in quiet] == ["0x7fc0", "0xffc0"]


def test_f64_to_bf16_goes_through_f32():
    # 1 + 2^-8 + 2^-30: as float32 it is exactly the tie 1 + 2^-8, which rounds to even (1.0);
    # a direct rounding from float64 would give 1 + 2^-7.
    value = 1.0 + 2 ** -8 + 2 ** -30
    assert float(txw.dtypes.stored_values(np.array([value]), "bf16")[0]) == 1.0


def test_narrowing_gives_quiet_nans():
    nans = np.array([0x7FF0000000000001, 0x7FF4000000000000, 0xFFF8000000000000, 0x7FF8000000000123], dtype=np.uint64).view(np.float64)
    f16 = txw.dtypes.encode(nans, "f16").view(np.uint16)
    assert [hex(int(b)) for b in f16] == ["0x7e00", "0x7f00", "0xfe00", "0x7e00"]
    with np.errstate(invalid="ignore"):
        nans32 = nans.astype(np.float32)
    f16_from_f32 = txw.dtypes.encode(nans32, "f16").view(np.uint16)
    assert all(int(b) & 0x7E00 == 0x7E00 for b in f16_from_f32)
    f32 = txw.dtypes.encode(nans, "f32").view(np.uint32)
    assert all(int(b) & 0x7FC00000 == 0x7FC00000 for b in f32)
    # no narrowing, no change: f16 and f32 NaN payloads are stored as given
    given = np.array([0x7C01], dtype=np.uint16).view(np.float16)
    assert int(txw.dtypes.encode(given, "f16").view(np.uint16)[0]) == 0x7C01


def test_every_narrowing_keeps_sign_and_top_payload_bits_of_nans(tmp_path):
    # spec 1.5: a NaN becomes a quiet NaN (sign and top payload bits kept), for every narrowing
    f64 = np.array(
        [0x7FF0000000000001, 0x7FF4000000000000, 0xFFF8000000000000, 0x7FF0000020000000, 0xFFF0200000000000],
        dtype=np.uint64,
    ).view(np.float64)
    assert [hex(int(b)) for b in txw.dtypes.encode(f64, "f32").view(np.uint32)] == [
        "0x7fc00000", "0x7fe00000", "0xffc00000", "0x7fc00001", "0xffc10000"
    ]
    assert [hex(int(b)) for b in txw.dtypes.encode(f64, "bf16").view(np.uint16)] == ["0x7fc0", "0x7fe0", "0xffc0", "0x7fc0", "0xffc1"]
    assert [hex(int(b)) for b in txw.dtypes.encode(f64, "f16").view(np.uint16)] == ["0x7e00", "0x7f00", "0xfe00", "0x7e00", "0xfe08"]
    f32 = np.array([0x7F800001, 0x7FA00000, 0xFF804000], dtype=np.uint32).view(np.float32)
    assert [hex(int(b)) for b in txw.dtypes.encode(f32, "f16").view(np.uint16)] == ["0x7e00", "0x7f00", "0xfe02"]
    assert [hex(int(b)) for b in txw.dtypes.encode(f32, "bf16").view(np.uint16)] == ["0x7fc0", "0x7fe0", "0xffc0"]
    f16 = np.array([0x7C01, 0xFD00], dtype=np.uint16).view(np.float16)
    assert [hex(int(b)) for b in txw.dtypes.encode(f16, "bf16").view(np.uint16)] == ["0x7fc0", "0xffe0"]
    # a scalar (rank 0) too, and through the writer and back
    scalar = np.array(0x7FF4000000000000, dtype=np.uint64).view(np.float64).reshape(())
    assert int(txw.dtypes.encode(scalar, "f32").view(np.uint32)) == 0x7FE00000
    path = tmp_path / "nan.txw"
    txw.write_container(path, [("a", f64, "f32"), ("s", scalar, "bf16")], codec="stored", shuffle=False)
    with txw.read_container(path) as c:
        assert [hex(int(b)) for b in c.read("a").view(np.uint32)] == ["0x7fc00000", "0x7fe00000", "0xffc00000", "0x7fc00001", "0xffc10000"]
        assert int(c.read("s").view(np.uint32)) == 0x7FE00000


def test_narrowing_rounds_to_nearest_even_and_overflows_to_inf():
    assert float(txw.dtypes.stored_values([1 + 2 ** -11 + 2 ** -40], "f16")[0]) == 1 + 2 ** -10
    assert float(txw.dtypes.stored_values([1 + 2 ** -11], "f16")[0]) == 1.0
    assert list(txw.dtypes.stored_values([70000.0, -1e300], "f16")) == [math.inf, -math.inf]
    assert list(txw.dtypes.stored_values([1e300], "f32")) == [math.inf]


# -- writer rules -------------------------------------------------------------------


def writer_error(tmp_path, tensors, metadata=None, **options):
    with pytest.raises(txw.TXWError) as info:
        txw.write_container(tmp_path / "w.txw", tensors, metadata, **options)
    assert not any(tmp_path.iterdir()), "a refused write must leave nothing behind"
    return info.value


def test_writer_refuses_what_readers_reject(tmp_path):
    assert writer_error(tmp_path, [("", [1.0])]).category == "limit"
    assert writer_error(tmp_path, [("x" * 256, [1.0])]).category == "limit"
    assert writer_error(tmp_path, [("a", [1.0]), ("a", [2.0])]).category == "duplicateName"
    assert writer_error(tmp_path, [("\ud800", [1.0])]).category == "invalidUTF8"
    assert writer_error(tmp_path, [("empty", np.zeros((3, 0)))]).category == "limit"
    assert writer_error(tmp_path, [("deep", np.zeros((1,) * 9))]).category == "limit"
    assert writer_error(tmp_path, [("a", [1.0])], block_size=96).category == "limit"
    assert writer_error(tmp_path, [("a", [1.0])], block_size=32).category == "limit"
    assert writer_error(tmp_path, [("a", [1.0])], block_size=(1 << 26) + 64).category == "limit"
    assert writer_error(tmp_path, [], {"": 1}).category == "limit"
    assert writer_error(tmp_path, [], {"k" * 256: 1}).category == "limit"
    assert writer_error(tmp_path, [], {"k": 2 ** 63}).category == "limit"
    assert writer_error(tmp_path, [], {"k": "\udc80"}).category == "invalidUTF8"
    err = writer_error(tmp_path, [("a", [1.0])], block_size=100)
    assert "multiple of 64" in str(err) and "100" in str(err)


def test_writer_argument_errors(tmp_path):
    with pytest.raises(TypeError):
        txw.write_container(tmp_path / "x.txw", [("c", np.array([1j]))])
    with pytest.raises(TypeError):
        txw.write_container(tmp_path / "x.txw", [], {"k": {"nested": 1}})
    with pytest.raises(TypeError):
        txw.write_container(tmp_path / "x.txw", [], {"k": ["a", 1]})
    with pytest.raises(ValueError):
        txw.write_container(tmp_path / "x.txw", [("a", [1.0], "f8")])
    with pytest.raises(ValueError):
        txw.write_container(tmp_path / "x.txw", [("a", [1.0])], codec="lz4")
    with pytest.raises(ValueError):
        txw.write_container(tmp_path / "x.txw", [("a", [1.0])], level=99)
    with pytest.raises(ValueError):
        txw.write_container(tmp_path / "x.txw", [txw.Tensor("a", [1.0], filter="delta")])
    assert not any(tmp_path.iterdir())


def test_reader_matches_independent_forger(tmp_path):
    """A file built field by field by the test forger reads back as expected."""
    values = np.arange(40, dtype=np.float64) / 4
    data = forge.build(
        [forge.m_int("i", -5), forge.m_str("s", "x")],
        [
            forge.tensor("a", values.reshape(5, 8), dtype=2, codec=1, filt=1, block_size=128),
            forge.tensor("b", values[:10], dtype=3, codec=0, filt=0),
        ],
    )
    path = tmp_path / "f.txw"
    path.write_bytes(data)
    with txw.read_container(path) as c:
        assert c.metadata == {"i": -5, "s": "x"}
        np.testing.assert_array_equal(c.read("a"), values.reshape(5, 8))
        np.testing.assert_array_equal(c.read("b"), values[:10].astype(np.float16))
        c.verify()


def test_writer_output_matches_forger_layout(tmp_path):
    """Writer and forger agree byte for byte on a stored file."""
    values = np.arange(20, dtype=np.float32)
    txw.write_container(tmp_path / "w.txw", [("v", values, "f32")], {"k": 1}, codec="stored", shuffle=False, block_size=64)
    expected = forge.build([forge.m_int("k", 1)], [forge.tensor("v", values, dtype=1)])
    assert (tmp_path / "w.txw").read_bytes() == expected


def test_higher_minor_version_is_accepted(tmp_path):
    data = bytearray(forge.build([forge.m_int("k", 1)], [forge.tensor("v", [1.0, 2.0])]))
    struct.pack_into("<H", data, 10, 7)
    path = tmp_path / "minor.txw"
    path.write_bytes(forge.refresh_header(bytes(data)))
    with txw.read_container(path) as c:
        assert c.version == (1, 7)
        np.testing.assert_array_equal(c.read("v"), [1.0, 2.0])


def test_container_api(tmp_path):
    path = tmp_path / "api.txw"
    txw.write_container(path, [("a", [1.0, 2.0]), ("b", [[3.0]])])
    c = txw.read_container(path)
    try:
        assert "a" in c and "zz" not in c and len(c) == 2
        assert [t.name for t in c] == ["a", "b"]
        assert c.tensor("b").shape == (1, 1)
        with pytest.raises(KeyError):
            c.read("zz")
        assert "2 tensors" in repr(c)
    finally:
        c.close()
    with pytest.raises(ValueError):
        c.read("a")
