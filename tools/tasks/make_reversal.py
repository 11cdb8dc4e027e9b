#!/usr/bin/env python3
"""The string-reversal task: lines `abcde>edcba` over the letters a–f.

    python3 tools/tasks/make_reversal.py OUT_DIR [--seed 7]

Writes OUT_DIR/train.txt (every 5-letter string over a–f but the held-out
ones, in a seeded random order, one `question>answer` per line) and
OUT_DIR/heldout.txt (500 strings the training text never contains, one per
line). 6^5 = 7776 strings in all. The answer is the question reversed, so it
can be checked by anyone.
"""

import itertools
import os
import random
import sys

LETTERS = "abcdef"
LENGTH = 5
HELD_OUT = 500


def main():
    out = sys.argv[1]
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 7
    rng = random.Random(seed)
    strings = ["".join(p) for p in itertools.product(LETTERS, repeat=LENGTH)]
    rng.shuffle(strings)
    held, train = strings[:HELD_OUT], strings[HELD_OUT:]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "train.txt"), "w") as f:
        for s in train:
            f.write(f"{s}>{s[::-1]}\n")
    with open(os.path.join(out, "heldout.txt"), "w") as f:
        for s in held:
            f.write(s + "\n")
    print(f"{len(train)} training lines, {len(held)} held-out questions in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
