"""The edge costs with the side information a file holds: the padding strips of the random
crops pin pieces to the frame's edges, and the other copies of the same image vote for
neighbour pairs where their pixels overlap exactly (:mod:`encrypt_tool.audit.borders`,
:mod:`encrypt_tool.audit.crosscopy`)."""

from __future__ import annotations

from encrypt_tool.audit.attack import run_attacks
from encrypt_tool.audit.attacks.base import Answer, Attack, Context
from encrypt_tool.audit.attacks.edges import gap_label

__all__ = ["SIDE"]


def _run(ctx: Context) -> dict[str, Answer]:
    found = run_attacks(ctx.with_side, ctx.bases(ctx.gap), ctx.beam)
    return {gap_label(k, ctx.gap): Answer(orders=o) for k, o in found.items()}


def _applies(ctx: Context) -> bool:
    return ctx.has_side


SIDE = Attack("side-info", "the edge costs with the padding prior and the votes of the other "
              "copies", _run, needs=("padding", "copies"), applies=_applies)
