"""Progress of an audit on stderr: a tqdm bar on a terminal, otherwise a line per chunk, and at
least every ``HEARTBEAT`` seconds a line with the images done and an estimate of the time left.

An audit of many photos runs for minutes; when stderr is not a terminal (a log file, a CI job)
a bar would be invisible or garbled, so plain lines say how far it got. A chunk of images can
take longer than a user waits in silence, so a background thread repeats the state meanwhile.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

__all__ = ["HEARTBEAT", "AuditProgress", "clock"]

HEARTBEAT = 30.0  # seconds: the longest silence on a long run


def clock(seconds: float) -> str:
    """Seconds in words: '42 s', '3 min 05 s'."""
    s = int(round(seconds))
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


class AuditProgress:
    """``update(k)`` after each k images attacked, ``note(line)`` for other news (training),
    ``close()`` at the end."""

    def __init__(self, total: int, enabled: bool = True, stream: TextIO | None = None,
                 every: float = 0.0, heartbeat: float = HEARTBEAT) -> None:
        self.total, self.done, self.every = total, 0, every
        self.stream = stream if stream is not None else sys.stderr
        self.t0 = self.last = time.perf_counter()
        self.started = None  # when the first image was taken on (after training)
        self.activity = ""  # the last news before the attacks (a model's training step)
        self.bar = None
        self.enabled = enabled and total > 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        if self.enabled and self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="image", desc="audit", file=self.stream)
        self._beat = None
        if self.enabled and heartbeat > 0:
            self._beat = threading.Thread(target=self._heartbeat, args=(heartbeat,),
                                          daemon=True)
            self._beat.start()

    def eta(self) -> str:
        """The state in words: images done, time taken, time left (once an image is done)."""
        now = time.perf_counter()
        line = f"{self.done}/{self.total} images attacked ({clock(now - self.t0)})"
        if self.done and self.started is not None and self.done < self.total:
            rate = (now - self.started) / self.done
            line += f", about {clock(rate * (self.total - self.done))} left"
        return line

    def _say(self, line: str) -> None:
        with self._lock:
            self.last = time.perf_counter()
            if self.bar is not None:
                self.bar.write(line, file=self.stream)
            else:
                print(line, file=self.stream, flush=True)

    def _heartbeat(self, period: float) -> None:
        while not self._stop.wait(min(1.0, period)):
            if time.perf_counter() - self.last >= period:
                doing = f"; {self.activity}" if self.activity and self.started is None else ""
                self._say(f"audit: {self.eta()}{doing}")

    def start(self) -> None:
        """The attacks begin (the estimate counts from here, not from the training)."""
        self.started = time.perf_counter()

    def note(self, line: str) -> None:
        """A line of news that is not an image done (a learned model's training)."""
        self.activity = line
        if self.enabled:
            self._say(line)

    def update(self, k: int) -> None:
        if self.started is None:
            self.start()
        self.done += k
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(k)
            self.last = time.perf_counter()
            return
        now = time.perf_counter()
        if now - self.last >= self.every or self.done >= self.total:
            self._say(f"audit: {self.eta()}")

    def close(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        if self.bar is not None:
            self.bar.close()
