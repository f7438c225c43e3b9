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
    "READ_VERSIONS",
    "FormatError",
    "SplitInfo",
    "FileInfo",
    "created_stamp",
    "open_encrypted",
    "read_info",
    "shard_name",
]

FORMAT_NAME = "bs-encrypt"
FORMAT_VERSION = 2  # what this tool writes; 2: per-image keys, content independent of layout
READ_VERSIONS = (1, 2)  # what it reads (docs/FORMAT.md)


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
    attrs: dict = field(default_factory=dict)  # every public root attribute, plain Python values
    defences: dict = field(default_factory=dict)  # the ``defences`` attribute; {} when none

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
    except FormatError:
        f.close()
        raise
    except DAMAGE as e:
        f.close()
        raise FormatError(f"{path} is damaged: its metadata cannot be read ({reason(e)})") from None
    except BaseException:
        f.close()
        raise
    return f


# what h5py raises on a file whose metadata is corrupted (besides the OSError it usually gives)
DAMAGE = (KeyError, OSError, ValueError, TypeError, RuntimeError, IndexError, AttributeError)


def reason(e: BaseException) -> str:
    """The reason of ``e`` on one line."""
    raw = e.args[0] if isinstance(e, KeyError) and e.args else e  # KeyError quotes its text
    text = " ".join(str(raw).split()) or type(e).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _check(f: h5py.File, path: Path) -> None:
    if f.attrs.get("format") != FORMAT_NAME:
        if "class_names" in f:  # laid out as one, but the attribute cannot be read
            raise FormatError(f"{path} is damaged: its root attribute 'format' cannot be read")
        raise FormatError(
            f"{path} is an HDF5 file but not a bs-encrypt file (no format='bs-encrypt')"
        )
    version = int(f.attrs.get("format_version", -1))
    if version not in READ_VERSIONS:
        raise FormatError(
            f"{path} has format version {version}; this tool reads versions "
            f"{', '.join(map(str, READ_VERSIONS))} (a newer tool wrote it, or it is damaged)"
        )
    if not bool(f.attrs.get("complete", False)):
        raise FormatError(f"{path} is not complete (the run that wrote it did not finish)")


def _split_info(g: h5py.Group) -> SplitInfo:
    n_shards = int(g.attrs["n_shards"])
    if not 0 <= n_shards <= 10**7:
        raise ValueError(f"split {g.name} declares {n_shards} shards")
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
        augment=_json_dict(g.attrs.get("augment", "{}"), f"{g.name} augment", none_ok=True),
    )


def _json_dict(raw, what: str, none_ok: bool = False) -> dict | None:
    """A JSON object stored as a string attribute ({} when empty)."""
    value = json.loads(raw) if raw else {}
    if value is None and none_ok:
        return value
    if not isinstance(value, dict):
        raise ValueError(f"attribute {what} is not a JSON object")
    return value


def _plain(v):
    """An attribute value as plain Python (str, int, float, bool, list)."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray):
        return [_plain(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        return v.item()
    return v


def read_info(f: h5py.File) -> FileInfo:
    """The metadata of an open, checked file."""
    try:
        a = f.attrs
        attrs = {k: _plain(a[k]) for k in a.keys()}
        names = tuple(s.decode() if isinstance(s, bytes) else str(s) for s in f["class_names"][()])
        splits = {k: _split_info(f[k]) for k in f.keys() if isinstance(f[k], h5py.Group)}
        block = tuple(int(v) for v in np.asarray(a["block_size"]).reshape(-1))
        shape = tuple(int(v) for v in np.asarray(a["image_shape"]).reshape(-1))
        if len(block) != 2 or len(shape) != 3 or min(block + shape) < 1:
            raise ValueError(f"block_size {block} or image_shape {shape} is not valid")
        return FileInfo(
            path=str(f.filename),
            format_version=int(a["format_version"]),
            tool_version=str(a["tool_version"]),
            dataset_id=str(a["dataset_id"]),
            key_fingerprint=str(a["key_fingerprint"]),
            scrambled=bool(a["scrambled"]),
            block_size=block,
            image_shape=shape,
            source=str(a["source"]),
            class_names=names,
            splits=splits,
            attrs=attrs,
            defences=_json_dict(a.get("defences", "{}"), "defences"),
        )
    except FormatError as e:
        raise FormatError(f"{f.filename}: {e}") from None
    except DAMAGE as e:
        raise FormatError(f"{f.filename} is damaged or incomplete: {reason(e)}") from None
