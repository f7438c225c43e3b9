"""Optimiser, learning-rate schedule and loss: a one-cycle schedule, stepped once per batch.

- ``onecycle``: SGD (momentum 0.9, weight decay 5e-4), peak 0.1, the usual value for ResNet-18
  with SGD at batch 128 (the default for ResNet-18);
- ``paper``: the same SGD with peak 0.0005, the "maximum learning rate" that Chuman & Kiya
  (2021) state;
- ``adamw``: AdamW (weight decay 0.05 on weight matrices only), peak 2e-3, label smoothing 0.1:
  the block-set models' recipe, chosen by measurement (README, "Choosing a setting and a model");
- ``auto``: ``adamw`` for the block-set models, ``onecycle`` otherwise.

The schedule is a pure function of the step (``lr_factor``), so a resumed run follows it exactly.

Any recipe can add weight averaging (``--ema DECAY``, ``trainer/ema.py``), as fast CIFAR-10
recipes do: the run evaluates and saves an exponential moving average of the weights (and of
BatchNorm's statistics), decay min(DECAY, (1+t)/(10+t)) at step t.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import nn

from trainer.errors import TrainError
from trainer.registry import get_model

__all__ = [
    "RECIPES", "Recipe", "build_optimizer", "build_schedule", "get_recipe", "lr_factor",
    "resolve_recipe",
]


@dataclass(frozen=True)
class Recipe:
    """Peak learning rate and the fixed parts of the recipe."""

    name: str
    peak_lr: float
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup: float = 0.15  # fraction of the steps spent rising to the peak
    start_factor: float = 0.04  # the first step's learning rate, as a fraction of the peak
    optimizer: str = "sgd"  # sgd | adamw
    label_smoothing: float = 0.0


RECIPES = {
    "onecycle": Recipe("onecycle", 0.1),
    "paper": Recipe("paper", 0.0005),
    "adamw": Recipe("adamw", 2e-3, momentum=0.9, weight_decay=0.05, warmup=0.15,
                    start_factor=0.04, optimizer="adamw", label_smoothing=0.1),
    "auto": Recipe("auto", 0.0),  # resolved per model by resolve_recipe
}


def resolve_recipe(name: str, model: str) -> str:
    """``auto`` -> ``adamw`` for block-set models, ``onecycle`` otherwise; others unchanged."""
    if name != "auto":
        return name
    return get_model(model).recipe


def get_recipe(name: str, lr: float | None = None) -> Recipe:
    """The named recipe, with its peak replaced by ``lr`` when given; TrainError if unknown."""
    if name not in RECIPES:
        raise TrainError(f"recipe {name!r} is not known; choose one of {sorted(RECIPES)}")
    r = RECIPES[name]
    if lr is not None:
        if not (lr > 0 and math.isfinite(lr)):
            raise TrainError(f"learning rate {lr} is not valid; it must be a positive number")
        r = replace(r, peak_lr=lr)
    return r


def lr_factor(step: int, total: int, warmup: float = 0.15, start: float = 0.04) -> float:
    """Piecewise-linear one-cycle: ``start`` -> 1 over the warm-up, then 1 -> 0 at ``total``."""
    t = step / max(1, total)
    w = max(warmup, 1e-9)
    if t < w:
        return start + (1.0 - start) * t / w
    return max(0.0, (1.0 - t) / max(1.0 - w, 1e-9))


def build_optimizer(
    model: nn.Module, recipe: Recipe, device: torch.device
) -> torch.optim.Optimizer:
    """SGD with momentum and weight decay on all parameters, or AdamW with weight decay on
    weight matrices only (not norms, biases, position embeddings or the class token); fused on
    CUDA."""
    extra = {"fused": True} if device.type == "cuda" else {}
    if recipe.optimizer == "adamw":
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        flat = ("cls", "pixel_pos")
        decay = [p for n, p in named if p.ndim >= 2 and n.split(".")[-1] not in flat]
        ids = {id(p) for p in decay}
        groups = [{"params": decay, "weight_decay": recipe.weight_decay},
                  {"params": [p for _, p in named if id(p) not in ids], "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=recipe.peak_lr, betas=(0.9, 0.999), **extra)
    return torch.optim.SGD(
        model.parameters(), lr=recipe.peak_lr, momentum=recipe.momentum,
        weight_decay=recipe.weight_decay, **extra,
    )


def build_schedule(
    optimizer: torch.optim.Optimizer, recipe: Recipe, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step one-cycle schedule over ``total_steps``."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, total_steps, recipe.warmup, recipe.start_factor)
    )
