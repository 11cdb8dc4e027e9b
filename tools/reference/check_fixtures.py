#!/usr/bin/env python3
"""Regenerates the kernel fixtures into a temporary folder and compares them
with the committed ones in Tests/Fixtures/kernels.

Integers, strings and structure must be identical; floats may differ by
1e-12 relative or 1e-14 absolute, whichever is larger, since numpy's SIMD
exp/sin/tanh differ by an ulp between CPUs and numpy builds. The absolute
floor is for values near zero that come out of a larger computation: a
positional encoding sin(p / 10000^(2i/d)) with an argument near a multiple of
pi, or a logit that is a sum of terms of order 1, carries the rounding of its
inputs (an ulp of 1 is 2.2e-16), not of its own magnitude; on an AVX2 EPYC
with numpy 2.x two such values differ by 1.8e-15 and 4.4e-16 from the
committed ones. Exits 1 naming the first difference of each file.
"""

import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "Tests", "Fixtures")
COMMITTED = os.path.join(ROOT, "kernels")


def compare(a, b, path):
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            d = compare(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = compare(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool):
            return None if a == b else f"{path}: {a!r} != {b!r}"
        x, y = float(a), float(b)
        if x == y or (math.isnan(x) and math.isnan(y)):
            return None
        if abs(x - y) <= max(1e-12 * max(abs(x), abs(y)), 1e-14):
            return None
        return f"{path}: {x!r} != {y!r}"
    return None if a == b else f"{path}: {a!r} != {b!r}"


def compare_tools(fresh, committed):
    """expected.json by value; npz by array values (zip members carry timestamps); the rest by bytes."""
    import numpy as np

    failures = []
    names = sorted(os.listdir(fresh))
    if sorted(os.listdir(committed)) != names:
        return [f"tools fixtures differ: generated {names}, committed {sorted(os.listdir(committed))}"]
    for name in names:
        a, b = os.path.join(fresh, name), os.path.join(committed, name)
        if name.endswith(".json"):
            with open(a) as f, open(b) as g:
                d = compare(json.load(f), json.load(g), "tools/" + name)
            if d:
                failures.append(d)
        elif name.endswith(".npz"):
            x, y = np.load(a), np.load(b)
            if sorted(x.files) != sorted(y.files) or any(not np.array_equal(x[k], y[k]) for k in x.files):
                failures.append(f"tools/{name}: arrays differ")
        else:
            with open(a, "rb") as f, open(b, "rb") as g:
                if f.read() != g.read():
                    failures.append(f"tools/{name}: bytes differ")
    return failures


def main():
    with tempfile.TemporaryDirectory() as fresh_root:
        subprocess.run([sys.executable, os.path.join(HERE, "make_fixtures.py"), fresh_root], check=True)
        failures = compare_tools(os.path.join(fresh_root, "tools"), os.path.join(ROOT, "tools"))
        tmp = os.path.join(fresh_root, "kernels")
        names = sorted(os.listdir(tmp))
        committed = sorted(n for n in os.listdir(COMMITTED) if n.endswith(".json"))
        if names != committed:
            failures.append(f"fixture files differ: generated {names}, committed {committed}")
        for name in names:
            path = os.path.join(COMMITTED, name)
            if not os.path.exists(path):
                continue
            with open(os.path.join(tmp, name)) as f:
                fresh = json.load(f)
            with open(path) as f:
                old = json.load(f)
            d = compare(fresh, old, name)
            if d:
                failures.append(d)
        for f in failures:
            print("fixture mismatch: " + f, file=sys.stderr)
        if failures:
            print("regenerate with: python3 tools/reference/make_fixtures.py", file=sys.stderr)
            return 1
        print(f"fixtures: {len(names)} files match the reference generator")
        return 0


if __name__ == "__main__":
    sys.exit(main())
