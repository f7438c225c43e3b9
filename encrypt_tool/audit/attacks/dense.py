"""The dense extended solver: every piece in every state the file's transforms allow, all
pairs of (piece, state) costed, confidence-first growth (:mod:`encrypt_tool.audit.extended`).
Its cost matrix has (n * S)^2 entries, so it runs only up to ``MAX_CANDIDATES`` pieces in
states (CIFAR-10 sizes); the cluster solver covers photo sizes."""

from __future__ import annotations

from encrypt_tool.audit.attack import COST_NAMES
from encrypt_tool.audit.attacks.base import Answer, Attack, Context
from encrypt_tool.audit.extended import MAX_CANDIDATES, extended_attack

__all__ = ["DENSE", "METHODS"]

METHODS = ("masked", "prediction")


def _run(ctx: Context) -> dict[str, Answer]:
    S = ctx.space.size
    return {f"extended ({S} states), {COST_NAMES[m]}":
            Answer(images=extended_attack(ctx.pieces, ctx.grid, ctx.space, m, ctx.gap))
            for m in METHODS}


def _applies(ctx: Context) -> bool:
    return ctx.space.size > 1


def _skip(ctx: Context) -> str | None:
    n = ctx.grid[0] * ctx.grid[1]
    if n * ctx.space.size > MAX_CANDIDATES:
        return f"more than {MAX_CANDIDATES} pieces in states ({n} x {ctx.space.size})"
    return None


DENSE = Attack("extended", "every piece in every state, all pairs costed (small images)", _run,
               needs=("states",), applies=_applies, skip=_skip)
