"""The images of a query: image files, folders searched recursively, or an ``.npz``.

Nothing here needs class folders or labels. Every image must have the size and channels of the
training file (``--like``), or is brought to that size with ``resize``; a file that is not an
image, or has another size, is named in the error, or skipped and counted with ``skip_bad``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from encrypt_tool.sources.imagefile import (
    BAD_IMAGE_ERRORS,
    IMAGE_SUFFIXES,
    enlarged_note,
    find_images,
    read_image,
)

__all__ = ["QueryImages", "QueryInputError", "find_inputs", "load_query_images"]


class QueryInputError(ValueError):
    """An input path, image or array that cannot be part of the query."""


@dataclass
class QueryImages:
    """The images that go into a query, in order, with where each came from (private)."""

    images: np.ndarray  # (n, H, W, C) uint8
    origins: list[str]  # (n,) file path, or "NPZ[i]" for an array member
    labels: np.ndarray | None = None  # (n,) int64 when every input carried labels
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (origin, reason)
    notes: list[str] = field(default_factory=list)  # warnings for the user (enlarged, labels)


def find_inputs(inputs: list[str]) -> list[Path]:
    """Image files and .npz files named by ``inputs``; folders are searched recursively.

    Raises QueryInputError for a path that does not exist or when nothing is found.
    """
    found: list[Path] = []
    for name in inputs:
        p = Path(name).expanduser()
        if p.is_dir():
            found += find_images(p)
        elif p.is_file():
            found.append(p)
        else:
            raise QueryInputError(f"input {name} does not exist")
    seen: set[Path] = set()
    unique = [p for p in found if not (p.resolve() in seen or seen.add(p.resolve()))]
    if not unique:
        raise QueryInputError(
            f"no images found under {' '.join(inputs)} (searched for "
            f"{', '.join(IMAGE_SUFFIXES)} files and .npz arrays)"
        )
    return unique


def _size_error(origin: str, shape: tuple, want: tuple[int, int, int]) -> str:
    h, w, c = want
    got = f"{shape[1]}x{shape[0]}" + (f" with {shape[2]} channels" if len(shape) > 2 else "")
    return (f"image {origin} is {got}; the training file (--like) holds {w}x{h} images with "
            f"{c} channel{'s' if c > 1 else ''}; pass --resize to scale and centre-crop every "
            f"image to {w}x{h} (as `dataset --image-size` does), or resize it first")


def _read_file(path: Path, shape: tuple[int, int, int],
               resize: bool) -> tuple[np.ndarray, tuple[int, int]]:
    """(H, W, C) uint8 of one image file in the training file's mode (RGB, C=3, or luma, C=1;
    transparency composited as `dataset` does), scaled and centre-cropped with ``resize``;
    and the file's own (W, H)."""
    h, w, c = shape
    if c not in (1, 3):
        raise QueryInputError(f"image files give 1 or 3 channels; the training file has {c}; "
                              f"pass the images as an .npz instead")
    try:
        with Image.open(path) as im:
            size = im.size  # (W, H) before any resize
        arr = read_image(path, (h, w) if resize else None, "rgb" if c == 3 else "l")
    except (ValueError, *BAD_IMAGE_ERRORS) as e:
        text = str(e) if isinstance(e, ValueError) else f"cannot decode image {path}: {e}"
        raise QueryInputError(text) from None
    if arr.shape != (h, w, c):
        raise QueryInputError(_size_error(str(path), arr.shape, shape))
    return arr, size


def _read_npz(path: Path, shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with np.load(path, allow_pickle=False) as z:
            if "images" not in z:
                raise QueryInputError(f"{path} has no 'images' array (it has {sorted(z.files)})")
            x, y = z["images"], z["labels"] if "labels" in z else None
    except (OSError, ValueError) as e:
        if isinstance(e, QueryInputError):
            raise
        raise QueryInputError(f"cannot read {path} as an .npz file: {e}") from None
    if x.dtype != np.uint8:
        raise QueryInputError(f"{path}: 'images' is {x.dtype}; it must be uint8 (N, H, W, C)")
    if x.ndim == 3 and shape[2] == 1:
        x = x[..., None]
    if x.ndim != 4 or x.shape[1:] != tuple(shape):
        raise QueryInputError(
            f"{path}: 'images' has shape {x.shape}; the training file (--like) holds images "
            f"of (N, {shape[0]}, {shape[1]}, {shape[2]}); arrays of an .npz are used as they "
            f"are (--resize applies to image files only), so resize them first"
        )
    if y is not None:
        y = np.asarray(y).astype(np.int64).reshape(-1)
        if len(y) != len(x):
            raise QueryInputError(f"{path}: {len(y)} labels for {len(x)} images")
    return x, y


def load_query_images(
    paths: list[Path], shape: tuple[int, int, int], skip_bad: bool = False, resize: bool = False
) -> QueryImages:
    """Read every input as (H, W, C) = ``shape`` uint8 (image files scaled and centre-cropped
    to it with ``resize``). A bad image raises QueryInputError naming it, or with ``skip_bad``
    is left out and listed in ``skipped``."""
    images, origins, labels, skipped, sizes = [], [], [], [], []
    for p in paths:
        if p.suffix.lower() == ".npz":
            x, y = _read_npz(p, shape)
            images.append(x)
            origins += [f"{p.resolve()}[{i}]" for i in range(len(x))]
            labels.append((p, y))
            continue
        try:
            arr, (w, h) = _read_file(p, shape, resize)
        except QueryInputError as e:
            if not skip_bad:
                raise
            skipped.append((str(p.resolve()), str(e)))
            continue
        images.append(arr[None])  # (1, H, W, C)
        sizes.append((str(p), w, h))
        origins.append(str(p.resolve()))
        labels.append((p, None))
    if not images:
        raise QueryInputError(f"none of the {len(paths)} inputs could be read "
                              f"({len(skipped)} skipped as bad)")
    notes = [enlarged_note(sizes, shape[:2])] if resize else []
    y, dropped = _labels(labels)
    q = QueryImages(np.concatenate(images), origins, y, skipped)
    q.notes = [n for n in (*notes, dropped) if n]
    return q


def _labels(inputs: list[tuple[Path, np.ndarray | None]]) -> tuple[np.ndarray | None, str | None]:
    """The query's labels (n,) when every input carries them, else None; and the note that
    says why labels some inputs carried are left out (the cloud scores a query only when every
    image has its label, so a partly labelled query would be scored on nothing)."""
    if all(y is not None for _, y in inputs):
        return np.concatenate([y for _, y in inputs]), None
    labelled = [p for p, y in inputs if y is not None]
    if not labelled:
        return None, None
    unlabelled = sum(1 for _, y in inputs if y is None)
    names = ", ".join(p.name for p in labelled[:3]) + (", ..." if len(labelled) > 3 else "")
    return None, (f"the labels of {names} are left out of the query: {unlabelled} image "
                  f"file(s) have none, and a query carries labels only when every image has "
                  f"one; query the .npz on its own to have its accuracy scored")
