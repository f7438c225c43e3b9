"""A trained model from its checkpoint: the one loader that ``bs-predict``, the experiments and
your own code share.

    from trainer.trained import load_model
    m = load_model("runs/demo")          # best.pt of a bs-train run, or a .pt file
    m.model, m.info.class_names, m.mean, m.std

The model is rebuilt from what the checkpoint records (model name, classes, image shape, block
size, invariances) through ``trainer.model.build_model``, so any model of the registry loads
here. The checkpoint is read with ``weights_only=True`` (``checkpoint.load``): it cannot run
code.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from bsformat.checksum import file_sha256
from trainer import checkpoint as ckpt
from trainer.errors import TrainError
from trainer.model import build_model

__all__ = ["ModelInfo", "TrainedModel", "load_model", "model_info", "resolve_checkpoint"]

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
    key_fingerprint: str | None = None  # the training data's ("" plain); None: not recorded

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TrainedModel:
    """A checkpoint's model (in eval mode, on its device) with what it needs for input."""

    model: nn.Module  # (B, C, H, W) float normalised -> (B, K) logits
    info: ModelInfo
    mean: tuple[float, ...]  # per channel, in [0, 1]: x_in = (x / 255 - mean) / std
    std: tuple[float, ...]


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


def model_info(state: dict, path: Path) -> ModelInfo:
    """The ``ModelInfo`` of a loaded checkpoint ``state`` read from ``path``; TrainError when
    it lacks what a model needs."""
    missing = [k for k in _REQUIRED if k not in state]
    if missing:
        raise TrainError(f"{path} is not a bs-train checkpoint (it lacks {', '.join(missing)})")
    return ModelInfo(
        checkpoint=path.name, sha256=file_sha256(path), model_name=str(state["model_name"]),
        class_names=tuple(str(c) for c in state["class_names"]),
        image_shape=tuple(int(v) for v in state["image_shape"]),
        block_size=tuple(int(v) for v in state["block_size"]),
        scrambled=None if state.get("scrambled") is None else bool(state["scrambled"]),
        epoch=int(state["epoch"]) if "epoch" in state else None,
        identity=dict(state.get("identity", {})),
        defences=None if state.get("defences") is None else dict(state["defences"]),
        invariances=tuple(str(v) for v in state.get("invariances", ())),
        key_fingerprint=(None if state.get("key_fingerprint") is None
                         else str(state["key_fingerprint"])),
    )


def load_model(run: str | os.PathLike, which: str = "best",
               device: str | torch.device = "cpu") -> TrainedModel:
    """The model of ``run`` (a bs-train run directory or a .pt file) on ``device``, in eval
    mode (channels_last on CUDA); TrainError naming the file when it cannot be loaded."""
    path = resolve_checkpoint(run, which)
    state = ckpt.load(path)
    info = model_info(state, path)
    model = build_model(info.model_name, info.n_classes, info.image_shape, info.block_size,
                        info.invariances)
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, TypeError, AttributeError) as e:
        first = str(e).strip().splitlines()[0]
        raise TrainError(f"{path}: the weights do not fit model {info.model_name!r}: "
                         f"{first}") from None
    device = torch.device(device)
    fmt = torch.channels_last if device.type == "cuda" else torch.preserve_format
    model = model.to(device, memory_format=fmt).eval()
    return TrainedModel(model, info, tuple(float(v) for v in state["mean"]),
                        tuple(float(v) for v in state["std"]))
