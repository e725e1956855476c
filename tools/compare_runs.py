#!/usr/bin/env python3
"""Draws several training runs on one picture, from their run folders'
metrics.jsonl: training loss (thin lines) and validation loss (markers) on
one panel, validation BLEU on the other, against updates. For comparing
runs that differ in one thing (bf16 against fp32, two seeds, two recipes).
Prints one JSON line a run with its last validation.

  tools/compare_runs.py OUT.svg [LABEL=]RUN_DIR...
  tools/render_svg.sh OUT.svg          # to look at it as a PNG
"""
import html
import json
import math
import sys
from pathlib import Path

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]
WIDTH, PANEL_H, LEFT, RIGHT, TOP, GAP = 900, 300, 70, 20, 50, 60


def read_run(spec):
    label, _, folder = spec.rpartition("=")
    folder = Path(folder)
    metrics = folder / "metrics.jsonl"
    if not metrics.is_file():
        sys.exit(f"compare_runs: {metrics} does not exist")
    train, valid = [], []
    for number, line in enumerate(metrics.open(), 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            sys.exit(f"compare_runs: {metrics}:{number}: not JSON ({e.msg})")
        if row.get("type") == "train":
            train.append((row["step"], row["loss"]))
        elif row.get("type") in ("valid", "final") and "valid_loss" in row:
            valid.append((row["step"], row["valid_loss"], row.get("valid_bleu", -1), row["type"]))
    return {"label": label or folder.name, "train": train, "valid": valid}


def ticks(low, high, count=5):
    span = high - low or 1.0
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw), default=raw)
    first = (low // step + 1) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def panel(out, top, title, series, x_max, y_low, y_high):
    """series: (colour, points, style) with style 'line' or 'marks'."""
    plot_w = WIDTH - LEFT - RIGHT
    def x(v): return LEFT + v / x_max * plot_w
    def y(v): return top + (1 - (v - y_low) / (y_high - y_low)) * PANEL_H
    out.append(f'<text x="{LEFT}" y="{top - 8}" font-size="13">{html.escape(title)}</text>')
    out.append(f'<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{PANEL_H}" fill="none" stroke="#999"/>')
    for t in ticks(y_low, y_high):
        out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y(t) + 4:.1f}" font-size="11" text-anchor="end">{t:g}</text>')
    for t in ticks(0, x_max):
        out.append(f'<text x="{x(t):.1f}" y="{top + PANEL_H + 15}" font-size="11" text-anchor="middle">{t:g}</text>')
    for colour, points, style in series:
        inside = [(a, b) for a, b in points if y_low <= b <= y_high]
        if style == "line" and len(inside) > 1:
            path = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in inside)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1" opacity="0.6"/>')
        elif style == "marks":
            if len(inside) > 1:
                path = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in inside)
                out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
            for a, b in inside:
                out.append(f'<circle cx="{x(a):.1f}" cy="{y(b):.1f}" r="3.5" fill="{colour}"/>')


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[-2].strip())
    out_path, runs = Path(sys.argv[1]), [read_run(s) for s in sys.argv[2:]]
    x_max = max([p[0] for r in runs for p in r["train"] + [v[:2] for v in r["valid"]]] or [1])
    valid_losses = [v[1] for r in runs for v in r["valid"]]
    # The loss panel spans the validation losses and the training losses after the first tenth of the run,
    # so the first steps' losses (8+) do not flatten the curves that matter.
    late_train = [b for r in runs for a, b in r["train"] if a >= x_max / 10]
    losses = valid_losses + late_train or [0, 1]
    bleus = [v[2] for r in runs for v in r["valid"] if v[2] >= 0] or [0, 1]
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
           f'height="{TOP + 2 * PANEL_H + GAP + 60}" font-family="sans-serif">']
    title = " vs ".join(r["label"] for r in runs) + f": {x_max:,} updates"
    svg.append(f'<text x="{LEFT}" y="22" font-size="16" font-weight="bold">{html.escape(title)}</text>')
    loss_series, bleu_series = [], []
    for i, r in enumerate(runs):
        c = COLOURS[i % len(COLOURS)]
        valid = [v for v in r["valid"] if v[3] == "valid"]  # the final line repeats the last step with final.ckpt
        loss_series += [(c, r["train"], "line"), (c, [(v[0], v[1]) for v in valid], "marks")]
        bleu_series.append((c, [(v[0], v[2]) for v in valid if v[2] >= 0], "marks"))
    pad = (max(losses) - min(losses)) * 0.05 or 0.1
    panel(svg, TOP + 20, "loss: training (thin), validation (points)", loss_series, x_max,
          min(losses) - pad, max(losses) + pad)
    pad = (max(bleus) - min(bleus)) * 0.05 or 1
    panel(svg, TOP + 20 + PANEL_H + GAP, "validation BLEU (greedy)", bleu_series, x_max,
          max(0, min(bleus) - pad), max(bleus) + pad)
    legend_y = TOP + 2 * PANEL_H + GAP + 55
    for i, r in enumerate(runs):
        c, lx = COLOURS[i % len(COLOURS)], LEFT + i * 220
        svg.append(f'<rect x="{lx}" y="{legend_y - 10}" width="14" height="10" fill="{c}"/>')
        svg.append(f'<text x="{lx + 20}" y="{legend_y}" font-size="12">{html.escape(r["label"])}</text>')
    svg.append("</svg>")
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_text("\n".join(svg) + "\n")
    tmp.replace(out_path)  # written whole, then renamed
    for r in runs:
        last = r["valid"][-1] if r["valid"] else None
        print(json.dumps({"run": r["label"], "updates": r["train"][-1][0] if r["train"] else 0,
                          "last_valid_step": last[0] if last else None, "valid_loss": last[1] if last else None,
                          "valid_bleu": last[2] if last else None}))


if __name__ == "__main__":
    main()
