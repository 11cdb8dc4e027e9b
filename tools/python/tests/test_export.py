"""txw-pack -o FILE.npz / FILE.safetensors read by numpy and the safetensors
package: the same arrays as the .txw file (read by this package's reader),
and the vocabulary, context length, constants and user metadata in the
documented map (Spec/cli.md, "Export")."""

import json
import os
import struct
import subprocess

import numpy as np
import pytest

import txw

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SHAPE = ["--d-model", "8", "--n-head", "2", "--d-head", "4", "--d-mlp", "16", "--n-block", "2"]


@pytest.fixture(scope="module")
def pack():
    """The txw-pack of this checkout (built when needed)."""
    subprocess.run(["swift", "build", "--product", "txw-pack"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bin_path = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
    path = os.path.join(bin_path, "txw-pack")

    def run(*args):
        result = subprocess.run([path, *args], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result
    return run


def source(pack, tmp_path, dtype):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("abc\u00e9\"\\\n\t")
    path = tmp_path / f"m-{dtype}.txw"
    pack("--random", "--seed", "7", *SHAPE, "--char-vocab", str(corpus), "--dtype", dtype,
         "--context-length", "33", "--meta", "note=caf\u00e9 \"q\"", "-o", str(path))
    return path


def safetensors_raw(path):
    """An independent reading of the layout: header length, JSON, data."""
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    assert n % 8 == 0
    header = json.loads(data[8:8 + n])
    return header, data[8 + n:]


@pytest.mark.parametrize("dtype", ["f32", "f16", "f64", "bf16"])
def test_npz_reads_as_the_txw_arrays(pack, tmp_path, dtype):
    src = source(pack, tmp_path, dtype)
    out = tmp_path / "m.npz"
    pack("--from", str(src), "-o", str(out))
    model = txw.load(src)
    container = txw.read_container(src)
    with np.load(out, allow_pickle=False) as z:
        names = [n for n in z.files if n != "__txw_metadata__"]
        assert names == [t.name for t in container.tensors]
        for name in names:
            expected = container.read(name)  # bf16 as float32, exactly
            got = z[name]
            assert got.dtype == {"f32": np.float32, "f16": np.float16, "f64": np.float64, "bf16": np.float32}[dtype]
            assert got.shape == expected.shape
            assert got.tobytes() == expected.astype(got.dtype).tobytes()
        meta = json.loads(bytes(z["__txw_metadata__"]).decode("utf-8"))
    assert json.loads(meta["txw.model.vocab"]) == model.vocab
    assert int(meta["txw.model.context_length"]) == 33
    assert float(meta["txw.model.mask_value"]) == model.hyperparameters["mask_value"]
    assert float(meta["txw.model.rmsnorm_epsilon"]) == model.hyperparameters["rmsnorm_epsilon"]
    assert float(meta["txw.model.positional_base"]) == model.hyperparameters["positional_base"]
    assert meta["txw.meta.note"] == "string:caf\u00e9 \"q\""


@pytest.mark.parametrize("dtype", ["f32", "f16", "f64", "bf16"])
def test_safetensors_reads_as_the_txw_arrays(pack, tmp_path, dtype):
    from safetensors import safe_open
    from safetensors.numpy import load_file

    src = source(pack, tmp_path, dtype)
    out = tmp_path / "m.safetensors"
    pack("--from", str(src), "-o", str(out))
    model = txw.load(src)
    container = txw.read_container(src)
    header, data = safetensors_raw(out)
    names = sorted(k for k in header if k != "__metadata__")
    assert names == sorted(t.name for t in container.tensors)
    # Data offsets: contiguous, each aligned to its element size.
    spans = sorted(tuple(header[n]["data_offsets"]) for n in names)
    assert spans[0][0] == 0 and spans[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    if dtype == "bf16":
        # numpy has no bfloat16: compare the raw bytes with the float32 upper halves.
        for name in names:
            entry = header[name]
            assert entry["dtype"] == "BF16"
            begin, end = entry["data_offsets"]
            f32 = container.read(name).astype("<f4").tobytes()
            upper = b"".join(f32[i + 2:i + 4] for i in range(0, len(f32), 4))
            assert data[begin:end] == upper
    else:
        arrays = load_file(str(out))
        assert sorted(arrays) == names
        for name in names:
            expected = container.read(name)
            assert arrays[name].dtype == expected.dtype
            assert arrays[name].shape == expected.shape
            assert arrays[name].tobytes() == expected.tobytes()
    with safe_open(str(out), framework="np") as f:
        meta = f.metadata()
    assert json.loads(meta["txw.model.vocab"]) == model.vocab
    assert meta["txw.model.context_length"] == "33"
    assert float(meta["txw.model.mask_value"]) == model.hyperparameters["mask_value"]
    assert meta["txw.meta.note"] == "string:caf\u00e9 \"q\""
