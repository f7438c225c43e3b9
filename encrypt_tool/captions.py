"""Text captions above picture columns (audit.png, inspect --grid)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["caption_band", "wrap"]


def wrap(text: str, width: int, font: ImageFont.ImageFont) -> list[str]:
    """Split text into lines no wider than ``width`` pixels (a long word stays whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def caption_band(texts: list[str], x0: list[int], width: int, total_width: int) -> np.ndarray:
    """A white band (h, total_width, 3) uint8 with texts[k] wrapped into [x0[k], x0[k] + width)."""
    font = ImageFont.load_default()
    wrapped = [wrap(t, width, font) for t in texts]
    line_h = 12
    h = 4 + line_h * max(len(w) for w in wrapped)
    band = Image.new("RGB", (total_width, h), (255, 255, 255))
    draw = ImageDraw.Draw(band)
    for lines, x in zip(wrapped, x0, strict=True):
        for i, line in enumerate(lines):
            draw.text((x, 2 + i * line_h), line, fill=(0, 0, 0), font=font)
    return np.asarray(band)
