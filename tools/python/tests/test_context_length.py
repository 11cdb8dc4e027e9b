"""model.context_length (spec 2.1) and the profile's version rules (spec 1.8, 2.3)."""

import struct

import numpy as np
import pytest

import forge
import txw
from models import random_model

KEY = "model.context_length"
HP = dict(vocab_size=5, d_model=4, n_head=2, d_head=3, d_mlp=6, n_block=2)


def parts(seed=4):
    """(tensors, metadata) of a valid model, for tests to break."""
    W_E, blocks = random_model(np.random.default_rng(seed), 5, 4, 2, 3, 6, 2)
    tensors = [("W_E", W_E)] + [(f"blocks.{i}.{f}", getattr(b, f)) for i, b in enumerate(blocks) for f in b._fields]
    metadata = {f"model.{k}": v for k, v in HP.items()}
    metadata.update({"model.rmsnorm_epsilon": 1e-9, "model.positional_base": 10000.0, "model.mask_value": -1e9})
    metadata["model.vocab"] = list("abcde")
    return tensors, metadata


def header_minor(path) -> int:
    return struct.unpack_from("<H", path.read_bytes(), 10)[0]


def write(path, tensors, metadata, minor):
    """A container declaring ``minor`` (patched into the header above what the writer knows)."""
    txw.write_container(path, tensors, metadata, minor_version=min(minor, 1), overwrite=True)
    if minor > 1:
        data = bytearray(path.read_bytes())
        struct.pack_into("<H", data, 10, minor)
        path.write_bytes(forge.refresh_header(bytes(data)))
    return path


def load_error(path):
    with pytest.raises(txw.TXWError) as info:
        txw.load(path)
    assert info.value.category == "model", str(info.value)
    return info.value


@pytest.mark.parametrize("length", [1, 48, 2 ** 24, np.int64(7)])
def test_save_and_load(tmp_path, length):
    W_E, blocks = random_model(np.random.default_rng(1), 5, 4, 2, 3, 6, 2)
    path = tmp_path / "m.txw"
    txw.save(path, W_E, blocks, vocab=list("abcde"), context_length=length)
    assert header_minor(path) == 1
    with txw.read_container(path) as c:
        assert c.version == (1, 1)
        assert c.metadata[KEY] == int(length) and c.metadata_types[KEY] == "int"
    model = txw.load(path)
    assert model.context_length == int(length) and type(model.context_length) is int
    assert KEY not in model.metadata and "context_length" not in model.hyperparameters
    np.testing.assert_array_equal(model.W_E, W_E)


def test_without_it_the_file_stays_1_0(tmp_path):
    W_E, blocks = random_model(np.random.default_rng(1), 5, 4, 2, 3, 6, 2)
    txw.save(tmp_path / "m.txw", W_E, blocks)
    assert header_minor(tmp_path / "m.txw") == 0
    assert txw.load(tmp_path / "m.txw").context_length is None
    # The one difference a context length makes to a file's bytes: the header's
    # minor version and the metadata entry (everything else is the same layout).
    txw.save(tmp_path / "c.txw", W_E, blocks, context_length=5)
    with txw.read_container(tmp_path / "m.txw") as a, txw.read_container(tmp_path / "c.txw") as b:
        assert {k: v for k, v in b.metadata.items() if k != KEY} == a.metadata
        for name in a.names:
            np.testing.assert_array_equal(a.read(name), b.read(name))


@pytest.mark.parametrize("length", [0, -1, 2 ** 24 + 1, 2 ** 70])
def test_save_refuses_out_of_range(tmp_path, length):
    W_E, blocks = random_model(np.random.default_rng(1), 5, 4, 2, 3, 6, 2)
    with pytest.raises(txw.TXWError) as info:
        txw.save(tmp_path / "m.txw", W_E, blocks, context_length=length)
    assert info.value.category == "model" and info.value.key == KEY
    assert not (tmp_path / "m.txw").exists()


@pytest.mark.parametrize("length", [32.0, True, "32", np.float64(3)])
def test_save_refuses_other_types(tmp_path, length):
    W_E, blocks = random_model(np.random.default_rng(1), 5, 4, 2, 3, 6, 2)
    with pytest.raises(TypeError):
        txw.save(tmp_path / "m.txw", W_E, blocks, context_length=length)
    assert not (tmp_path / "m.txw").exists()


@pytest.mark.parametrize("value,problem", [(0, "range"), (-3, "range"), (2 ** 24 + 1, "range"), (32.0, "type"), ("32", "type"), (True, "type")])
def test_load_checks_it(tmp_path, value, problem):
    tensors, metadata = parts()
    metadata[KEY] = value
    err = load_error(write(tmp_path / "m.txw", tensors, metadata, 1))
    assert err.key == KEY
    if problem == "type":
        assert err.expected == "int"
    else:
        assert err.found == value and "range" in str(err)


def test_accepted_bounds(tmp_path):
    tensors, metadata = parts()
    for value in (1, 2 ** 24):
        metadata[KEY] = value
        assert txw.load(write(tmp_path / "m.txw", tensors, metadata, 1)).context_length == value


def test_refused_in_a_1_0_file(tmp_path):
    tensors, metadata = parts()
    for value in (32, 0, "x"):  # the version comes before type and range
        metadata[KEY] = value
        err = load_error(write(tmp_path / "m.txw", tensors, metadata, 0))
        assert err.key == KEY and err.expected == "1.1" and err.found == "1.0" and "1.1" in str(err)


def test_check_order(tmp_path):
    tensors, metadata = parts()
    metadata[KEY] = 0
    del metadata["model.d_mlp"]
    assert load_error(write(tmp_path / "a.txw", tensors, metadata, 1)).key == "model.d_mlp"
    tensors, metadata = parts()
    metadata[KEY] = 0
    metadata["model.aaa"] = 1
    assert load_error(write(tmp_path / "b.txw", tensors, metadata, 1)).key == KEY


@pytest.mark.parametrize("minor", [0, 1])
def test_unknown_keys_refused_in_known_versions(tmp_path, minor):
    tensors, metadata = parts()
    metadata["model.n_ctx"] = 8
    assert load_error(write(tmp_path / "m.txw", tensors, metadata, minor)).key == "model.n_ctx"


def test_unknown_keys_ignored_in_a_newer_minor_version(tmp_path):
    tensors, metadata = parts()
    metadata.update({"model.future_note": "optional", KEY: 24, "name": "n"})
    model = txw.load(write(tmp_path / "m.txw", tensors, metadata, 2))
    assert model.context_length == 24
    assert model.metadata == {"name": "n"}
    # Known keys are still checked, and so is everything else.
    metadata[KEY] = 0
    assert load_error(write(tmp_path / "m.txw", tensors, metadata, 2)).key == KEY
    tensors, metadata = parts()
    metadata["model.future_note"] = 1
    tensors.append(("W_U", np.ones((4, 5))))
    assert load_error(write(tmp_path / "m.txw", tensors, metadata, 9)).tensor == "W_U"


@pytest.mark.parametrize("minor", [2, -1, True, 1.0])
def test_write_container_minor_version_is_checked(tmp_path, minor):
    with pytest.raises(ValueError):
        txw.write_container(tmp_path / "c.txw", [("a", [1.0])], minor_version=minor)
    assert not (tmp_path / "c.txw").exists()


def test_format_version():
    assert txw.FORMAT_VERSION == (1, 1)
