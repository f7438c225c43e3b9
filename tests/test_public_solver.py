"""A public solver's answers on defended copies, scored against the truth
(experiments.public_solver), and the comparison's options."""

from __future__ import annotations

import json

import numpy as np
import pytest

from encrypt_tool.audit.pieces import to_pieces
from encrypt_tool.setting import Setting
from experiments.public_solver import cli as public_solver_cli
from experiments.public_solver import (
    load_copies,
    relation_union,
    save_copies,
    score_orders,
    setting_copies,
)
from keys.master import generate_key


def _images(m: int = 2, side: int = 48) -> np.ndarray:
    """Smooth random images: (m, side, side, 3) uint8, no two blocks alike."""
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (m, side // 4, side // 4, 3)).repeat(4, 1).repeat(4, 2)
    return (x + rng.integers(0, 40, x.shape)).clip(0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def defended():
    s = Setting("t", block=8, drop=2, rotate=True, negpos=True, channel_perm=True)
    return setting_copies(_images(), ["a", "b"], s, generate_key())


def test_copies_are_the_stored_blocks_and_the_kept_truth(defended):
    c = defended
    assert c["plain"].shape == (2, 24, 24, 3) and c["enc"].shape == (2, 4, 24, 24, 3)
    assert c["block"] == (4, 4)
    assert c["perm"].shape == (2, 36) and c["pad"] > 0
    assert (np.sort(c["perm"], axis=1) == np.arange(36)).all()


def test_true_order_counts_by_relation_but_not_as_stored(defended):
    truth = np.argsort(defended["perm"], axis=1)  # position q holds stored piece k, perm[k] = q
    r = score_orders(truth, defended)
    assert (r["relation"] == 1.0).all() and r["relation_perfect"].all()
    assert (r["neighbour"] < 0.5).all() and not r["perfect"].any()  # still transformed
    r = score_orders(np.tile(np.arange(36), (2, 1)), defended)
    assert (r["relation"] < 0.5).all() and (r["neighbour"] <= r["relation"] + 0.5).all()


def _textured_pair(plain: np.ndarray, block: tuple[int, int]) -> np.ndarray:
    """Per image, the first two positions whose kept blocks are not of one colour: (M, 2).
    Such blocks differ (the images have no two blocks alike), so swapping them is a wrong
    order; two blank blocks (GridMask holes, padding) are alike, and swapping them is not."""
    pieces = to_pieces(plain, block)  # (M, n, bh, bw, C)
    flat = (pieces == pieces[:, :, :1, :1]).all(axis=(2, 3, 4))  # (M, n) one colour
    return np.stack([np.flatnonzero(~f)[:2] for f in flat])


# The second key gives image 0 two blank blocks (GridMask holes) at positions 0 and 1: a test
# that swaps those two finds the true picture again, whatever the scores.
@pytest.mark.parametrize("key", [bytes(range(32)), bytes([5]) * 32])
def test_without_transforms_both_scores_agree(tmp_path, key):
    c = setting_copies(_images(), ["a", "b"], Setting("t", block=8, drop=1), key)
    save_copies(tmp_path / "c.npz", {**c, "names": ["a", "b"]})
    c = load_copies(tmp_path / "c.npz")
    assert c["names"] == ["a", "b"] and c["plain"].shape == (2, 36, 36, 3)
    truth = np.argsort(c["perm"], axis=1)
    r = score_orders(truth, c)
    assert (r["neighbour"] == 1.0).all() and r["perfect"].all()
    swapped = truth.copy()
    for m, pair in enumerate(_textured_pair(c["plain"], c["block"])):
        swapped[m, pair] = swapped[m, pair[::-1]]
    r = score_orders(swapped, c)
    assert np.allclose(r["neighbour"], r["relation"]) and (r["neighbour"] < 1).all()
    assert not r["perfect"].any()


def test_relation_union_is_the_best_ordering_attack_without_transforms():
    from encrypt_tool.audit import audit_arrays
    from encrypt_tool.audit.attack import SideInfo

    c = setting_copies(_images(), ["a", "b"], Setting("t", block=8, drop=1), generate_key())
    s, _ = audit_arrays(c["plain"], c["enc"], c["block"], SideInfo(pad=c["pad"]),
                        defences=json.loads(c["defences"]))
    best = np.array([max(v["neighbour"] for k, v in r["attacks"].items()
                         if not k.startswith(("extended", "clusters")))
                     for r in s["per_image"]])  # the attacks that answer with an order
    assert np.allclose(relation_union(c), best, atol=1e-4)  # audit rows: 4 decimals


def test_bad_orders_and_copies_are_refused(defended, tmp_path):
    with pytest.raises(ValueError, match="not 2 permutations of 0..35"):
        score_orders(np.zeros((2, 36), int), defended)
    with pytest.raises(ValueError, match="not 2 permutations"):
        score_orders(np.tile(np.arange(35), (2, 1)), defended)
    np.savez(tmp_path / "bad.npz", plain=defended["plain"])
    with pytest.raises(ValueError, match="lacks enc"):
        load_copies(tmp_path / "bad.npz")


@pytest.mark.parametrize("args, message", [
    (["--setting", "9x9"], "'9x9' is not known"),
    (["--copies", "missing.npz"], "--copies missing.npz is not a file"),
    (["--gaps-orders", "missing.npy"], "--gaps-orders missing.npy is not a file"),
    (["--setting", "16x16", "--copies", "COPIES"], "exclude each other"),
    (["--save-copies", "COPIES"], "already exists"),
])
def test_comparison_refuses_bad_options(args, message, tmp_path, capsys):
    (tmp_path / "c.npz").write_bytes(b"")
    args = [str(tmp_path / "c.npz") if v == "COPIES" else v for v in args]
    with pytest.raises(SystemExit) as e:
        public_solver_cli.main(args)
    assert e.value.code == 2 and message in capsys.readouterr().err
