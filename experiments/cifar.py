"""Shared helpers of the benchmark scripts: where CIFAR-10 is, machine description."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

__all__ = ["REPO", "SHARED_CIFAR", "machine", "unpack_cifar"]

REPO = Path(__file__).resolve().parents[1]
SHARED_CIFAR = REPO.parent / "shared" / "data" / "cifar10"


def machine() -> str:
    """One line: CPU model, cores, Python and numpy versions."""
    import numpy as np

    from experiments.machine import cpu_model

    return (f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"numpy {np.__version__}")


def unpack_cifar(out: Path) -> Path | None:
    """Unpack the offline CIFAR-10 copy into ``out`` (npz files); None when it is absent."""
    if not (SHARED_CIFAR / "unpack.py").exists():
        return None
    if not (out / "cifar10_train.npz").exists():
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(SHARED_CIFAR / "unpack.py"), str(out)], check=True,
                       stdout=subprocess.DEVNULL)
    return out
