"""A public jigsaw solver's answers scored against the truth, as the audit scores its attacks.

A public solver (one that runs outside the project) gets copy 0 of each image as stored:
pieces of the kept block size, still turned, inverted or recoloured when the setting's
within-block transforms are on. It answers with a piece order per image (position ``q`` holds
stored piece ``order[m, q]``, row-major, as ``audit.pieces.assemble`` takes it).
``score_orders`` scores such answers two ways:

- as the audit scores the attacks that try the states: the assembled stored pieces against
  the plain image by content, a pair counting under any one transform of the whole picture
  (pairs of two one-colour blocks left out, as everywhere in the audit);
- by relation: the plain piece of every stored piece put where the solver put the stored one
  (the transforms undone by the key), so a true neighbour pair counts whenever the two pieces
  sit side by side in the right relation (left-right or above-below), whatever their states.
  Neither contains the other: two pieces in one state placed as that state turns them count
  only in the first; two pieces in their plain relation but different states only in the
  second. Without transforms the two are equal.

The copies and their truth come from ``experiments.public_solver.copies``.
"""

from __future__ import annotations

import json

import numpy as np

from encrypt_tool.audit.metrics import neighbour_comparison, perfect
from encrypt_tool.audit.pieces import assemble, to_pieces
from encrypt_tool.audit.states import StateSpace, global_variants

__all__ = ["relation_union", "score_orders"]

def score_orders(orders: np.ndarray, c: dict) -> dict[str, np.ndarray]:
    """A public solver's piece orders (M, n) on copy 0, scored per image: ``neighbour`` and
    ``perfect`` as the audit scores its attacks, ``relation`` (neighbours with the transforms
    undone) and ``relation_perfect``, each (M,)."""
    plain, enc0, block = c["plain"], c["enc"][:, 0], c["block"]
    grid = (plain.shape[1] // block[0], plain.shape[2] // block[1])
    n = grid[0] * grid[1]
    orders = np.asarray(orders)
    if orders.shape != (len(plain), n) or not (np.sort(orders, axis=1) == np.arange(n)).all():
        raise ValueError(f"orders of shape {orders.shape} are not {len(plain)} permutations of "
                         f"0..{n - 1}")
    space = StateSpace.of(json.loads(c["defences"]))
    out = assemble(to_pieces(enc0, block), orders, grid)  # (M, H', W', C) as stored
    nb = neighbour_comparison(out, plain, block, space if space.size > 1 else None)
    ok = np.any([perfect(v, plain) for v in global_variants(out, space)], axis=0)
    truth = np.take_along_axis(to_pieces(plain, block), c["perm"][:, :, None, None, None], 1)
    undone = assemble(truth, orders, grid)  # the plain piece of each stored piece, as placed
    return {"neighbour": nb, "perfect": ok,
            "relation": neighbour_comparison(undone, plain, block),
            "relation_perfect": perfect(undone, plain)}


def relation_union(c: dict, jobs: int = 1) -> np.ndarray:
    """Per image (M,), the most true neighbour pairs by relation (transforms undone) among the
    audit's attacks that place the pieces as stored, scored as ``score_orders`` scores a
    public solver's ``relation``. The attacks that try the states (extended and cluster
    solvers) answer with images, not orders, and are left out; the audit scores them itself."""
    from encrypt_tool.audit.attack import SideInfo
    from encrypt_tool.audit.battery import run_battery

    side = SideInfo(pad=c["pad"], pad_mode=c["pad_mode"])
    bat = run_battery(c["enc"], tuple(c["block"]), side, json.loads(c["defences"]), jobs=jobs)
    orders = [a.orders for a in bat.answers.values() if a.orders is not None]
    return np.max([score_orders(o, c)["relation"] for o in orders], axis=0)
