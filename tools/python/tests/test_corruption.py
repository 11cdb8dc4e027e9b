"""Damage anywhere is a TXWError: never another exception, never silence."""

import struct

import numpy as np
import pytest

import txw
from txw.layout import xxh3

import forge
from models import random_model


def full_check(path):
    """Open, verify, and read every tensor."""
    with txw.read_container(path) as c:
        c.verify()
        for name in c.names:
            c.read(name)


@pytest.fixture(scope="module")
def small_container(tmp_path_factory):
    path = tmp_path_factory.mktemp("c") / "small.txw"
    rng = np.random.default_rng(5)
    txw.write_container(
        path,
        [
            txw.Tensor("stored_none", rng.normal(size=20), "f32", "stored", "none"),
            txw.Tensor("zstd_shuffle", rng.normal(size=(4, 5)), "f16", "zstd", "shuffle"),
            txw.Tensor("scalar", 1.5, "bf16", "stored", "shuffle"),
            txw.Tensor("zstd_none", rng.normal(size=12), "f64", "zstd", "none"),
        ],
        {"i": 1, "f": 0.5, "b": True, "s": "ü", "l": ["a", ""]},
        block_size=64,
    )
    full_check(path)
    return path.read_bytes()


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "model.txw"
    W_E, blocks = random_model(np.random.default_rng(6), V=3, d=2, H=1, dh=1, F=2, N=1)
    txw.save(path, W_E, blocks, vocab=["a", "b", "c"], metadata={"name": "m"}, block_size=64)
    txw.load(path)
    return path.read_bytes()


def test_every_single_byte_flip_is_caught(tmp_path, small_container):
    path = tmp_path / "f.txw"
    for position in range(len(small_container)):
        data = bytearray(small_container)
        data[position] ^= 0xFF
        path.write_bytes(bytes(data))
        with pytest.raises(txw.TXWError):
            full_check(path)


def test_every_single_byte_flip_is_caught_by_load(tmp_path, small_model):
    path = tmp_path / "m.txw"
    for position in range(len(small_model)):
        data = bytearray(small_model)
        data[position] ^= 0x01
        path.write_bytes(bytes(data))
        with pytest.raises(txw.TXWError):
            txw.load(path)


def test_every_truncation_is_truncated(tmp_path, small_container, small_model):
    path = tmp_path / "t.txw"
    for original in (small_container, small_model):
        for length in range(len(original)):
            path.write_bytes(original[:length])
            with pytest.raises(txw.TXWError) as info:
                full_check(path)
            assert info.value.category == "truncated", (length, str(info.value))
            with pytest.raises(txw.TXWError):
                txw.load(path)


def test_appended_bytes_are_rejected(tmp_path, small_container):
    path = tmp_path / "a.txw"
    for tail in (b"\0", b"\0" * 64, b"x"):
        path.write_bytes(small_container + tail)
        with pytest.raises(txw.TXWError) as info:
            full_check(path)
        assert info.value.category == "layout"


def test_manifest_mutations_with_valid_checksums(tmp_path, small_container):
    """Hostile manifests that pass both checksums: only TXWError, or a sound read."""
    path = tmp_path / "x.txw"
    manifest_length = struct.unpack_from("<Q", small_container, 16)[0]
    outcomes = set()
    for position in range(64, 64 + manifest_length):
        original = small_container[position]
        for value in {0x00, 0xFF, 0x80, original ^ 0x01, (original + 1) & 0xFF, (original - 1) & 0xFF} - {original}:
            data = bytearray(small_container)
            data[position] = value
            path.write_bytes(forge.refresh(bytes(data)))
            try:
                full_check(path)
                outcomes.add("ok")
            except txw.TXWError as exc:
                outcomes.add(exc.category)
    # the mutations reach deep into the rules, not just the first check
    assert {"limit", "layout", "unknownValue", "malformedManifest", "invalidUTF8"} <= outcomes


def test_header_mutations_with_valid_checksum(tmp_path, small_container):
    """Every header field but the minor version (1.8) is checked."""
    path = tmp_path / "h.txw"
    for position in range(8, 56):
        for value in {0x00, 0xFF, small_container[position] ^ 0x01} - {small_container[position]}:
            data = bytearray(small_container)
            data[position] = value
            path.write_bytes(forge.refresh_header(bytes(data)))
            if position in (10, 11):  # minor version: any value is accepted
                full_check(path)
            else:
                with pytest.raises(txw.TXWError):
                    full_check(path)


def _with_block_patched(data: bytes, block: txw.BlockInfo, stored: bytes) -> bytes:
    """Replace a block's stored bytes (same length) and fix every checksum."""
    data = bytearray(data)
    data[block.offset : block.offset + block.stored_length] = stored
    data_offset = struct.unpack_from("<Q", data, 24)[0]
    field = bytes(data[64:data_offset]).index(struct.pack("<Q", block.checksum))
    struct.pack_into("<Q", data, 64 + field, xxh3(stored))
    return forge.refresh(bytes(data))


def test_zstd_payload_mutations_with_valid_checksums(tmp_path, small_container):
    src = tmp_path / "src.txw"
    src.write_bytes(small_container)
    with txw.read_container(src) as c:
        info = c.tensor("zstd_none")
        expected = c.read("zstd_none")
    path = tmp_path / "z.txw"
    outcomes = set()
    for block in info.blocks:
        stored = small_container[block.offset : block.offset + block.stored_length]
        for position in range(len(stored)):
            for flip in (0x01, 0x80, 0xFF):
                mutated = bytearray(stored)
                mutated[position] ^= flip
                path.write_bytes(_with_block_patched(small_container, block, bytes(mutated)))
                try:
                    with txw.read_container(path) as c:
                        value = c.read("zstd_none")
                    outcomes.add("ok" if np.array_equal(value, expected, equal_nan=True) else "changed")
                except txw.TXWError as exc:
                    assert exc.category == "decode", str(exc)
                    assert exc.tensor == "zstd_none"
                    outcomes.add(exc.category)
    assert "decode" in outcomes
