"""Evaluate a trained checkpoint on any split of a bs-encrypt file (with and without TTA)."""

from __future__ import annotations

import torch

from trainer import checkpoint as ckpt
from trainer.data import MemoryLoader, to_input
from trainer.model import build_model
from trainer.source import describe
from trainer.train import evaluate, summarise

__all__ = ["evaluate_checkpoint"]


def evaluate_checkpoint(
    checkpoint: str, data: str, split: str, device: torch.device, batch_size: int = 500
) -> dict[str, float]:
    """Loss and top-1 accuracy (0..1) of ``checkpoint`` on ``split`` of ``data``, plus ``n``."""
    state = ckpt.load(checkpoint)
    sp = describe(data, split)
    block = state.get("block_size")
    model = build_model(state["model_name"], len(state["class_names"]), tuple(state["image_shape"]),
                        block_size=tuple(block) if block is not None else None)
    model.load_state_dict(state["model"])
    cuda = device.type == "cuda"
    model = model.to(device, memory_format=torch.channels_last if cuda else torch.preserve_format)
    mean = torch.tensor(state["mean"], device=device)
    std = torch.tensor(state["std"], device=device)
    loader = MemoryLoader(sp, device, batch_size, shuffle=False)
    sums = evaluate(model, loader.batches(0), lambda x: to_input(x, mean, std, cuda), cuda)
    return {**summarise(sums), "n": sp.n_images}
