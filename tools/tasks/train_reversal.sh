#!/usr/bin/env bash
# Reproduces samples/reversal.txw: the reversal task's data, the exact
# training command, the loss curve and the held-out score.
#   bash tools/tasks/train_reversal.sh
# Training is deterministic for the seed: on a CPU with the same instruction
# set (Spec/kernels.md, "Performance") the model is the same bit for bit,
# whatever the thread count. About 1.5 minutes on 2 cores.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/env.sh"
cd "$TXW_ROOT"
txw_system_deps
swift build -c release --product txw-train >&2
swift build -c release --product txw-run >&2
bin=$(swift build -c release --show-bin-path)
work=.build/reversal
mkdir -p "$work"
python3 tools/tasks/make_reversal.py "$work" --seed 7
"$bin/txw-train" -o "$work/reversal.txw" --random --d-model 64 --n-head 4 --d-head 16 --d-mlp 128 --n-block 2 \
    --data "$work/train.txt" --steps 5000 --batch 16 --context 48 --lr 3e-3 --eval-every 100 --seed 42 --json --force \
    > "$work/log.jsonl"
python3 tools/tasks/plot_loss.py "$work/log.jsonl" "$work/reversal-loss.svg" \
    "txw-train on the reversal task (d_model 64, 2 blocks, 5000 steps)"
python3 tools/tasks/evaluate.py "$work/reversal.txw" "$work/heldout.txt" --txw-run "$bin/txw-run"
echo "to update the bundled sample: cp $work/reversal.txw $work/heldout.txt $work/log.jsonl $work/reversal-loss.svg samples/ (heldout.txt as reversal-heldout.txt, log.jsonl as reversal-log.jsonl)" >&2
