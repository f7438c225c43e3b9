"""Classify new encrypted images with a trained model: load a checkpoint once, then
``predict(uint8 batch) -> probabilities``, with the flip TTA of evaluation.

    from trainer.predict import load_predictor
    p = load_predictor("runs/demo")            # best.pt of a bs-train run, or a .pt file
    probs = p.predict(x)                       # x: (B, H, W, C) uint8 -> (B, K) float32

``predict_file`` is ``bs-predict``'s whole job: a query (or a data file's test split) in, a
predictions CSV and its JSON out. The checkpoint is loaded by ``trainer.trained.load_model``,
the one loader of the package.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from trainer.data import to_input
from trainer.ddp import pick_device
from trainer.errors import TrainError
from trainer.predict_io import check_match, iter_batches, json_path, open_input, write_predictions
from trainer.train import predict
from trainer.trained import ModelInfo, load_model

__all__ = ["Prediction", "Predictor", "check_order", "check_output", "load_predictor",
           "predict_file"]


class Predictor:
    """A trained model on a device, ready to classify uint8 batches of encrypted images."""

    def __init__(self, model: nn.Module, mean: list[float], std: list[float],
                 device: torch.device, info: ModelInfo) -> None:
        self.model = model.to(device).eval()
        self.device, self.info = device, info
        self.mean = torch.tensor(mean, device=device)
        self.std = torch.tensor(std, device=device)
        self._cuda = device.type == "cuda"

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.info.class_names

    @torch.no_grad()
    def predict_tensor(self, x: torch.Tensor, tta: bool = True) -> torch.Tensor:
        """(B, H, W, C) uint8 tensor -> (B, K) float32 class probabilities on the device; with
        ``tta`` the mean of the probabilities of the image and its mirror, as ``evaluate``."""
        xin = to_input(x.to(self.device, non_blocking=True), self.mean, self.std,
                       channels_last=self._cuda)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self._cuda):
            return predict(self.model, xin, tta)

    def predict(self, x: np.ndarray | torch.Tensor, tta: bool = True,
                batch_size: int = 256) -> np.ndarray:
        """(B, H, W, C) uint8 -> (B, K) float32 probabilities, ``batch_size`` at a time."""
        x = torch.as_tensor(x)
        want = tuple(self.info.image_shape)
        if x.dtype != torch.uint8 or x.ndim != 4 or tuple(x.shape[1:]) != want:
            raise TrainError(f"predict needs a (B, {want[0]}, {want[1]}, {want[2]}) uint8 "
                             f"batch; got {tuple(x.shape)} {x.dtype}")
        if batch_size < 1:
            raise TrainError(f"batch size {batch_size} is not valid; it must be >= 1")
        out = [self.predict_tensor(x[a:a + batch_size], tta).cpu()
               for a in range(0, len(x), batch_size)]
        return torch.cat(out).numpy() if out else np.zeros((0, self.info.n_classes), np.float32)


def load_predictor(run: str | os.PathLike, device: str = "auto",
                   which: str = "best") -> Predictor:
    """Load the checkpoint of ``run`` (a run directory or a .pt file) once, on ``device``."""
    dev = pick_device(device)
    m = load_model(run, which, dev)
    return Predictor(m.model, list(m.mean), list(m.std), dev, m.info)


@dataclass(frozen=True)
class Prediction:
    """What ``predict_file`` did: where it wrote, how many images, how fast, how well."""

    csv: Path
    json: Path
    info: ModelInfo
    split: str
    n_images: int
    seconds: float
    device: str
    tta: bool
    correct: int | None  # None when the input has no labels the model knows


def check_output(out: Path, overwrite: bool) -> None:
    """TrainError when the CSV ``out`` or its JSON cannot be written (before any work)."""
    if out.suffix.lower() == ".json":
        raise TrainError(f"--out {out} must not end in .json (the JSON goes beside the CSV)")
    for p in (out, json_path(out)):
        if p.is_dir():
            raise TrainError(f"output {p} is a directory; give a file name such as "
                             f"{p}/predictions.csv")
        if p.exists() and not overwrite:
            raise TrainError(f"output {p} already exists; pass --overwrite to replace it")
    if not out.parent.is_dir():
        raise TrainError(f"output directory {out.parent} does not exist; create it first")


def _is_data(path: Path) -> bool:
    """Whether ``path`` is a bs-encrypt file (HDF5) or shard folder (with a manifest)."""
    if path.is_dir():
        return (path / "manifest.json").is_file()
    try:
        with open(path, "rb") as f:
            return f.read(8) == b"\x89HDF\r\n\x1a\n"
    except OSError:
        return False


def check_order(run: str | os.PathLike, data: str | os.PathLike) -> None:
    """TrainError when ``run`` is a data file: the arguments are RUN first, DATA second."""
    if _is_data(Path(run)):
        swapped = (Path(data).is_dir() and not _is_data(Path(data))) or (
            Path(data).suffix == ".pt")
        raise TrainError(f"the first argument, {run}, is a bs-encrypt data file; the first "
                         f"argument is the run folder of bs-train (or a .pt checkpoint), the "
                         f"second the data file"
                         + (f": bs-predict {data} {run}" if swapped else ""))


def predict_file(run: str | os.PathLike, data: str, out: str | os.PathLike,
                 which: str = "best", tta: bool = True, top_k: int | None = None,
                 batch_size: int = 256, device: str = "auto",
                 overwrite: bool = False) -> Prediction:
    """Classify the images of ``data`` (a query file, or a data file's test split) with the
    model of ``run``; write the predictions CSV ``out`` (``top_k`` classes per image, default
    3) and the model's identity beside it as JSON."""
    out = Path(out)
    check_order(run, data)
    if batch_size < 1:
        raise TrainError(f"--batch-size {batch_size} is not valid; it must be >= 1")
    if top_k is not None and top_k < 1:
        raise TrainError(f"--top-k {top_k} is not valid; it must be between 1 and the number "
                         f"of classes")
    check_output(out, overwrite)
    inp = open_input(data)
    pred = load_predictor(run, device, which)
    info = pred.info
    top_k = min(3, info.n_classes) if top_k is None else top_k
    if top_k > info.n_classes:
        raise TrainError(f"--top-k {top_k} is not valid; the model has {info.n_classes} "
                         f"classes, so use 1..{info.n_classes}")
    check_match(inp, info)
    if inp.class_names != info.class_names:
        warnings.warn(f"the class names of {data} differ from the model's; the predictions "
                      f"use the model's", stacklevel=2)
    ids, probs, labels = [], [], []
    t0 = time.perf_counter()
    for x, j, y in iter_batches(inp, batch_size):  # (B, H, W, C) uint8, (B,) ids, (B,) labels
        probs.append(pred.predict_tensor(torch.from_numpy(x), tta).cpu().numpy())
        ids.append(j)
        labels.append(y)
    seconds = time.perf_counter() - t0
    p, j, y = np.concatenate(probs), np.concatenate(ids), np.concatenate(labels)
    scored = bool(inp.has_labels and len(y) and y.min() >= 0 and y.max() < info.n_classes)
    correct = int((p.argmax(1) == y).sum()) if scored else None
    meta = {
        "model": info.to_dict(),
        "query": {"dataset_id": inp.dataset_id, "split": inp.split, "kind": inp.kind,
                  "n_images": int(len(j))},
        "tta": tta, "top_k": top_k,
        "accuracy": correct / len(y) if scored else None,
        "device": str(pred.device), "images_per_s": len(j) / max(seconds, 1e-9),
    }
    csv_path, json_file = write_predictions(out, j, p, y if scored else None, info.class_names,
                                            top_k, meta)
    return Prediction(Path(csv_path), Path(json_file), info, inp.split, int(len(j)), seconds,
                      str(pred.device), tta, correct)
