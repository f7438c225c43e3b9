"""Classify new encrypted images with a trained model: load a checkpoint once, then
``predict(uint8 batch) -> probabilities``, with the flip TTA of evaluation.

    from trainer.predict import load_predictor
    p = load_predictor("runs/demo")            # best.pt of a bs-train run, or a .pt file
    probs = p.predict(x)                       # x: (B, H, W, C) uint8 -> (B, K) float32

``predict_file`` is ``bs-predict``'s whole job: a query (or a data file's test split) in, a
predictions CSV and its JSON out.

The model is rebuilt from what the checkpoint records (model name, classes, image shape, block
size) through ``trainer.model.build_model``, so any model ``bs-train`` knows loads here. The
checkpoint is read with ``weights_only=True`` (``checkpoint.load``): it cannot run code.
"""

from __future__ import annotations

import inspect
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bsformat.checksum import file_sha256
from trainer import checkpoint as ckpt
from trainer.data import to_input
from trainer.ddp import pick_device
from trainer.errors import TrainError
from trainer.model import build_model
from trainer.train import predict

__all__ = ["ModelInfo", "Prediction", "Predictor", "check_output", "load_predictor",
           "predict_file", "resolve_checkpoint"]

_REQUIRED = ("model", "model_name", "class_names", "image_shape", "block_size", "mean", "std")


@dataclass(frozen=True)
class ModelInfo:
    """The identity of a trained model, as its checkpoint records it (no paths of the client)."""

    checkpoint: str  # file name, e.g. best.pt
    sha256: str
    model_name: str
    class_names: tuple[str, ...]
    image_shape: tuple[int, int, int]  # (H, W, C)
    block_size: tuple[int, int]
    scrambled: bool | None  # None: an older checkpoint that did not record it
    epoch: int | None
    identity: dict = field(default_factory=dict)
    defences: dict | None = None  # the training file's; None: a checkpoint from before them
    invariances: tuple[str, ...] = ()  # of a block-set model (trainer/invariance.py)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_checkpoint(run: str | os.PathLike, which: str = "best") -> Path:
    """``run`` itself when it is a file, else ``run/best.pt`` (or ``last.pt``)."""
    if which not in ("best", "last"):
        raise TrainError(f"checkpoint {which!r} is not valid; use best or last")
    p = Path(run).expanduser()
    if p.is_file():
        return p
    if not p.is_dir():
        raise TrainError(f"{run} is neither a bs-train run directory nor a checkpoint file")
    path = p / f"{which}.pt"
    if not path.is_file():
        raise TrainError(f"run directory {run} has no {which}.pt (bs-train writes it when an "
                         f"epoch finishes); give a finished run or a checkpoint file")
    return path


def _build(name: str, n_classes: int, shape: tuple[int, int, int], block: tuple[int, int],
           invariances: tuple[str, ...] = ()):
    """``build_model`` with the block size and invariances too where the model takes them."""
    params = inspect.signature(build_model).parameters
    if invariances:
        return build_model(name, n_classes, shape, block_size=block, invariances=invariances)
    if "block_size" in params:
        return build_model(name, n_classes, shape, block_size=block)
    return build_model(name, n_classes, shape)


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
    path = resolve_checkpoint(run, which)
    dev = pick_device(device)
    state = ckpt.load(path)
    missing = [k for k in _REQUIRED if k not in state]
    if missing:
        raise TrainError(f"{path} is not a bs-train checkpoint (it lacks {', '.join(missing)})")
    info = ModelInfo(
        checkpoint=path.name, sha256=file_sha256(path), model_name=str(state["model_name"]),
        class_names=tuple(str(c) for c in state["class_names"]),
        image_shape=tuple(int(v) for v in state["image_shape"]),
        block_size=tuple(int(v) for v in state["block_size"]),
        scrambled=None if state.get("scrambled") is None else bool(state["scrambled"]),
        epoch=int(state["epoch"]) if "epoch" in state else None,
        identity=dict(state.get("identity", {})),
        defences=None if state.get("defences") is None else dict(state["defences"]),
        invariances=tuple(str(v) for v in state.get("invariances", ())),
    )
    model = _build(info.model_name, info.n_classes, info.image_shape, info.block_size,
                   info.invariances)
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, TypeError, AttributeError) as e:
        first = str(e).strip().splitlines()[0]
        raise TrainError(f"{path}: the weights do not fit model {info.model_name!r}: "
                         f"{first}") from None
    if dev.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    return Predictor(model, list(state["mean"]), list(state["std"]), dev, info)


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
    from trainer.predict_io import json_path  # predict_io imports ModelInfo from here

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


def predict_file(run: str | os.PathLike, data: str, out: str | os.PathLike,
                 which: str = "best", tta: bool = True, top_k: int | None = None,
                 batch_size: int = 256, device: str = "auto",
                 overwrite: bool = False) -> Prediction:
    """Classify the images of ``data`` (a query file, or a data file's test split) with the
    model of ``run``; write the predictions CSV ``out`` (``top_k`` classes per image, default
    3) and the model's identity beside it as JSON."""
    from trainer.predict_io import check_match, iter_batches, open_input, write_predictions

    out = Path(out)
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
