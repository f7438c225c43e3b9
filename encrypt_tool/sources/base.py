"""The interface every image source implements: a named set of splits of uint8 images."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Source", "SourceError", "SplitSource"]


class SourceError(ValueError):
    """A source spec, path or file that cannot be read as an image dataset."""


class SplitSource:
    """One split of a dataset: ``n`` images of ``image_shape`` (H, W, C) uint8 with labels.

    Subclasses set ``n``, ``image_shape`` and implement ``_read`` and ``_load_labels``. Objects
    hold paths and small metadata only and open files lazily in ``read``; the per-process cache
    (open memory maps, decoded sheets) is dropped when pickled, so sending a split to a worker
    process is cheap. Labels that can be reloaded from a file are dropped from the pickle too.
    """

    n: int
    image_shape: tuple[int, int, int]
    exact: np.ndarray | None = None  # (n,) bool where pixels are known to be original, or None
    _labels_reloadable: bool = True  # whether _load_labels is cheap (then labels are not pickled)
    decode_bytes: int = 0  # memory a reader holds besides its batch (decoding the largest file)

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()  # guards _cache: reads may come from several threads
        self._labels: np.ndarray | None = None

    @property
    def labels(self) -> np.ndarray:
        """Class index of every image: (n,) int64."""
        if self._labels is None:
            self._labels = np.ascontiguousarray(self._load_labels(), dtype=np.int64)
        return self._labels

    def read(self, start: int, stop: int) -> np.ndarray:
        """Images ``start`` to ``stop`` (exclusive): (stop - start, H, W, C) uint8, C-contiguous."""
        start, stop = int(start), int(stop)
        if not 0 <= start <= stop <= self.n:
            raise SourceError(
                f"read({start}, {stop}) is out of range: need 0 <= start <= stop <= {self.n}"
            )
        out = self._read(start, stop)  # (stop - start, H, W, C) uint8
        return np.ascontiguousarray(out, dtype=np.uint8)

    def __len__(self) -> int:
        return self.n

    def _read(self, start: int, stop: int) -> np.ndarray:
        raise NotImplementedError

    def _load_labels(self) -> np.ndarray:
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = {}
        del state["_lock"]
        if self._labels_reloadable:
            state["_labels"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n}, image_shape={self.image_shape})"


@dataclass(frozen=True)
class Source:
    """A dataset: a short ``name``, its ``class_names`` and its splits ("train", "test").

    ``meta`` holds public, JSON-able facts about how the images were prepared (stored in the
    file); ``notes`` are lines for the user (what was converted or left out); ``by_class``:
    the splits hold their images class by class (then ``--limit`` takes a stratified choice).
    """

    name: str
    class_names: tuple[str, ...]
    splits: dict[str, SplitSource]
    meta: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    by_class: bool = False

    @property
    def num_classes(self) -> int:
        """Number of classes, ``len(class_names)``."""
        return len(self.class_names)
