"""What each within-block invariance of the block-set model costs in training speed.

Forward + backward + AdamW step of ``blockset-narrow`` at batch 128 on random CIFAR-sized
inputs, one CPU thread (or the GPU when present), for each invariance alone and all together,
on 8x8 blocks and on the kept blocks of a border drop (6x6 from 8x8 with d = 1, 4x4 with d = 2);
each in its modes (trainer/invariance.py ``MODES``): rotation by a canonical orientation or by
orbit pooling over all 8 (``:orbit``); negpos and channel order by orbit pooling (bare names)
or by a canonical state of each block (``:canonical``).
Prints training images per CPU-second (``process_time``, less sensitive to other jobs) and the
ratio to the model without invariances. Accuracy is measured with bs-train (README).

    .venv/bin/python bench/bench_invariance.py [--steps 5] [--blocks 8,6,4]
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch import nn

from trainer.blockset import BLOCKSETS, BlockSet
from trainer.recipe import build_optimizer, get_recipe

SETS = [(), ("negpos",), ("negpos:canonical",), ("channel_perm",), ("channel_perm:canonical",),
        ("negpos", "channel_perm"), ("negpos:canonical", "channel_perm:canonical"), ("rotate",),
        ("rotate", "negpos", "channel_perm"),
        ("rotate", "negpos:canonical", "channel_perm:canonical"), ("rotate:orbit",),
        ("rotate:orbit", "negpos", "channel_perm")]  # a bare name: the first of its MODES
SHAPES = [((8, 8), 32), ((6, 6), 24), ((4, 4), 16)]  # kept block, image side


def rate(model_name: str, block, side: int, inv, steps: int, device: torch.device) -> float:
    """Training images per second of CPU time (wall time on CUDA)."""
    torch.manual_seed(0)
    net = BlockSet(10, (side, side, 3), block, BLOCKSETS[model_name], inv).to(device).train()
    opt = build_optimizer(net, get_recipe("adamw"), device)
    x = torch.randn(128, 3, side, side, device=device)
    y = torch.randint(0, 10, (128,), device=device)
    clock = time.perf_counter if device.type == "cuda" else time.process_time
    for i in range(steps + 1):
        if i == 1:  # the first step warms up
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            t = clock()
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return 128 * steps / max(clock() - t, 1e-9)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--model", default="blockset-narrow")
    ap.add_argument("--blocks", default="8,6,4", help="kept block sides to measure")
    args = ap.parse_args()
    sides = [int(v) for v in args.blocks.split(",")]
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.set_num_threads(1)
    print(f"{args.model}, batch 128, {args.steps} steps, {device}, torch {torch.__version__}, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"{'block':>6} {'invariances':<50} {'img/s':>8} {'vs none':>8}")
    for block, side in SHAPES:
        if block[0] not in sides:
            continue
        base = None
        for inv in SETS:
            r = rate(args.model, block, side, inv, args.steps, device)
            base = base or r
            name = "+".join(inv) or "none"
            print(f"{block[0]}x{block[1]:<4} {name:<50} {r:8.0f} {r / base:7.2f}x", flush=True)


if __name__ == "__main__":
    main()
