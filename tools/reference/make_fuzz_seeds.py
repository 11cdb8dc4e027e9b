#!/usr/bin/env python3
"""Writes the seed corpora of txw-fuzz's `resume` and `tokenizer` targets
(Sources/txw-fuzz/Fuzz.swift) into Tests/Fixtures/fuzz/<target>/.

    make_fuzz_seeds.py [OUT_DIR]      (default Tests/Fixtures/fuzz)

resume: `.adam` containers (and raw states, see ResumeTarget.rawState) for the harness's fixed model (V 5, d_model 4,
n_head 1, d_head 2, d_mlp 4, n_block 1): valid states at several steps and
the hostile kinds txw-train refuses (a moment of the wrong shape, a missing
one, negative or NaN second moments, steps -1 and 2^62, a huge first
moment that makes the weights overflow). tokenizer: vocabularies and texts,
each token followed by a 0xFF byte, the text last. The same run writes the
same bytes.
"""
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import txw  # noqa: E402
from txw.model import tensor_shapes  # noqa: E402

HP = {"vocab_size": 5, "d_model": 4, "n_head": 1, "d_head": 2, "d_mlp": 4, "n_block": 1}


def adam(path, step, first=None, second=None, shapes=None, drop=None):
    rng = np.random.default_rng(abs(step) % 1000 + 1)
    tensors = []
    for name, shape in shapes or tensor_shapes(HP):
        m = rng.standard_normal(shape) * 1e-3 if first is None else np.full(shape, first, dtype=np.float64)
        v = rng.random(shape) * 1e-6 if second is None else np.full(shape, second, dtype=np.float64)
        for kind, values in (("m", m), ("v", v)):
            if f"{kind}.{name}" != drop:
                tensors.append((f"{kind}.{name}", np.asarray(values, dtype=np.float64), "f64"))
    txw.write_container(path, tensors, {"adamw.step": step}, overwrite=True)


def resume(out):
    os.makedirs(out, exist_ok=True)
    adam(os.path.join(out, "step0-zero.adam"), 0, first=0.0, second=0.0)
    adam(os.path.join(out, "step5.adam"), 5)
    adam(os.path.join(out, "step63.adam"), 63)
    adam(os.path.join(out, "step64-done.adam"), 64)
    adam(os.path.join(out, "negative-second.adam"), 7, second=-1.0)
    adam(os.path.join(out, "nan-first.adam"), 7, first=float("nan"))
    adam(os.path.join(out, "huge-first.adam"), 3, first=1e300, second=0.0)
    adam(os.path.join(out, "step-minus1.adam"), -1)
    adam(os.path.join(out, "step-2p62.adam"), 1 << 62)
    wrong = [(n, (s[0] + 1,) + tuple(s[1:]) if n == "W_E" else s) for n, s in tensor_shapes(HP)]
    adam(os.path.join(out, "wrong-shape.adam"), 5, shapes=wrong)
    adam(os.path.join(out, "missing-v.adam"), 5, drop="v.blocks.0.W_O")
    # Raw states (not a container: byte 0 flags, bytes 1-8 the step, then f64 values).
    def raw(name, flags, step, values):
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes([flags]) + struct.pack("<q", step) + struct.pack(f"<{len(values)}d", *values))
    raw("raw-step5.bin", 0, 5, [1e-3, 2e-6, -1e-3, 1e-6])
    raw("raw-huge.bin", 0, 2, [1e300, 0.0])
    raw("raw-missing.bin", 1, 5, [0.0])
    raw("raw-short.bin", 2, 5, [0.0])
    raw("raw-negative.bin", 0, 3, [0.5, -0.5])


TOKENIZER = {
    "simple": (["a", "b", "ab"], "abba"),
    "combining": (["é", "e\u0301", "e", "\u0301"], "ée\u0301e\u0301é"),
    "no-match": (["a", "b"], "abc"),
    "long-token": (["a" * 300, "a", "aa"], "a" * 701),
    "empty-text": (["x"], ""),
    "overlaps": (["abc", "bcd", "abcd", "b", "c", "d", "a"], "abcdbcdabcab"),
    "emoji": (["👩", "\u200d", "💻", "👩\u200d💻", " "], "👩\u200d💻 👩 💻"),
}


def tokenizer(out):
    os.makedirs(out, exist_ok=True)
    for name, (tokens, text) in TOKENIZER.items():
        data = b"".join(t.encode("utf-8") + b"\xff" for t in tokens) + text.encode("utf-8")
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(data)
    # Bytes that are not UTF-8 (decoded with U+FFFD) in a token and the text.
    with open(os.path.join(out, "invalid-utf8.bin"), "wb") as f:
        f.write(b"\xc3\xff\xfe\xffa\xff\xc3a\xfe")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "fuzz")
    resume(os.path.join(root, "resume"))
    tokenizer(os.path.join(root, "tokenizer"))


if __name__ == "__main__":
    main()
