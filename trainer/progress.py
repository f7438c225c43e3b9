"""A dependency-free progress bar for an epoch (on a terminal only), and the summary line."""

from __future__ import annotations

import sys
import time

__all__ = ["ProgressBar", "epoch_line"]


class ProgressBar:
    """``[=====>    ] 120/390  loss 1.23  4,512 img/s`` on stderr, redrawn at most 5x a second."""

    def __init__(self, total: int, label: str, enabled: bool = True, width: int = 30) -> None:
        self.total, self.label, self.width = max(total, 1), label, width
        self.enabled = enabled and sys.stderr.isatty()
        self.count, self.t0, self.last = 0, time.perf_counter(), 0.0

    def update(self, steps: int) -> bool:
        """Advance by ``steps``; True when a redraw is due (then call ``draw``)."""
        self.count += steps
        now = time.perf_counter()
        return self.enabled and (now - self.last >= 0.2 or self.count >= self.total)

    def draw(self, text: str) -> None:
        done = min(self.count / self.total, 1.0)
        bar = ("=" * int(done * self.width) + ">").ljust(self.width)[: self.width]
        sys.stderr.write(f"\r{self.label} [{bar}] {self.count}/{self.total}  {text}")
        sys.stderr.flush()
        self.last = time.perf_counter()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * (self.width + 80) + "\r")
            sys.stderr.flush()


def epoch_line(row: dict, epochs: int) -> str:
    """``epoch  3/250  loss 1.234  train 55.1%  test 60.2%  tta 61.0%  4,512 img/s  11.1 s``."""
    w = len(str(epochs))
    return (
        f"epoch {row['epoch']:>{w}}/{epochs}  loss {row['train_loss']:.4f}"
        f"  train {100 * row['train_acc']:5.1f}%  test {100 * row['test_acc']:5.1f}%"
        f"  tta {100 * row['test_acc_tta']:5.1f}%  test loss {row['test_loss']:.4f}"
        f"  {row['images_per_s']:,.0f} img/s  {row['epoch_s']:.1f} s"
    )
