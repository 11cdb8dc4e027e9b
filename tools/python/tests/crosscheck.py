#!/usr/bin/env python3
"""Cross-implementation check between the Python and Swift txw readers/writers.

    python crosscheck.py write DIR   write sample containers and two models (one
                                     with model.context_length), each with a
                                     NAME.expected.json beside it
    python crosscheck.py read DIR    check every NAME.txw in DIR that has a
                                     NAME.expected.json; print "ok NAME" or
                                     "FAIL NAME: reason" per file, then
                                     "N passed, M failed"

Exit status: 0 on success; 1 if a file failed (read) or none was found; 2
for a usage error.

The JSON: {"metadata": {key: {"type": "int"|"float"|"bool"|"string"|"strings",
"value": ...}}, "tensors": [{"name", "dtype", "codec", "filter", "shape",
"bits"}]}. Float metadata values and tensor elements are "0x%016x" strings:
the bit pattern of the value as float64 (tensor elements after conversion to
their stored dtype, in row-major order). When comparing tensor elements, any
NaN matches any NaN; everything else must be bit-exact.
"""

from __future__ import annotations

import json
import math
import struct
import sys
from pathlib import Path

import numpy as np

# Use the txw package next to this script (tools/python/txw) over any other.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import txw  # noqa: E402
from models import random_model  # noqa: E402

DTYPES = ("f32", "f64", "f16", "bf16")
CODECS = ("stored", "zstd")
FILTERS = ("none", "shuffle")
BLOCK_SIZE = 64
CONTAINER_METADATA = {
    "cross.int": 123,
    "cross.float": 2.5,
    "cross.bool": False,
    "cross.string": "héllo",
    "cross.strings": ["a", "β", ""],
}


# -- expected values, computed element by element from the spec's words ----------------


def f64_bits(value: float) -> str:
    return "0x%016x" % struct.unpack("<Q", struct.pack("<d", value))[0]


def stored_as_f64(value: float, dtype: str) -> float:
    """The float64 value of ``value`` (a float64) stored as ``dtype``."""
    with np.errstate(over="ignore", invalid="ignore"):
        if dtype == "f64":
            return value
        if dtype == "f32":
            return float(np.float32(value))
        if dtype == "f16":
            return float(np.float16(value))
        # bf16: round to binary32, then keep the upper half rounded to nearest even
        bits = struct.unpack("<I", np.float32(value).tobytes())[0]
        if math.isnan(value):
            upper = (bits >> 16) | 0x0040
        else:
            upper, lower = bits >> 16, bits & 0xFFFF
            if lower > 0x8000 or (lower == 0x8000 and upper & 1):
                upper += 1
        return struct.unpack("<f", struct.pack("<I", upper << 16))[0]


def metadata_json(metadata: dict) -> dict:
    out = {}
    for key in sorted(metadata, key=lambda k: k.encode("utf-8")):
        value = metadata[key]
        if isinstance(value, bool):
            out[key] = {"type": "bool", "value": value}
        elif isinstance(value, int):
            out[key] = {"type": "int", "value": value}
        elif isinstance(value, float):
            out[key] = {"type": "float", "value": f64_bits(value)}
        elif isinstance(value, str):
            out[key] = {"type": "string", "value": value}
        else:
            out[key] = {"type": "strings", "value": list(value)}
    return out


def tensor_json(name: str, values, dtype: str, codec: str, filt: str) -> dict:
    values = np.asarray(values, dtype=np.float64)
    return {
        "name": name,
        "dtype": dtype,
        "codec": codec,
        "filter": filt,
        "shape": list(values.shape),
        "bits": [f64_bits(stored_as_f64(float(v), dtype)) for v in values.reshape(-1)],
    }


def write_json(path: Path, metadata: dict, tensors: list) -> None:
    document = {"metadata": metadata_json(metadata), "tensors": tensors}
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# -- write ------------------------------------------------------------------------------


def container_values():
    rng = np.random.default_rng(7)
    a = rng.normal(size=(3, 5)) * 10
    b = rng.normal(size=200) * 10
    b[[3, 17, 42, 99, 150, 199]] = [math.inf, -math.inf, math.nan, -0.0, 65504.0, 1e-8]
    s = np.float64(rng.normal() * 10)
    return [("a", a), ("b", b), ("s", s)]


def model_values():
    return random_model(np.random.default_rng(7), 5, 4, 2, 3, 6, 2)


def command_write(directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    values = container_values()
    for dtype in DTYPES:
        for codec in CODECS:
            for filt in FILTERS:
                stem = f"{dtype}_{codec}_{filt}"
                tensors = [txw.Tensor(name, data, dtype, codec, filt) for name, data in values]
                txw.write_container(directory / f"{stem}.txw", tensors, CONTAINER_METADATA, block_size=BLOCK_SIZE, overwrite=True)
                write_json(
                    directory / f"{stem}.expected.json",
                    CONTAINER_METADATA,
                    [tensor_json(name, data, dtype, codec, filt) for name, data in values],
                )
    W_E, blocks = model_values()
    for stem, context_length in (("model", None), ("model_context", 48)):
        hp = txw.save(
            directory / f"{stem}.txw", W_E, blocks, vocab=["a", "b", "c", "d", "e"], metadata={"name": "cross"},
            overwrite=True, context_length=context_length,
        )
        metadata = {"name": "cross", "model.vocab": ["a", "b", "c", "d", "e"]}
        metadata.update({f"model.{k}": v for k, v in hp.items()})
        if context_length is not None:
            metadata["model.context_length"] = context_length
        tensors = [tensor_json("W_E", W_E, "f64", "zstd", "shuffle")]
        for i, block in enumerate(blocks):
            for field in txw.BlockParameter._fields:
                tensors.append(tensor_json(f"blocks.{i}.{field}", getattr(block, field), "f64", "zstd", "shuffle"))
        write_json(directory / f"{stem}.expected.json", metadata, tensors)
    return 0


# -- read -------------------------------------------------------------------------------


class Mismatch(Exception):
    pass


def parse_bits(text) -> int:
    if not isinstance(text, str) or not text.startswith("0x"):
        raise Mismatch(f"bad bit string {text!r} in the JSON")
    return int(text, 16)


def is_nan_bits(bits: int) -> bool:
    return (bits >> 52) & 0x7FF == 0x7FF and bits & ((1 << 52) - 1) != 0


def value_bits(array) -> list:
    return [int(b) for b in np.asarray(array, dtype=np.float64).reshape(-1).view(np.uint64)]


def compare_values(where: str, found, expected_bits: list) -> None:
    found_bits = value_bits(found)
    if len(found_bits) != len(expected_bits):
        raise Mismatch(f"{where}: {len(found_bits)} elements, expected {len(expected_bits)}")
    for index, (got, text) in enumerate(zip(found_bits, expected_bits)):
        want = parse_bits(text)
        if got != want and not (is_nan_bits(got) and is_nan_bits(want)):
            raise Mismatch(f"{where}: element {index} is 0x{got:016x}, expected 0x{want:016x}")


def compare_metadata(found: dict, types: dict, expected: dict) -> None:
    if list(found) != sorted(found, key=lambda k: k.encode("utf-8")):
        raise Mismatch("metadata keys are not in bytewise order")
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing or extra:
        raise Mismatch(f"metadata keys: missing {missing}, unexpected {extra}")
    for key, want in expected.items():
        if types[key] != want.get("type"):
            raise Mismatch(f"metadata {key!r}: type {types[key]}, expected {want.get('type')}")
        value = found[key]
        if want["type"] == "float":
            got_bits, want_bits = struct.unpack("<Q", struct.pack("<d", value))[0], parse_bits(want["value"])
            if got_bits != want_bits:
                raise Mismatch(f"metadata {key!r}: 0x{got_bits:016x}, expected 0x{want_bits:016x}")
        elif value != want["value"] or type(value) is not type(want["value"]):
            raise Mismatch(f"metadata {key!r}: {value!r}, expected {want['value']!r}")


def check_file(path: Path, expected: dict) -> None:
    if not isinstance(expected, dict) or not isinstance(expected.get("metadata"), dict) or not isinstance(expected.get("tensors"), list):
        raise Mismatch("the expected JSON lacks 'metadata' or 'tensors'")
    with txw.read_container(path) as c:
        compare_metadata(c.metadata, c.metadata_types, expected["metadata"])
        names = [t["name"] for t in expected["tensors"]]
        if c.names != names:
            raise Mismatch(f"tensors {c.names}, expected {names}")
        for info, want in zip(c.tensors, expected["tensors"]):
            got = (info.dtype, info.codec, info.filter, list(info.shape))
            wanted = (want.get("dtype"), want.get("codec"), want.get("filter"), want.get("shape"))
            if got != wanted:
                raise Mismatch(f"tensor {info.name!r}: (dtype, codec, filter, shape) {got}, expected {wanted}")
            compare_values(f"tensor {info.name!r}", c.read(info.name), want["bits"])
        c.verify()
        is_model = any(key.startswith("model.") for key in c.metadata)
        # Spec 1.8: the lowest minor version the file needs (1.1 for model.context_length).
        minor = 1 if "model.context_length" in expected["metadata"] else 0
        if c.version != (1, minor):
            raise Mismatch(f"format version {c.version}, expected (1, {minor})")
    if is_model:
        model = txw.load(path)
        by_name = {t["name"]: t for t in expected["tensors"]}
        for name, array in model.named_tensors():
            compare_values(f"txw.load tensor {name!r}", array, by_name[name]["bits"])
        meta = expected["metadata"]
        for key, value in model.hyperparameters.items():
            want = meta[f"model.{key}"]
            same = parse_bits(want["value"]) == struct.unpack("<Q", struct.pack("<d", value))[0] if want["type"] == "float" else value == want["value"]
            if not same:
                raise Mismatch(f"txw.load hyperparameter {key}: {value!r}, expected {want['value']!r}")
        if model.vocab != (meta["model.vocab"]["value"] if "model.vocab" in meta else None):
            raise Mismatch("txw.load vocab differs")
        context_length = meta["model.context_length"]["value"] if "model.context_length" in meta else None
        if model.context_length != context_length:
            raise Mismatch(f"txw.load context_length {model.context_length!r}, expected {context_length!r}")
        if set(model.metadata) != {k for k in meta if not k.startswith("model.")}:
            raise Mismatch("txw.load user metadata keys differ")


def command_read(directory: Path) -> int:
    passed = failed = 0
    files = sorted(p for p in directory.glob("*.txw") if p.with_name(p.stem + ".expected.json").is_file())
    if not files:
        print(f"no .txw file with a .expected.json beside it in {directory}")
    for path in files:
        name = path.stem
        try:
            expected = json.loads(path.with_name(name + ".expected.json").read_text(encoding="utf-8"))
            check_file(path, expected)
        except Exception as exc:  # any problem is this file's failure; go on with the others
            reason = " ".join(str(exc).split()) or type(exc).__name__
            print(f"FAIL {name}: {reason}")
            failed += 1
        else:
            print(f"ok {name}")
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not files else 0


def main(argv) -> int:
    if len(argv) != 3 or argv[1] not in ("write", "read"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    directory = Path(argv[2])
    if argv[1] == "write":
        return command_write(directory)
    if not directory.is_dir():
        print(f"{directory} is not a directory", file=sys.stderr)
        print("0 passed, 0 failed")
        return 1
    return command_read(directory)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
