#!/usr/bin/env python3
"""Scores a reversal model on held-out questions by driving txw-run.

    python3 tools/tasks/evaluate.py MODEL.txw HELDOUT.txt [--txw-run PATH] [--json] [--min-accuracy A]

For each question q (a line of HELDOUT.txt) it runs
`txw-run MODEL --prompt "q>" -n len(q) -t 0 --json` (greedy decoding) and
counts the answers equal to q reversed. Prints the accuracy; exits 1 if a
txw-run call fails or the accuracy is below --min-accuracy.
"""

import json
import os
import subprocess
import sys


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    model, heldout = args[0], args[1]
    run = "txw-run"
    if "--txw-run" in sys.argv:
        run = sys.argv[sys.argv.index("--txw-run") + 1]
        args = [a for a in args if a != run]
    minimum = None
    if "--min-accuracy" in sys.argv:
        minimum = float(sys.argv[sys.argv.index("--min-accuracy") + 1])
        args = [a for a in args if a != str(sys.argv[sys.argv.index("--min-accuracy") + 1])]
    questions = [line.strip() for line in open(heldout) if line.strip()]
    correct, wrong = 0, []
    for q in questions:
        out = subprocess.run([run, model, "--prompt", q + ">", "-n", str(len(q)), "-t", "0", "--json"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            print(f"txw-run failed on {q!r}: {out.stderr.strip()}", file=sys.stderr)
            sys.exit(1)
        answer = json.loads(out.stdout)["text"]
        if answer == q[::-1]:
            correct += 1
        else:
            wrong.append((q, answer))
    accuracy = correct / len(questions)
    if "--json" in sys.argv:
        print(json.dumps({"questions": len(questions), "correct": correct, "accuracy": accuracy,
                          "wrong": [{"question": q, "answer": a} for q, a in wrong[:20]]}))
    else:
        print(f"{correct}/{len(questions)} correct ({accuracy:.1%}) on held-out questions, greedy decoding")
        for q, a in wrong[:10]:
            print(f"  {q}> expected {q[::-1]}, got {a}", file=sys.stderr)
    if minimum is not None and accuracy < minimum:
        print(f"accuracy {accuracy:.1%} is below {minimum:.1%}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
