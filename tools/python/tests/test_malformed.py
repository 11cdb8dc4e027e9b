"""Every rule of spec 1.2-1.6 that a crafted file can break, and its category."""

import struct

import numpy as np
import pytest
import zstandard

import txw
from txw.layout import xxh3

import forge
from forge import Block, T

GOOD_VALUES = np.arange(20, dtype=np.float64) - 7.5  # 80 bytes as f32: two blocks of 64 + 16


def good_tensor(**changes):
    t = forge.tensor("v", GOOD_VALUES)
    for key, value in changes.items():
        setattr(t, key, value)
    return t


def open_error(tmp_path, data, name="bad.txw"):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(txw.TXWError) as info:
        txw.read_container(path).close()
    err = info.value
    assert str(err).startswith(err.category + ": ")
    assert err.path == str(path)
    return err


def read_error(tmp_path, data, tensor="v"):
    """The file opens; reading ``tensor`` and verify() both fail the same way."""
    path = tmp_path / "bad.txw"
    path.write_bytes(data)
    with txw.read_container(path) as c:
        with pytest.raises(txw.TXWError) as first:
            c.read(tensor)
        with pytest.raises(txw.TXWError) as second:
            c.verify()
    assert first.value.category == second.value.category
    return first.value


def test_forged_baseline_is_valid(tmp_path):
    path = tmp_path / "ok.txw"
    path.write_bytes(forge.build([forge.m_int("k", 1)], [good_tensor()]))
    with txw.read_container(path) as c:
        np.testing.assert_array_equal(c.read("v"), GOOD_VALUES.astype(np.float32))
        c.verify()


# -- header ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 5, 8, 30, 63])
def test_shorter_than_header(tmp_path, size):
    # an empty file or any prefix of a valid file passes the magic step: truncated
    data = forge.build([], [good_tensor()])[:size]
    assert open_error(tmp_path, data).category == "truncated"


@pytest.mark.parametrize("data", [b"hello", b"PK\x03\x04" + bytes(26), b"\x89TXW\r\n\x1a\x0b", b"\x89TXX"])
def test_short_file_magic_is_checked_before_size(tmp_path, data):
    # spec 1.2 steps 1-2: the magic on the first min(8, size) bytes, then size < 64
    err = open_error(tmp_path, data)
    assert err.category == "badMagic" and err.offset == 0


def test_bad_magic(tmp_path):
    err = open_error(tmp_path, forge.build([], [good_tensor()], magic=b"\x89TXW\r\n\x1a\x0b"))
    assert err.category == "badMagic" and err.offset == 0
    assert open_error(tmp_path, b"PK\x03\x04" + bytes(100)).category == "badMagic"


@pytest.mark.parametrize("major", [0, 2, 0xFFFF])
def test_other_major_version(tmp_path, major):
    err = open_error(tmp_path, forge.build([], [good_tensor()], major=major))
    assert err.category == "unsupportedVersion" and err.found == major and err.expected == 1


def test_header_checksum(tmp_path):
    data = forge.build([], [good_tensor()], header_checksum=12345)
    err = open_error(tmp_path, data)
    assert err.category == "headerChecksum" and err.offset == 56 and "0x0000000000003039" in str(err)


def test_reserved_fields(tmp_path):
    assert open_error(tmp_path, forge.build([], [good_tensor()], reserved1=1)).offset == 12
    assert open_error(tmp_path, forge.build([], [good_tensor()], reserved2=1 << 63)).category == "layout"


@pytest.mark.parametrize("length", [0, (1 << 28) + 1, (1 << 64) - 1])
def test_manifest_length_limit(tmp_path, length):
    data = forge.build([], [good_tensor()], manifest_length=length, data_offset=(64 + length + 63) // 64 * 64 % (1 << 64))
    assert open_error(tmp_path, data).category == "limit"


def test_data_offset_rule(tmp_path):
    good = forge.build([], [good_tensor()])
    data_offset = struct.unpack_from("<Q", good, 24)[0]
    for wrong in (data_offset + 64, data_offset - 64, data_offset + 1, 0, (1 << 64) - 1):
        err = open_error(tmp_path, forge.build([], [good_tensor()], data_offset=wrong))
        assert err.category == "layout" and err.expected == data_offset and err.found == wrong


def test_file_length_larger_than_file(tmp_path):
    good = forge.build([], [good_tensor()])
    err = open_error(tmp_path, forge.build([], [good_tensor()], file_length=len(good) + 1))
    assert err.category == "truncated"
    assert open_error(tmp_path, forge.build([], [good_tensor()], file_length=(1 << 64) - 1)).category == "truncated"


def test_file_length_smaller_than_file(tmp_path):
    good = forge.build([], [good_tensor()])
    err = open_error(tmp_path, forge.build([], [good_tensor()], file_length=len(good) - 1))
    assert err.category == "layout"


def test_trailing_bytes_after_last_block(tmp_path):
    # file_length matches the file, but the file goes on after the last block
    err = open_error(tmp_path, forge.build([], [good_tensor()], trailing=b"\0"))
    assert err.category == "layout" and "end of the last block" in str(err)


def test_no_tensors_file_ends_at_data_offset(tmp_path):
    path = tmp_path / "empty.txw"
    path.write_bytes(forge.build([forge.m_int("k", 1)], []))
    with txw.read_container(path) as c:
        assert c.tensors == [] and c.file_length == c.data_offset
        c.verify()
    assert open_error(tmp_path, forge.build([], [], trailing=bytes(64))).category == "layout"


def test_data_offset_beyond_file(tmp_path):
    # manifest_length says the manifest runs past the end of a (consistent) file: step 9
    good = forge.build([], [])
    ml = 4096
    data = bytearray(good)
    struct.pack_into("<QQQ", data, 16, ml, (64 + ml + 63) // 64 * 64, len(good))
    err = open_error(tmp_path, forge.refresh_header(bytes(data)))
    assert err.category == "truncated" and err.offset == 24 and err.found == 4160


def test_file_length_is_checked_before_data_offset(tmp_path):
    # both wrong: file_length larger than the file (truncated, step 8) wins over
    # file_length smaller (layout, step 8) and data_offset beyond it (step 9)
    good = forge.build([], [])
    ml = 4096
    data = bytearray(good)
    struct.pack_into("<QQQ", data, 16, ml, (64 + ml + 63) // 64 * 64, len(good) - 1)
    err = open_error(tmp_path, forge.refresh_header(bytes(data)))
    assert err.category == "layout" and err.offset == 32


def test_manifest_checksum(tmp_path):
    err = open_error(tmp_path, forge.build([], [good_tensor()], manifest_checksum=1))
    assert err.category == "manifestChecksum" and err.offset == 48


def test_manifest_padding_must_be_zero(tmp_path):
    good = forge.build([], [good_tensor()])
    ml = struct.unpack_from("<Q", good, 16)[0]
    gap = (64 + ml + 63) // 64 * 64 - 64 - ml
    assert gap > 0
    err = open_error(tmp_path, forge.build([], [good_tensor()], manifest_padding=bytes(gap - 1) + b"\x01"))
    assert err.category == "layout" and err.offset == 64 + ml + gap - 1


# -- manifest: metadata -----------------------------------------------------------------


def test_metadata_count_limit(tmp_path):
    assert open_error(tmp_path, forge.build([], [], metadata_count=65537)).category == "limit"


def test_metadata_count_beyond_manifest(tmp_path):
    manifest = struct.pack("<I", 65536) + forge.m_int("a", 1)  # the manifest ends after one entry
    assert open_error(tmp_path, forge.build(manifest_override=manifest)).category == "malformedManifest"


@pytest.mark.parametrize("key_length,key", [(0, b""), (256, b"k" * 256), (65535, b"k")])
def test_key_length_limit(tmp_path, key_length, key):
    data = forge.build([forge.entry(key, 1, bytes(8), key_length=key_length)], [])
    assert open_error(tmp_path, data).category == "limit"


def test_key_of_255_bytes_is_fine(tmp_path):
    path = tmp_path / "k.txw"
    path.write_bytes(forge.build([forge.m_int("k" * 255, 3)], []))
    with txw.read_container(path) as c:
        assert c.metadata == {"k" * 255: 3}


@pytest.mark.parametrize(
    "raw",
    [b"\xff", b"\xc0\x80", b"\xe0\x80\x80", b"\xed\xa0\x80", b"a\xe2\x82", b"\xf4\x90\x80\x80", b"\x80"],
    ids=["ff", "overlong-nul", "overlong-3", "surrogate", "cut", "above-10ffff", "continuation"],
)
def test_invalid_utf8_everywhere(tmp_path, raw):
    assert open_error(tmp_path, forge.build([forge.m_int(raw, 1)], [])).category == "invalidUTF8"
    assert open_error(tmp_path, forge.build([forge.m_str("k", raw)], [])).category == "invalidUTF8"
    assert open_error(tmp_path, forge.build([forge.m_strs("k", ["ok", raw])], [])).category == "invalidUTF8"
    t = good_tensor(name=raw)
    assert open_error(tmp_path, forge.build([], [t])).category == "invalidUTF8"


def test_nul_and_astral_code_points_are_valid(tmp_path):
    path = tmp_path / "u.txw"
    path.write_bytes(forge.build([forge.m_str("\x00", "\x00🎉")], [good_tensor(name="\x00🎉".encode())]))
    with txw.read_container(path) as c:
        assert c.metadata == {"\x00": "\x00🎉"} and c.names == ["\x00🎉"]


def test_keys_out_of_order(tmp_path):
    err = open_error(tmp_path, forge.build([forge.m_int("b", 1), forge.m_int("a", 2)], []))
    assert err.category == "malformedManifest" and err.key == "a"


def test_keys_sorted_bytewise_not_by_locale(tmp_path):
    path = tmp_path / "o.txw"
    # "B" (0x42) < "a" (0x61) < "é" (0xc3 0xa9)
    path.write_bytes(forge.build([forge.m_int("B", 1), forge.m_int("a", 2), forge.m_int("é", 3)], []))
    with txw.read_container(path) as c:
        assert list(c.metadata) == ["B", "a", "é"]
    assert open_error(tmp_path, forge.build([forge.m_int("a", 1), forge.m_int("B", 2)], [])).category == "malformedManifest"


def test_duplicate_key(tmp_path):
    err = open_error(tmp_path, forge.build([forge.m_int("a", 1), forge.m_str("a", "x")], []))
    assert err.category == "duplicateName" and err.key == "a"


@pytest.mark.parametrize("type_code", [0, 6, 255])
def test_unknown_metadata_type(tmp_path, type_code):
    err = open_error(tmp_path, forge.build([forge.entry("k", type_code, bytes(8))], []))
    assert err.category == "unknownValue" and err.found == type_code and err.key == "k"


@pytest.mark.parametrize("raw", [2, 255])
def test_bool_not_zero_or_one(tmp_path, raw):
    err = open_error(tmp_path, forge.build([forge.m_bool("k", raw)], []))
    assert err.category == "malformedManifest" and err.found == raw


def test_string_limits(tmp_path):
    assert open_error(tmp_path, forge.build([forge.m_str("k", b"", length=(1 << 24) + 1)], [])).category == "limit"
    assert open_error(tmp_path, forge.build([forge.m_str("k", b"abc", length=4)], [])).category == "malformedManifest"
    big = forge.entry("k", 5, struct.pack("<I", 1) + forge.string(b"", length=(1 << 24) + 1))
    assert open_error(tmp_path, forge.build([big], [])).category == "limit"


def test_strings_count_limits(tmp_path):
    assert open_error(tmp_path, forge.build([forge.m_strs("k", [], count=(1 << 24) + 1)], [])).category == "limit"
    # a count within the limit but far beyond the manifest: rejected before any allocation
    assert open_error(tmp_path, forge.build([forge.m_strs("k", [], count=1 << 24)], [])).category == "malformedManifest"
    assert open_error(tmp_path, forge.build([forge.m_strs("k", ["a"], count=2)], [])).category == "malformedManifest"


@pytest.mark.parametrize("cut", [1, 2, 3, 5, 9])
def test_manifest_ends_inside_a_field(tmp_path, cut):
    manifest = struct.pack("<I", 1) + forge.m_int("key", 5) + struct.pack("<I", 0)
    data = forge.build(manifest_override=manifest[: len(manifest) - 4 - cut])
    assert open_error(tmp_path, data).category == "malformedManifest"


def test_manifest_not_consumed_exactly(tmp_path):
    err = open_error(tmp_path, forge.build([forge.m_int("k", 1)], [good_tensor()], manifest_tail=b"\0"))
    assert err.category == "malformedManifest" and "1 bytes are left" in str(err)


# -- manifest: tensors ---------------------------------------------------------------------


def test_tensor_count_limit(tmp_path):
    assert open_error(tmp_path, forge.build([], [], tensor_count=65537)).category == "limit"
    assert open_error(tmp_path, forge.build([], [], tensor_count=2)).category == "malformedManifest"


@pytest.mark.parametrize("name,length", [(b"", 0), (b"n" * 256, 256)])
def test_name_length_limit(tmp_path, name, length):
    assert open_error(tmp_path, forge.build([], [good_tensor(name=name, name_length=length)])).category == "limit"


def test_duplicate_tensor_name(tmp_path):
    err = open_error(tmp_path, forge.build([], [good_tensor(), good_tensor()]))
    assert err.category == "duplicateName" and err.tensor == "v"


@pytest.mark.parametrize("field,value", [("dtype", 0), ("dtype", 5), ("codec", 2), ("codec", 255), ("filter", 2)])
def test_unknown_enum_values(tmp_path, field, value):
    err = open_error(tmp_path, forge.build([], [good_tensor(**{field: value})]))
    assert err.category == "unknownValue" and err.found == value and err.tensor == "v" and field in str(err)


def test_rank_limit(tmp_path):
    t = good_tensor(dims=(1,) * 9)
    assert open_error(tmp_path, forge.build([], [t])).category == "limit"


@pytest.mark.parametrize("dims", [(0,), (20, 0), ((1 << 40) + 1,), (1 << 64) - 1])
def test_dimension_limits(tmp_path, dims):
    dims = dims if isinstance(dims, tuple) else (dims,)
    assert open_error(tmp_path, forge.build([], [good_tensor(dims=dims)])).category == "limit"


def test_element_count_limit(tmp_path):
    # each dimension is fine; the product (2^41) is not; the 64-bit product would overflow too
    assert open_error(tmp_path, forge.build([], [good_tensor(dims=(1 << 20, 1 << 21))])).category == "limit"
    assert open_error(tmp_path, forge.build([], [good_tensor(dims=(1 << 40,) * 8)])).category == "limit"


def test_element_count_checked_after_all_dimensions(tmp_path):
    # the product of the first two dimensions is already beyond 2^40, but the
    # dimensions are fields read front to back: the third one's range comes first
    err = open_error(tmp_path, forge.build([], [good_tensor(dims=(1 << 40, 2, 0))]))
    assert err.category == "limit" and "dimension 2" in str(err)
    # and a manifest ending inside the dimensions is malformed, whatever the product so far
    t = good_tensor(dims=(1 << 40, 2), rank=3, blocks=[], block_count=None)
    manifest = forge.build([], [t])
    ml = struct.unpack_from("<Q", manifest, 16)[0]
    body = manifest[64 : 64 + ml]
    cut = body[: body.index(struct.pack("<QQ", 1 << 40, 2)) + 16]  # rank 3, two dimensions, then the end
    assert open_error(tmp_path, forge.build(manifest_override=cut)).category == "malformedManifest"


def test_largest_element_count_reaches_block_count_check(tmp_path):
    # 2^40 elements is allowed; the block count then disagrees: a layout error, not a crash
    err = open_error(tmp_path, forge.build([], [good_tensor(dims=(1 << 40,))]))
    assert err.category == "layout" and err.expected == (1 << 42) // 64


@pytest.mark.parametrize("block_size", [0, 32, 63, 96, 100, (1 << 26) + 64, 1 << 27, (1 << 64) - 64])
def test_block_size_rules(tmp_path, block_size):
    assert open_error(tmp_path, forge.build([], [good_tensor(block_size=block_size)])).category == "limit"


def test_block_size_extremes_are_fine(tmp_path):
    for block_size in (64, 1 << 26):
        path = tmp_path / f"{block_size}.txw"
        path.write_bytes(forge.build([], [forge.tensor("v", GOOD_VALUES, block_size=block_size)]))
        with txw.read_container(path) as c:
            np.testing.assert_array_equal(c.read("v"), GOOD_VALUES.astype(np.float32))


@pytest.mark.parametrize("count", [1, 3, 0xFFFFFFFF])
def test_block_count_rule(tmp_path, count):
    err = open_error(tmp_path, forge.build([], [good_tensor(block_count=count)]))
    assert err.category == "layout" and err.expected == 2 and err.found == count


def test_raw_length_rule(tmp_path):
    t = good_tensor()
    t.blocks[1].raw_length = 64
    err = open_error(tmp_path, forge.build([], [t]))
    assert err.category == "layout" and err.block == 1 and err.expected == 16


def test_hole_between_blocks(tmp_path):
    t = good_tensor()
    data = forge.build([], [t])
    t.blocks[1].offset = struct.unpack_from("<Q", data, 24)[0] + 128  # one 64-byte step too far
    err = open_error(tmp_path, forge.build([], [t]))
    assert err.category == "layout" and err.block == 1 and "hole" in str(err)


def test_overlapping_blocks(tmp_path):
    t = good_tensor()
    data_offset = struct.unpack_from("<Q", forge.build([], [t]), 24)[0]
    t.blocks[1].offset = data_offset
    err = open_error(tmp_path, forge.build([], [t]))
    assert err.category == "layout" and err.block == 1 and "overlap" in str(err)


def test_first_block_not_at_data_offset(tmp_path):
    t = good_tensor()
    data_offset = struct.unpack_from("<Q", forge.build([], [t]), 24)[0]
    t.blocks[0].offset = data_offset + 64
    assert open_error(tmp_path, forge.build([], [t])).category == "layout"


def test_blocks_of_two_tensors_out_of_order(tmp_path):
    a, b = forge.tensor("a", GOOD_VALUES[:16]), forge.tensor("b", GOOD_VALUES[:16])
    data_offset = struct.unpack_from("<Q", forge.build([], [a, b]), 24)[0]
    a.blocks[0].offset, b.blocks[0].offset = data_offset + 64, data_offset
    err = open_error(tmp_path, forge.build([], [a, b]))
    assert err.category == "layout" and err.tensor == "a"


def test_stored_block_length_must_equal_raw_length(tmp_path):
    t = good_tensor()
    t.blocks[1] = Block(t.blocks[1].stored + b"\0")  # stored_length 17 for raw_length 16
    err = open_error(tmp_path, forge.build([], [t]))
    assert err.category == "layout" and err.expected == 16 and err.found == 17


def test_zstd_stored_length_rules(tmp_path):
    t = forge.tensor("v", GOOD_VALUES, codec=1)
    bad = forge.tensor("v", GOOD_VALUES, codec=1)
    bad.blocks[0].stored_length = 0
    assert open_error(tmp_path, forge.build([], [bad])).category == "limit"
    bound = 64 + 64 // 256 + (1 << 17)
    too_long = forge.tensor("v", GOOD_VALUES, codec=1)
    too_long.blocks[0] = Block(t.blocks[0].stored + bytes(bound + 1 - len(t.blocks[0].stored)))
    err = open_error(tmp_path, forge.build([], [too_long]))
    assert err.category == "limit" and err.found == bound + 1


def test_block_beyond_end_of_file(tmp_path):
    # a stored block's stored_length is checked first (layout) ...
    t = good_tensor()
    t.blocks[1].stored_length = 1 << 62
    t.blocks[1].raw_length = 16
    assert open_error(tmp_path, forge.build([], [t])).category == "layout"
    # ... a zstd block within its limits that ends past the file is truncated
    t = forge.tensor("v", GOOD_VALUES, codec=1)
    t.blocks[1].stored_length = len(t.blocks[1].stored) + 1
    err = open_error(tmp_path, forge.build([], [t]))
    assert err.category == "truncated" and err.block == 1


def test_last_tensor_cut_off_by_the_file_end_is_truncated(tmp_path):
    # a consistent file (checksums and file_length fixed up) whose last block lost its tail
    good = forge.build([], [forge.tensor("v", GOOD_VALUES, codec=1)])
    data = bytearray(good[:-5])
    struct.pack_into("<Q", data, 32, len(data))
    err = open_error(tmp_path, forge.refresh_header(bytes(data)))
    assert err.category == "truncated" and err.tensor == "v" and err.block == 1


def test_huge_block_offsets_do_not_overflow(tmp_path):
    t = forge.tensor("v", GOOD_VALUES[:16])  # a single block
    t.blocks[0].offset = (1 << 64) - 64
    assert open_error(tmp_path, forge.build([], [t])).category == "layout"


# -- blocks: checked when read -----------------------------------------------------------


def test_block_checksum(tmp_path):
    t = good_tensor()
    t.blocks[1].checksum = 0xDEADBEEF
    err = read_error(tmp_path, forge.build([], [t]))
    assert err.category == "blockChecksum" and err.tensor == "v" and err.block == 1
    assert err.expected == "0x00000000deadbeef"
    assert str(err).startswith(f"blockChecksum: tensor 'v' block 1 at offset {err.offset}: ")


def test_padding_between_blocks(tmp_path):
    t = forge.tensor("v", GOOD_VALUES[:10])  # one block of 40 bytes, then 24 of padding
    u = forge.tensor("u", GOOD_VALUES[:4])
    t.blocks[0].padding = bytes(23) + b"\x07"
    data = forge.build([], [t, u])
    err = read_error(tmp_path, data)
    assert err.category == "layout" and err.found == 7 and err.block == 0
    # the other tensor still reads: its block is sound
    path = tmp_path / "bad.txw"
    with txw.read_container(path) as c:
        np.testing.assert_array_equal(c.read("u"), GOOD_VALUES[:4].astype(np.float32))


def zstd_tensor(stored, raw_values=GOOD_VALUES[:16], shuffle=0):
    t = forge.tensor("v", raw_values, codec=1, filt=shuffle)
    t.blocks = [Block(stored)]
    return t


RAW16 = GOOD_VALUES[:16].astype("<f4").tobytes()  # 64 bytes: one block


def test_zstd_reference_block_is_fine(tmp_path):
    path = tmp_path / "z.txw"
    path.write_bytes(forge.build([], [zstd_tensor(zstandard.ZstdCompressor().compress(RAW16))]))
    with txw.read_container(path) as c:
        np.testing.assert_array_equal(c.read("v"), GOOD_VALUES[:16].astype(np.float32))


def test_zstd_frame_without_content_size_is_decode(tmp_path):
    # spec 1.4: the frame header must declare the content size
    frame = zstandard.ZstdCompressor(write_content_size=False, write_checksum=True).compress(RAW16)
    assert zstandard.get_frame_parameters(frame).content_size == zstandard.CONTENTSIZE_UNKNOWN
    err = read_error(tmp_path, forge.build([], [zstd_tensor(frame)]))
    assert err.category == "decode" and "content size" in str(err)


def test_zstd_frame_with_dictionary_id_is_decode(tmp_path):
    # Single_Segment, Dictionary_ID_flag 1 (one byte: 7), FCS 64, one raw last block
    frame = bytes([0x28, 0xB5, 0x2F, 0xFD, 0x21, 7, 64]) + ((64 << 3) | 1).to_bytes(3, "little") + RAW16
    err = read_error(tmp_path, forge.build([], [zstd_tensor(frame)]))
    assert err.category == "decode" and "dictionar" in str(err)


def test_zstd_frame_larger_than_declared_is_decode(tmp_path):
    # declares 64 (= raw_length) but holds a 128-byte raw block: never written past 64
    frame = bytes([0x28, 0xB5, 0x2F, 0xFD, 0x20, 64]) + ((128 << 3) | 1).to_bytes(3, "little") + RAW16 + RAW16
    assert read_error(tmp_path, forge.build([], [zstd_tensor(frame)])).category == "decode"


@pytest.mark.parametrize(
    "make",
    [
        lambda: b"not zstd at all",
        lambda: b"\x28\xb5\x2f\xfd",  # magic only
        lambda: zstandard.ZstdCompressor().compress(RAW16)[:-1],  # cut short
        lambda: zstandard.ZstdCompressor().compress(RAW16) + b"\0",  # trailing byte
        lambda: zstandard.ZstdCompressor().compress(RAW16[:32]) + zstandard.ZstdCompressor().compress(RAW16[32:]),  # two frames
        lambda: b"\x50\x2a\x4d\x18" + struct.pack("<I", 0) + zstandard.ZstdCompressor().compress(RAW16),  # skippable first
        lambda: zstandard.ZstdCompressor().compress(RAW16[:60]),  # declares 60, raw_length 64
        lambda: zstandard.ZstdCompressor().compress(RAW16 + b"\0" * 4),  # declares 68
        lambda: zstandard.ZstdCompressor(write_content_size=False).compress(RAW16),  # right size, undeclared
        lambda: zstandard.ZstdCompressor(write_content_size=False).compress(RAW16 + bytes(64)),  # too long, undeclared
        lambda: zstandard.ZstdCompressor(write_content_size=False).compress(RAW16[:8]),  # too short, undeclared
        lambda: zstandard.ZstdCompressor(write_content_size=False).compress(bytes(1 << 20)),  # a bomb, undeclared
        lambda: zstandard.ZstdCompressor().compress(bytes(1 << 20)),  # a bomb, declared
        lambda: bytes.fromhex("28b52ffd") + bytes([0xE0]) + struct.pack("<Q", 1 << 62) + bytes(8),  # declares 2^62
        lambda: corrupt_middle(zstandard.ZstdCompressor(write_checksum=True).compress(RAW16)),
    ],
    ids=[
        "garbage",
        "magic-only",
        "cut",
        "trailing",
        "two-frames",
        "skippable",
        "declared-short",
        "declared-long",
        "undeclared",
        "undeclared-long",
        "undeclared-short",
        "bomb-undeclared",
        "bomb-declared",
        "declared-huge",
        "corrupt-content",
    ],
)
def test_zstd_blocks_rejected_as_decode(tmp_path, make):
    err = read_error(tmp_path, forge.build([], [zstd_tensor(make())]))
    assert err.category == "decode" and err.tensor == "v" and err.block == 0


def corrupt_middle(frame: bytes) -> bytes:
    frame = bytearray(frame)
    frame[len(frame) // 2] ^= 0xFF
    return bytes(frame)


def test_checksum_is_verified_before_decoding(tmp_path):
    t = zstd_tensor(b"garbage that would not decode")
    t.blocks[0].checksum = 1
    assert read_error(tmp_path, forge.build([], [t])).category == "blockChecksum"


def test_verify_reports_first_problem_in_file_order(tmp_path):
    a, b = forge.tensor("a", GOOD_VALUES), forge.tensor("b", GOOD_VALUES)
    b.blocks[0].checksum = 1
    a.blocks[1].checksum = 2
    path = tmp_path / "two.txw"
    path.write_bytes(forge.build([], [a, b]))
    with txw.read_container(path) as c:
        with pytest.raises(txw.TXWError) as info:
            c.verify()
    assert (info.value.tensor, info.value.block) == ("a", 1)


def test_errors_are_picklable(tmp_path):
    import pickle

    err = open_error(tmp_path, forge.build([], [good_tensor()], header_checksum=1))
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.category == err.category


def raw_block_frame(window_exponent: int, payload: bytes = RAW16, content_size=None) -> bytes:
    """A hand-made zstd frame: the given Window_Descriptor exponent (window
    2^(10 + exponent)), a 4-byte Frame_Content_Size unless ``content_size``
    is None (then none is declared), one raw last block."""
    if content_size is None:
        header = bytes([0x28, 0xB5, 0x2F, 0xFD, 0x00, window_exponent << 3])
    else:
        header = bytes([0x28, 0xB5, 0x2F, 0xFD, 0x80, window_exponent << 3]) + struct.pack("<I", content_size)
    return header + ((len(payload) << 3) | 1).to_bytes(3, "little") + payload


@pytest.mark.parametrize("exponent", [11, 18])
def test_zstd_frame_with_window_descriptor_and_declared_size(tmp_path, exponent):
    # 2 MiB (as streaming level 3 writes) and 256 MiB windows: the declared size bounds the output
    path = tmp_path / "w.txw"
    path.write_bytes(forge.build([], [zstd_tensor(raw_block_frame(exponent, content_size=64))]))
    with txw.read_container(path) as c:
        np.testing.assert_array_equal(c.read("v"), GOOD_VALUES[:16].astype(np.float32))


@pytest.mark.parametrize("exponent", [11, 18, 31])
def test_zstd_frame_with_window_and_no_content_size_is_decode(tmp_path, exponent):
    err = read_error(tmp_path, forge.build([], [zstd_tensor(raw_block_frame(exponent))]))
    assert err.category == "decode"


def test_zstd_frame_with_window_log_beyond_libzstd_is_decode(tmp_path):
    # Window_Log 41: RFC 8878 allows it, libzstd (the reference decoder) refuses the header
    err = read_error(tmp_path, forge.build([], [zstd_tensor(raw_block_frame(31, content_size=64))]))
    assert err.category == "decode"


# -- manifest read front to back ---------------------------------------------------------


def test_block_entry_checked_before_the_manifest_runs_out(tmp_path):
    # block 0's raw_length is wrong and the manifest ends inside block 1's entry:
    # front to back, block 0's error comes first
    t = good_tensor()
    t.blocks[0].raw_length = 60
    good = forge.build([], [t])
    ml = struct.unpack_from("<Q", good, 16)[0]
    manifest = good[64 : 64 + ml - 8]
    err = open_error(tmp_path, forge.build(manifest_override=manifest))
    assert err.category == "layout" and err.block == 0 and err.expected == 64
    # with block 0 sound, the short entry of block 1 is what is reported
    data = bytearray(forge.build([], [good_tensor()]))
    data_offset = struct.unpack_from("<Q", data, 24)[0]
    assert (64 + ml - 8 + 63) // 64 * 64 == data_offset  # same data_offset, same blocks
    struct.pack_into("<Q", data, 16, ml - 8)
    data[64 + ml - 8 : 64 + ml] = bytes(8)
    err = open_error(tmp_path, forge.refresh(bytes(data)))
    assert err.category == "malformedManifest" and err.block == 1


def test_string_list_item_checked_before_the_manifest_runs_out(tmp_path):
    # 3 strings announced; the first is too long (limit), the manifest ends right after its length
    over = forge.entry("k", 5, struct.pack("<I", 3) + struct.pack("<I", (1 << 24) + 1))
    assert open_error(tmp_path, forge.build([over], [])).category == "limit"
    bad_utf8 = forge.entry("k", 5, struct.pack("<I", 1000) + forge.string(b"\xff"))
    assert open_error(tmp_path, forge.build([bad_utf8], [])).category == "invalidUTF8"
