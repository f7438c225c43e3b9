"""A split made of chosen images of another split (held-out parts, exact subsets)."""

from __future__ import annotations

import numpy as np

from encrypt_tool.sources.base import SourceError, SplitSource

__all__ = ["SubsetSplit"]


class SubsetSplit(SplitSource):
    """Images ``index`` (k,) of ``base``, in that order; contiguous runs are read in one go."""

    _labels_reloadable = True

    def __init__(self, base: SplitSource, index: np.ndarray) -> None:
        super().__init__()
        index = np.asarray(index, dtype=np.int64)
        if index.ndim != 1 or (index.size and (index.min() < 0 or index.max() >= base.n)):
            raise SourceError(f"subset index must be 1-D within 0..{base.n - 1}")
        self.base, self.index = base, index
        self.n, self.image_shape = len(index), base.image_shape
        self.exact = None if base.exact is None else base.exact[index]

    def _read(self, start: int, stop: int) -> np.ndarray:
        idx = self.index[start:stop]
        if len(idx) == 0:
            return np.empty((0, *self.image_shape), np.uint8)
        lo, hi = int(idx.min()), int(idx.max()) + 1
        if hi - lo == len(idx) and (np.diff(idx) == 1).all():
            return self.base.read(lo, hi)  # (B, H, W, C): one contiguous read
        return self.base.read(lo, hi)[idx - lo]

    def _load_labels(self) -> np.ndarray:
        return self.base.labels[self.index]
