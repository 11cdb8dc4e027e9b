"""The conformance set of malformed files (Tests/Fixtures/malformed, written by
tools/conformance/make_malformed.py): the Python reader must reject each file
with the category expected.json names, and name what it lists in `mentions`."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

import txw
from txw.errors import CATEGORIES

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "Tests" / "Fixtures" / "malformed"
GENERATOR = ROOT / "tools" / "conformance" / "make_malformed.py"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))


def load_generator():
    spec = importlib.util.spec_from_file_location("make_malformed", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_malformed", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def container_error(path):
    with pytest.raises(txw.TXWError) as info:
        with txw.read_container(path) as c:
            c.verify()
    return info.value


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_rejected_with_expected_category(name):
    entry = EXPECTED[name]
    path = FIXTURES / name
    assert entry["level"] in ("container", "model")
    assert (entry["category"] == "model") == (entry["level"] == "model")
    if entry["level"] == "container":
        err = container_error(path)
    else:
        # a sound container (header, manifest, every block) ...
        with txw.read_container(path) as c:
            c.verify()
        # ... that is not a model
        with pytest.raises(txw.TXWError) as info:
            txw.load(path)
        err = info.value
    assert err.category == entry["category"], f"{name}: {err}"
    for text in entry["mentions"]:
        assert text in err.message, f"{name}: {text!r} not in {err.message!r}"
    assert str(err) == f"{err.category}: {err.message}"


def test_set_is_complete():
    assert len(EXPECTED) >= 30
    files = {p.name for p in FIXTURES.iterdir() if p.name != "expected.json"}
    assert files == set(EXPECTED)
    for name, entry in EXPECTED.items():
        assert set(entry) == {"category", "mentions", "level", "why"}, name
        assert entry["category"] in CATEGORIES, name
        assert isinstance(entry["why"], str) and entry["why"] and "\n" not in entry["why"], name
        assert all(isinstance(m, str) and m for m in entry["mentions"]), name
        assert (FIXTURES / name).stat().st_size < 4096, name
    assert {e["level"] for e in EXPECTED.values()} == {"container", "model"}


def test_base_model_is_valid(tmp_path):
    # every case is this file with one rule broken
    path = tmp_path / "base.txw"
    path.write_bytes(load_generator().base_bytes())
    with txw.read_container(path) as c:
        c.verify()
    model = txw.load(path)
    assert model.hyperparameters["vocab_size"] == 5 and model.hyperparameters["d_model"] == 4
    assert len(model.blocks) == 1


def test_regeneration_is_deterministic(tmp_path):
    out = tmp_path / "malformed"
    result = subprocess.run([sys.executable, str(GENERATOR), str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (out / "expected.json").read_bytes() == (FIXTURES / "expected.json").read_bytes()
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in FIXTURES.iterdir())
    for name in EXPECTED:
        assert (out / name).read_bytes() == (FIXTURES / name).read_bytes(), name
    # and a second run into the same directory changes nothing
    again = tmp_path / "again"
    subprocess.run([sys.executable, str(GENERATOR), str(again)], check=True, capture_output=True, timeout=120)
    assert all((again / p.name).read_bytes() == p.read_bytes() for p in out.iterdir())
