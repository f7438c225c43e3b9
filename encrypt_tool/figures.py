"""Pictures with matplotlib: an image grid with captions, a labelled scatter chart, bars.

matplotlib is an optional extra (``pip install bs-encrypt[charts]``) and is imported only when a
picture is drawn, with the object-oriented API (Agg, no pyplot, no global state). Where it is
missing, every function warns once in one line and returns None, so a command still writes its
tables.
"""

from __future__ import annotations

import os
import textwrap
import warnings
from pathlib import Path

import numpy as np

__all__ = ["MISSING", "PICTURE_SUFFIXES", "bar_chart", "charts_available", "check_picture_path",
           "image_grid", "scatter_chart"]

MISSING = "the picture needs matplotlib: pip install bs-encrypt[charts]"
DPI = 100  # figure inches * DPI = pixels; image cells are placed pixel for pixel
FONT_PT = 11
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".pdf", ".svg")  # formats a picture is written in
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def _save(fig, path: str | os.PathLike) -> None:
    """Save ``fig`` to ``path`` atomically, in the format its suffix names (.png, .pdf, ...)."""
    from bsformat.files import atomic_write

    fmt = Path(path).suffix.lstrip(".").lower() or None
    with atomic_write(path) as f:
        fig.savefig(f, dpi=DPI, format=fmt)


def _figure_class():
    """matplotlib's Figure class, or None when matplotlib is not installed."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return Figure


def charts_available() -> bool:
    """Whether pictures can be drawn (matplotlib is installed)."""
    return _figure_class() is not None


def check_picture_path(option: str, path: str | os.PathLike) -> None:
    """ValueError naming ``option`` unless ``path`` ends in a suffix pictures are written in
    (matplotlib picks the format by the suffix; without one it would add ``.png``)."""
    suffix = Path(path).suffix.lower()
    if suffix not in PICTURE_SUFFIXES:
        got = f"ends in {suffix!r}" if suffix else "has no suffix"
        raise ValueError(f"{option} {path} {got}; a picture is written as "
                         f"{', '.join(PICTURE_SUFFIXES)}, such as samples.png")


def _new_figure(path: Path, width_px: float, height_px: float):
    Figure = _figure_class()
    if Figure is None:
        warnings.warn(f"{path.name} not written: {MISSING}", stacklevel=3)
        return None
    return Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI)


def _wrap(text: str, width_px: float, font_pt: float = FONT_PT) -> list[str]:
    """Lines of ``text`` that fit ``width_px`` (DejaVu Sans: about 0.6 em per character)."""
    chars = max(6, int(width_px / (0.6 * font_pt * DPI / 72)))
    return textwrap.wrap(text, chars, break_long_words=False) or [""]


def _rgb(img: np.ndarray, scale: int) -> np.ndarray:
    """(H, W, C) uint8 -> (H*scale, W*scale, 3) uint8, nearest neighbour; grey copied to RGB."""
    img = img if img.shape[-1] == 3 else np.repeat(img[..., :1], 3, axis=-1)
    return img.repeat(scale, axis=0).repeat(scale, axis=1)


def image_grid(
    rows: list[np.ndarray],
    path: str | os.PathLike,
    row_labels: list[str] | None = None,
    col_labels: list[str] | None = None,
    scale: int = 1,
    title: str | None = None,
) -> Path | None:
    """Save rows of images, rows[i] (n_i, H_i, W_i, C) uint8, as one PNG, each image shown pixel
    for pixel at ``scale`` x at the top left of its cell (rows may differ in size, e.g. stored
    and decrypted images with a border drop); row_labels[i] is written above row i,
    col_labels[k] above column k, ``title`` above everything. Returns the path, or None without
    matplotlib."""
    path = Path(path)
    H, W = max(r.shape[1] for r in rows), max(r.shape[2] for r in rows)
    cw, ch, gap = W * scale, H * scale, 6
    n_cols = max(len(r) for r in rows)
    width = gap + n_cols * (cw + gap)
    line = round(1.4 * FONT_PT * DPI / 72)  # pixels per text line
    bands: list[tuple[str, list]] = []  # ("title" | "cols" | "row", lines) from the top down
    if title:
        bands.append(("title", _wrap(title, width - 2 * gap, FONT_PT + 1)))
    if col_labels:
        bands.append(("cols", [_wrap(t, cw) for t in col_labels]))
    for i in range(len(rows)):
        if row_labels:
            bands.append(("row", _wrap(row_labels[i], width - 2 * gap)))
        bands.append(("images", rows[i]))

    def band_height(kind: str, content) -> int:
        if kind == "images":
            return ch + gap
        lines = max(len(c) for c in content) if kind == "cols" else len(content)
        return lines * line + gap

    height = gap + sum(band_height(k, c) for k, c in bands)
    fig = _new_figure(path, width, height)
    if fig is None:
        return None
    fig.patch.set_facecolor("white")
    top = height - gap  # pixels from the bottom edge, moving down
    for kind, content in bands:
        if kind == "images":
            for k, img in enumerate(content):
                fig.figimage(_rgb(img, scale), xo=gap + k * (cw + gap),
                             yo=top - img.shape[0] * scale, origin="upper")
        elif kind == "cols":
            for k, lines in enumerate(content):
                fig.text((gap + k * (cw + gap)) / width, top / height, "\n".join(lines),
                         va="top", ha="left", fontsize=FONT_PT, linespacing=1.25)
        else:
            size, weight = (FONT_PT + 1, "bold") if kind == "title" else (FONT_PT, "normal")
            fig.text(gap / width, top / height, "\n".join(content), va="top", ha="left",
                     fontsize=size, fontweight=weight, linespacing=1.25)
        top -= band_height(kind, content)
    _save(fig, path)
    return path


def scatter_chart(
    series: dict[str, list[tuple[float, float, str]]],
    path: str | os.PathLike,
    xlabel: str,
    ylabel: str,
    title: str,
) -> Path | None:
    """Points (x, y, label) in one colour per series, x and y shares in 0..1 shown in percent;
    each point carries its label (labels of coinciding points are joined). Returns the path,
    or None without matplotlib."""
    path = Path(path)
    fig = _new_figure(path, 900, 560)
    if fig is None:
        return None
    ax = fig.add_axes((0.09, 0.12, 0.56, 0.78))  # the legend right of it, inside the figure
    for i, (name, points) in enumerate(series.items()):
        c = COLOURS[i % len(COLOURS)]
        merged: dict[tuple[float, float], list[str]] = {}
        for x, y, label in points:
            merged.setdefault((round(x, 4), round(y, 4)), []).append(label)
        xs, ys = zip(*merged, strict=True)
        ax.scatter(xs, ys, s=45, color=c, label=name, zorder=3)
        for (x, y), labels in merged.items():
            right = x > 0.75  # labels near the right edge go to the left of their point
            ax.annotate(", ".join(labels), (x, y), textcoords="offset points",
                        xytext=(-7 if right else 7, 4), ha="right" if right else "left",
                        color=c, fontsize=FONT_PT - 1)
    ax.xaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
    ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
    ax.set_xlim(-0.03, 1.03)
    ax.margins(y=0.12)
    ax.set_xlabel(xlabel, fontsize=FONT_PT)
    ax.set_ylabel(ylabel, fontsize=FONT_PT)
    ax.set_title(title, fontsize=FONT_PT + 1, loc="left")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=FONT_PT,
              title="model", title_fontsize=FONT_PT)
    _save(fig, path)
    return path


def bar_chart(
    groups: list[tuple[str, list[tuple[str, float]]]],
    path: str | os.PathLike,
    title: str,
    ylabel: str = "accuracy (%)",
) -> Path | None:
    """Grouped bars of values in percent: [(group label, [(bar label, value), ...]), ...], each
    bar with its value. Returns the path, or None without matplotlib."""
    path = Path(path)
    fig = _new_figure(path, 860, 520)
    if fig is None:
        return None
    ax = fig.add_axes((0.09, 0.16, 0.88, 0.72))
    names = list(dict.fromkeys(b for _, bars in groups for b, _ in bars))  # legend order
    width = 0.8 / max(1, len(names))
    for k, name in enumerate(names):
        xs = [g + (k - (len(names) - 1) / 2) * width for g, (_, bars) in enumerate(groups)
              if name in dict(bars)]
        vs = [dict(bars)[name] for _, bars in groups if name in dict(bars)]
        bars = ax.bar(xs, vs, width * 0.92, label=name, color=COLOURS[k % len(COLOURS)])
        ax.bar_label(bars, fmt="%.1f", fontsize=FONT_PT - 1, padding=2)
    ax.set_xticks(range(len(groups)), [g for g, _ in groups], fontsize=FONT_PT)
    ax.set_ylim(0, 108)
    ax.set_ylabel(ylabel, fontsize=FONT_PT)
    ax.set_title(title, fontsize=FONT_PT + 1, loc="left", pad=24)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=FONT_PT, frameon=False, ncols=len(names), loc="lower right",
              bbox_to_anchor=(1.0, 1.0))
    _save(fig, path)
    return path
