#!/usr/bin/env python3
"""Writes the content-digest known-answer fixture (Spec/txw-format.md part 4).

    python3 tools/reference/make_digest_fixtures.py [OUT_DIR]

OUT_DIR defaults to Tests/Fixtures/digest. Written:
  - kat.txw: a tiny model (V 3, d_model 2, n_head 1, d_head 2, d_mlp 3,
    n_block 1; f32, f16, bf16 and f64 tensors; a vocabulary; a context
    length; user metadata), stored by the Python writer (txw.write_container);
  - kat.json: {"model": HEX, "tensors": {name: HEX}} — the digests computed
    HERE from the spec's byte listing with struct and hashlib, element bytes
    packed from the values below (not from the file, and not by txw.digest
    or the Swift library): the answers both implementations must give
    (tools/python/tests/test_digest.py, Tests/TXWModelTests/DigestTests.swift).
"""

import hashlib
import json
import os
import struct
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "python"))

import txw  # noqa: E402  (the writer only)

DTYPE_CODE = {"f32": 1, "f64": 2, "f16": 3, "bf16": 4}

# name, dtype, shape, values (row-major); every value exact in its dtype.
TENSORS = [
    ("W_E", "f32", (3, 2), [0.5, -1.0, 2.0, 0.25, -0.125, 3.0]),
    ("blocks.0.W_1", "f16", (2, 3), [1.0, -2.0, 0.5, 0.0, 4.0, -0.25]),
    ("blocks.0.b_1", "f32", (3,), [0.1, 0.2, -0.3]),
    ("blocks.0.W_2", "bf16", (3, 2), [1.0, 2.0, -4.0, 0.5, 8.0, -0.0]),
    ("blocks.0.b_2", "f64", (2,), [1e-3, -2.5]),
    ("blocks.0.W_Q", "f32", (2, 2, 1), [1.0, 0.0, 0.0, 1.0]),
    ("blocks.0.W_K", "f32", (2, 2, 1), [0.5, 0.5, -0.5, 0.5]),
    ("blocks.0.W_V", "f32", (2, 2, 1), [2.0, -1.0, 1.0, 2.0]),
    ("blocks.0.W_O", "f32", (2, 2), [1.0, 2.0, 3.0, 4.0]),
]
VOCAB = ["a", "β", "<eos>"]
CONTEXT_LENGTH = 8
MODEL_KEYS = {  # key -> (type code, value)
    "model.vocab_size": (1, 3),
    "model.d_model": (1, 2),
    "model.n_head": (1, 1),
    "model.d_head": (1, 2),
    "model.d_mlp": (1, 3),
    "model.n_block": (1, 1),
    "model.rmsnorm_epsilon": (2, 1e-9),
    "model.positional_base": (2, 10000.0),
    "model.mask_value": (2, -1e9),
    "model.context_length": (1, CONTEXT_LENGTH),
}
USER = {"name": "kat", "provenance": "tools/reference/make_digest_fixtures.py"}


def element_bytes(dtype, values):
    if dtype == "f32":
        return struct.pack(f"<{len(values)}f", *values)
    if dtype == "f64":
        return struct.pack(f"<{len(values)}d", *values)
    if dtype == "f16":
        return struct.pack(f"<{len(values)}e", *values)
    # bf16: the upper 16 bits of the binary32 (every value here is exact)
    return b"".join(struct.pack("<I", struct.unpack("<I", struct.pack("<f", v))[0])[2:] for v in values)


def u64(n):
    return struct.pack("<Q", n)


def text(s):
    b = s.encode("utf-8")
    return u64(len(b)) + b


def tensor_digest(name, dtype, shape, values):
    seq = b"txw-tensor-digest-v1\x00" + text(name) + bytes([DTYPE_CODE[dtype]]) + u64(len(shape))
    seq += b"".join(u64(d) for d in shape) + element_bytes(dtype, values)
    return hashlib.sha256(seq).digest()


def model_digest(digests):
    seq = b"txw-model-digest-v1\x00" + u64(len(MODEL_KEYS))
    for key in sorted(MODEL_KEYS, key=lambda k: k.encode()):
        code, value = MODEL_KEYS[key]
        seq += text(key) + bytes([code]) + (struct.pack("<q", value) if code == 1 else struct.pack("<d", value))
    seq += b"\x01" + u64(len(VOCAB)) + b"".join(text(t) for t in VOCAB)
    seq += u64(len(digests)) + b"".join(digests)
    return hashlib.sha256(seq).digest()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "Tests", "Fixtures", "digest")
    os.makedirs(out, exist_ok=True)
    digests = [tensor_digest(*t) for t in TENSORS]
    metadata = dict(USER)
    for key, (code, value) in MODEL_KEYS.items():
        metadata[key] = value if code == 1 else float(value)
    metadata["model.vocab"] = VOCAB
    # The file: tensors in reverse profile order, small blocks, zstd level 9:
    # the digest is of the content, not of this layout.
    tensors = [
        txw.Tensor(name, np.array(values, dtype=np.float64).reshape(shape), dtype)
        for name, dtype, shape, values in reversed(TENSORS)
    ]
    txw.write_container(os.path.join(out, "kat.txw"), tensors, metadata, level=9, block_size=64, overwrite=True, minor_version=1)
    answer = {
        "model": model_digest(digests).hex(),
        "tensors": {name: d.hex() for (name, _, _, _), d in zip(TENSORS, digests)},
    }
    with open(os.path.join(out, "kat.json"), "w") as f:
        json.dump(answer, f, indent=2)
        f.write("\n")
    print(f"wrote {out}/kat.txw and kat.json: {answer['model']}")


if __name__ == "__main__":
    main()
