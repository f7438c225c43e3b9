"""The recognition test's classifier: a model trained on plain images with the trainer."""

from __future__ import annotations

import os
import time
from pathlib import Path

from encrypt_tool.setting import Setting
from experiments.encrypt import encrypt

__all__ = ["train_plain"]


def train_plain(source: str, out: Path, model: str, n_train: int, epochs: int,
                n_test: int | None, threads: int | None = None) -> dict:
    """Train ``model`` on plain images of ``source`` (``--no-scramble``: crop, flip, GridMask,
    N = 4, as the presets but unscrambled) with the trainer; the run goes to ``out``."""
    from trainer.config import TrainConfig
    from trainer.train import train

    out.mkdir(parents=True, exist_ok=True)
    data = out / "plain.h5"
    encrypt(source, b"", Setting("plain", scramble=False), data, limit=n_train)
    try:
        t0 = time.perf_counter()
        load = os.getloadavg()[0]
        r = train(TrainConfig(data=str(data), out=str(out / "run"), epochs=epochs, model=model,
                              device="cpu", limit_train=n_train, limit_test=n_test,
                              subset="first", overwrite=True, progress=False, threads=threads))
    finally:
        data.unlink(missing_ok=True)
    return {"run": str(out / "run"), "model": model, "n_train": n_train, "epochs": epochs,
            "test_acc": r["final_test_acc"], "test_acc_tta": r["final_test_acc_tta"],
            "train_wall_s": time.perf_counter() - t0, "load": [load, os.getloadavg()[0]]}
