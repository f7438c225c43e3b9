"""The reproduction's outputs: accuracy table (markdown, CSV), a Fig. 3-like bar chart and a
Fig. 2-like sample picture."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from bsformat.files import atomic_write, write_atomic
from encrypt_tool import figures

__all__ = ["bar_chart", "sample_figure", "write_tables"]

COLUMNS = ("condition", "split", "images", "acc", "acc_tta", "loss", "loss_tta")


def write_tables(rows: list[dict], out_dir: Path) -> tuple[Path, Path]:
    """``results.csv`` and ``results.md``: one row per (condition, evaluation split)."""
    csv_path, md_path = out_dir / "results.csv", out_dir / "results.md"
    with atomic_write(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({k: r[k] for k in COLUMNS})
    lines = ["| condition | evaluated on | images | accuracy | accuracy, flip TTA |",
             "| --- | --- | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['label']} | {r['split_label']} | {r['images']:,} | "
                     f"{100 * r['acc']:.2f}% | {100 * r['acc_tta']:.2f}% |")
    write_atomic(md_path, "\n".join(lines) + "\n")
    return csv_path, md_path


def bar_chart(
    groups: list[tuple[str, list[tuple[str, float]]]], title: str, path: Path
) -> Path | None:
    """Grouped bars of accuracies in percent: [(group label, [(bar label, value), ...]), ...].
    None (with a warning) without matplotlib."""
    return figures.bar_chart(groups, path, title, ylabel="test accuracy (%)")


def sample_figure(
    rows: list[np.ndarray], path: Path, labels: list[str] | None = None
) -> Path | None:
    """Rows of images, each (n, H, W, C) uint8, labels[i] above row i: plain on top, encrypted
    copies below (Fig. 2). None (with a warning) without matplotlib."""
    scale = max(1, min(4, 128 // max(rows[0].shape[1:3])))  # small images 4x, large ones 1:1
    return figures.image_grid(rows, path, row_labels=labels, scale=scale)
