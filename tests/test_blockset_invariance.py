"""The block-set model with the defences: kept blocks of any size (border drop), and exact
invariance to random per-block orientation, negative-positive and channel order.

The transforms here follow CONTRACTS.md section 2 (the trainer never imports the client's code):
on (B, n, bh, bw, C) uint8 blocks, orientation o = r + 4 f (mirror left-right when f = 1, then
r quarter turns as np.rot90 on axes (bh, bw)), negpos x -> 255 - x, channel order p indexing
itertools.permutations(range(C)).
"""

import itertools

import numpy as np
import pytest
import torch

from trainer.blockset import BlockSet, BlockSetSpec
from trainer.data import to_input
from trainer.errors import TrainError
from trainer.invariance import (
    canonical_orientation,
    channel_set,
    d4_orbit,
    from_defences,
    orientation_weight,
    parse_invariance,
    symmetric_stats,
)
from trainer.model import build_model
from trainer.train import predict

TINY = BlockSetSpec(stem=8, dim=16, depth=2, heads=2, mlp=2)
ALL = ("rotate", "negpos", "channel_perm")


def cut(x: torch.Tensor, block: tuple[int, int]) -> torch.Tensor:
    """(B, H, W, C) -> (B, n, bh, bw, C), blocks in row-major order."""
    B, H, W, C = x.shape
    bh, bw = block
    y = x.reshape(B, H // bh, bh, W // bw, bw, C).permute(0, 1, 3, 2, 4, 5)
    return y.reshape(B, -1, bh, bw, C)


def join(b: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """(B, n, bh, bw, C) -> (B, H, W, C), the inverse of ``cut``."""
    B, n, bh, bw, C = b.shape
    H, W = shape
    y = b.reshape(B, H // bh, W // bw, bh, bw, C).permute(0, 1, 3, 2, 4, 5)
    return y.reshape(B, H, W, C)


def apply_orientation(b: torch.Tensor, o: torch.Tensor) -> torch.Tensor:
    """(B, n, s, s, C) blocks, (B, n) states in 0..7."""
    out = b.clone()
    for k in range(8):
        m = o == k
        y = b[m]  # (K, s, s, C)
        if k >= 4:
            y = y.flip(2)  # mirror left-right
        out[m] = torch.rot90(y, k % 4, dims=(1, 2))
    return out


def apply_negpos(b: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    return torch.where(bits[..., None, None, None].bool(), 255 - b, b)


def apply_channel_perm(b: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    perms = torch.tensor(list(itertools.permutations(range(b.shape[-1]))))  # (C!, C)
    idx = perms[p]  # (B, n, C)
    return b.gather(-1, idx[:, :, None, None, :].expand_as(b).contiguous())


def defend(x: torch.Tensor, block, names, seed: int) -> torch.Tensor:
    """Random per-block states of the transforms ``names``, then a random block order."""
    g = torch.Generator().manual_seed(seed)
    b = cut(x, block)
    B, n = b.shape[:2]
    if "rotate" in names:
        b = apply_orientation(b, torch.randint(0, 8, (B, n), generator=g))
    if "negpos" in names:
        b = apply_negpos(b, torch.randint(0, 2, (B, n), generator=g))
    if "channel_perm" in names:
        b = apply_channel_perm(b, torch.randint(0, 6, (B, n), generator=g))
    order = torch.stack([torch.randperm(n, generator=g) for _ in range(B)])  # (B, n)
    b = b.gather(1, order[:, :, None, None, None].expand_as(b))
    return join(b, x.shape[1:3])


def model(block, shape, invariances=(), orientation="canonical") -> BlockSet:
    torch.manual_seed(0)
    spec = BlockSetSpec(TINY.stem, TINY.dim, TINY.depth, TINY.heads, orientation=orientation)
    return BlockSet(10, shape, block, spec, invariances)


def images(n: int, shape, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.integers(0, 256, (n, *shape), dtype=np.uint8))


def norm(x: torch.Tensor, names) -> torch.Tensor:
    mean, std = symmetric_stats([0.49, 0.48, 0.45], [0.25, 0.24, 0.26], names)
    return to_input(x, torch.tensor(mean), torch.tensor(std))


SUBSETS = [("rotate", "canonical"), ("rotate", "orbit"), ("negpos",), ("channel_perm",),
           ("negpos", "channel_perm"), (*ALL, "canonical"), (*ALL, "orbit")]


@pytest.mark.parametrize("subset", SUBSETS)
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_logits_are_the_same_for_any_state_of_each_block(subset, mode):
    names = tuple(n for n in subset if n in ALL)
    orientation = subset[-1] if subset[-1] in ("canonical", "orbit") else "canonical"
    shape, block = (24, 24, 3), (6, 6)  # 8x8 source blocks with a 1-px border dropped
    net = model(block, shape, names, orientation).train(mode == "train")
    x = images(4, shape)
    y = defend(x, block, names, seed=1)
    assert not torch.equal(x, y)
    with torch.no_grad():
        a, b = net(norm(x, names)), net(norm(y, names))
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    plain = model(block, shape)  # the model without invariances is not invariant
    with torch.no_grad():
        assert not torch.allclose(plain.eval()(norm(x, names)), plain(norm(y, names)),
                                  atol=1e-3)


@pytest.mark.parametrize("name", ["rotate", "negpos", "channel_perm"])
def test_each_invariance_covers_its_own_transform_only(name):
    """A model invariant to one transform still sees the others (they change its logits)."""
    shape, block = (16, 16, 3), (4, 4)
    net = model(block, shape, (name,)).eval()
    x = images(3, shape, seed=2)
    with torch.no_grad():
        for other in ALL:
            if other == name:
                continue
            y = defend(x, block, (other,), seed=3)
            assert not torch.allclose(net(norm(x, ALL)), net(norm(y, ALL)), atol=1e-4)


KEPT = [((6, 6), (24, 24, 3)), ((4, 4), (16, 16, 3)), ((12, 12), (168, 168, 3)),
        ((5, 5), (20, 20, 3)), ((7, 7), (28, 28, 3)), ((3, 3), (12, 12, 3)),
        ((2, 2), (8, 8, 3)), ((5, 7), (20, 28, 3))]


@pytest.mark.parametrize("block,shape", KEPT)
def test_kept_blocks_of_any_size_are_order_invariant(block, shape):
    """Border drop stores the kept interiors: 6x6 and 4x4 from 8x8 (d = 1, 2), 12x12 from 16x16,
    odd sizes from odd source blocks, down to the 2-px minimum."""
    names = ALL if block[0] == block[1] else ("negpos", "channel_perm")
    for inv in ((), names):
        net = model(block, shape, inv).eval()
        x = images(2, shape, seed=4)
        y = defend(x, block, inv, seed=5)
        with torch.no_grad():
            a, b = net(norm(x, inv)), net(norm(y, inv))
        assert a.shape == (2, 10)
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("orientation", ["canonical", "orbit"])
def test_gradients_agree_under_the_transforms(orientation):
    shape, block = (16, 16, 3), (4, 4)
    net = model(block, shape, ALL, orientation).train()
    x = images(4, shape, seed=6)
    y = defend(x, block, ALL, seed=7)
    ga = torch.autograd.grad(net(norm(x, ALL)).square().sum(), net.stem[0].weight)[0]
    gb = torch.autograd.grad(net(norm(y, ALL)).square().sum(), net.stem[0].weight)[0]
    torch.testing.assert_close(ga, gb, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("names,orientation", [(("negpos", "channel_perm"), "canonical"),
                                               (ALL, "canonical"), (ALL, "orbit")])
def test_flip_tta_is_the_same_for_any_key_and_state(names, orientation):
    shape, block = (24, 24, 3), (6, 6)
    net = model(block, shape, names, orientation).eval()
    x = images(4, shape, seed=8)
    y = defend(x, block, names, seed=9)
    torch.testing.assert_close(predict(net, norm(y, names), tta=True),
                               predict(net, norm(x, names), tta=True), rtol=1e-4, atol=1e-6)


def test_d4_orbit_follows_the_client_numbering():
    b = images(1, (1, 5, 5, 3), seed=10)  # (1, 1, 5, 5, 3): one block
    orbit = d4_orbit(b.permute(0, 1, 4, 2, 3)[0])  # (8, 1, 3, 5, 5)
    for o in range(8):
        want = apply_orientation(b, torch.full((1, 1), o))[0, 0].permute(2, 0, 1)
        torch.testing.assert_close(orbit[o, 0], want)
        ref = np.rot90(np.fliplr(b[0, 0].numpy()) if o >= 4 else b[0, 0].numpy(), o % 4, (0, 1))
        np.testing.assert_array_equal(want.permute(1, 2, 0).numpy(), ref)


def test_symmetric_stats_are_the_same_for_every_state():
    mean, std = [0.49, 0.48, 0.45], [0.25, 0.24, 0.26]
    assert symmetric_stats(mean, std, ()) == (mean, std)
    m, s = symmetric_stats(mean, std, ("negpos",))
    assert m == [0.5] * 3
    m2, s2 = symmetric_stats([1 - v for v in mean], std, ("negpos",))  # the negative images
    np.testing.assert_allclose(s, s2)
    m, s = symmetric_stats(mean, std, ("channel_perm",))
    assert len(set(m)) == 1 and len(set(s)) == 1
    np.testing.assert_allclose(m[0], np.mean(mean))


def test_invariances_come_from_the_defences():
    d = {"drop_border": 1, "rotate": True, "negpos": False, "channel_perm": True}
    assert from_defences(d) == ("rotate", "channel_perm")
    assert from_defences({}) == () and from_defences(None) == ()
    assert [n.partition(":")[0] for n in parse_invariance("auto", d)] == ["rotate", "channel_perm"]
    assert parse_invariance("none", d) == ()
    assert parse_invariance("channel_perm:set,negpos:orbit") == ("negpos", "channel_perm")
    with pytest.raises(TrainError, match="--invariance 'spin'"):
        parse_invariance("spin")


def test_bad_invariances_are_clear_errors():
    with pytest.raises(TrainError, match="square blocks"):
        BlockSet(10, (32, 32, 3), (4, 8), TINY, ("rotate",))
    with pytest.raises(TrainError, match=">= 2 channels"):
        BlockSet(10, (32, 32, 1), (4, 4), TINY, ("channel_perm",))
    with pytest.raises(TrainError, match="not known"):
        BlockSet(10, (32, 32, 3), (4, 4), TINY, ("spin",))
    with pytest.raises(TrainError, match="no within-block invariances"):
        build_model("resnet18-narrow", 10, (32, 32, 3), (8, 8), ("negpos",))


def test_parameters_keep_their_names():
    """Checkpoints of the plain block-set model still load (the same names and shapes); with
    channel-order invariance the first layer takes [channel, mean] instead of C channels."""
    a = build_model("blockset-narrow", 10, (32, 32, 3), (8, 8))
    b = build_model("blockset-narrow", 10, (32, 32, 3), (8, 8), ("rotate", "negpos"))
    c = build_model("blockset-narrow", 10, (32, 32, 3), (8, 8), ALL)
    assert a.state_dict().keys() == b.state_dict().keys() == c.state_dict().keys()
    b.load_state_dict(a.state_dict())
    assert a.pixel_pos.shape == (1, 3, 8, 8) and c.pixel_pos.shape == (1, 2, 8, 8)
    assert c.stem[0].weight.shape[1] == 2


def test_canonical_orientation_is_the_same_for_all_8():
    b = torch.randn(5, 3, 6, 6)
    ramp, ties = orientation_weight(6, 3)
    assert len({tuple(o.flatten().tolist()) for o in d4_orbit(ramp[None, None])}) == 8
    ref = canonical_orientation(b, ramp, ties)
    for o in d4_orbit(b):
        torch.testing.assert_close(canonical_orientation(o, ramp, ties), ref, rtol=0, atol=0)
        torch.testing.assert_close(canonical_orientation(-o[:, [2, 0, 1]], ramp, ties),
                                   -ref[:, [2, 0, 1]], rtol=0, atol=0)
    sym = torch.zeros(1, 3, 2, 2)  # a tie on the ramp: transposing keeps the largest values
    sym[0, 0, 0, 1], sym[0, 1, 0, 1], sym[0, 1, 1, 0] = 1.0, 0.5, -1.0
    out = {tuple(canonical_orientation(o, *orientation_weight(2, 3)).flatten().tolist())
           for o in d4_orbit(sym)}
    assert len(out) == 1


def test_channel_set_holds_each_channel_beside_the_mean():
    z = torch.randn(2, 3, 4, 4)
    s = channel_set(z)  # (6, 2, 4, 4)
    assert s.shape == (6, 2, 4, 4)
    torch.testing.assert_close(s[4, 0], z[1, 1])
    torch.testing.assert_close(s[4, 1], z[1].mean(0))


def test_unknown_orientation_mode():
    with pytest.raises(TrainError, match="orientation 'spin'"):
        BlockSet(10, (32, 32, 3), (4, 4), BlockSetSpec(8, 16, 1, 2, orientation="spin"))
