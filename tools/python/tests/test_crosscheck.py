"""The crosscheck CLI the Swift test suite drives (tests/crosscheck.py)."""

import json
import subprocess
import sys
from pathlib import Path

import txw

SCRIPT = Path(__file__).with_name("crosscheck.py")


def run(*args):
    result = subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout.splitlines()


def test_write_then_read(tmp_path):
    code, _ = run("write", tmp_path)
    assert code == 0
    stems = sorted(p.stem for p in tmp_path.glob("*.txw"))
    expected_stems = sorted(f"{d}_{c}_{f}" for d in ("f32", "f64", "f16", "bf16") for c in ("stored", "zstd") for f in ("none", "shuffle"))
    assert stems == sorted(expected_stems + ["model", "model_context"])
    assert all((tmp_path / f"{s}.expected.json").is_file() for s in stems)

    with txw.read_container(tmp_path / "bf16_zstd_shuffle.txw") as c:
        assert [(t.name, t.shape, t.dtype, t.codec, t.filter, t.block_size) for t in c.tensors] == [
            ("a", (3, 5), "bf16", "zstd", "shuffle", 64),
            ("b", (200,), "bf16", "zstd", "shuffle", 64),
            ("s", (), "bf16", "zstd", "shuffle", 64),
        ]
        assert len(c.tensor("b").blocks) == 7
    doc = json.loads((tmp_path / "f32_stored_none.expected.json").read_text(encoding="utf-8"))
    assert doc["metadata"]["cross.float"] == {"type": "float", "value": "0x4004000000000000"}
    assert doc["metadata"]["cross.strings"] == {"type": "strings", "value": ["a", "β", ""]}
    assert "0x7ff0000000000000" in doc["tensors"][1]["bits"]  # +inf in b
    model = txw.load(tmp_path / "model.txw")
    assert model.hyperparameters["d_head"] == 3 and model.vocab == list("abcde") and model.metadata == {"name": "cross"}
    assert model.context_length is None and txw.load(tmp_path / "model_context.txw").context_length == 48

    code, lines = run("read", tmp_path)
    assert code == 0, lines
    assert lines[-1] == "18 passed, 0 failed"
    assert sorted(lines[:-1]) == sorted(f"ok {s}" for s in stems)

    # writing again gives the same bytes (determinism, and overwriting works)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert run("write", tmp_path)[0] == 0
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_read_reports_mismatches(tmp_path):
    assert run("write", tmp_path)[0] == 0
    path = tmp_path / "f16_zstd_none.expected.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["tensors"][0]["bits"][4] = "0x0000000000000000"
    path.write_text(json.dumps(doc), encoding="utf-8")
    path = tmp_path / "f64_stored_shuffle.expected.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["metadata"]["cross.int"]["value"] = 124
    path.write_text(json.dumps(doc), encoding="utf-8")
    path = tmp_path / "model_context.expected.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["metadata"]["model.context_length"]["value"] = 49
    path.write_text(json.dumps(doc), encoding="utf-8")
    damaged = bytearray((tmp_path / "model.txw").read_bytes())
    damaged[-5] ^= 1
    (tmp_path / "model.txw").write_bytes(bytes(damaged))

    code, lines = run("read", tmp_path)
    assert code == 1
    assert lines[-1] == "14 passed, 4 failed"
    fails = sorted(line for line in lines if line.startswith("FAIL"))
    assert fails[0].startswith("FAIL f16_zstd_none: tensor 'a': element 4")
    assert fails[1].startswith("FAIL f64_stored_shuffle: metadata 'cross.int'")
    assert fails[2].startswith("FAIL model: blockChecksum")
    assert fails[3].startswith("FAIL model_context: metadata 'model.context_length'")


def test_nan_matches_any_nan(tmp_path):
    assert run("write", tmp_path)[0] == 0
    path = tmp_path / "f32_stored_none.expected.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    bits = doc["tensors"][1]["bits"]
    index = next(i for i, b in enumerate(bits) if int(b, 16) >> 52 & 0x7FF == 0x7FF and int(b, 16) & ((1 << 52) - 1))
    bits[index] = "0xfff8000000000001"
    path.write_text(json.dumps(doc), encoding="utf-8")
    code, lines = run("read", tmp_path)
    assert code == 0 and "ok f32_stored_none" in lines


def test_read_with_nothing_to_check(tmp_path):
    code, lines = run("read", tmp_path)
    assert code == 1 and lines[-1] == "0 passed, 0 failed"
    (tmp_path / "lonely.txw").write_bytes(b"")
    assert run("read", tmp_path)[0] == 1


def test_usage(tmp_path):
    assert run()[0] == 2
    assert run("frobnicate", tmp_path)[0] == 2
