"""The fixed-frame solver's pieces against plain references: the swap refinement (which
updates only what a swap touches) against a search that re-costs every swap in full, growth
(which rescores only what a placement touches) against a loop that scores every cell and piece
at every step, and growth from several starts sharing one cost matrix against growth on
repeated copies."""

import numpy as np
import pytest

from encrypt_tool.audit.grow import grow
from encrypt_tool.audit.solver import _refine, arrangement_cost, solve


def _naive_refine(cost, prior, grid, order, rounds):
    """Per puzzle, the swap of two positions that lowers the total cost most, re-costing
    every arrangement in full, while one lowers it."""
    order = order.copy()
    M, P = order.shape
    pairs = [(a, b) for a in range(P) for b in range(a + 1, P)]
    for m in range(M):
        c, pr = cost[m : m + 1], prior[m : m + 1]
        for _ in range(rounds):
            cands = np.repeat(order[m][None], len(pairs), axis=0)  # (pairs, P)
            for k, (a, b) in enumerate(pairs):
                cands[k, [a, b]] = cands[k, [b, a]]
            now = arrangement_cost(c, order[m][None, None], grid, pr)[0, 0]
            gain = arrangement_cost(c, cands[None], grid, pr)[0] - now
            k = int(gain.argmin())
            if gain[k] >= -1e-9:
                break
            order[m] = cands[k]
    return order


@pytest.mark.parametrize("grid", [(3, 4), (4, 4), (1, 6), (5, 2)])
def test_refine_takes_the_best_swap_each_round(grid):
    rng = np.random.default_rng(sum(grid))
    M, n = 3, grid[0] * grid[1]
    cost = rng.random((M, n, n, 2))
    prior = rng.random((M, n, n))
    start = np.stack([rng.permutation(n) for _ in range(M)])
    for rounds in (1, 3, 50):
        got = _refine(cost, prior, grid, start, rounds)
        assert (got == _naive_refine(cost, prior, grid, start, rounds)).all()
    done = _refine(cost, prior, grid, start, 50)
    assert (arrangement_cost(cost, done, grid, prior) < arrangement_cost(cost, start, grid,
                                                                         prior)).all()


def test_refine_leaves_its_input_alone():
    rng = np.random.default_rng(1)
    cost, start = rng.random((2, 9, 9, 2)), np.stack([rng.permutation(9) for _ in range(2)])
    before = start.copy()
    _refine(cost, np.zeros((2, 9, 9)), (3, 3), start, 10)
    assert (start == before).all()


def _naive_grow(cost, grid, start, multi=0.1, group=1):
    """One puzzle: at every step, every empty cell next to the region that keeps it within the
    frame, and every free candidate, scored from scratch as growth scores them (summed cost
    over the placed neighbours in the order they were placed, its mean, minus ``multi`` per
    neighbour beyond the first); the cheapest wins, ties to the first cell, then candidate."""
    gy, gx = grid
    n = cost.shape[0]
    placed = {(0, 0): (start, 0)}  # cell -> (candidate, step placed)
    used = {start // group}
    for step in range(1, gy * gx):
        ys = [c[0] for c in placed]
        xs = [c[1] for c in placed]
        best = None
        for y in range(max(ys) - gy, min(ys) + gy + 1):
            for x in range(max(xs) - gx, min(xs) + gx + 1):
                if (y, x) in placed or max(max(ys), y) - min(min(ys), y) >= gy \
                        or max(max(xs), x) - min(min(xs), x) >= gx:
                    continue
                # (candidate, step) of each neighbour, with the cost of j beside it
                nbs = [(placed[(y, x - 1)], lambda i, j: cost[i, j, 0]) if (y, x - 1) in placed
                       else None, (placed[(y, x + 1)], lambda i, j: cost[j, i, 0])
                       if (y, x + 1) in placed else None,
                       (placed[(y - 1, x)], lambda i, j: cost[i, j, 1]) if (y - 1, x) in placed
                       else None, (placed[(y + 1, x)], lambda i, j: cost[j, i, 1])
                       if (y + 1, x) in placed else None]
                nbs = sorted((nb for nb in nbs if nb), key=lambda nb: nb[0][1])
                if not nbs:
                    continue
                k = len(nbs)
                for j in range(n):
                    if j // group in used:
                        continue
                    total = 0.0
                    for (i, _), f in nbs:
                        total += f(i, j)
                    s = total / k - multi * (k - 1)
                    if best is None or s < best[0]:
                        best = (s, y, x, j)
        _, y, x, j = best
        placed[(y, x)] = (j, step)
        used.add(j // group)
    y0 = min(c[0] for c in placed)
    x0 = min(c[1] for c in placed)
    order = np.empty(gy * gx, dtype=np.int64)
    for (y, x), (j, _) in placed.items():
        order[(y - y0) * gx + (x - x0)] = j
    return order


@pytest.mark.parametrize("grid, group", [((3, 4), 1), ((4, 4), 1), ((1, 6), 1), ((5, 2), 1),
                                          ((2, 3), 4), ((3, 3), 2)])
def test_growth_places_the_cheapest_cell_and_piece_each_step(grid, group):
    rng = np.random.default_rng(sum(grid) + group)
    M, n = 3, grid[0] * grid[1] * group
    cost = rng.random((M, n, n, 2))
    start = rng.integers(0, n, M)
    got = grow(cost, grid, start, group=group)
    for m in range(M):
        assert (got[m] == _naive_grow(cost[m], grid, int(start[m]), group=group)).all()


def test_growth_from_several_starts_shares_one_cost_matrix():
    rng = np.random.default_rng(2)
    M, k, grid = 3, 4, (4, 5)
    n = grid[0] * grid[1]
    cost = rng.random((M, n, n, 2))
    first = np.stack([rng.choice(n, k, replace=False) for _ in range(M)])  # (M, k)
    shared = grow(cost, grid, first.reshape(-1), src=np.repeat(np.arange(M), k))
    copies = grow(np.repeat(cost, k, axis=0), grid, first.reshape(-1))
    assert (shared == copies).all()
    assert (np.sort(shared, axis=1) == np.arange(n)).all()  # every piece once


def test_solve_recovers_a_puzzle_with_clear_edges():
    rng = np.random.default_rng(3)
    grid = (6, 7)
    n = grid[0] * grid[1]
    cost = rng.random((2, n, n, 2)) + 1.0
    right = (np.arange(n) % grid[1] < grid[1] - 1)
    cost[:, np.arange(n)[right], np.arange(n)[right] + 1, 0] = 0.0  # true neighbours free
    below = np.arange(n - grid[1])
    cost[:, below, below + grid[1], 1] = 0.0
    truth = np.stack([rng.permutation(n) for _ in range(2)])  # stored piece -> true position
    inv = np.argsort(truth, axis=1)
    m = np.arange(2)[:, None, None]
    shuffled = cost[m, truth[:, :, None], truth[:, None, :]]  # costs of the stored pieces
    order = solve(shuffled, grid)
    assert (order == inv).all()
