"""The learned attacks: costs and priors from networks trained on plain images of the same kind
(:mod:`encrypt_tool.audit.learn`), used by the solvers that exist.

- ``learned-pairs``: the learned pairwise compatibility (across the dropped border, in every
  relative state) as the cost of the cluster solver; without within-block transforms also of
  the fixed-frame solver (beam search and growth), alone and with the side information.
- ``learned-states``: the learned prior over each block's stored state as a cost term of the
  cluster solver, beside the masked-prediction cost and, when the pair model is there, beside
  the learned pair cost.

Their models come from ``Context.models`` (attack name -> model, or the reason there is none).
"""

from __future__ import annotations

import numpy as np

from encrypt_tool.audit.attack import COST_NAMES, solver_costs, with_side
from encrypt_tool.audit.attacks.base import Answer, Attack, Context
from encrypt_tool.audit.relcost import relative_costs
from encrypt_tool.audit.solver import solve
from encrypt_tool.audit.tree import tree_attack

__all__ = ["LEARNED_PAIRS", "LEARNED_STATES", "PRIOR_WEIGHT"]

PRIOR_WEIGHT = 1.0  # nats of the state prior per typical best edge cost (hand-made costs)


def _torch_threads(ctx: Context) -> None:
    import torch

    torch.set_num_threads(int(ctx.models.get("threads", 1)))


def _pair_cost(ctx: Context, m: int) -> np.ndarray:
    """Learned T (n, 4, n, S) float32 of image m of the chunk, fresh: the cluster solver
    overwrites it, and one image's costs at a time is what keeps photo sizes in memory."""
    from encrypt_tool.audit.learn.pairs import pair_costs

    return pair_costs(ctx.models["learned-pairs"], ctx.pieces[m], ctx.space)


def _state_prior(ctx: Context, m: int) -> np.ndarray:
    """``-log P(t | i, j)`` (n, n, S) float32 of image m of the chunk."""
    from encrypt_tool.audit.learn.states import relative_prior, state_probs

    net = ctx.models["learned-states"]
    return relative_prior(state_probs(net, ctx.pieces[m], ctx.space), ctx.space)


def _plus(T: np.ndarray, prior: np.ndarray, weight: float = 1.0) -> np.ndarray:
    """T (n, 4, n, S) + weight * prior (n, n, S) in every direction, in place."""
    if weight != 1.0:
        prior *= np.float32(weight)
    for d in range(4):
        T[:, d] += prior
    return T


def _suffix(ctx: Context) -> str:
    return f" ({ctx.space.size} states)" if ctx.space.size > 1 else ""


def _pairs(ctx: Context) -> dict[str, Answer]:
    _torch_threads(ctx)
    out = {f"learned pairs, clusters{_suffix(ctx)}": Answer(images=tree_attack(
        ctx.pieces, ctx.grid, ctx.space, costs=lambda m: _pair_cost(ctx, m)))}
    if ctx.space.size == 1:  # the pieces as stored: the fixed-frame solver too
        T = [_pair_cost(ctx, m) for m in range(len(ctx.pieces))]  # (n, 4, n, 1) each: small
        D = solver_costs(np.stack([np.stack([t[:, 0, :, 0], t[:, 1, :, 0]], -1)
                                   for t in T]).astype(np.float64))
        out["learned pairs, edges only"] = Answer(orders=solve(D, ctx.grid, beam=ctx.beam))
        if ctx.has_side:
            Dp, prior = with_side(ctx.with_side, D)
            out[f"learned pairs, {ctx.with_side.side_label[len('edges + '):]}"] = Answer(
                orders=solve(Dp, ctx.grid, prior=prior, beam=ctx.beam))
    return out


def _typical(T: np.ndarray) -> float:
    """The median over pieces and sides of the best cost: the scale of one good join."""
    best = T.reshape(T.shape[0], 4, -1).min(axis=2)
    finite = best[np.isfinite(best)]
    return float(np.median(finite)) if finite.size else 1.0


def _with_prior(ctx: Context) -> dict[str, Answer]:
    _torch_threads(ctx)

    def masked(m: int) -> np.ndarray:
        T = relative_costs(ctx.pieces[m], ctx.space, "masked", ctx.gap)
        return _plus(T, _state_prior(ctx, m), PRIOR_WEIGHT * _typical(T))

    out = {f"learned state prior, clusters{_suffix(ctx)}, {COST_NAMES['masked']}":
           Answer(images=tree_attack(ctx.pieces, ctx.grid, ctx.space, costs=masked))}
    if not isinstance(ctx.models.get("learned-pairs"), str | type(None)):
        def pairs(m: int) -> np.ndarray:  # already in nats: the prior adds as it is
            return _plus(_pair_cost(ctx, m), _state_prior(ctx, m))

        out[f"learned pairs + state prior, clusters{_suffix(ctx)}"] = Answer(images=tree_attack(
            ctx.pieces, ctx.grid, ctx.space, costs=pairs))
    return out


def _has_states(ctx: Context) -> bool:
    return ctx.space.size > 1


def _missing(ctx: Context, name: str) -> str | None:
    got = ctx.models.get(name)
    if got is None:
        return "no model was made for it"
    return got if isinstance(got, str) else None


def _skip_pairs(ctx: Context) -> str | None:
    return _missing(ctx, "learned-pairs")


def _skip_states(ctx: Context) -> str | None:
    return _missing(ctx, "learned-states")


LEARNED_PAIRS = Attack(
    "learned-pairs", "a learned pairwise compatibility across the dropped border, in every "
    "relative state, as the cost of the cluster and fixed-frame solvers", _pairs,
    needs=("model", "gap", "states"), skip=_skip_pairs)
LEARNED_STATES = Attack(
    "learned-states", "a learned prior over each block's stored state as a cost term of the "
    "cluster solver", _with_prior, needs=("model", "states"), applies=_has_states,
    skip=_skip_states)
