"""Attacks that know the defences: every within-block state tried, costs across a dropped border.

The defences are applied here with numpy as the file format's contract describes them
(orientation, then negative-positive, then channel order on each kept block; then the block
permutation), so these tests do not depend on the encryption code.
"""

import math

import numpy as np
import pytest
from test_audit import smooth_images

from encrypt_tool.audit import audit_arrays
from encrypt_tool.audit.attack import SideInfo
from encrypt_tool.audit.compat import dissimilarity
from encrypt_tool.audit.extended import MAX_CANDIDATES, extended_attack
from encrypt_tool.audit.metrics import neighbour_comparison, perfect
from encrypt_tool.audit.pieces import assemble, kept_pixels, to_pieces
from encrypt_tool.audit.states import StateSpace, _apply, expand, global_variants


def defend(x: np.ndarray, block: int, space: StateSpace, border: int = 0, seed: int = 0):
    """x (M, H, W, C) -> (plain kept image, stored image, true states), per the contract."""
    rng = np.random.default_rng(seed)
    p = to_pieces(x, (block, block))[:, :, border:block - border, border:block - border]
    M, n = p.shape[:2]
    grid = (x.shape[1] // block, x.shape[2] // block)
    plain = assemble(np.ascontiguousarray(p), np.tile(np.arange(n), (M, 1)), grid)
    states = rng.integers(0, space.size, (M, n))
    S = space.states()
    t = np.stack([np.stack([_apply(p[m, k], *S[states[m, k]], (0, 1)) for k in range(n)])
                  for m in range(M)])
    perm = rng.permuted(np.tile(np.arange(n), (M, 1)), axis=1)
    shuffled = np.take_along_axis(t, perm[:, :, None, None, None], axis=1)
    stored = assemble(shuffled, np.tile(np.arange(n), (M, 1)), grid)
    return plain, stored, states


def best_over_variants(out, plain, block, space):
    pf = np.zeros(len(out), bool)
    nb = np.zeros(len(out))
    for v in global_variants(out, space):
        pf |= perfect(v, plain)
        nb = np.maximum(nb, neighbour_comparison(v, plain, block))
    return pf, nb


def test_expand_holds_every_state_once():
    x = np.random.default_rng(0).integers(0, 256, (1, 2, 4, 4, 3), dtype=np.uint8)
    space = StateSpace(rotate=True, negpos=True, channel_perm=True)
    xp = expand(x, space)
    assert xp.shape == (1, 2 * 96, 4, 4, 3)
    assert len({v.tobytes() for v in xp[0, :96]}) == 96  # random block: all states differ


@pytest.mark.parametrize("flags", [(True, False, False), (False, True, False),
                                   (False, False, True), (True, True, True)])
def test_extended_solver_undoes_every_transform_on_smooth_images(flags):
    x = smooth_images(2, seed=5)
    space = StateSpace(*flags)
    plain, stored, _ = defend(x, 8, space)
    out = extended_attack(to_pieces(stored, (8, 8)), (4, 4), space)
    pf, _ = best_over_variants(out, plain, (8, 8), space)
    assert pf.all()


def test_plain_attack_fails_where_the_extended_one_succeeds():
    x = smooth_images(3, seed=6)
    space = StateSpace(rotate=True)
    plain, stored, _ = defend(x, 8, space)
    summary, _ = audit_arrays(plain, stored[:, None], (8, 8), SideInfo(pad=0),
                              defences={"rotate": True})
    ext = summary["attacks"]["extended (8 states), masked prediction"]
    plain_attack = summary["attacks"]["edges only, masked prediction"]
    assert ext["perfect"] == 1.0 and plain_attack["perfect"] < 1.0
    assert summary["union"]["perfect"] == 1.0
    assert summary["key_space"]["bits_per_copy"] == pytest.approx(math.log2(math.factorial(16))
                                                                  + 16 * 3)


def test_too_many_states_are_reported_not_run():
    space = StateSpace(rotate=True, negpos=True, channel_perm=True)
    n = MAX_CANDIDATES // space.size + 1
    pieces = np.zeros((1, n, 2, 2, 3), np.uint8)
    assert extended_attack(pieces, (1, n), space) is None


def test_gap_aware_prediction_prefers_the_true_neighbour_across_a_gap():
    # a linear ramp: with 4 px dropped between blocks, extrapolating 5 px lands exactly
    ramp = np.tile((np.arange(40) * 5).astype(np.uint8)[None, :, None], (8, 1, 3))  # (8, 40, 3)
    a, b = ramp[:, 0:8], ramp[:, 12:20]  # kept interiors of two neighbours, 4 px gap
    c = ramp[:, 28:36]  # a block further along
    pieces = np.stack([a, b, c])[None]  # (1, 3, 8, 8, 3)
    for method in ("prediction", "masked"):
        D = dissimilarity(pieces, method, gap=4)[0, :, :, 0]
        assert D[0, 1] < D[0, 2]
        assert dissimilarity(pieces, method, gap=4)[0, 0, 1, 0] < \
            dissimilarity(pieces, method, gap=0)[0, 0, 1, 0]
    with pytest.raises(ValueError, match="gap"):
        dissimilarity(pieces, "masked", gap=-1)


def test_kept_pixels_cuts_source_blocks_to_their_interiors():
    x = np.random.default_rng(2).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    d = {"drop_border": 2, "source_block_size": [16, 16]}
    out = kept_pixels(x, d)
    assert out.shape == (2, 24, 24, 3)
    assert (out[:, :12, :12] == x[:, 2:14, 2:14]).all()
    assert (out[:, 12:, 12:] == x[:, 18:30, 18:30]).all()


def test_border_drop_runs_the_attacks_with_and_without_the_gap():
    x = smooth_images(3, seed=7)
    plain, stored, _ = defend(x, 8, StateSpace(), border=2)  # 4x4 kept of 8x8 blocks
    s, _ = audit_arrays(plain, stored[:, None], (4, 4), SideInfo(pad=0),
                        defences={"drop_border": 2})
    names = set(s["attacks"])
    assert "edges only, prediction, across the 4-px gap" in names
    assert "edges only, prediction" in names and len(names) == 10  # 4 x 2 + 2 clusters
    assert s["union"]["neighbour"] >= max(a["neighbour"] for a in s["attacks"].values())


@pytest.mark.parametrize("method", ["masked", "prediction", "mgc", "ssd"])
def test_oriented_edge_costs_equal_the_costs_of_whole_turned_pieces(method):
    from encrypt_tool.audit.extended import _oriented_costs

    x = np.random.default_rng(0).integers(0, 256, (1, 5, 6, 6, 3), dtype=np.uint8)
    x[:, 0, :3] = 0  # blanked rows on one piece
    turned = expand(x, StateSpace(rotate=True))  # (1, 40, 6, 6, 3)
    whole = dissimilarity(turned, method, gap=2)
    lines = _oriented_costs(x, StateSpace(rotate=True), method, gap=2)[0]
    assert np.allclose(whole, lines, rtol=1e-9, atol=1e-9)
