"""The 256-bit master key: generate, store (mode 0600), load, fingerprint."""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
import warnings
from pathlib import Path

from bsformat.files import write_private

__all__ = [
    "KEY_BYTES",
    "KeyError_",
    "default_key_path",
    "fingerprint",
    "generate_key",
    "load_key",
    "resolve_key_path",
    "write_key",
]

KEY_BYTES = 32
ENV_VAR = "BS_ENCRYPT_KEY"
_FINGERPRINT_PERSON = b"bs-enc-fp-v1"


class KeyError_(ValueError):
    """A key file that is missing, unreadable or malformed."""


def default_key_path() -> Path:
    """``$BS_ENCRYPT_KEY`` if set, else ``~/.bs-encrypt/master.key``."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else Path.home() / ".bs-encrypt" / "master.key"


def resolve_key_path(path: str | os.PathLike | None) -> Path:
    """The key file to use: ``path`` when given, else :func:`default_key_path`."""
    return Path(path).expanduser() if path is not None else default_key_path()


def generate_key() -> bytes:
    """A fresh 256-bit master key from the operating system's CSPRNG."""
    return secrets.token_bytes(KEY_BYTES)


def fingerprint(key: bytes) -> str:
    """A public 64-bit fingerprint (hex) of ``key``; it reveals nothing about the key."""
    digest = hashlib.blake2b(b"fingerprint", key=key, digest_size=8, person=_FINGERPRINT_PERSON)
    return digest.hexdigest()


def write_key(key: bytes, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write ``key`` as hex to ``path`` with mode 0600; never replaces a file unless ``overwrite``.

    The file is created under a temporary name and renamed, so a partial key never exists.
    """
    path = Path(path).expanduser()
    if len(key) != KEY_BYTES:
        raise KeyError_(f"a master key has {KEY_BYTES} bytes, got {len(key)}")
    if path.exists() and not overwrite:
        raise FileExistsError(f"key file {path} already exists; pass --overwrite to replace it")
    if path.exists() and path.is_dir():
        raise KeyError_(f"key path {path} is a directory, expected a file")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return write_private(path, key.hex() + "\n")


def _not_a_key(path: Path) -> str:
    return f"key file {path} is not a bs-encrypt key (expected 64 hex digits)"


def load_key(path: str | os.PathLike) -> bytes:
    """Read a master key file (64 hex digits); warns when others may read it."""
    path = Path(path).expanduser()
    if not path.exists():
        raise KeyError_(
            f"key file {path} does not exist; create one with `bs-encrypt keygen --out {path}`"
        )
    if path.is_dir():
        raise KeyError_(f"key path {path} is a directory, expected a key file")
    try:
        text = path.read_text(encoding="ascii").strip()
    except PermissionError as e:
        raise KeyError_(f"key file {path} is not readable: {e.strerror}") from None
    except (UnicodeDecodeError, OSError):
        raise KeyError_(_not_a_key(path)) from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise KeyError_(_not_a_key(path)) from None
    if len(key) != KEY_BYTES:
        raise KeyError_(
            f"key file {path} holds {len(key)} bytes; a bs-encrypt key has {KEY_BYTES} "
            f"(64 hex digits)"
        )
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        warnings.warn(
            f"key file {path} is readable by others (mode {stat.S_IMODE(mode):o}); "
            f"run `chmod 600 {path}`",
            stacklevel=2,
        )
    return key
