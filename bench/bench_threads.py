"""Training speed of bs-train's model at 1, 2, ... torch CPU threads (the --threads choice).

Synthetic 32x32 batches of 128, forward + backward + SGD, the thread counts alternating in
rounds so that a change of machine load hits all of them alike. Prints images/s per count and
the ratio to 1 thread.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch import nn

from trainer.model import build_model


def rate(model: nn.Module, opt, x, y, steps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return steps * len(x) / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="resnet18-narrow")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    counts = [int(t) for t in a.threads.split(",")]
    torch.manual_seed(0)
    model = build_model(a.model, 10, (32, 32, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.randn(128, 3, 32, 32), torch.randint(0, 10, (128,))
    rate(model, opt, x, y, 2)  # warm-up
    best = {t: 0.0 for t in counts}
    for _ in range(a.rounds):
        for t in counts:
            torch.set_num_threads(t)
            best[t] = max(best[t], rate(model, opt, x, y, a.steps))
    print(f"{a.model}, batch 128, {len(os.sched_getaffinity(0))} cores available, "
          f"torch {torch.__version__}; best of {a.rounds} rounds of {a.steps} steps")
    for t in counts:
        print(f"  {t} thread(s): {best[t]:7.1f} images/s  ({best[t] / best[counts[0]]:.2f}x)")


if __name__ == "__main__":
    main()
