"""Connected segments of an arrangement: positions joined by accepted edges, for a batch.

Used twice: the solver keeps the largest segment it trusts and places the rest again, and the
recognisability scores measure the segments of true neighbour pairs (what a person sees whole).
"""

from __future__ import annotations

import numpy as np

__all__ = ["label_segments", "segment_sizes"]


def label_segments(right_ok: np.ndarray, down_ok: np.ndarray) -> np.ndarray:
    """Segment label of each position: (M, gy, gx) int64, the smallest flat position in it.

    right_ok: (M, gy, gx-1) bool, position (y, x) joined to (y, x+1); down_ok: (M, gy-1, gx) bool.
    """
    M, gy = right_ok.shape[:2]
    gx = down_ok.shape[2]
    lab = np.broadcast_to(np.arange(gy * gx).reshape(1, gy, gx), (M, gy, gx)).copy()
    big = gy * gx
    while True:
        new = lab.copy()
        h = np.where(right_ok, np.minimum(lab[:, :, :-1], lab[:, :, 1:]), big)  # (M, gy, gx-1)
        new[:, :, :-1] = np.minimum(new[:, :, :-1], h)
        new[:, :, 1:] = np.minimum(new[:, :, 1:], h)
        v = np.where(down_ok, np.minimum(lab[:, :-1], lab[:, 1:]), big)
        new[:, :-1] = np.minimum(new[:, :-1], v)
        new[:, 1:] = np.minimum(new[:, 1:], v)
        flat = new.reshape(M, -1)
        flat = np.take_along_axis(flat, flat, axis=1)  # pointer jumping: label of the label
        new = flat.reshape(M, gy, gx)
        if (new == lab).all():
            return lab
        lab = new


def segment_sizes(labels: np.ndarray) -> np.ndarray:
    """Size of the segment of each position: (M, gy, gx) int64."""
    M = labels.shape[0]
    flat = labels.reshape(M, -1)
    counts = np.zeros_like(flat)
    np.add.at(counts, (np.arange(M)[:, None], flat), 1)
    return np.take_along_axis(counts, flat, axis=1).reshape(labels.shape)
