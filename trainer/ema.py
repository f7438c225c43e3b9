"""Weight averaging (``bs-train --ema DECAY``): an exponential moving average of a model's
parameters and buffers, updated after every optimiser step; the average is what a run evaluates,
selects ``best.pt`` by and serves.

After update t (t = 0, 1, ...), for every float parameter and buffer (BatchNorm's running mean
and variance included) of the averaged copy ``a`` and the trained model ``p``:

    d_t = min(decay, (1 + t) / (10 + t))        # warm-up: 0.1, 0.18, 0.25, ... -> decay
    a <- d_t * a + (1 - d_t) * p

so early averages do not hold on to the initial weights (with decay 0.999 the warm-up ends after
about 9,000 steps). Integer buffers (BatchNorm's batch counter) are copied. The average starts
as a copy of the model; ``updates`` counts the updates, which fixes the next d_t, so a resumed run
continues the average exactly.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

__all__ = ["WeightAverage", "ema_decay"]


def ema_decay(decay: float, update: int) -> float:
    """The decay of update number ``update`` (0-based): ``min(decay, (1 + t) / (10 + t))``."""
    return min(decay, (1 + update) / (10 + update))


class WeightAverage:
    """An averaged copy (``module``) of a model, with the same structure, device and layout."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0 < decay < 1:
            raise ValueError(f"decay {decay} is not valid; it must be between 0 and 1")
        self.module = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay, self.updates = decay, 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average towards ``model`` (the unwrapped model, after an optimiser step)."""
        d = ema_decay(self.decay, self.updates)
        mine = [*self.module.parameters(), *self.module.buffers()]
        theirs = [*model.parameters(), *model.buffers()]
        floats = [(a, p.detach()) for a, p in zip(mine, theirs, strict=True)
                  if a.is_floating_point()]
        if floats:
            a, p = zip(*floats, strict=True)
            torch._foreach_lerp_(list(a), list(p), 1.0 - d)  # a + (1 - d)(p - a), one kernel
        for a, p in zip(mine, theirs, strict=True):
            if not a.is_floating_point():
                a.copy_(p)
        self.updates += 1

    def state_dict(self) -> dict:
        """The averaged weights, on the CPU (as a checkpoint's ``model``)."""
        return {k: v.detach().cpu() for k, v in self.module.state_dict().items()}

    def load(self, weights: dict, updates: int) -> None:
        """Continue from a checkpoint's averaged ``weights`` after ``updates`` updates."""
        self.module.load_state_dict(weights)
        self.updates = int(updates)
