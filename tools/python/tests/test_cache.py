"""txw.load_cache: an activation cache as a .txw container and as an .npz
archive (written here the way Spec/txw-format.md §3 lays them out; the
Swift↔Python test is Tests/ToolTests/InsideToolTests.swift)."""

import json

import numpy as np
import pytest

import txw

METADATA = {
    "cache.profile": "activation-cache",
    "cache.version": 1,
    "cache.model.file": "m.txw",
    "cache.model.header_checksum": "0123456789abcdef",
    "cache.tokens": "3 1 4",
    "cache.text": "abc",
    "cache.precision": "f64",
    "cache.ablation.mode": "mean",
    "cache.ablation.targets": ["blocks.0.attn.head.1"],
}


def arrays():
    rng = np.random.default_rng(5)
    return {
        "hook_embed": rng.normal(size=(3, 4)),
        "blocks.0.attn.hook_pattern": rng.random((2, 3, 3)),
        "logits": rng.normal(size=(3, 7)),
    }


def check(cache, values):
    assert list(cache) == list(values)
    for name, v in values.items():
        assert cache[name].dtype == np.float64 and np.array_equal(cache[name], v)
    assert cache.tokens == [3, 1, 4] and cache.text == "abc" and cache.precision == "f64"
    assert cache.ablations == ["blocks.0.attn.head.1"] and cache.ablate_mode == "mean"
    assert cache.model_file == "m.txw" and cache.model_header_checksum == "0123456789abcdef"
    assert cache.metadata["cache.version"] == 1


def test_txw_cache(tmp_path):
    values = arrays()
    txw.write_container(tmp_path / "c.txw", [(k, v, "f64") for k, v in values.items()], METADATA)
    check(txw.load_cache(tmp_path / "c.txw"), values)


def test_npz_cache(tmp_path):
    values = arrays()

    def encode(v):
        if isinstance(v, int):
            return f"int:{v}"
        if isinstance(v, list):
            return "strings:" + json.dumps(v)
        return "string:" + v

    meta = np.frombuffer(json.dumps({k: encode(v) for k, v in METADATA.items()}).encode(), dtype=np.uint8)
    np.savez(tmp_path / "c.npz", **values, __txw_metadata__=meta)
    check(txw.load_cache(tmp_path / "c.npz"), values)


def test_a_model_is_not_a_cache(tmp_path):
    txw.write_container(tmp_path / "m.txw", [("W_E", np.zeros((2, 2)))], {"name": "x"})
    with pytest.raises(ValueError, match="not an activation cache"):
        txw.load_cache(tmp_path / "m.txw")
    np.savez(tmp_path / "x.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="not an activation cache"):
        txw.load_cache(tmp_path / "x.npz")
