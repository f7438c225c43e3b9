"""Evaluation with and without horizontal-flip test-time augmentation (TTA).

TTA at the cloud flips the *encrypted* image (the paper's protocol): its prediction is the mean
of the class probabilities for the image and for its mirror.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

__all__ = ["evaluate", "predict", "summarise"]


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, tta: bool = False) -> torch.Tensor:
    """Class probabilities (B, K) for a normalised (B, C, H, W) batch; with ``tta`` the mean of
    the probabilities for x and for x flipped left-right."""
    p = model(x).float().softmax(1)
    if tta:
        p = (p + model(x.flip(3)).float().softmax(1)) / 2
    return p


@torch.no_grad()
def evaluate(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    prepare: Callable[[torch.Tensor], torch.Tensor] = lambda x: x,
    autocast: bool = False,
) -> torch.Tensor:
    """Sums over ``batches`` of (images, labels) as a float64 tensor on the batches' device:
    [count, loss, correct, loss with TTA, correct with TTA] (``summarise`` makes rates of them;
    DDP ranks all-reduce it first).

    ``prepare`` turns a batch into model input (e.g. ``data.to_input``); ``autocast`` runs the
    model in bf16 on CUDA. The model is put in eval mode and given back in its previous mode.
    """
    was_training = model.training
    model.eval()
    sums = None
    for xb, yb in batches:
        x = prepare(xb)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            logits = model(x).float()
            logits_flip = model(x.flip(3)).float()
        p = logits.softmax(1)
        p_tta = (p + logits_flip.softmax(1)) / 2
        row = torch.stack([
            torch.tensor(float(len(yb)), device=yb.device),
            nn.functional.cross_entropy(logits, yb, reduction="sum"),
            (p.argmax(1) == yb).sum(),
            nn.functional.nll_loss(p_tta.clamp_min(1e-12).log(), yb, reduction="sum"),
            (p_tta.argmax(1) == yb).sum(),
        ]).double()
        sums = row if sums is None else sums + row
    model.train(was_training)
    return sums if sums is not None else torch.zeros(5, dtype=torch.float64)


def summarise(sums: torch.Tensor) -> dict[str, float]:
    """Mean loss and top-1 accuracy (in [0, 1]) without and with TTA from ``evaluate``'s sums."""
    n, loss, correct, loss_tta, correct_tta = (float(v) for v in sums.cpu())
    n = max(n, 1.0)
    return {"loss": loss / n, "acc": correct / n,
            "loss_tta": loss_tta / n, "acc_tta": correct_tta / n}
