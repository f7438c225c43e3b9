"""The cluster solver: group tables, relative costs in matrix products, and the attack."""

from __future__ import annotations

import numpy as np
import pytest
from test_audit import smooth_images
from test_audit_defences import defend

from encrypt_tool.audit import compat
from encrypt_tool.audit.group import DIRS, group_of
from encrypt_tool.audit.metrics import neighbour_comparison, perfect
from encrypt_tool.audit.pieces import assemble, to_pieces
from encrypt_tool.audit.relcost import relative_costs
from encrypt_tool.audit.states import StateSpace, _apply, expand, global_variants
from encrypt_tool.audit.tree import tree_attack

ALL = StateSpace(rotate=True, negpos=True, channel_perm=True)


def test_group_composes_and_inverts_like_the_transforms():
    G = group_of(ALL)
    S = ALL.states()
    x = np.random.default_rng(0).integers(0, 256, (5, 5, 3), dtype=np.uint8)
    for a, b in np.random.default_rng(1).integers(0, 96, (40, 2)):
        twice = _apply(_apply(x, *S[b], (0, 1)), *S[a], (0, 1))
        assert (twice == _apply(x, *S[G.compose[a, b]], (0, 1))).all()
        assert G.compose[a, G.inverse[a]] == 0


def test_turn_follows_the_blocks_of_a_turned_picture():
    G = group_of(ALL)
    img = np.random.default_rng(2).integers(0, 256, (1, 12, 12, 3), dtype=np.uint8)
    p = to_pieces(img, (4, 4))[0]  # 3 x 3 blocks; the centre is 4
    for a, s in enumerate(ALL.states()):
        q = to_pieces(_apply(img[0], *s, (0, 1))[None], (4, 4))[0]
        for d, (dy, dx) in enumerate(DIRS):
            ty, tx = DIRS[G.turn[a, d]]
            assert (q[(1 + ty) * 3 + 1 + tx] == _apply(p[(1 + dy) * 3 + 1 + dx], *s, (0, 1))).all()
            assert tuple(int(v[0]) for v in G.move(a, np.array([dy]), np.array([dx]))) == (ty, tx)


def test_relative_mgc_equals_the_direct_mgc():
    pieces = to_pieces(smooth_images(1, seed=3), (8, 8))[0]  # (16, 8, 8, 3)
    space = StateSpace(rotate=True)
    T = relative_costs(pieces, space, "mgc", gap=2)  # (16, 4, 16, 8)
    E = expand(pieces[None], space)[0]
    direct = compat.dissimilarity(pieces[None], "mgc", gap=2, other=E[None, 5::8])[0]
    got = T[:, 0, :, 5]  # state 5 of j, right of i
    ok = np.isfinite(direct[..., 0]) & np.isfinite(got)
    assert np.allclose(got[ok], direct[..., 0][ok], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("method", ["masked", "prediction"])
def test_relative_prediction_is_symmetric_under_the_group(method):
    G = group_of(ALL)
    pieces = to_pieces(smooth_images(1, seed=4), (8, 8))[0]
    T = relative_costs(pieces, ALL, method)
    rng = np.random.default_rng(0)
    for i, j, d, t in zip(*(rng.integers(0, k, 30) for k in (16, 16, 4, 96)), strict=True):
        if i == j:
            continue
        back = G.turn[G.inverse[t], (d + 2) % 4]  # i seen from j in j's frame
        assert T[i, d, j, t] == pytest.approx(T[j, back, i, G.inverse[t]], rel=1e-6, abs=1e-6)


def test_true_neighbours_are_the_cheapest_on_smooth_images():
    pieces = to_pieces(smooth_images(1, seed=5), (8, 8))[0]
    T = relative_costs(pieces, ALL, "mgc")
    hits = total = 0
    for i in range(16):
        y, x = divmod(i, 4)
        for d, (dy, dx) in enumerate(DIRS):
            if 0 <= y + dy < 4 and 0 <= x + dx < 4:
                total += 1
                hits += T[i, d].reshape(-1).argmin() == ((y + dy) * 4 + x + dx) * 96
    assert hits == total


@pytest.mark.parametrize("flags", [(False, False, False), (True, False, False),
                                   (False, True, True), (True, True, True)])
def test_tree_attack_undoes_every_state_on_smooth_images(flags):
    space = StateSpace(*flags)
    plain, stored, _ = defend(smooth_images(3, seed=5), 8, space)
    out = tree_attack(to_pieces(stored, (8, 8)), (4, 4), space, "mgc")
    found = np.any([perfect(v, plain) for v in global_variants(out, space)], axis=0)
    assert found.all()  # every image exact, each up to one transform of the whole picture


def test_tree_attack_works_across_a_gap_on_a_wide_frame():
    x = smooth_images(2, size=48, seed=8)[:, :24]  # 24 x 48: a 3 x 6 grid of 8-px blocks
    plain, stored, _ = defend(x, 8, StateSpace(), border=1)  # 6x6 kept
    out = tree_attack(to_pieces(stored, (6, 6)), (3, 6), StateSpace(), "mgc", gap=2)
    assert out.shape == plain.shape
    assert neighbour_comparison(out, plain, (6, 6)).mean() > 0.8


def test_relative_neighbours_count_pairs_under_any_whole_transform():
    plain = smooth_images(1, seed=6)
    p = to_pieces(plain, (8, 8))  # (1, 16, 8, 8, 3)
    turned = _apply(plain, 1, 1, 0, (1, 2))  # the whole picture turned and inverted
    left = assemble(p, np.arange(16)[None], (4, 4))[:, :, :16]  # left half as it is
    mixed = np.concatenate([left, turned[:, :, 16:]], axis=2)
    plain_only = neighbour_comparison(mixed, plain, (8, 8))[0]
    any_state = neighbour_comparison(mixed, plain, (8, 8), ALL)[0]
    assert plain_only == pytest.approx(10 / 24)  # 4 rows x 1 + 2 columns x 3 in the left half
    assert any_state > plain_only


def test_single_piece_frames_come_back_as_they_are():
    x = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    out = tree_attack(x[:, None], (1, 1), StateSpace(), "mgc")
    assert (out == x).all()


def test_tree_bench_encrypts_through_the_keyed_code_and_scores_attacks():
    from conftest import bench_script

    from encrypt_tool.setting import Setting

    bench = bench_script("bench_tree_photos")
    encrypt, figures = bench.encrypt, bench.figures
    x = smooth_images(2, size=32, seed=3)
    plain, stored, attrs = encrypt(x, Setting("t", block=8, drop=1, rotate=True))
    assert plain.shape == (2, 24, 24, 3) and stored.shape == (2, 1, 24, 24, 3)
    assert attrs["drop_border"] == 1 and attrs["rotate"] and not (plain == stored[:, 0]).all()
    summary = {"per_image": [{"attacks": {"a": {"neighbour": 0.5, "perfect": False,
                                                "recognisable": True},
                                          "clusters, MGC": {"neighbour": 0.9, "perfect": True,
                                                            "recognisable": True}}}]}
    assert figures(summary, lambda n: not n.startswith("clusters")) == (0.5, 0.0, 1.0)
    assert figures(summary, lambda n: True) == (0.9, 1.0, 1.0)


def test_blank_pairs_count_in_no_view():
    rng = np.random.default_rng(3)
    plain = rng.integers(1, 255, (1, 32, 32, 3), dtype=np.uint8)
    p = to_pieces(plain, (8, 8))  # (1, 16, 8, 8, 3)
    p[:, [0, 1, 10, 15]] = 0  # one true blank pair (0, 1); 10 and 15 touch nothing blank
    plain = assemble(p, np.arange(16)[None], (4, 4))
    order = np.array([[0, 1, 2, 3, 10, 15, 6, 7, 8, 9, 4, 11, 12, 13, 14, 5]])
    recon = assemble(p, order, (4, 4))  # blanks in a 2 x 2 square: 4 blank pairs
    # blank pairs show nothing: not counted, however many views have them
    assert neighbour_comparison(recon, plain, (8, 8), ALL)[0] == pytest.approx(
        neighbour_comparison(recon, plain, (8, 8))[0])


def test_joins_of_one_colour_blocks_make_no_segment():
    from encrypt_tool.audit.metrics import segment_scores

    x = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    x[:, :8] = 200  # a flat band of 4 blocks, then 12 black blocks
    largest, in4 = segment_scores(x, x, (8, 8))
    assert largest[0] == pytest.approx(1 / 16) and in4[0] == 0
    y = smooth_images(1, seed=2)
    largest, _ = segment_scores(y, y, (8, 8))
    assert largest[0] == 1.0


@pytest.mark.parametrize("args, text", [(["--setting", "16x16 spin"], "'16x16 spin' is not known"),
                                        (["--images", "0"], "--images 0")])
def test_tree_bench_refuses_bad_options_in_one_line(args, text):
    from conftest import bench_script

    main = bench_script("bench_tree_photos").main

    with pytest.raises(SystemExit) as e:
        main(args)
    assert str(e.value).startswith("Error: ") and text in str(e.value)


def _dense_reference(R, G, frame, per_side=32, limit=1.0):
    """The cluster joins of tree.place_clusters written plainly: the whole rows of R sorted,
    one dict of cells per cluster, every contact looked up one at a time."""
    n, _, _, S = R.shape
    flat = R.reshape(n * 4, -1)
    k = min(per_side, n * S - 1)
    cand = np.lexsort((np.broadcast_to(np.arange(n * S), flat.shape), flat), axis=1)[:, :k]
    score = np.take_along_axis(flat, cand, axis=1).reshape(-1)
    order = np.argsort(score, kind="stable")
    rows = np.repeat(np.arange(n * 4), k)[order]
    cl, y, x, st = np.arange(n), np.zeros(n, int), np.zeros(n, int), np.zeros(n, int)
    members, grids = {c: [c] for c in range(n)}, {c: {(0, 0): (c, 0)} for c in range(n)}
    for r, c, s in zip(rows, cand.reshape(-1)[order], score[order], strict=True):
        (i, d), (j, t) = divmod(r, 4), divmod(c, S)
        a, b = cl[i], cl[j]
        if s > 2 * limit or a == b:
            continue
        g = G.compose[G.compose[st[i], t], G.inverse[st[j]]]
        mb = np.array(members[b])
        oy, ox = G.move(g, y[mb] - y[j], x[mb] - x[j])
        step = DIRS[G.turn[st[i], d]]
        ny, nx, ns = y[i] + step[0] + oy, x[i] + step[1] + ox, G.compose[g, st[mb]]
        ga = grids[a]
        if any((p, q) in ga for p, q in zip(ny, nx, strict=True)):
            continue
        ys, xs = np.r_[y[members[a]], ny], np.r_[x[members[a]], nx]
        h, w = np.ptp(ys) + 1, np.ptp(xs) + 1
        if not ((h <= frame[0] and w <= frame[1]) or (G.space.n_o > 1 and h <= frame[1]
                                                       and w <= frame[0])):
            continue
        contacts = []
        for cy, cx, q, bq in zip(ny, nx, mb, ns, strict=True):
            for D, (dy, dx) in enumerate(DIRS):
                if (cy + dy, cx + dx) in ga:
                    p, sa = ga[(cy + dy, cx + dx)]
                    inv = G.inverse[sa]
                    contacts.append(R[p, G.turn[inv, (D + 2) % 4], q, G.compose[inv, bq]])
        if np.mean(contacts) > limit:
            continue
        y[mb], x[mb], st[mb], cl[mb] = ny, nx, ns, a
        members[a] += members.pop(b)
        ga.update({(p, q): (r_, s_) for p, q, r_, s_ in zip(ny, nx, mb, ns, strict=True)})
        del grids[b]
    return cl, y, x, st


@pytest.mark.parametrize("small", [0, 8])  # every cluster moved with arrays; small ones not
@pytest.mark.parametrize("flags", [(True, False, False), (True, True, True)])
def test_lean_cluster_joins_equal_the_dense_reference(flags, small, monkeypatch):
    from encrypt_tool.audit import tree
    from encrypt_tool.audit.tree import _candidates, _ratios, place_clusters

    monkeypatch.setattr(tree, "SMALL", small)

    space = StateSpace(*flags)
    G = group_of(space)
    _, stored, _ = defend(smooth_images(1, size=48, seed=11), 8, space)
    T = relative_costs(to_pieces(stored, (8, 8))[0], space, "masked")  # (36, 4, 36, S)
    T *= 1 + 1e-4 * np.random.default_rng(0).random(T.shape, dtype=np.float32)  # no ties
    R = _ratios(T, G)
    want = _dense_reference(R, G, (6, 6))
    got = place_clusters(R, G, (6, 6))
    for a, b in zip(want, got, strict=True):
        assert (a == b).all()
    assert np.bincount(got[0]).max() > 6  # the case joins clusters, not only pairs
    flat = R.reshape(len(R) * 4, -1)  # the preselected candidates are the whole rows' best
    cand, score = _candidates(R, 32)
    dense = np.sort(flat, axis=1)[:, :32]
    assert (score == dense).all()
    assert (np.take_along_axis(flat, cand, axis=1) == score).all()


@pytest.mark.parametrize("method", ["masked", "prediction", "mgc"])
def test_relative_costs_do_not_depend_on_the_row_blocks(method):
    pieces = to_pieces(smooth_images(1, seed=12), (8, 8))[0]
    whole = relative_costs(pieces, ALL, method)
    assert whole.dtype == np.float32
    blocks = relative_costs(pieces, ALL, method, rows=3)
    assert np.allclose(blocks, whole, rtol=1e-6, atol=1e-3)  # inf where whole is inf
