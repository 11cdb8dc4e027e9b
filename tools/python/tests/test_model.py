"""The model profile: txw.save / txw.load (spec part 2)."""

from collections import namedtuple
from dataclasses import dataclass

import numpy as np
import pytest

import txw
from models import random_model

# As a notebook would define it: its own namedtuple with the same fields.
NotebookBlock = namedtuple("BlockParameter", ["W_1", "b_1", "W_2", "b_2", "W_Q", "W_K", "W_V", "W_O"])

HP = dict(vocab_size=5, d_model=4, n_head=2, d_head=3, d_mlp=6, n_block=2)


def make_model(seed=0, V=5, d=4, H=2, dh=3, F=6, N=2, block_type=NotebookBlock):
    return random_model(np.random.default_rng(seed), V, d, H, dh, F, N, block_type)


def assert_same_model(model, W_E, blocks):
    np.testing.assert_array_equal(model.W_E, W_E)
    assert len(model.blocks) == len(blocks)
    for got, want in zip(model.blocks, blocks):
        assert isinstance(got, txw.BlockParameter)
        for field in txw.BlockParameter._fields:
            want_value = want[field] if isinstance(want, dict) else getattr(want, field)
            np.testing.assert_array_equal(getattr(got, field), want_value)


def test_round_trip_notebook_namedtuples(tmp_path):
    path = tmp_path / "m.txw"
    W_E, blocks = make_model()
    hp = txw.save(path, W_E, blocks, vocab=list("abcde"), metadata={"name": "toy", "training.steps": 10})
    model = txw.load(path)
    assert_same_model(model, W_E, blocks)
    assert model.W_E.dtype == np.float64
    assert model.hyperparameters == dict(HP, rmsnorm_epsilon=1e-9, positional_base=10000.0, mask_value=-1e9)
    assert hp == model.hyperparameters
    assert model.vocab == list("abcde")
    assert model.metadata == {"name": "toy", "training.steps": 10}
    with txw.read_container(path) as c:
        expected = ["W_E"] + [f"blocks.{i}.{f}" for i in range(2) for f in txw.BlockParameter._fields]
        assert c.names == expected
        assert {(t.dtype, t.codec, t.filter, t.block_size) for t in c.tensors} == {("f64", "zstd", "shuffle", 1 << 20)}
        assert c.metadata_types["model.vocab_size"] == "int"
        assert c.metadata_types["model.mask_value"] == "float"
    assert [name for name, _ in model.named_tensors()] == expected


@pytest.mark.parametrize("kind", ["dict", "dataclass", "txw"])
def test_blocks_as_dicts_and_dataclasses(tmp_path, kind):
    @dataclass
    class Block:
        W_1: object
        b_1: object
        W_2: object
        b_2: object
        W_Q: object
        W_K: object
        W_V: object
        W_O: object

    W_E, blocks = make_model(seed=1, block_type=txw.BlockParameter)
    if kind == "dict":
        blocks = [b._asdict() for b in blocks]
    elif kind == "dataclass":
        blocks = [Block(*b) for b in blocks]
    txw.save(tmp_path / "m.txw", W_E, blocks)
    assert_same_model(txw.load(tmp_path / "m.txw"), W_E, blocks)


def test_dtypes_options_and_constants(tmp_path):
    path = tmp_path / "m.txw"
    W_E, blocks = make_model(seed=2, N=1)
    txw.save(
        path,
        W_E.astype(np.float32),
        blocks,
        dtype={"blocks.0.W_Q": "bf16", "blocks.0.b_1": np.float16},
        codec={"W_E": "stored"},
        shuffle={"blocks.0.W_1": False},
        block_size=64,
        level=9,
        rmsnorm_epsilon=1e-5,
        positional_base=500,
        mask_value=-1e4,
    )
    with txw.read_container(path) as c:
        info = {t.name: t for t in c.tensors}
        assert (info["W_E"].dtype, info["W_E"].codec) == ("f32", "stored")
        assert info["blocks.0.W_Q"].dtype == "bf16" and info["blocks.0.b_1"].dtype == "f16"
        assert info["blocks.0.W_1"].filter == "none" and info["blocks.0.W_2"].filter == "shuffle"
        assert info["blocks.0.W_2"].dtype == "f64"
    model = txw.load(path, dtype=None)
    assert model.W_E.dtype == np.float32 and model.blocks[0].b_1.dtype == np.float16
    assert model.blocks[0].W_Q.dtype == np.float32  # bf16 comes back as float32
    np.testing.assert_array_equal(model.blocks[0].W_Q, txw.dtypes.stored_values(blocks[0].W_Q, "bf16"))
    assert model.hyperparameters["positional_base"] == 500.0 and model.hyperparameters["rmsnorm_epsilon"] == 1e-5
    assert txw.load(path, dtype=np.float32).blocks[0].W_2.dtype == np.float32
    assert model.vocab is None and model.metadata == {}


def test_dtype_for_all(tmp_path):
    W_E, blocks = make_model(seed=3, N=1)
    txw.save(tmp_path / "m.txw", W_E, blocks, dtype="f16")
    with txw.read_container(tmp_path / "m.txw") as c:
        assert {t.dtype for t in c.tensors} == {"f16"}


def test_zero_blocks(tmp_path):
    W_E, _ = make_model()
    with pytest.raises(txw.TXWError) as info:
        txw.save(tmp_path / "m.txw", W_E, [])
    assert info.value.category == "model" and "n_head" in str(info.value)
    txw.save(tmp_path / "m.txw", W_E, [], n_head=1, d_head=2, d_mlp=3)
    model = txw.load(tmp_path / "m.txw")
    assert model.blocks == [] and model.hyperparameters["n_block"] == 0 and model.hyperparameters["d_mlp"] == 3


def save_error(tmp_path, *args, **kwargs):
    with pytest.raises(txw.TXWError) as info:
        txw.save(tmp_path / "bad.txw", *args, **kwargs)
    assert info.value.category == "model"
    assert not (tmp_path / "bad.txw").exists()
    return info.value


def test_save_shape_errors_name_the_tensor(tmp_path):
    W_E, blocks = make_model()
    err = save_error(tmp_path, W_E[0], blocks)
    assert err.tensor == "W_E"
    for field, bad_shape in [("W_O", (5, 4)), ("W_K", (4, 3, 1)), ("b_1", (6, 1)), ("W_2", (4, 6)), ("b_2", (5,)), ("W_1", (4, 7))]:
        broken = list(blocks)
        broken[1] = broken[1]._replace(**{field: np.zeros(bad_shape)})
        err = save_error(tmp_path, W_E, broken)
        assert err.tensor == f"blocks.1.{field}", str(err)
        assert err.found == bad_shape
        assert "expected" in str(err) and str(bad_shape) in str(err)
    err = save_error(tmp_path, W_E, [blocks[0]._replace(W_Q=np.zeros((4, 3)))])
    assert err.tensor == "blocks.0.W_Q"
    err = save_error(tmp_path, W_E, [blocks[0]._replace(W_Q=np.zeros((5, 3, 2)), W_K=np.zeros((5, 3, 2)), W_V=np.zeros((5, 3, 2)))])
    assert err.tensor == "blocks.0.W_Q" and err.expected == (4, 3, 2)
    err = save_error(tmp_path, W_E, [{"W_1": blocks[0].W_1}])
    assert "has no b_1" in str(err)


def test_save_rule_errors(tmp_path):
    W_E, blocks = make_model()
    W3, blocks3 = make_model(d=3)
    assert save_error(tmp_path, W3, blocks3).key == "model.d_model"
    assert save_error(tmp_path, W_E, blocks, vocab=list("abcd")).key == "model.vocab"
    assert save_error(tmp_path, W_E, blocks, vocab=["a", "b", "", "d", "e"]).key == "model.vocab"
    err = save_error(tmp_path, W_E, blocks, vocab=["a", "b", "c", "a", "e"])
    assert "0 and 3" in str(err)
    assert save_error(tmp_path, W_E, blocks, metadata={"model.extra": 1}).key == "model.extra"
    assert save_error(tmp_path, W_E, blocks, positional_base=1.0).key == "model.positional_base"
    assert save_error(tmp_path, W_E, blocks, rmsnorm_epsilon=-1e-9).key == "model.rmsnorm_epsilon"
    assert save_error(tmp_path, W_E, blocks, mask_value=float("-inf")).key == "model.mask_value"
    assert save_error(tmp_path, W_E, blocks, n_head=3).tensor == "blocks.0.W_Q"
    assert save_error(tmp_path, np.zeros((0, 4)), blocks).key == "model.vocab_size"


def test_save_refuses_to_overwrite(tmp_path):
    W_E, blocks = make_model(N=1)
    txw.save(tmp_path / "m.txw", W_E, blocks)
    with pytest.raises(FileExistsError):
        txw.save(tmp_path / "m.txw", W_E * 2, blocks)
    txw.save(tmp_path / "m.txw", W_E * 2, blocks, overwrite=True)
    np.testing.assert_array_equal(txw.load(tmp_path / "m.txw").W_E, W_E * 2)


# -- load: crafted containers -----------------------------------------------------------


def model_parts(hp=HP, seed=4):
    """(tensors, metadata) of a valid model, for tests to break."""
    W_E, blocks = make_model(seed, hp["vocab_size"], hp["d_model"], hp["n_head"], hp["d_head"], hp["d_mlp"], hp["n_block"])
    tensors = [("W_E", W_E)] + [(f"blocks.{i}.{f}", getattr(b, f)) for i, b in enumerate(blocks) for f in b._fields]
    metadata = {f"model.{k}": v for k, v in hp.items()}
    metadata.update({"model.rmsnorm_epsilon": 1e-9, "model.positional_base": 10000.0, "model.mask_value": -1e9})
    metadata["model.vocab"] = list("abcde")
    return tensors, metadata


def load_error(tmp_path, tensors, metadata):
    path = tmp_path / "crafted.txw"
    txw.write_container(path, tensors, metadata, overwrite=True)
    with pytest.raises(txw.TXWError) as info:
        txw.load(path)
    err = info.value
    assert err.category == "model", str(err)
    return err


def test_crafted_baseline_loads(tmp_path):
    tensors, metadata = model_parts()
    txw.write_container(tmp_path / "ok.txw", list(reversed(tensors)), metadata)  # any tensor order is fine
    model = txw.load(tmp_path / "ok.txw")
    np.testing.assert_array_equal(model.W_E, tensors[0][1])


@pytest.mark.parametrize(
    "key",
    ["model.vocab_size", "model.d_model", "model.n_head", "model.d_head", "model.d_mlp", "model.n_block",
     "model.rmsnorm_epsilon", "model.positional_base", "model.mask_value"],
)
def test_missing_key(tmp_path, key):
    tensors, metadata = model_parts()
    del metadata[key]
    err = load_error(tmp_path, tensors, metadata)
    assert err.key == key and "missing" in str(err)


@pytest.mark.parametrize(
    "key,value,expected_type",
    [("model.vocab_size", 5.0, "int"), ("model.n_block", "2", "int"), ("model.d_model", True, "int"),
     ("model.mask_value", -1000000000, "float"), ("model.vocab", "abcde", "strings")],
)
def test_wrong_type(tmp_path, key, value, expected_type):
    tensors, metadata = model_parts()
    metadata[key] = value
    err = load_error(tmp_path, tensors, metadata)
    assert err.key == key and err.expected == expected_type


@pytest.mark.parametrize(
    "key,value",
    [("model.vocab_size", 0), ("model.vocab_size", 2 ** 24 + 1), ("model.d_model", 3), ("model.d_model", -4),
     ("model.n_head", 0), ("model.d_head", 2 ** 40), ("model.d_mlp", -1), ("model.n_block", -1),
     ("model.n_block", 2 ** 24 + 1), ("model.rmsnorm_epsilon", -1e-12), ("model.rmsnorm_epsilon", float("nan")),
     ("model.positional_base", 1.0), ("model.positional_base", float("inf")), ("model.mask_value", float("nan"))],
)
def test_out_of_range(tmp_path, key, value):
    tensors, metadata = model_parts()
    metadata[key] = value
    assert load_error(tmp_path, tensors, metadata).key == key


def test_unknown_model_key(tmp_path):
    tensors, metadata = model_parts()
    metadata["model.future"] = 1
    err = load_error(tmp_path, tensors, metadata)
    assert err.key == "model.future"


@pytest.mark.parametrize("vocab", [list("abcd"), list("abcdef"), ["a", "b", "", "d", "e"], ["a", "b", "c", "d", "a"]])
def test_bad_vocab(tmp_path, vocab):
    tensors, metadata = model_parts()
    metadata["model.vocab"] = vocab
    assert load_error(tmp_path, tensors, metadata).key == "model.vocab"


def test_vocab_is_optional(tmp_path):
    tensors, metadata = model_parts()
    del metadata["model.vocab"]
    txw.write_container(tmp_path / "m.txw", tensors, metadata)
    assert txw.load(tmp_path / "m.txw").vocab is None


def test_missing_tensor(tmp_path):
    tensors, metadata = model_parts()
    err = load_error(tmp_path, [t for t in tensors if t[0] != "blocks.1.W_V"], metadata)
    assert err.tensor == "blocks.1.W_V" and "missing" in str(err)


def test_n_block_larger_than_the_file(tmp_path):
    tensors, metadata = model_parts()
    metadata["model.n_block"] = 2 ** 24  # would mean 134 million tensors: the first missing is named
    err = load_error(tmp_path, tensors, metadata)
    assert err.tensor == "blocks.2.W_1"


def test_unexpected_tensor(tmp_path):
    tensors, metadata = model_parts()
    for extra in ("blocks.2.W_1", "blocks.01.W_1", "W_U", "blocks.0.W_1 "):
        err = load_error(tmp_path, tensors + [(extra, np.zeros(2))], metadata)
        assert err.tensor == extra and "unexpected" in str(err)


def test_shape_disagreement(tmp_path):
    tensors, metadata = model_parts()
    tensors = [(n, np.zeros((2, 6)) if n == "blocks.1.W_O" else a) for n, a in tensors]
    err = load_error(tmp_path, tensors, metadata)
    assert err.tensor == "blocks.1.W_O" and err.expected == (6, 4) and err.found == (2, 6)


def test_load_checks_blocks(tmp_path):
    W_E, blocks = make_model(N=1)
    path = tmp_path / "m.txw"
    txw.save(path, W_E, blocks, codec="stored", shuffle=False)
    with txw.read_container(path) as c:
        block = c.tensor("blocks.0.W_V").blocks[0]
    data = bytearray(path.read_bytes())
    data[block.offset + 3] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(txw.TXWError) as info:
        txw.load(path)
    assert info.value.category == "blockChecksum" and info.value.tensor == "blocks.0.W_V"


def test_plain_container_is_not_a_model(tmp_path):
    txw.write_container(tmp_path / "c.txw", [("a", [1.0])], {"name": "x"})
    with pytest.raises(txw.TXWError) as info:
        txw.load(tmp_path / "c.txw")
    assert info.value.category == "model" and info.value.key == "model.vocab_size"


# -- load: the order of the checks (spec 2.2, last list) --------------------------------


def test_required_keys_checked_in_table_order(tmp_path):
    tensors, metadata = model_parts()
    del metadata["model.d_mlp"]
    metadata["model.vocab_size"] = 0  # earlier in the table: reported first
    assert load_error(tmp_path, tensors, metadata).key == "model.vocab_size"
    tensors, metadata = model_parts()
    metadata["model.d_model"] = 3  # odd: reported before a later key's problem
    metadata["model.n_head"] = 0
    err = load_error(tmp_path, tensors, metadata)
    assert err.key == "model.d_model" and "even" in str(err)
    tensors, metadata = model_parts()
    metadata["model.mask_value"] = 1  # wrong type, after a missing key in the table
    del metadata["model.positional_base"]
    err = load_error(tmp_path, tensors, metadata)
    assert err.key == "model.positional_base" and "missing" in str(err)


def test_key_checks_come_before_unknown_keys_then_vocab(tmp_path):
    tensors, metadata = model_parts()
    metadata["model.aaa"] = 1
    metadata["model.n_block"] = -1
    assert load_error(tmp_path, tensors, metadata).key == "model.n_block"
    tensors, metadata = model_parts()
    metadata["model.zzz"] = 1
    metadata["model.aaa"] = 1  # file order is bytewise key order: model.aaa first
    metadata["model.vocab"] = "not a list"
    assert load_error(tmp_path, tensors, metadata).key == "model.aaa"


def test_vocab_checks_in_order(tmp_path):
    tensors, metadata = model_parts()
    metadata["model.vocab"] = ["a", "b", "", "d"]  # wrong length and an empty token: length first
    err = load_error(tmp_path, tensors, metadata)
    assert err.key == "model.vocab" and err.expected == 5 and err.found == 4
    metadata["model.vocab"] = ["a", "b", "a", "", "e"]  # duplicate at 2 before empty at 3
    assert "0 and 2" in str(load_error(tmp_path, tensors, metadata))
    metadata["model.vocab"] = ["a", "", "b", "a", "e"]
    assert "token 1 is empty" in str(load_error(tmp_path, tensors, metadata))
    # tensor problems come after the vocabulary
    metadata["model.vocab"] = ["a", "b", "c", "d", "d"]
    assert load_error(tmp_path, tensors[1:], metadata).key == "model.vocab"


def test_tensors_checked_missing_then_shape_in_canonical_order(tmp_path):
    tensors, metadata = model_parts()
    # W_E has the wrong shape and a later tensor is missing: W_E (earlier) is reported
    broken = [(n, np.zeros((5, 2)) if n == "W_E" else a) for n, a in tensors if n != "blocks.1.W_V"]
    err = load_error(tmp_path, broken, metadata)
    assert err.tensor == "W_E" and err.expected == (5, 4) and err.found == (5, 2)
    # blocks.0.W_K missing, blocks.0.W_V mis-shaped: W_K comes first (W_Q, W_K, W_V, W_O)
    broken = [(n, np.zeros(3) if n == "blocks.0.W_V" else a) for n, a in tensors if n != "blocks.0.W_K"]
    err = load_error(tmp_path, list(reversed(broken)), metadata)
    assert err.tensor == "blocks.0.W_K" and "missing" in str(err)
    # block 0's b_2 mis-shaped, block 1's W_1 missing: block 0 first
    broken = [(n, np.zeros(3) if n == "blocks.0.b_2" else a) for n, a in tensors if n != "blocks.1.W_1"]
    err = load_error(tmp_path, broken, metadata)
    assert err.tensor == "blocks.0.b_2" and err.found == (3,)


def test_unexpected_tensors_come_last_in_file_order(tmp_path):
    tensors, metadata = model_parts()
    # a shape error beats an unexpected tensor placed before it in the file
    broken = [("zzz", np.zeros(2)), ("aaa", np.zeros(2))] + [
        (n, np.zeros((2, 2)) if n == "blocks.1.W_O" else a) for n, a in tensors
    ]
    err = load_error(tmp_path, broken, metadata)
    assert err.tensor == "blocks.1.W_O" and "shape" in str(err)
    # a missing tensor beats an unexpected one
    err = load_error(tmp_path, [("zzz", np.zeros(2))] + tensors[:-1], metadata)
    assert err.tensor == "blocks.1.W_O" and "missing" in str(err)
    # all the profile's tensors sound: the first extra in file order
    err = load_error(tmp_path, [tensors[0], ("zzz", np.zeros(2))] + tensors[1:] + [("aaa", np.zeros(2))], metadata)
    assert err.tensor == "zzz" and "unexpected" in str(err)


def test_huge_n_block_is_rejected_with_bounded_work(tmp_path):
    import time

    tensors, metadata = model_parts()
    metadata["model.n_block"] = 2 ** 24  # 134 million tensors would be required
    path = tmp_path / "huge.txw"
    txw.write_container(path, tensors + [("extra", np.zeros(2))], metadata)
    start = time.perf_counter()
    with pytest.raises(txw.TXWError) as info:
        txw.load(path)
    assert time.perf_counter() - start < 2.0
    assert info.value.category == "model" and info.value.tensor == "blocks.2.W_1" and "missing" in str(info.value)
