"""Every attack on the audited images, a chunk of images at a time, chunks in parallel.

Edges only, then with the side information when there is some (padding or N > 1). The file's
public ``defences`` tell the attacker the gap between kept blocks (the costs extrapolate
across it; the edges-only attacks also run without the gap, which did better on some photos)
and which within-block transforms to try: the dense extended solver (edges only, masked
prediction and prediction) where its cost matrix fits, and always the cluster solver of
:mod:`encrypt_tool.audit.tree` (MGC and masked prediction), which tries every state at photo
size too and, without transforms, is one more solver. Chunks are independent, so ``jobs``
worker processes take them in turn; the result does not depend on ``jobs``.
"""

from __future__ import annotations

import numpy as np

from encrypt_tool.audit.attack import (
    COST_NAMES,
    COSTS,
    SideInfo,
    base_costs,
    prepare,
    run_attacks,
    self_chosen,
)
from encrypt_tool.audit.extended import extended_attack
from encrypt_tool.audit.states import StateSpace
from encrypt_tool.audit.tree import tree_attack
from encrypt_tool.scramble import block_grid

__all__ = ["TREE_COSTS", "attack_all"]

TREE_COSTS = ("mgc", "masked")  # the cluster solver's costs (encrypt_tool.audit.relcost)


def _chunk(e: np.ndarray, block, side: SideInfo, beam: int, costs, defences: dict):
    """All attacks on one chunk e (m, N, H, W, C): pieces, orders, pick, extended outputs."""
    N = e.shape[1]
    grid = block_grid(e.shape[2:4], block)
    gap = 2 * int(defences.get("drop_border", 0))
    space = StateSpace.of(defences)
    puzzles = [prepare(e[:, :1], block, None)]
    if side.pad > 0 or N > 1:
        puzzles.append(prepare(e, block, side))
    bases = base_costs(puzzles[0], costs, gap)
    found = {}
    for pz in puzzles:
        found.update(run_attacks(pz, bases, beam))
    if gap:  # extrapolating across the gap helps on some images, hurts on others: run both
        found = {f"{name}, across the {gap}-px gap": o for name, o in found.items()}
        found.update(run_attacks(puzzles[0], base_costs(puzzles[0], costs, 0), beam))
    pick = self_chosen(puzzles[-1], bases, found)
    extended = {}
    if space.size > 1:
        for method in ("masked", "prediction"):
            name = f"extended ({space.size} states), {COST_NAMES[method]}"
            extended[name] = extended_attack(puzzles[0].pieces, grid, space, method, gap)
    states = f" ({space.size} states)" if space.size > 1 else ""
    for method in TREE_COSTS:
        extended[f"clusters{states}, {COST_NAMES[method]}"] = tree_attack(
            puzzles[0].pieces, grid, space, method, gap)
    return puzzles[0].pieces, found, pick, extended


def attack_all(
    enc: np.ndarray,
    block: tuple[int, int],
    side: SideInfo,
    beam: int = 64,
    costs: tuple[str, ...] = COSTS,
    progress=None,
    defences: dict | None = None,
    jobs: int = 1,
    chunk: int | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray | None]]:
    """Every attack on copy 0 of enc (M, N, H, W, C) uint8.

    Returns the pieces (M, n, bh, bw, C), attack name -> arrangement (M, P), the self-chosen
    candidate (M,) and extended attack name -> output images (M, H, W, C) (None when the state
    space is too large). ``progress.update(k)`` is called after each chunk of ``chunk``
    images (default: at most 4096 pieces' worth, 256 CIFAR images of 16 blocks, 20 photos of
    196; with ``jobs`` > 1, evened out so that every round keeps every worker busy).
    """
    if jobs < 1:
        raise ValueError(f"jobs {jobs} is not valid; it must be >= 1")
    M = enc.shape[0]
    gy, gx = block_grid(enc.shape[2:4], block)
    step = chunk if chunk is not None else max(1, 2**12 // (gy * gx))
    if step < 1:
        raise ValueError(f"chunk {step} is not valid; it must be >= 1")
    if chunk is None and jobs > 1:  # equal rounds: no last round with one worker idle
        rounds = -(-M // (jobs * step))
        step = max(1, -(-M // (jobs * rounds)))
    args = (block, side, beam, costs, dict(defences or {}))
    chunks = [enc[lo : lo + step] for lo in range(0, M, step)]
    if jobs == 1 or len(chunks) == 1:
        results = (_chunk(e, *args) for e in chunks)
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=jobs, return_as="generator")(
            delayed(_chunk)(e, *args) for e in chunks)
    pieces, orders, picks, extended = [], {}, [], {}
    for e, (p, found, pick, ext) in zip(chunks, results, strict=True):
        pieces.append(p)
        picks.append(pick)
        for name, o in found.items():
            orders.setdefault(name, []).append(o)
        for name, o in ext.items():
            extended.setdefault(name, []).append(o)
        if progress is not None:
            progress.update(len(e))
    orders = {name: np.concatenate(o) for name, o in orders.items()}
    extended = {name: None if any(x is None for x in v) else np.concatenate(v)
                for name, v in extended.items()}
    return np.concatenate(pieces), orders, np.concatenate(picks), extended
