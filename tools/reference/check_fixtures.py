#!/usr/bin/env python3
"""Regenerates the kernel fixtures into a temporary folder and compares them
with the committed ones in Tests/Fixtures/kernels.

Integers, strings and structure must be identical; floats may differ by
1e-12 relative (1e-300 absolute), since numpy's SIMD exp/sin/tanh may differ
by an ulp between CPUs. Exits 1 naming the first difference of each file.
"""

import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
COMMITTED = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "kernels")


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
        if abs(x - y) <= max(1e-12 * max(abs(x), abs(y)), 1e-300):
            return None
        return f"{path}: {x!r} != {y!r}"
    return None if a == b else f"{path}: {a!r} != {b!r}"


def main():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(HERE, "make_fixtures.py"), tmp], check=True)
        names = sorted(os.listdir(tmp))
        committed = sorted(n for n in os.listdir(COMMITTED) if n.endswith(".json"))
        failures = []
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
