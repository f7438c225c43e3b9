"""The manifests: what a shard folder holds (``manifest.json``, public), and which file each
opaque image id of a query stands for (the client's private manifest).

A shard folder's ``manifest.json`` is the source of truth of the folder: every shard's name,
split, image range, count, size in bytes and SHA-256 (of the whole file), listed in file order.

A query's file names can be private (``patient_0412.png``), so they never enter the query file;
its table stays on the client's machine (mode 0600) and joins the cloud's predictions back to
them. Both are written through the one atomic write.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from bsformat.files import write_atomic, write_private
from bsformat.format import FORMAT_NAME, FormatError

__all__ = ["FOLDER_FORMAT", "MANIFEST", "QUERY_MANIFEST_FORMAT", "Manifest", "ManifestError",
           "ShardEntry", "check_order", "query_manifest_path", "read_manifest",
           "read_query_manifest", "shard_file_name", "write_manifest", "write_query_manifest"]

# -- a shard folder's manifest.json ------------------------------------------------------------

MANIFEST = "manifest.json"
FOLDER_FORMAT = FORMAT_NAME + "-folder"
FOLDER_VERSION = 1


@dataclass(frozen=True)
class ShardEntry:
    """One shard file of the folder."""

    name: str
    split: str
    start: int
    stop: int
    count: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What ``manifest.json`` holds."""

    attrs: dict  # the public root attributes every shard carries
    class_names: tuple[str, ...]
    splits: dict  # split -> {"n_images", "n_copies", "shard_size"}
    shards: tuple[ShardEntry, ...]


def shard_file_name(split: str, index: int) -> str:
    """File name of shard ``index`` of ``split`` in a folder."""
    return f"{split}-{index:05d}.h5"


def write_manifest(folder: Path, m: Manifest) -> Path:
    """Write ``folder/manifest.json`` atomically (fsynced, renamed into place)."""
    data = {"format": FOLDER_FORMAT, "format_version": FOLDER_VERSION, "attrs": m.attrs,
            "class_names": list(m.class_names), "splits": m.splits,
            "shards": [vars(e) for e in m.shards]}
    path = Path(folder) / MANIFEST
    return write_atomic(path, json.dumps(data, indent=1, sort_keys=True, default=str) + "\n")


def read_manifest(folder: str | os.PathLike) -> Manifest:
    """The manifest of a shard folder, checked for form and for every shard file's presence
    and size; FormatError naming the folder or the shard otherwise."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise FormatError(f"{folder} is a folder without {MANIFEST}: not a bs-encrypt shard "
                          f"folder, or the run that wrote it did not finish")
    try:
        data = json.loads(path.read_text())
        if data.get("format") != FOLDER_FORMAT:
            raise FormatError(f"{path} is not a bs-encrypt manifest (format "
                              f"{data.get('format')!r})")
        if int(data.get("format_version", -1)) != FOLDER_VERSION:
            raise FormatError(f"{path} has manifest version {data.get('format_version')}; this "
                              f"tool reads version {FOLDER_VERSION}")
        shards = tuple(ShardEntry(**{k: e[k] for k in ShardEntry.__dataclass_fields__})
                       for e in data["shards"])
        m = Manifest(dict(data["attrs"]), tuple(data["class_names"]), dict(data["splits"]),
                     shards)
    except FormatError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise FormatError(f"{path} is damaged: {type(e).__name__}: {e}") from None
    for e in m.shards:
        if "/" in e.name or e.name.startswith("."):
            raise FormatError(f"{path} lists a shard outside the folder: {e.name!r}")
        p = folder / e.name
        if not p.is_file():
            raise FormatError(f"{folder}: shard {e.name} listed in {MANIFEST} is missing")
        size = p.stat().st_size
        if size != e.bytes:
            raise FormatError(f"{folder}: shard {e.name} has {size} bytes, {MANIFEST} records "
                              f"{e.bytes} (truncated or replaced)")
    return m


def check_order(folder: Path, m: Manifest) -> None:
    """FormatError naming the shard unless every split's entries are listed in file order
    (``SPLIT-00000.h5``, ``SPLIT-00001.h5``, ...) with ranges that follow each other from 0 to the
    split's size: no entry swapped, reordered, removed or with an edited range."""
    where = f"{folder}/{MANIFEST}"
    done: set[str] = set()
    for before, e in zip((None, *m.shards), m.shards, strict=False):
        if e.split not in m.splits:
            raise FormatError(f"{where}: shard {e.name} is in split {e.split!r}, which the "
                              f"manifest does not declare ({sorted(m.splits)})")
        if before is not None and before.split != e.split:
            done.add(before.split)
        if e.split in done:
            raise FormatError(f"{where}: shard {e.name} is listed apart from the other shards "
                              f"of split {e.split!r} (entries reordered)")
    for split, sp in m.splits.items():
        entries = [e for e in m.shards if e.split == split]
        end = 0
        for i, e in enumerate(entries):
            if e.name != shard_file_name(split, i):
                raise FormatError(f"{where}: shard {e.name} is listed in place {i} of split "
                                  f"{split!r}, where {shard_file_name(split, i)} belongs "
                                  f"(entries swapped, reordered or removed)")
            if not (e.start == end and e.stop > e.start and e.count == e.stop - e.start):
                raise FormatError(f"{where}: shard {e.name} records images {e.start}..{e.stop} "
                                  f"({e.count}); it must start at {end}, where the shard before "
                                  f"it ends, and hold stop - start > 0 images")
            end = e.stop
        if end != int(sp["n_images"]):
            raise FormatError(f"{where}: shard {shard_file_name(split, len(entries))} is missing: "
                              f"split {split!r} declares {sp['n_images']} images but its listed "
                              f"shards end at {end} (an entry was removed or a range edited)")


# -- a query's private manifest ----------------------------------------------------------------

QUERY_MANIFEST_FORMAT = "bs-encrypt-query-manifest"
_SUFFIX = ".private-manifest.json"


class ManifestError(ValueError):
    """A manifest that is missing, damaged or of another query."""


def query_manifest_path(query_out: str | os.PathLike) -> Path:
    """Where the manifest of ``query.h5`` goes by default: ``query.private-manifest.json``."""
    out = Path(query_out)
    return out.with_name(out.stem + _SUFFIX)


def write_query_manifest(data: dict, path: str | os.PathLike) -> Path:
    """Write ``data`` as JSON with mode 0600, under a temporary name renamed into place."""
    body = json.dumps({"format": QUERY_MANIFEST_FORMAT, "version": 1, **data}, indent=1) + "\n"
    return write_private(path, body)


def read_query_manifest(path: str | os.PathLike) -> dict:
    """A manifest written by ``write_query_manifest``; ManifestError for anything else."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"manifest {path} does not exist")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ManifestError(f"manifest {path} cannot be read: {e}") from None
    if not isinstance(data, dict) or data.get("format") != QUERY_MANIFEST_FORMAT:
        raise ManifestError(f"{path} is not a bs-encrypt query manifest")
    if not isinstance(data.get("images"), list) or "dataset_id" not in data:
        raise ManifestError(f"manifest {path} is damaged (no image table or dataset id)")
    return data
