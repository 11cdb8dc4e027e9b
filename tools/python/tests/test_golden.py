"""The committed stability sample, samples/golden.txw.

Its contents are given by a formula (below); later versions of the readers
must keep loading it to exactly these values. The same check also runs on a
file this package writes from the formula, so the check itself is tested
even before the sample is committed.

``python tests/test_golden.py PATH`` writes such a file with this package.
"""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

import txw

REPO_ROOT = Path(__file__).resolve().parents[3]
GOLDEN = REPO_ROOT / "samples" / "golden.txw"

HYPERPARAMETERS = dict(
    vocab_size=6, d_model=4, n_head=2, d_head=2, d_mlp=8, n_block=2,
    rmsnorm_epsilon=1e-9, positional_base=10000.0, mask_value=-1e9,
)
VOCAB = ["h", "e", "l", "o", " ", "!"]
USER_METADATA = {
    "name": "golden",
    "description": "txw format stability sample",
    "golden.int": -42,
    "golden.float": 0.1,
    "golden.bool": True,
    "golden.strings": ["x", "", "ü∑"],
}
USER_TYPES = {
    "name": "string", "description": "string", "golden.int": "int",
    "golden.float": "float", "golden.bool": "bool", "golden.strings": "strings",
}
BLOCK_SIZE = 64


def golden_tensors():
    """[(name, values as float64, dtype, codec, filter)] in canonical order."""
    out = []
    for t, (name, shape) in enumerate(txw.tensor_shapes(HYPERPARAMETERS)):
        count = math.prod(shape)
        values = np.array([((i * 7 + t * 3) % 23 - 11) / 8 for i in range(count)], dtype=np.float64).reshape(shape)
        out.append((name, values, ["f32", "f64", "f16", "bf16"][t % 4], ["zstd", "stored"][(t // 8) % 2], ["shuffle", "none"][(t // 4) % 2]))
    return out


def write_golden(path, overwrite=False):
    metadata = dict(USER_METADATA)
    metadata.update({f"model.{k}": v for k, v in HYPERPARAMETERS.items()})
    metadata["model.vocab"] = VOCAB
    tensors = [txw.Tensor(n, v, dtype=d, codec=c, filter=f) for n, v, d, c, f in golden_tensors()]
    txw.write_container(path, tensors, metadata, block_size=BLOCK_SIZE, overwrite=overwrite)


def check_golden(path):
    model = txw.load(path)
    assert model.hyperparameters == HYPERPARAMETERS
    assert model.vocab == VOCAB
    assert model.metadata == USER_METADATA
    loaded = dict(model.named_tensors())
    expected = golden_tensors()
    assert list(loaded) == [name for name, *_ in expected]
    for name, values, _, _, _ in expected:
        assert loaded[name].dtype == np.float64
        assert loaded[name].shape == values.shape, name
        # multiples of 1/8 up to 11/8: exact in every dtype
        assert np.array_equal(loaded[name], values), name

    with txw.read_container(path) as c:
        assert c.version[0] == 1
        assert c.names == [name for name, *_ in expected]
        for info, (name, values, dtype, codec, filt) in zip(c.tensors, expected):
            assert (info.dtype, info.codec, info.filter, info.block_size) == (dtype, codec, filt, BLOCK_SIZE), name
            assert info.shape == values.shape
        for key, kind in USER_TYPES.items():
            assert c.metadata_types[key] == kind, key
        for key in ("vocab_size", "d_model", "n_head", "d_head", "d_mlp", "n_block"):
            assert c.metadata_types[f"model.{key}"] == "int"
        for key in ("rmsnorm_epsilon", "positional_base", "mask_value"):
            assert c.metadata_types[f"model.{key}"] == "float"
        assert c.metadata_types["model.vocab"] == "strings"
        assert set(c.metadata) == set(USER_METADATA) | {f"model.{k}" for k in HYPERPARAMETERS} | {"model.vocab"}
        c.verify()


def test_formula_covers_every_combination():
    combos = {(d, c, f) for _, _, d, c, f in golden_tensors()}
    assert len(golden_tensors()) == 17 and len(combos) == 16


def test_check_on_a_file_written_from_the_formula(tmp_path):
    write_golden(tmp_path / "golden.txw")
    check_golden(tmp_path / "golden.txw")


def test_committed_golden_file():
    if not GOLDEN.exists():
        pytest.skip(f"{GOLDEN} is not committed yet (the lead engineer creates it once)")
    check_golden(GOLDEN)


def test_every_byte_flip_of_the_golden_file_fails_naming_where(tmp_path):
    if not GOLDEN.exists():
        pytest.skip(f"{GOLDEN} is not committed yet")
    good = GOLDEN.read_bytes()
    path = tmp_path / "g.txw"
    for position in range(len(good)):
        data = bytearray(good)
        data[position] ^= 0x20
        path.write_bytes(bytes(data))
        with pytest.raises(txw.TXWError) as info:
            txw.load(path)
        assert "offset" in str(info.value), (position, str(info.value))


def test_every_truncation_of_the_golden_file_fails(tmp_path):
    if not GOLDEN.exists():
        pytest.skip(f"{GOLDEN} is not committed yet")
    good = GOLDEN.read_bytes()
    path = tmp_path / "g.txw"
    for length in range(len(good)):
        path.write_bytes(good[:length])
        with pytest.raises(txw.TXWError) as info:
            txw.load(path)
        assert info.value.category == "truncated", (length, str(info.value))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python test_golden.py PATH")
    write_golden(sys.argv[1])
    check_golden(sys.argv[1])
    print(f"wrote {sys.argv[1]}")
