"""Progress of an audit on stderr: a tqdm bar on a terminal, otherwise a line per chunk.

An audit of many photos runs for minutes; when stderr is not a terminal (a log file, a CI job)
a bar would be invisible or garbled, so a plain line says how far it got and how long it took.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["AuditProgress"]


class AuditProgress:
    """``update(k)`` after each k images attacked; ``close()`` at the end."""

    def __init__(self, total: int, enabled: bool = True, stream: TextIO | None = None,
                 every: float = 0.0) -> None:
        self.total, self.done, self.every = total, 0, every
        self.stream = stream if stream is not None else sys.stderr
        self.t0 = self.last = time.perf_counter()
        self.bar = None
        self.enabled = enabled and total > 0
        if self.enabled and self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="image", desc="audit", file=self.stream)

    def update(self, k: int) -> None:
        self.done += k
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(k)
            return
        now = time.perf_counter()
        if now - self.last >= self.every or self.done >= self.total:
            self.last = now
            print(f"audit: {self.done}/{self.total} images attacked ({now - self.t0:.0f} s)",
                  file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
