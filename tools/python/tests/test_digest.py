"""Content digests (spec part 4): the known answer, invariance under storage
choices, sensitivity to content."""

import json
import os
import struct

import numpy as np
import pytest

import txw
from models import random_model

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "digest")


def test_known_answer():
    # kat.json was computed by tools/reference/make_digest_fixtures.py from the
    # spec's byte listing (struct + hashlib over the values), not by txw.digest.
    with open(os.path.join(FIXTURES, "kat.json")) as f:
        answer = json.load(f)
    whole, tensors = txw.model_digest(os.path.join(FIXTURES, "kat.txw"))
    assert whole == answer["model"]
    assert tensors == answer["tensors"]
    assert list(tensors) == list(answer["tensors"])  # profile order
    for name, value in answer["tensors"].items():
        assert txw.tensor_digest(os.path.join(FIXTURES, "kat.txw"), name) == value


def _model(seed=3):
    return random_model(np.random.default_rng(seed), 5, 4, 2, 2, 3, 2)


def _save(path, W_E, blocks, **options):
    options.setdefault("vocab", list("abcde"))
    txw.save(path, W_E, blocks, overwrite=True, **options)
    return txw.digest(path)


@pytest.mark.parametrize(
    "options",
    [
        dict(codec="stored", shuffle=False),
        dict(level=1),
        dict(level=19, shuffle=False),
        dict(block_size=64),
        dict(block_size=128, codec="stored"),
        dict(metadata={"name": "renamed", "lineage.tool": "x", "training.steps": 5}),
    ],
)
def test_storage_and_user_metadata_keep_the_digest(tmp_path, options):
    W_E, blocks = _model()
    base = _save(tmp_path / "a.txw", W_E, blocks)
    assert _save(tmp_path / "b.txw", W_E, blocks, **options) == base


def test_tensor_order_keeps_the_digest(tmp_path):
    W_E, blocks = _model()
    base = _save(tmp_path / "a.txw", W_E, blocks, dtype="f32")
    with txw.read_container(tmp_path / "a.txw") as c:
        metadata = dict(c.metadata)
        tensors = [txw.Tensor(info.name, c.read(info.name), info.dtype) for info in c.tensors]
    txw.write_container(tmp_path / "r.txw", list(reversed(tensors)), metadata)
    assert txw.digest(tmp_path / "r.txw") == base


def test_content_changes_change_the_digest(tmp_path):
    W_E, blocks = _model()
    base = _save(tmp_path / "a.txw", W_E, blocks, dtype="f32")
    # One bit of one element (the lowest mantissa bit of a stored f32).
    flipped = W_E.astype(np.float32)
    bits = flipped.view(np.uint32)
    bits[1, 2] ^= 1
    assert _save(tmp_path / "b.txw", flipped, blocks, dtype="f32") != base
    assert _save(tmp_path / "c.txw", W_E, blocks, dtype="f64") != base  # dtype
    assert _save(tmp_path / "d.txw", W_E, blocks, dtype="f32", vocab=list("abcdf")) != base  # a token
    assert _save(tmp_path / "e.txw", W_E, blocks, dtype="f32", vocab=None) != base  # no vocabulary
    assert _save(tmp_path / "f.txw", W_E, blocks, dtype="f32", mask_value=-1e8) != base  # a hyperparameter
    assert _save(tmp_path / "g.txw", W_E, blocks, dtype="f32", context_length=16) != base  # context length


def test_a_tensor_digest_is_of_name_dtype_shape_and_bytes(tmp_path):
    values = np.array([[1.0, -2.0], [0.5, 3.0]], dtype=np.float32)
    txw.write_container(tmp_path / "t.txw", [("x", values, "f32")], {})
    expected = (
        b"txw-tensor-digest-v1\x00" + struct.pack("<Q", 1) + b"x" + bytes([1]) + struct.pack("<QQQ", 2, 2, 2) + values.tobytes()
    )
    import hashlib

    assert txw.tensor_digest(tmp_path / "t.txw", "x") == hashlib.sha256(expected).hexdigest()


def test_a_container_that_is_not_a_model_has_no_model_digest(tmp_path):
    txw.write_container(tmp_path / "c.txw", [("x", np.zeros(3))], {"cache.profile": "activation-cache"})
    with pytest.raises(txw.TXWError) as info:
        txw.digest(tmp_path / "c.txw")
    assert info.value.category == "model"
    assert len(txw.tensor_digest(tmp_path / "c.txw", "x")) == 64


def test_digest_from_hex():
    h = "ab" * 32
    assert txw.digest_from_hex(h) == bytes.fromhex(h)
    assert txw.digest_from_hex("sha256:" + h.upper()) == bytes.fromhex(h)
    assert txw.digest_from_hex(h[:-1]) is None
    assert txw.digest_from_hex("zz" * 32) is None
    assert txw.digest_from_hex(" " + h) is None
