"""Pillow's decompression-bomb warning, held back while a folder source probes or reads files.

Pillow warns at every open of a file above ``Image.MAX_IMAGE_PIXELS`` without naming it; a
folder source names such files once, in a note at open time, and reads them without the
warning. The filter is local to the ``quiet_bombs()`` block (threads that read at once share
one block: the first to enter installs it, the last to leave restores the filters), never
left in the process.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator

from PIL import Image

__all__ = ["quiet_bombs"]

_lock = threading.Lock()
_held: list[warnings.catch_warnings] = []  # the one open block, while any thread is inside
_depth = 0


@contextlib.contextmanager
def quiet_bombs() -> Iterator[None]:
    """Ignore ``Image.DecompressionBombWarning`` while the block runs (thread-safe)."""
    global _depth
    with _lock:
        if _depth == 0:
            block = warnings.catch_warnings()
            block.__enter__()
            warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
            _held.append(block)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _held.pop().__exit__(None, None, None)
