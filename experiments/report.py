"""The reproduction's outputs: accuracy table (markdown, CSV), a Fig. 3-like bar chart and a
Fig. 2-like sample picture."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from encrypt_tool.inspect import tile

__all__ = ["bar_chart", "sample_figure", "write_tables"]

COLUMNS = ("condition", "split", "images", "acc", "acc_tta", "loss", "loss_tta")


def write_tables(rows: list[dict], out_dir: Path) -> tuple[Path, Path]:
    """``results.csv`` and ``results.md``: one row per (condition, evaluation split)."""
    csv_path, md_path = out_dir / "results.csv", out_dir / "results.md"
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({k: r[k] for k in COLUMNS})
    lines = ["| condition | evaluated on | images | accuracy | accuracy, flip TTA |",
             "| --- | --- | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['label']} | {r['split_label']} | {r['images']:,} | "
                     f"{100 * r['acc']:.2f}% | {100 * r['acc_tta']:.2f}% |")
    md_path.write_text("\n".join(lines) + "\n")
    return csv_path, md_path


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def bar_chart(groups: list[tuple[str, list[tuple[str, float]]]], title: str, path: Path) -> Path:
    """Grouped bars of accuracies in percent: [(group label, [(bar label, value), ...]), ...]."""
    width, height, margin, top = 760, 460, 70, 60
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font, small = _font(18), _font(14)
    draw.text((margin, 18), title, fill="black", font=font)
    plot_h = height - top - 80
    y0 = top + plot_h  # the axis line
    for tick in range(0, 101, 20):
        y = y0 - plot_h * tick / 100
        draw.line([(margin, y), (width - 20, y)], fill=(225, 225, 225))
        draw.text((margin - 38, y - 8), f"{tick}%", fill="black", font=small)
    colours = [(110, 110, 110), (200, 60, 50)]
    n_groups = len(groups)
    group_w = (width - margin - 20) / n_groups
    for g, (glabel, bars) in enumerate(groups):
        bar_w = group_w * 0.7 / len(bars)
        x = margin + g * group_w + group_w * 0.15
        for b, (blabel, value) in enumerate(bars):
            y = y0 - plot_h * value / 100
            draw.rectangle([x, y, x + bar_w - 6, y0], fill=colours[b % len(colours)])
            draw.text((x + 4, y - 18), f"{value:.1f}", fill="black", font=small)
            draw.text((x + 4, y0 + 6), blabel, fill="black", font=small)
            x += bar_w
        draw.text((margin + g * group_w + group_w * 0.15, y0 + 30), glabel, fill="black",
                  font=small)
    draw.line([(margin, y0), (width - 20, y0)], fill="black")
    img.save(path)
    return path


def sample_figure(rows: list[np.ndarray], path: Path) -> Path:
    """Rows of images, each (n, H, W, C) uint8: plain on top, encrypted copies below (Fig. 2)."""
    tile(rows, scale=4).save(path)
    return path
