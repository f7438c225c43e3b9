"""Where CIFAR-10 is for the experiments and timing scripts, and how to read it as a source.

The offline copy lives in ``../shared/data/cifar10`` beside the repository, as npz files (after
its ``unpack.py``) or as webp sheets. Nothing derived from it is ever written into the
repository.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["SHARED_CIFAR", "cifar_source", "unpack_cifar"]

SHARED_CIFAR = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10"


def unpack_cifar(out: Path) -> Path | None:
    """Unpack the offline CIFAR-10 copy into ``out`` (npz files); None when it is absent."""
    if not (SHARED_CIFAR / "unpack.py").exists():
        return None
    if not (out / "cifar10_train.npz").exists():
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(SHARED_CIFAR / "unpack.py"), str(out)], check=True,
                       stdout=subprocess.DEVNULL)
    return out


def cifar_source(data_dir: Path, work: Path) -> str:
    """A source spec for CIFAR-10 in ``data_dir``: the unpacked npz files, or the webp sheets
    (``train_half1.webp`` alone is enough: 25,000 training images; with ``train_half2.webp``
    all 50,000), which are unpacked into ``work``. ValueError naming what is missing."""
    npz = [data_dir / "cifar10_train.npz", data_dir / "cifar10_test.npz"]
    if all(p.exists() for p in npz):
        return f"npz:{npz[0]},{npz[1]}"
    need = ["labels.npz", "test_first1000.webp", "train_half1.webp"]
    missing = [n for n in need if not (data_dir / n).exists()]
    if missing:
        raise ValueError(f"DATA {data_dir} holds neither cifar10_train.npz + cifar10_test.npz "
                         f"nor the CIFAR-10 sheets (missing {', '.join(missing)})")
    lab = np.load(data_dir / "labels.npz")
    halves = [h for h in ("train_half1.webp", "train_half2.webp") if (data_dir / h).exists()]
    train = np.concatenate([_tiles(data_dir / h, 250) for h in halves])  # (n, 32, 32, 3)
    test = _tiles(data_dir / "test_first1000.webp", 50)  # (1000, 32, 32, 3), exact
    work.mkdir(parents=True, exist_ok=True)
    names = lab["class_names"]
    np.savez(work / "cifar10_train.npz", images=train, class_names=names,
             labels=lab["train_labels"][: len(train)])
    np.savez(work / "cifar10_test.npz", images=test, class_names=names,
             labels=lab["test_labels"][: len(test)], exact=np.ones(len(test), bool))
    return f"npz:{work / 'cifar10_train.npz'},{work / 'cifar10_test.npz'}"


def _tiles(path: Path, ncol: int) -> np.ndarray:
    grid = np.asarray(Image.open(path).convert("RGB"))  # (rows*32, ncol*32, 3)
    nrow = grid.shape[0] // 32
    return grid.reshape(nrow, 32, ncol, 32, 3).transpose(0, 2, 1, 3, 4).reshape(-1, 32, 32, 3)
