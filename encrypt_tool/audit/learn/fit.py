"""The one training loop of the learned attacks: AdamW with a one-cycle schedule."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import nn

from encrypt_tool.audit.progress import clock

__all__ = ["LOG_EVERY", "fit"]

LOG_EVERY = 20.0  # seconds: the longest a training goes without news (the audit's heartbeat: 30)


def fit(model: nn.Module, steps: int, loss_at: Callable[[int], torch.Tensor], name: str,
        log: Callable[[str], None] | None = None, lr: float = 2e-3) -> float:
    """Train ``model`` for ``steps`` steps on ``loss_at(step)`` (the loss of a fresh batch);
    logs every 50 steps as ``name``, and at least every ``LOG_EVERY`` seconds, with the time
    left. Returns the seconds taken; the model is left in eval mode."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.1)
    t0 = said = time.perf_counter()
    model.train()
    for step in range(steps):
        loss = loss_at(step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        now = time.perf_counter()
        if log is not None and ((step + 1) % 50 == 0 or now - said >= LOG_EVERY):
            said = now
            left = (now - t0) / (step + 1) * (steps - step - 1)
            log(f"{name}: step {step + 1}/{steps}, loss {loss.item():.3f}, about "
                f"{clock(left)} left")
    model.eval()
    return time.perf_counter() - t0
