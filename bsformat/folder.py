"""A sharded dataset: a folder of self-contained shard files plus ``manifest.json``, written last.

    enc/
      manifest.json          the source of truth: every shard's name, split, image range,
                             count, size in bytes and SHA-256 (of the whole file)
      train-00000.h5 ...     each a complete bs-encrypt file holding images [start, stop) of
      test-00000.h5          one split (its only shard group starts at ``start``)

The folder is built under a temporary name beside it and renamed into place after the manifest
is written, so a folder with a manifest is a complete one. On opening, every shard listed must
exist with its recorded size (a missing or truncated shard is named and refused); a shard's
SHA-256 is checked the first time it is read, and ``verify`` checks them all, so an altered
shard is named and refused before any of its images are used.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py

from bsformat.checksum import checked, file_sha256, mark_checked
from bsformat.format import DAMAGE, FormatError, reason
from bsformat.manifest import MANIFEST, ShardEntry, check_order, read_manifest

__all__ = ["ShardFiles", "is_folder_out"]


def is_folder_out(out: str, sharded: bool) -> bool:
    """Whether ``--out`` asks for a folder: a trailing slash, an existing empty folder or shard
    folder, or ``sharded`` (--workers or --scheduler given)."""
    p = Path(out).expanduser()
    known = p.is_dir() and (not any(p.iterdir()) or (p / MANIFEST).is_file())
    return sharded or str(out).endswith(("/", os.sep)) or known


class ShardFiles:
    """The open shard files of a folder, checked against its manifest; each shard's SHA-256 is
    checked the first time its images are asked for."""

    def __init__(self, folder: str | os.PathLike) -> None:
        from bsformat.format import open_encrypted, read_info

        self.folder = Path(folder)
        self.manifest = read_manifest(self.folder)
        self._files: dict[str, object] = {}
        self._hashed: set[str] = set()
        try:
            for e in self.manifest.shards:
                self._files[e.name] = open_encrypted(self.folder / e.name)
            if not self.manifest.shards:
                raise FormatError(f"{self.folder}/{MANIFEST} lists no shards")
            first = read_info(self._files[self.manifest.shards[0].name])
            self._check_members(first.dataset_id)
            check_order(self.folder, self.manifest)
            for e in self.manifest.shards:
                self._check_shard(e)
            self.info = self._info(first)
        except BaseException:
            self.close()
            raise

    def _check_members(self, dataset_id: str) -> None:
        want = str(self.manifest.attrs.get("dataset_id", dataset_id))
        for e in self.manifest.shards:
            got = str(self._files[e.name].attrs.get("dataset_id", ""))
            if got != want:
                raise FormatError(f"{self.folder}: shard {e.name} belongs to another dataset "
                                  f"(dataset id {got[:16]}..., the manifest's {want[:16]}...)")

    def _check_shard(self, e: ShardEntry) -> None:
        """FormatError naming shard ``e`` unless its file holds split ``e.split`` and exactly
        the images [e.start, e.stop) by their stored global ids (a swapped, moved or edited
        manifest entry)."""
        from bsformat.format import shard_name

        f = self._files[e.name]
        where = f"{self.folder}: shard {e.name}"
        try:
            groups = sorted(k for k in f.keys() if isinstance(f[k], h5py.Group))
            if groups != [e.split]:
                raise FormatError(f"{where} holds split(s) {groups}; {MANIFEST} lists it in "
                                  f"split {e.split!r}")
            ids = f[e.split][shard_name(0)]["ids"]
            n = len(ids)
            first, last = (int(ids[0]), int(ids[-1])) if n else (e.start, e.start - 1)
        except FormatError:
            raise
        except DAMAGE as err:
            raise FormatError(f"{where} is damaged: its ids cannot be read ({reason(err)})"
                              ) from None
        if (n, first, last) != (e.count, e.start, e.stop - 1):
            held = f"images {first}..{last + 1}" if n else "no image"
            raise FormatError(f"{where} holds {held} ({n} images) of split {e.split!r}; "
                              f"{MANIFEST} records images {e.start}..{e.stop} ({e.count}): the "
                              f"manifest was edited or its entries swapped")

    def _info(self, first):
        from dataclasses import replace

        from bsformat.format import SplitInfo, read_info

        splits = {}
        for name, sp in self.manifest.splits.items():
            entries = sorted((e for e in self.manifest.shards if e.split == name),
                             key=lambda e: e.start)
            held = sum(e.count for e in entries)
            if not entries or held != int(sp["n_images"]):
                raise FormatError(f"{self.folder}/{MANIFEST}: split {name!r} declares "
                                  f"{sp['n_images']} images but its shards hold {held}")
            own = read_info(self._files[entries[0].name]).splits
            if name not in own:
                raise FormatError(f"{self.folder}: shard {entries[0].name} holds no split "
                                  f"{name!r}")
            splits[name] = SplitInfo(name=name, n_images=held, n_copies=int(sp["n_copies"]),
                                     shard_size=int(sp["shard_size"]),
                                     shards=tuple(e.name for e in entries),
                                     augment=own[name].augment)
        return replace(first, path=str(self.folder), splits=splits)

    def entry(self, name: str) -> ShardEntry:
        return next(e for e in self.manifest.shards if e.name == name)

    def group(self, split: str, name: str):
        """The shard group of shard file ``name`` (metadata only; no checksum)."""
        from bsformat.format import shard_name

        return self._files[name][split][shard_name(0)]

    def data_group(self, split: str, name: str):
        """The shard group, after its file's SHA-256 matched the manifest's (checked once)."""
        if name not in self._hashed and not checked(self.folder / name, "file"):
            self.check(name)
        return self.group(split, name)

    def check(self, name: str) -> None:
        """FormatError unless shard file ``name`` has the manifest's SHA-256."""
        got, want = file_sha256(self.folder / name), self.entry(name).sha256
        if got != want:
            raise FormatError(f"{self.folder}: shard {name} is altered: its SHA-256 "
                              f"{got[:16]}... differs from the manifest's {want[:16]}...")
        self._hashed.add(name)
        mark_checked(self.folder / name, "file")

    def verify(self) -> int:
        """Check every shard file's SHA-256; the number checked."""
        for e in self.manifest.shards:
            self.check(e.name)
        return len(self.manifest.shards)

    def close(self) -> None:
        for f in self._files.values():
            try:
                f.close()
            except Exception:  # noqa: BLE001 - closing a damaged file must not mask the cause
                pass
        self._files = {}
