"""Evaluate a trained checkpoint on any split of a bs-encrypt file (with and without TTA)."""

from __future__ import annotations

import torch

from trainer.data import MemoryLoader, to_input
from trainer.source import describe
from trainer.train import evaluate, summarise
from trainer.trained import load_model

__all__ = ["evaluate_checkpoint"]


def evaluate_checkpoint(
    checkpoint: str, data: str, split: str, device: torch.device, batch_size: int = 500
) -> dict[str, float]:
    """Loss and top-1 accuracy (0..1) of ``checkpoint`` on ``split`` of ``data``, plus ``n``."""
    m = load_model(checkpoint, device=device)
    sp = describe(data, split)
    cuda = device.type == "cuda"
    mean = torch.tensor(m.mean, device=device)
    std = torch.tensor(m.std, device=device)
    loader = MemoryLoader(sp, device, batch_size, shuffle=False)
    sums = evaluate(m.model, loader.batches(0), lambda x: to_input(x, mean, std, cuda), cuda)
    return {**summarise(sums), "n": sp.n_images}
