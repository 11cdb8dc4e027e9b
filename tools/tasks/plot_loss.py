#!/usr/bin/env python3
"""Draws a training log (txw-train --json, one object per line) as an SVG.

    python3 tools/tasks/plot_loss.py LOG.jsonl OUT.svg [TITLE]

Train and validation loss against the step; no dependency but the standard library.
"""

import json
import sys


def main():
    log, out = sys.argv[1], sys.argv[2]
    title = sys.argv[3] if len(sys.argv) > 3 else "training loss"
    rows = [json.loads(line) for line in open(log) if line.strip()]
    steps = [r["step"] for r in rows]
    series = {"train": [r["train_loss"] for r in rows], "validation": [r.get("val_loss") for r in rows]}
    values = [v for s in series.values() for v in s if v is not None]
    w, h, left, right, top, bottom = 640, 360, 60, 20, 40, 45
    x0, x1 = 0, max(steps)
    y0, y1 = 0.0, max(values) * 1.05

    def px(step):
        return left + (step - x0) / (x1 - x0) * (w - left - right)

    def py(value):
        return h - bottom - (value - y0) / (y1 - y0) * (h - top - bottom)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
             f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{w / 2}" y="22" text-anchor="middle" font-size="14">{title}</text>']
    for i in range(6):
        v = y0 + (y1 - y0) * i / 5
        y = py(v)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - right}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{v:.2f}</text>')
    for i in range(6):
        s = x0 + (x1 - x0) * i / 5
        x = px(s)
        parts.append(f'<text x="{x:.1f}" y="{h - bottom + 16}" text-anchor="middle">{int(s)}</text>')
    parts.append(f'<text x="{w / 2}" y="{h - 8}" text-anchor="middle">step</text>')
    parts.append(f'<text x="14" y="{h / 2}" text-anchor="middle" transform="rotate(-90 14 {h / 2})">loss (nats per token)</text>')
    colors = {"train": "#1f77b4", "validation": "#d62728"}
    for i, (name, ys) in enumerate(series.items()):
        points = " ".join(f"{px(s):.1f},{py(v):.1f}" for s, v in zip(steps, ys) if v is not None)
        if points:
            parts.append(f'<polyline fill="none" stroke="{colors[name]}" stroke-width="2" points="{points}"/>')
            parts.append(f'<text x="{w - right - 110}" y="{top + 16 + 16 * i}" fill="{colors[name]}">— {name}</text>')
    parts.append(f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" stroke="black"/>')
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="black"/>')
    parts.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
