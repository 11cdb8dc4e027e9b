"""The conformance set of hostile but valid files (Tests/Fixtures/hostile, written by
tools/conformance/make_hostile.py): the Python reader accepts every file and reports
exactly what expected.json lists — metadata keys and values, tensor names in file
order, every tensor's index entry, bytes and values bit for bit, the vocabulary —
and loads each model as its float64 expectation says (the Python reader computes
in float64; the f32 expectations are for readers that compute in float32)."""

import json
import struct
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import txw
from txw.errors import CATEGORIES

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "Tests" / "Fixtures" / "hostile"
GENERATOR = ROOT / "tools" / "conformance" / "make_hostile.py"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
BIG = {"huge_tensor.txw"}  # reading it whole would allocate 4 GiB: opened and verified only


def f64_bits(x) -> str:
    return "0x%016x" % struct.unpack("<Q", struct.pack("<d", x))[0]


def reported_value(type_name, value):
    """A metadata value in expected.json's notation (ints as decimal strings, floats as bits)."""
    if type_name == "int":
        return str(value)
    if type_name == "float":
        return f64_bits(value)
    return value


def check_container(name, entry):
    path = FIXTURES / name
    with txw.read_container(path) as c:
        if name not in BIG:  # verified under a memory watch by test_huge_tensor_is_not_allocated_at_open_or_verify
            c.verify()
        # metadata: every key in file order, its type and value, exactly
        assert [k.encode("utf-8") for k in c.metadata] == [m["key"].encode("utf-8") for m in entry["metadata"]], name
        for m in entry["metadata"]:
            assert c.metadata_types[m["key"]] == m["type"], (name, m["key"])
            assert reported_value(m["type"], c.metadata[m["key"]]) == m["value"], (name, m["key"])
        # tensor names in file order, byte for byte
        assert [n.encode("utf-8") for n in c.names] == [n.encode("utf-8") for n in entry["tensor_names"]], name
        for tname, e in entry["tensors"].items():
            info = c.tensor(tname)
            assert info.name == tname
            assert info.dtype == e["dtype"] and list(info.shape) == e["shape"], (name, tname)
            assert (info.codec, info.filter) == (e["codec"], e["filter"]), (name, tname)
            assert (info.block_size, len(info.blocks)) == (e["block_size"], e["block_count"]), (name, tname)
            assert (info.raw_size, info.stored_size) == (e["raw_size"], e["stored_size"]), (name, tname)
            if "values" in e:
                array = c.read(tname)
                assert list(array.shape) == e["shape"]
                values = [f64_bits(v) for v in array.astype(np.float64).reshape(-1)]
                assert values == e["values"], (name, tname)
                if e["dtype"] != "bf16":  # read() gives bf16 as float32
                    assert array.tobytes() == bytes.fromhex(e["raw"]), (name, tname)
        if name not in BIG:  # every tensor by name, in any order
            for tname in reversed(entry["tensor_names"]):
                assert c.read(tname).size == c.tensor(tname).element_count


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_accepted_as_stated(name):
    entry = EXPECTED[name]
    check_container(name, entry)
    if entry["level"] == "model":
        outcome = entry["model"]["f64"]
        if outcome["result"] == "load":
            model = txw.load(FIXTURES / name)
            expected_vocab = entry["model"]["vocab"]
            if expected_vocab is None:
                assert model.vocab is None
            else:
                assert [t.encode("utf-8") for t in model.vocab] == [t.encode("utf-8") for t in expected_vocab]
        else:
            with pytest.raises(txw.TXWError) as info:
                txw.load(FIXTURES / name)
            assert info.value.category == outcome["category"]
            assert all(m in info.value.message for m in outcome["mentions"])


def test_set_is_complete():
    files = {p.name for p in FIXTURES.iterdir() if p.name != "expected.json"}
    assert files == set(EXPECTED)
    assert sum((FIXTURES / n).stat().st_size for n in files) < 200 * 1024
    fields = {"level", "why", "metadata", "tensor_names", "tensors"}
    for name, entry in EXPECTED.items():
        assert set(entry) == fields | ({"model"} if entry["level"] == "model" else set()), name
        assert entry["level"] in ("container", "model")
        assert set(entry["tensors"]) <= set(entry["tensor_names"]), name
        if entry["level"] == "model":
            for precision in ("f64", "f32"):
                outcome = entry["model"][precision]
                assert outcome["result"] in ("load", "reject"), name
                if outcome["result"] == "reject":
                    assert outcome["category"] in CATEGORIES and outcome["mentions"], name
        if name not in BIG and name != "many_tensors.txw":
            assert (FIXTURES / name).stat().st_size < 4096, name
    # the set holds what it is for
    assert {e["model"]["f32"]["result"] for e in EXPECTED.values() if e["level"] == "model"} == {"load", "reject"}
    names = EXPECTED["strings_tensor_names.txw"]["tensor_names"]
    for text in ("\x1b", "\u009b", "\n", "\r", "\x00", "\u202e", "\u200b", "\u2028", "caf\u00e9", "cafe\u0301"):
        assert any(text in n for n in names), repr(text)


def test_huge_tensor_is_not_allocated_at_open_or_verify():
    path = FIXTURES / "huge_tensor.txw"
    block = EXPECTED["huge_tensor.txw"]["tensors"]["huge"]["block_size"]
    tracemalloc.start()
    try:
        with txw.read_container(path) as c:
            _, opened = tracemalloc.get_traced_memory()
            assert opened < (1 << 20), opened  # the index only
            assert c.tensor("huge").raw_size == 1 << 32
            tracemalloc.reset_peak()
            c.verify()  # every block decoded, one at a time
            _, verified = tracemalloc.get_traced_memory()
            assert verified < 2 * block + (1 << 20), verified
    finally:
        tracemalloc.stop()


def test_regeneration_is_deterministic(tmp_path):
    out = tmp_path / "hostile"
    result = subprocess.run([sys.executable, str(GENERATOR), str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in FIXTURES.iterdir())
    for p in out.iterdir():
        assert p.read_bytes() == (FIXTURES / p.name).read_bytes(), p.name
