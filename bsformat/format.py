"""The bs-encrypt HDF5 file format: names, metadata and validation (see docs/FORMAT.md).

Both sides use this module: it reads and checks files and imports nothing secret.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "FormatError",
    "SplitInfo",
    "FileInfo",
    "created_stamp",
    "open_encrypted",
    "read_info",
    "shard_name",
]

FORMAT_NAME = "bs-encrypt"
FORMAT_VERSION = 1


def created_stamp(seeded: bool) -> str:
    """The ``created`` attribute: ``$SOURCE_DATE_EPOCH`` when set (reproducible builds), else
    empty for a seeded run (so the same key and seed give a byte-identical file), else now."""
    from datetime import datetime, timezone

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            when = datetime.fromtimestamp(int(epoch), timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise ValueError(f"SOURCE_DATE_EPOCH={epoch!r} is not valid; it must be a whole "
                             f"number of seconds since 1970-01-01 UTC") from None
        return when.isoformat(timespec="seconds")
    if seeded:
        return ""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class FormatError(ValueError):
    """A file that is missing, unfinished, truncated or not a bs-encrypt file."""


def shard_name(index: int) -> str:
    """Group name of shard ``index`` inside a split group."""
    return f"shard_{index:05d}"


@dataclass(frozen=True)
class SplitInfo:
    """What a split group declares: sizes and its shards' names."""

    name: str
    n_images: int
    n_copies: int
    shard_size: int
    shards: tuple[str, ...]
    augment: dict = field(default_factory=dict)


@dataclass(frozen=True)
class FileInfo:
    """The public metadata of a bs-encrypt file."""

    path: str
    format_version: int
    tool_version: str
    dataset_id: str
    key_fingerprint: str
    scrambled: bool
    block_size: tuple[int, int]
    image_shape: tuple[int, int, int]
    source: str
    class_names: tuple[str, ...]
    splits: dict[str, SplitInfo]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


def open_encrypted(path: str | os.PathLike) -> h5py.File:
    """Open a finished bs-encrypt file read-only; FormatError for anything else."""
    path = Path(path)
    if not path.exists():
        raise FormatError(f"file {path} does not exist")
    if path.is_dir():
        raise FormatError(f"{path} is a directory, expected a bs-encrypt .h5 file")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise FormatError(
            f"{path} is not a readable HDF5 file (truncated or of another kind): {e}"
        ) from None
    try:
        _check(f, path)
    except BaseException:
        f.close()
        raise
    return f


def _check(f: h5py.File, path: Path) -> None:
    if f.attrs.get("format") != FORMAT_NAME:
        raise FormatError(
            f"{path} is an HDF5 file but not a bs-encrypt file (no format='bs-encrypt')"
        )
    version = int(f.attrs.get("format_version", -1))
    if version != FORMAT_VERSION:
        raise FormatError(
            f"{path} has format version {version}; this tool reads version {FORMAT_VERSION}"
        )
    if not bool(f.attrs.get("complete", False)):
        raise FormatError(f"{path} is not complete (the run that wrote it did not finish)")


def _split_info(g: h5py.Group) -> SplitInfo:
    n_shards = int(g.attrs["n_shards"])
    shards = tuple(shard_name(i) for i in range(n_shards))
    missing = [s for s in shards if s not in g]
    if missing:
        raise FormatError(f"split {g.name} lacks shards {missing[:3]}")
    return SplitInfo(
        name=g.name.strip("/"),
        n_images=int(g.attrs["n_images"]),
        n_copies=int(g.attrs["n_copies"]),
        shard_size=int(g.attrs["shard_size"]),
        shards=shards,
        augment=json.loads(g.attrs.get("augment", "{}")),
    )


def read_info(f: h5py.File) -> FileInfo:
    """The metadata of an open, checked file."""
    try:
        a = f.attrs
        names = tuple(s.decode() if isinstance(s, bytes) else str(s) for s in f["class_names"][()])
        splits = {k: _split_info(f[k]) for k in f.keys() if isinstance(f[k], h5py.Group)}
        return FileInfo(
            path=str(f.filename),
            format_version=int(a["format_version"]),
            tool_version=str(a["tool_version"]),
            dataset_id=str(a["dataset_id"]),
            key_fingerprint=str(a["key_fingerprint"]),
            scrambled=bool(a["scrambled"]),
            block_size=tuple(int(v) for v in np.asarray(a["block_size"])),
            image_shape=tuple(int(v) for v in np.asarray(a["image_shape"])),
            source=str(a["source"]),
            class_names=names,
            splits=splits,
        )
    except (KeyError, OSError) as e:
        raise FormatError(f"{f.filename} is damaged or incomplete: {e}") from None
