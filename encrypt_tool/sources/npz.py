"""Images stored in .npz files: ``images`` (N, H, W[, C]) uint8, ``labels`` (N,), ``class_names``.

A stored (uncompressed, ``np.savez``) archive is memory mapped, so a read costs the batch only;
a compressed one (``np.savez_compressed``) is loaded once per process on the first read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from encrypt_tool.sources.base import Source, SourceError, SplitSource
from encrypt_tool.sources.npzmember import MemberInfo, member_info, member_keys, open_member

__all__ = ["NpzSplit", "open_npz", "resolve_class_names"]


def _load_key(path: str, key: str) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as data:
            return data[key]
    except (OSError, ValueError, KeyError) as e:
        raise SourceError(f"{path}: cannot load {key!r}: {e}") from e


class NpzSplit(SplitSource):
    """One split held by member ``images_key`` (and ``labels_key``) of an .npz file."""

    def __init__(
        self,
        path: str,
        images: MemberInfo,
        labels_key: str,
        label_values: np.ndarray | None = None,
        exact: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self.path = path
        self.images_info = images
        self.labels_key = labels_key
        self.label_values = label_values  # sorted raw label values, when labels are remapped
        self.n = images.shape[0]
        h, w = images.shape[1:3]
        c = images.shape[3] if len(images.shape) == 4 else 1
        self.image_shape = (h, w, c)
        self.exact = exact

    @property
    def reads_in_place(self) -> bool:
        """True when a batch is read straight from the file (an uncompressed member)."""
        return self.images_info.stored

    def _array(self) -> np.ndarray:
        with self._lock:
            arr = self._cache.get("images")
            if arr is None:
                arr = open_member(self.path, self.images_info)  # (N, H, W[, C]) uint8
                self._cache["images"] = arr
            return arr

    def _read(self, start: int, stop: int) -> np.ndarray:
        info = self.images_info
        if info.stored and not info.fortran_order:
            # one positioned read into a fresh array: memory stays bounded by the batch
            batch = np.empty((stop - start, *info.shape[1:]), dtype=info.dtype)
            row = batch[0].nbytes if len(batch) else 0
            with open(self.path, "rb") as f:
                f.seek(info.data_offset + start * row)
                if f.readinto(memoryview(batch).cast("B")) != batch.nbytes:
                    raise SourceError(f"{self.path} is truncated: images {start}..{stop} missing")
        else:
            batch = np.array(self._array()[start:stop])
        return batch.reshape((stop - start, *self.image_shape))  # (B, H, W, C) uint8

    def _load_labels(self) -> np.ndarray:
        raw = _load_key(self.path, self.labels_key)
        if self.label_values is None:
            return raw.astype(np.int64)
        return np.searchsorted(self.label_values, raw)


def _check_images(path: str, info: MemberInfo) -> None:
    if info.dtype != np.uint8:
        raise SourceError(f"{path}: {info.key!r} has dtype {info.dtype}; images must be uint8")
    if len(info.shape) not in (3, 4):
        raise SourceError(
            f"{path}: {info.key!r} has shape {info.shape}; images must be (N, H, W, C) "
            "or (N, H, W) for grayscale"
        )
    if len(info.shape) == 4 and info.shape[3] not in (1, 3, 4):
        hint = ""
        if info.shape[1] in (1, 3, 4):  # channels first
            hint = (f"; it looks like NCHW: store images.transpose(0, 2, 3, 1), shape "
                    f"{(info.shape[0], *info.shape[2:], info.shape[1])}")
        raise SourceError(
            f"{path}: {info.key!r} has shape {info.shape} with {info.shape[3]} channels last; "
            f"images must be NHWC (N, H, W, C) with C = 1, 3 or 4{hint}"
        )


def resolve_class_names(
    where: str, all_labels: list[np.ndarray], names: np.ndarray | None
) -> tuple[tuple[str, ...], np.ndarray | None]:
    """Class names, and the sorted raw label values when labels must be remapped to 0..K-1.

    With ``names`` given, labels must be integers in [0, len(names)). Without, the class names are
    the sorted unique labels (of all splits) as strings, and label i means the i-th of them.
    """
    if names is not None:
        class_names = tuple(str(s) for s in np.asarray(names).reshape(-1))
        for lab in all_labels:
            if lab.size and (
                not np.issubdtype(lab.dtype, np.integer)
                or lab.min() < 0
                or lab.max() >= len(class_names)
            ):
                raise SourceError(
                    f"{where}: labels must be integers in [0, {len(class_names)}) to index the "
                    f"{len(class_names)} class_names; got dtype {lab.dtype}, "
                    f"range [{lab.min()}, {lab.max()}]"
                )
        return class_names, None
    values = np.unique(np.concatenate([np.asarray(lab).reshape(-1) for lab in all_labels]))
    class_names = tuple(str(v) for v in values)
    contiguous = np.issubdtype(values.dtype, np.integer) and np.array_equal(
        values, np.arange(len(values))
    )
    return class_names, None if contiguous else values


def _split_keys(path: str, keys: list[str]) -> dict[str, str]:
    """Map split name -> key prefix ("" for ``images``/``labels``)."""
    if "images" in keys:
        return {"train": ""}
    if "train_images" in keys:
        prefixes = {"train": "train_"}
        if "test_images" in keys:
            prefixes["test"] = "test_"
        return prefixes
    raise SourceError(
        f"{path} has no 'images' array; it has {sorted(keys)}. Expected 'images' (N, H, W, C) "
        "uint8 and 'labels' (N,), or 'train_images'/'train_labels' (+ 'test_images'/...)"
    )


def open_npz(paths: list[str]) -> Source:
    """Open ``npz:TRAIN.npz`` (one "train" split) or ``npz:TRAIN.npz,TEST.npz`` (both)."""
    if not 1 <= len(paths) <= 2:
        raise SourceError(
            f"npz source takes one or two files (TRAIN.npz[,TEST.npz]), got {len(paths)}: {paths}"
        )
    entries: list[tuple[str, str, str]] = []  # (split, path, key prefix)
    for i, p in enumerate(paths):
        if not Path(p).is_file():
            raise SourceError(f"npz file not found: {p}")
        keys = member_keys(p)
        prefixes = _split_keys(p, keys)
        if len(paths) == 2:
            if "" not in prefixes.values():
                raise SourceError(f"{p}: with two npz files each needs 'images'; it has {keys}")
            prefixes = {("train", "test")[i]: ""}
        entries += [(split, p, pre) for split, pre in prefixes.items()]

    infos, raw_labels, names = [], [], None
    for _split, p, pre in entries:
        keys = member_keys(p)
        info = member_info(p, pre + "images")
        _check_images(p, info)
        if pre + "labels" not in keys:
            raise SourceError(f"{p} has no {pre + 'labels'!r} array; it has {sorted(keys)}")
        lab = _load_key(p, pre + "labels")
        if lab.ndim != 1 or len(lab) != info.shape[0]:
            raise SourceError(
                f"{p}: {pre + 'labels'!r} has shape {lab.shape} but {pre + 'images'!r} has "
                f"{info.shape[0]} images; labels must be ({info.shape[0]},)"
            )
        if names is None and "class_names" in keys:
            names = _load_key(p, "class_names")
        infos.append(info)
        raw_labels.append(lab)

    class_names, values = resolve_class_names(paths[0], raw_labels, names)
    splits: dict[str, SplitSource] = {}
    for (split, p, pre), info, lab in zip(entries, infos, raw_labels, strict=True):
        exact = None
        if pre + "exact" in member_keys(p):
            exact = _load_key(p, pre + "exact").astype(bool).reshape(-1)
            if len(exact) != info.shape[0]:
                exact = None
        sp = NpzSplit(p, info, pre + "labels", values, exact)
        sp._labels = np.searchsorted(values, lab) if values is not None else lab.astype(np.int64)
        splits[split] = sp
    return Source(f"npz:{Path(paths[0]).stem}", class_names, splits)
