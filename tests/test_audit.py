import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from encrypt_tool.audit import AuditConfig, audit_arrays, run_audit
from encrypt_tool.audit.attack import SideInfo, attack
from encrypt_tool.audit.compat import dissimilarity, normalize
from encrypt_tool.audit.crosscopy import adjacency_votes
from encrypt_tool.audit.metrics import (
    direct_comparison,
    key_space_bits,
    neighbour_comparison,
    perfect,
    psnr,
    ssim,
)
from encrypt_tool.audit.pieces import assemble, to_pieces
from encrypt_tool.audit.simulate import Settings, simulate
from encrypt_tool.audit.solver import solve
from encrypt_tool.scramble import invert_permutations, scramble
from keys.master import load_key

SHARED_CIFAR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10"


def cifar_available() -> bool:
    return (SHARED_CIFAR / "unpack.py").exists() and os.access(SHARED_CIFAR, os.R_OK)


def smooth_images(m: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """Random smooth colour images: sums of low-frequency waves, (m, size, size, 3) uint8."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    out = np.zeros((m, size, size, 3))
    for _ in range(4):
        fy, fx = rng.uniform(0.3, 1.5, (2, m, 1, 1, 3))
        ph = rng.uniform(0, 2 * np.pi, (m, 1, 1, 3))
        out += np.sin(2 * np.pi * (fy * y[None, :, :, None] + fx * x[None, :, :, None]) + ph)
    out = (out - out.min((1, 2), keepdims=True)) / np.ptp(out, axis=(1, 2), keepdims=True)
    return (20 + 215 * out).round().astype(np.uint8)


@pytest.mark.parametrize("block", [4, 8, 16])
def test_solver_reassembles_smooth_images(block):
    x = smooth_images(12, seed=block)
    rng = np.random.default_rng(1)
    n = (32 // block) ** 2
    perm = rng.permuted(np.tile(np.arange(n), (len(x), 1)), axis=1)
    enc = scramble(x, perm, (block, block))
    out = attack(enc[:, None], (block, block))
    assert perfect(out, x).all()


def test_solver_finds_the_arrangement_of_a_cost_matrix():
    # a cost that is 0 exactly for the true neighbours, 1 elsewhere: 3x5 grid
    gy, gx = 3, 5
    n = gy * gx
    order = np.random.default_rng(2).permutation(n)  # position p holds piece order[p]
    cost = np.ones((1, n, n, 2))
    g = order.reshape(gy, gx)
    cost[0, g[:, :-1], g[:, 1:], 0] = 0
    cost[0, g[:-1], g[1:], 1] = 0
    cost[0, np.arange(n), np.arange(n)] = np.inf
    assert (solve(cost, (gy, gx), beam=8)[0] == order).all()


def test_best_shift_finds_the_arrangement_among_the_shifts_of_another():
    # a cost that is 0 for the true neighbours only; the other answer is the truth rolled by
    # one row and two columns (a margin moved across the frame), the first answer random
    from encrypt_tool.audit.solver import arrangement_cost, best_shift

    gy, gx = 4, 5
    n = gy * gx
    rng = np.random.default_rng(3)
    order = rng.permutation(n)
    g = order.reshape(gy, gx)
    cost = np.ones((1, n, n, 2))
    cost[0, g[:, :-1], g[:, 1:], 0] = 0
    cost[0, g[:-1], g[1:], 1] = 0
    rolled = np.roll(g, (1, 2), axis=(0, 1)).reshape(1, n)
    answers = np.stack([rng.permutation(n)[None], rolled], axis=1)  # (1, 2, P)
    got = best_shift(cost, (gy, gx), answers)
    assert (got[0] == order).all()
    assert arrangement_cost(cost, got[:, None], (gy, gx))[0, 0] == 0
    keep = best_shift(cost, (gy, gx), np.stack([order[None], rolled], axis=1))
    assert (keep[0] == order).all()  # the first answer stays when nothing beats it


def test_solver_rejects_bad_input():
    with pytest.raises(ValueError, match="does not fit"):
        solve(np.zeros((1, 16, 16, 2)), (3, 3))
    with pytest.raises(ValueError, match="beam"):
        solve(np.zeros((1, 4, 4, 2)), (2, 2), beam=0)
    with pytest.raises(ValueError, match="compatibility"):
        dissimilarity(np.zeros((1, 4, 8, 8, 3), np.uint8), "nope")


def test_compat_prefers_true_neighbours():
    x = smooth_images(4, seed=3)
    D = normalize(dissimilarity(to_pieces(x, (8, 8)), "mgc"))  # pieces in true order
    assert (D[:, 0, :, 0].argmin(1) == 1).all()  # right of piece 0 is piece 1
    assert (D[:, 0, :, 1].argmin(1) == 4).all()  # below piece 0 is piece 4


def test_pieces_round_trip():
    x = smooth_images(2)
    order = np.array([np.arange(16), np.arange(16)[::-1]])
    p = to_pieces(x, (8, 8))
    assert (assemble(p, np.tile(np.arange(16), (2, 1)), (4, 4)) == x).all()
    assert (assemble(p, order, (4, 4))[1, :8, :8] == x[1, 24:, 24:]).all()


def test_scores_on_hand_made_cases():
    x = smooth_images(1, seed=5)
    block = (8, 8)
    assert direct_comparison(x, x, block)[0] == 1 and neighbour_comparison(x, x, block)[0] == 1
    # swap two far-apart blocks (0 and 15): 14 of 16 in place
    order = np.arange(16)
    order[[0, 15]] = order[[15, 0]]
    y = assemble(to_pieces(x, block), order[None], (4, 4))
    assert direct_comparison(y, x, block)[0] == pytest.approx(14 / 16)
    # 24 true pairs; block 0 had 2 neighbours, block 15 had 2: 20 remain
    assert neighbour_comparison(y, x, block)[0] == pytest.approx(20 / 24)
    assert not perfect(y, x)[0] and perfect(x, x)[0]
    # a whole-image shift by one grid column keeps 12 of 24 pairs... of rows: 3 per row x 4
    shift = np.roll(np.arange(16).reshape(4, 4), 1, axis=1).ravel()
    z = assemble(to_pieces(x, block), shift[None], (4, 4))
    assert direct_comparison(z, x, block)[0] == 0
    assert neighbour_comparison(z, x, block)[0] == pytest.approx((2 * 4 + 12) / 24)


def test_identical_blocks_are_interchangeable():
    tile = np.random.default_rng(0).integers(0, 255, (8, 8, 3), dtype=np.uint8)
    x = np.tile(tile, (1, 2, 2, 1))
    x[0, 8:, 8:] = 200  # three identical textured blocks, one grey
    order = np.array([[1, 0, 2, 3]])
    y = assemble(to_pieces(x, (8, 8)), order, (2, 2))
    assert perfect(y, x)[0] and direct_comparison(y, x, (8, 8))[0] == 1
    assert neighbour_comparison(y, x, (8, 8))[0] == 1


def test_pairs_of_one_colour_blocks_are_left_out():
    x = np.zeros((1, 16, 16, 3), np.uint8)
    x[0, 8:, 8:] = 200  # three black blocks, one grey: no pair shows anything joined
    assert neighbour_comparison(x, x, (8, 8))[0] == 0
    x[0, :8, :8] = np.random.default_rng(1).integers(0, 255, (8, 8, 3))  # one textured block
    y = assemble(to_pieces(x, (8, 8)), np.array([[3, 1, 2, 0]]), (2, 2))
    assert neighbour_comparison(x, x, (8, 8))[0] == 1  # its 2 pairs are the informative ones
    assert neighbour_comparison(y, x, (8, 8))[0] == 0


def test_psnr_and_ssim():
    a = np.full((1, 32, 32, 3), 100, np.uint8)
    b = a + 10
    assert psnr(a, b)[0] == pytest.approx(10 * math.log10(255**2 / 100))
    assert psnr(a, a)[0] == np.inf
    x = smooth_images(2)
    assert ssim(x, x) == pytest.approx(1.0)
    # constant images: SSIM is the luminance term (2 mx my + c1) / (mx^2 + my^2 + c1)
    c1 = (0.01 * 255) ** 2
    assert ssim(a, b)[0] == pytest.approx((2 * 100 * 110 + c1) / (100**2 + 110**2 + c1))
    noisy = np.clip(x + np.random.default_rng(0).normal(0, 40, x.shape), 0, 255).astype(np.uint8)
    assert 0 < ssim(x, noisy).mean() < 0.9
    with pytest.raises(ValueError):
        ssim(x, x[:1])


def test_key_space_bits():
    assert key_space_bits((4, 4)) == pytest.approx(math.log2(math.factorial(16)))
    assert key_space_bits((2, 2)) == pytest.approx(math.log2(24))
    assert key_space_bits((8, 8)) == pytest.approx(math.log2(math.factorial(64)))


def test_cross_copy_votes_are_true_neighbours():
    x = smooth_images(8, seed=7)
    x = (x.astype(np.int64) + np.random.default_rng(0).integers(0, 30, x.shape)).clip(0, 255)
    s = Settings(gridmask=False, n_copies=4)
    plain, enc, perm = simulate(x.astype(np.uint8), s, seed=3)
    pieces = to_pieces(enc.reshape(-1, 32, 32, 3), (8, 8)).reshape(8, 4, 16, 8, 8, 3)
    votes = adjacency_votes(pieces)
    g = invert_permutations(perm[:, 0]).reshape(8, 4, 4)  # scrambled piece at each position
    true = np.zeros(votes.shape, bool)
    m = np.arange(8)[:, None, None]
    true[m, g[:, :, :-1], g[:, :, 1:], 0] = True
    true[m, g[:, :-1], g[:, 1:], 1] = True
    assert votes[~true].sum() == 0 and (votes[true] > 0).mean() > 0.3


def test_audit_arrays_scores_the_side_information():
    x = smooth_images(6, seed=9)
    plain, enc, _ = simulate(x, Settings(gridmask=False, n_copies=2), seed=1)
    summary, images = audit_arrays(plain[:, 0], enc, (8, 8), SideInfo(4, "zero"))
    names = set(summary["attacks"])
    assert len(names) == 10 and "edges only, masked prediction" in names
    assert "edges + padding + 1 other copies, MGC" in names
    assert {"clusters, MGC", "clusters, masked prediction"} <= names
    assert summary["attacks"][summary["best_attack"]]["perfect"] == 1.0
    assert summary["union"]["perfect"] == 1.0 and summary["self_chosen"]["perfect"] == 1.0
    assert summary["encrypted"]["perfect"] == 0.0
    assert len(images) == 4 and images[0].shape == (6, 32, 32, 3)


def test_run_audit_writes_reports_without_key_material(tmp_path, key_file, run_cli):
    enc = tmp_path / "enc.h5"
    r = run_cli("dataset", "--source", "synthetic", "--limit", "24", "--n-keys", "2",
                "--out", enc, "--key", key_file, "--quiet")
    assert r.exit_code == 0, r.output
    key = load_key(key_file)
    out = tmp_path / "audit"
    summary = run_audit(enc, key, out, AuditConfig(samples=10, split="train"))
    assert summary["samples"] == 10 and summary["settings"]["n_copies"] == 2
    assert summary["key_space"]["bits_per_copy"] == pytest.approx(math.log2(math.factorial(16)))
    for name in ("audit.md", "audit.json", "audit.png"):
        data = (out / name).read_bytes()
        assert data
        assert key.hex().encode() not in data.lower() and key not in data
        assert key.hex()[:16].encode() not in data.lower()
    text = (out / "audit.json").read_text()
    assert "perm" not in text.lower()
    loaded = json.loads(text)
    assert loaded["key_fingerprint"] == summary["key_fingerprint"]
    with pytest.raises(ValueError, match="key"):
        run_audit(enc, bytes(32), tmp_path / "bad", AuditConfig(samples=4))


@pytest.mark.skipif(not cifar_available(), reason="shared CIFAR-10 copy not present")
def test_solver_on_real_cifar10(tmp_path):
    subprocess.run([sys.executable, str(SHARED_CIFAR / "unpack.py"), str(tmp_path)], check=True,
                   capture_output=True)
    x = np.load(tmp_path / "cifar10_test.npz")["images"][:100]
    plain, enc, _ = simulate(x, Settings(gridmask=False, n_copies=1), seed=0)
    out = attack(enc, (8, 8), SideInfo(4, "zero"))
    assert perfect(out, plain[:, 0]).mean() >= 0.85


def test_report_when_every_image_is_reassembled(tmp_path):
    from encrypt_tool.audit.report import markdown

    attack = {"direct": 1.0, "neighbour": 1.0, "perfect": 1.0, "largest_segment": 1.0,
              "in_segments": 1.0, "recognisable": 1.0, "ssim": 1.0, "psnr": None}
    summary = {
        "file": "x.h5", "samples": 2, "key_fingerprint": "00", "seconds": 0.1,
        "settings": {"split": "test", "block_size": [8, 8], "grid": [4, 4], "n_copies": 1,
                     "augment": {}},
        "key_space": {"bits_per_copy": 44.3, "blocks": 16, "bits_per_image": 44.3},
        "attacks": {"edges only": attack}, "best_attack": "edges only",
        "encrypted": {**attack, "perfect": 0.0, "psnr": 9.5}, "verdict": "LEAKS.",
    }
    assert "inf (all exact)" in markdown(summary)
