"""Arrays inside .npz files without loading them: headers, and memory maps of stored members.

``np.load`` ignores ``mmap_mode`` for .npz archives. A member written without compression
(``np.savez``, ZIP_STORED) is a plain .npy file at some offset of the archive, so it can be
memory mapped once that offset is known: the zip local file header gives where the member's data
starts, and the .npy header gives dtype, shape and order.
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from encrypt_tool.sources.base import SourceError

__all__ = ["MemberInfo", "member_info", "member_keys", "open_member"]

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # 30 bytes, the zip local file header
_LOCAL_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class MemberInfo:
    """Where and what one .npy member of an .npz is."""

    key: str
    dtype: np.dtype
    shape: tuple[int, ...]
    fortran_order: bool
    stored: bool  # True when uncompressed, i.e. memory mappable
    data_offset: int  # byte offset of the array data in the .npz file (stored members only)


def _read_npy_header(fp: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fp)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(fp)
    return np.lib.format._read_array_header(fp, version)  # (3, 0): utf-8 header, no public API


def member_keys(path: str) -> list[str]:
    """Keys of the arrays in the .npz at ``path`` (member names without ".npy")."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (OSError, zipfile.BadZipFile) as e:
        raise SourceError(f"{path} is not a readable .npz file: {e}") from e
    return [n[:-4] if n.endswith(".npy") else n for n in names]


def member_info(path: str, key: str) -> MemberInfo:
    """Header of member ``key`` of the .npz at ``path``; reads a few hundred bytes only."""
    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo(key + ".npy")
            with zf.open(info) as member:
                shape, fortran, dtype = _read_npy_header(member)
                header_len = member.tell()
        stored = info.compress_type == zipfile.ZIP_STORED
        offset = -1
        if stored:
            with open(path, "rb") as f:
                f.seek(info.header_offset)
                fields = _LOCAL_HEADER.unpack(f.read(_LOCAL_HEADER.size))
            if fields[0] != _LOCAL_MAGIC:
                raise SourceError(f"{path}: bad zip local header for member {key!r}")
            name_len, extra_len = fields[-2], fields[-1]
            offset = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len + header_len
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        if isinstance(e, SourceError):
            raise
        raise SourceError(f"{path}: cannot read member {key!r}: {e}") from e
    return MemberInfo(key, np.dtype(dtype), tuple(shape), bool(fortran), stored, offset)


def open_member(path: str, info: MemberInfo) -> np.ndarray:
    """The member as an array: a read-only ``np.memmap`` when stored, else loaded in memory."""
    if info.dtype.hasobject:
        raise SourceError(f"{path}: member {info.key!r} holds Python objects, not numbers")
    if info.stored:
        if int(np.prod(info.shape)) == 0:
            return np.zeros(info.shape, info.dtype)
        order = "F" if info.fortran_order else "C"
        return np.memmap(
            path, dtype=info.dtype, mode="r", offset=info.data_offset, shape=info.shape,
            order=order,
        )
    with np.load(path, allow_pickle=False) as data:
        return data[info.key]
