"""Hand-made edge compatibilities, each alone: MGC, masked prediction, prediction, RGB SSD.

Every compatibility runs through the same fixed-frame solver (beam search and confidence-first
growth, then swaps; :mod:`encrypt_tool.audit.solver`). With a dropped border the costs
extrapolate across the gap; ``edges-nogap`` runs the same costs as if the kept blocks touched,
which did better on some photos.
"""

from __future__ import annotations

from encrypt_tool.audit.attack import run_attacks
from encrypt_tool.audit.attacks.base import Answer, Attack, Context

__all__ = ["EDGES", "EDGES_NOGAP", "gap_label"]


def gap_label(label: str, gap: int) -> str:
    """The label of a candidate whose costs extrapolate across ``gap`` px (none: unchanged)."""
    return f"{label}, across the {gap}-px gap" if gap else label


def _edges(ctx: Context) -> dict[str, Answer]:
    found = run_attacks(ctx.edges, ctx.bases(ctx.gap), ctx.beam)
    return {gap_label(k, ctx.gap): Answer(orders=o) for k, o in found.items()}


def _nogap(ctx: Context) -> dict[str, Answer]:
    return {k: Answer(orders=o) for k, o in run_attacks(ctx.edges, ctx.bases(0), ctx.beam).items()}


def _has_gap(ctx: Context) -> bool:
    return ctx.gap > 0


EDGES = Attack("edges", "each hand-made edge cost alone (MGC, masked prediction, prediction, "
               "RGB SSD) through the fixed-frame solver", _edges)
EDGES_NOGAP = Attack("edges-nogap", "the same costs as if the kept blocks touched, ignoring the "
                     "dropped border", _nogap, needs=("gap",), applies=_has_gap)
