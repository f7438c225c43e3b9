"""The cluster solver: pieces joined into clusters, cheapest joins first, every state tried,
after Gallagher's tree-based reassembly (:mod:`encrypt_tool.audit.tree`). It runs on every
file; without transforms it is one more solver."""

from __future__ import annotations

from encrypt_tool.audit.attack import COST_NAMES
from encrypt_tool.audit.attacks.base import Answer, Attack, Context
from encrypt_tool.audit.tree import tree_attack

__all__ = ["CLUSTERS", "METHODS"]

METHODS = ("mgc", "masked")


def _run(ctx: Context) -> dict[str, Answer]:
    S = ctx.space.size
    states = f" ({S} states)" if S > 1 else ""
    return {f"clusters{states}, {COST_NAMES[m]}":
            Answer(images=tree_attack(ctx.pieces, ctx.grid, ctx.space, m, ctx.gap))
            for m in METHODS}


CLUSTERS = Attack("clusters", "clusters joined cheapest first, every state tried (any size)",
                  _run, needs=("states", "gap"))
