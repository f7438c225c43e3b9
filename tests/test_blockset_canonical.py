"""The canonical modes of the block-set model's invariances: each block mapped to the one of its
states chosen by statistics that the transforms move exactly (``negpos:canonical``: the sign
with a positive sum; ``channel_perm:canonical``: channels sorted by their sums), including the
ties, where a wrong choice would break the invariance."""

import itertools

import pytest
import torch
from test_blockset_invariance import ALL, defend, images, model, norm

from trainer.errors import TrainError
from trainer.invariance import (
    MODES,
    PREFERRED,
    canonical_channels,
    canonical_sign,
    d4_orbit,
    parse_invariance,
    split_modes,
)
from trainer.model import build_model

CANON = ("negpos:canonical", "channel_perm:canonical")
MODE_SETS = [("negpos:canonical",), ("channel_perm:canonical",), CANON,
             ("rotate", *CANON), ("rotate:orbit", *CANON), ("rotate", "negpos:canonical",
                                                             "channel_perm:set"),
             ("rotate", "negpos:orbit", "channel_perm:canonical")]


def bare(names) -> tuple[str, ...]:
    return tuple(n.partition(":")[0] for n in names)


def awkward(n: int, shape, seed: int) -> torch.Tensor:
    """(n, H, W, C) uint8 images whose 4x4 blocks include ties: a zero pixel sum that is not
    its own negative, a 0/255 checkerboard (its own negative up to position), grey blocks
    (equal channels) and channels with equal sums but different values."""
    x = images(n, shape, seed).clone()
    zero_sum = torch.tensor([125, 128, 128, 129] * 4, dtype=torch.uint8).reshape(4, 4)
    board = (torch.arange(4)[:, None] + torch.arange(4)[None]) % 2 * 255  # (4, 4)
    x[:, 0:4, 0:4] = zero_sum[..., None]
    x[:, 0:4, 4:8] = board[..., None].to(torch.uint8)
    x[:, 4:8, 0:4, :] = x[:, 4:8, 0:4, :1]  # grey
    x[:, 4:8, 4:8, 1] = x[:, 4:8, 4:8, 0].flip(1)  # equal sums, different values
    x[:, 8:12, 0:4, 0] = zero_sum
    x[:, 8:12, 0:4, 1] = zero_sum.T
    x[:, 8:12, 0:4, 2] = 255 - zero_sum
    return x


@pytest.mark.parametrize("names", MODE_SETS)
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_logits_are_the_same_for_any_state(names, mode):
    shape, block = (16, 16, 3), (4, 4)
    net = model(block, shape, names).train(mode == "train")
    x = awkward(4, shape, seed=0)
    for seed in range(3):
        y = defend(x, block, bare(names), seed=seed + 1)
        assert not torch.equal(x, y)
        with torch.no_grad():
            a, b = net(norm(x, names)), net(norm(y, names))
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("block,shape", [((6, 6), (24, 24, 3)), ((2, 2), (8, 8, 3)),
                                         ((5, 7), (20, 28, 3))])
def test_kept_blocks_of_any_size(block, shape):
    names = CANON if block[0] != block[1] else ("rotate", *CANON)
    net = model(block, shape, names).eval()
    x = images(3, shape, seed=4)
    y = defend(x, block, bare(names), seed=5)
    with torch.no_grad():
        torch.testing.assert_close(net(norm(x, names)), net(norm(y, names)),
                                   rtol=1e-4, atol=1e-5)


def test_gradients_agree_under_the_transforms():
    shape, block = (16, 16, 3), (4, 4)
    names = ("rotate", *CANON)
    net = model(block, shape, names).train()
    x = awkward(4, shape, seed=6)
    y = defend(x, block, ALL, seed=7)
    ga = torch.autograd.grad(net(norm(x, ALL)).square().sum(), net.stem[0].weight)[0]
    gb = torch.autograd.grad(net(norm(y, ALL)).square().sum(), net.stem[0].weight)[0]
    torch.testing.assert_close(ga, gb, rtol=1e-4, atol=1e-5)


def test_canonical_sign_picks_the_positive_sum_and_flags_true_ties():
    z = norm(awkward(1, (16, 16, 3), seed=8), ALL).reshape(1, 3, 4, 4, 4, 4)
    z = z.permute(0, 2, 4, 1, 3, 5).reshape(16, 3, 4, 4)  # (16 blocks, C, 4, 4)
    c, tie = canonical_sign(z)
    assert (c.double().sum((1, 2, 3)) >= 0).all()
    assert tie.tolist() == [False, True] + [False] * 14  # only the checkerboard
    for o in d4_orbit(z):
        for p in itertools.permutations(range(3)):
            c2, tie2 = canonical_sign(-o[:, list(p)])
            assert torch.equal(tie2, tie)
            assert torch.equal(c2[~tie], canonical_sign(o[:, list(p)])[0][~tie])
            assert torch.equal(c2[~tie].double().sum((1, 2, 3)), c[~tie].double().sum((1, 2, 3)))


def test_canonical_channels_ignore_the_channel_order():
    z = norm(awkward(2, (16, 16, 3), seed=9), ALL).reshape(2, 3, 4, 4, 4, 4)
    z = z.permute(0, 2, 4, 1, 3, 5).reshape(32, 3, 4, 4)
    ref = canonical_channels(z)
    assert (ref.double().sum((2, 3)).diff(dim=1) >= 0).all()  # ascending sums
    for p in itertools.permutations(range(3)):
        assert torch.equal(canonical_channels(z[:, list(p)]), ref)


def test_modes_are_named_and_checked():
    assert split_modes(["negpos:canonical", "rotate"]) == {"rotate": "canonical",
                                                           "negpos": "canonical"}
    assert parse_invariance("channel_perm:canonical,negpos:orbit") == (
        parse_invariance("negpos:orbit")[0], "channel_perm:canonical")
    with pytest.raises(TrainError, match="negpos:spin"):
        parse_invariance("negpos:spin")
    with pytest.raises(TrainError, match="'negpos:sort' is not known"):
        split_modes(["negpos:sort"])


def test_auto_takes_the_preferred_modes_and_bare_names_keep_their_old_meaning():
    """``--invariance auto`` (and a bare name on the command line) takes ``PREFERRED``; the
    names come back qualified where that is not the first mode, so a checkpoint written before
    the modes existed (bare names) still builds the model it was trained as."""
    d = {"rotate": True, "negpos": True, "channel_perm": True}
    want = tuple(n if PREFERRED[n] == MODES[n][0] else f"{n}:{PREFERRED[n]}" for n in ALL)
    assert parse_invariance("auto", d) == parse_invariance("rotate,negpos,channel_perm") == want
    assert split_modes(want) == PREFERRED
    old = build_model("blockset-narrow", 10, (32, 32, 3), (8, 8), ALL)
    assert old.modes == {n: MODES[n][0] for n in ALL}
    assert old.modes == {"rotate": "canonical", "negpos": "orbit", "channel_perm": "set"}
