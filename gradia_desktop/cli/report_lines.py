"""Figures in the one-line forms the commands print."""

from __future__ import annotations

LISTED_WARNINGS = 20  # skipped / left-out entries named one per line on stderr; --json lists them all


def fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def split_line(split: str, s: dict) -> str:
    m = s["matrix"]
    return (f"  {split:<5} n={s['n']:<5} accuracy={fmt(s['accuracy'])} iou={fmt(s['iou'])} "
            f"energy={fmt(s['energy'])} pointing={fmt(s['pointing'])} "
            f"RA={m['RA']} UA={m['UA']} RI={m['RI']} UI={m['UI']} unassessed={m['unassessed']}"
            + (f" counterfactual accuracy={fmt(s['counterfactual_accuracy'])} "
               f"(shortcut reliance {fmt(s['shortcut_reliance'])} on {s['n_counterfactual']} masked images)"
               if s.get("counterfactual_accuracy") is not None else ""))
