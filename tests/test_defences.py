"""The defences as pure functions: each matches its definition block by block, is undone by its
inverse, and ``defend`` equals their composition with the permutation; the per-block states are
keyed, reproducible and uniform."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from encrypt_tool.defences import (
    CHANNEL_PERMS,
    DefenceConfig,
    apply_channel_perm,
    apply_negpos,
    apply_orientation,
    defend,
    drop_border,
    from_blocks,
    invert_channel_perm,
    invert_negpos,
    invert_orientation,
    restore_border,
    take_blocks,
    to_blocks,
    undefend,
)
from keys.derive import derive_block_states, derive_permutations

KEY = bytes(range(32))
DSID = b"\x01" * 16
RNG = np.random.default_rng(0)


def blocks_of(B=3, n=6, bh=4, bw=4, C=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (B, n, bh, bw, C), dtype=np.uint8)


def states(B, n, seed=1):
    r = np.random.default_rng(seed)
    return r.integers(0, 8, (B, n)), r.integers(0, 2, (B, n)), r.integers(0, 6, (B, n))


def test_orientation_is_the_contract_definition():
    """o = r + 4f: mirror left-right when f, then r quarter turns of np.rot90 axes (0, 1)."""
    x = blocks_of()
    o, _, _ = states(3, 6)
    y = apply_orientation(x, o)
    for b, k in itertools.product(range(3), range(6)):
        r, f = o[b, k] % 4, o[b, k] // 4
        ref = np.rot90(x[b, k][:, ::-1] if f else x[b, k], r, axes=(0, 1))
        assert np.array_equal(y[b, k], ref)
    assert np.array_equal(invert_orientation(y, o), x)
    assert len({apply_orientation(x[:1, :1], np.array([[s]])).tobytes() for s in range(8)}) == 8


def test_colour_transforms_are_the_contract_definition():
    x = blocks_of()
    _, g, p = states(3, 6)
    neg, cp = apply_negpos(x, g), apply_channel_perm(x, p)
    for b, k in itertools.product(range(3), range(6)):
        assert np.array_equal(neg[b, k], 255 - x[b, k] if g[b, k] else x[b, k])
        assert np.array_equal(cp[b, k], x[b, k][..., list(itertools.permutations(range(3)))[
            p[b, k]]])
    assert np.array_equal(invert_negpos(neg, g), x)
    assert np.array_equal(invert_channel_perm(cp, p), x)
    assert [tuple(q) for q in CHANNEL_PERMS] == list(itertools.permutations(range(3)))


def test_border_drop_keeps_the_interior():
    x = blocks_of(bh=8, bw=6)
    kept = drop_border(x, 2)
    assert kept.shape == (3, 6, 4, 2, 3)
    assert np.array_equal(kept, x[:, :, 2:6, 2:4])
    back = restore_border(kept, 2)
    assert np.array_equal(back[:, :, 2:6, 2:4], x[:, :, 2:6, 2:4])
    back[:, :, 2:6, 2:4] = 0
    assert not back.any()  # the dropped border is 0


def test_blocks_round_trip_and_take():
    x = RNG.integers(0, 256, (2, 16, 24, 3), dtype=np.uint8)
    b = to_blocks(x, (8, 4))
    assert b.shape == (2, 12, 8, 4, 3)
    assert np.array_equal(b[1, 7], x[1, 8:16, 4:8])  # block 7 = row 1, column 1 of 2x6
    assert np.array_equal(from_blocks(b, (2, 6)), x)
    perm = np.argsort(RNG.random((2, 12)), axis=1)
    t = take_blocks(b, perm)
    assert np.array_equal(t[1, 3], b[1, perm[1, 3]])


@pytest.mark.parametrize("d,rotate,negpos,channel_perm,C", [
    (2, False, False, False, 3), (0, True, False, False, 3), (0, False, True, False, 3),
    (0, False, False, True, 3), (1, True, True, False, 3), (2, True, True, True, 3),
    (3, False, True, True, 3), (1, True, True, False, 1), (2, False, True, False, 1)])
def test_defend_is_the_composition_and_undefend_inverts_it(d, rotate, negpos, channel_perm, C):
    B, H, W, bs = 4, 32, 24, 8
    x = RNG.integers(0, 256, (B, H, W, C), dtype=np.uint8)
    n = (H // bs) * (W // bs)
    perm = np.argsort(RNG.random((B, n)), axis=1)
    st = states(B, n)
    cfg = DefenceConfig(d, rotate, negpos, channel_perm).resolve((bs, bs), (H, W, C))
    y = defend(x, perm, st, cfg)
    b = drop_border(to_blocks(x, (bs, bs)), d)
    if rotate:
        b = apply_orientation(b, st[0])
    if negpos:
        b = apply_negpos(b, st[1])
    if channel_perm:
        b = apply_channel_perm(b, st[2])
    ref = from_blocks(take_blocks(b, perm), (H // bs, W // bs))
    assert y.shape == ref.shape == (B, *cfg.kept_image_shape()) and y.dtype == np.uint8
    assert np.array_equal(y, ref)
    plain = undefend(y, perm, st, cfg)
    expect = from_blocks(restore_border(drop_border(to_blocks(x, (bs, bs)), d), d),
                         (H // bs, W // bs))
    assert np.array_equal(plain, expect)
    wrong = undefend(y, np.roll(perm, 1, axis=1), st, cfg)
    assert not np.array_equal(wrong, expect)


def test_rotation_of_non_square_blocks_is_refused():
    with pytest.raises(ValueError, match="square"):
        apply_orientation(blocks_of(bh=4, bw=2), np.ones((3, 6), int))
    y = apply_orientation(blocks_of(bh=4, bw=2), np.full((3, 6), 6))  # half turn + mirror: fine
    assert y.shape == (3, 6, 4, 2, 3)
    with pytest.raises(ValueError, match="3 channels"):
        apply_channel_perm(blocks_of(C=1), np.zeros((3, 6), int))
    with pytest.raises(ValueError, match="0..7"):
        apply_orientation(blocks_of(), np.full((3, 6), 8))
    with pytest.raises(ValueError, match="do not fit"):
        apply_negpos(blocks_of(), np.zeros((3, 5), int))


def test_block_states_are_keyed_reproducible_and_batch_independent():
    ids = np.arange(40)
    a = derive_block_states(KEY, DSID, "train", ids, 0, 20)
    assert all(s.shape == (40, 20) and s.dtype == np.uint8 for s in a)
    whole = np.stack(a)
    parts = np.concatenate([np.stack(derive_block_states(KEY, DSID, "train", ids[i:i + 7], 0,
                                                         20)) for i in range(0, 40, 7)], axis=1)
    assert np.array_equal(whole, parts)
    for other in (derive_block_states(bytes(32), DSID, "train", ids, 0, 20),
                  derive_block_states(KEY, b"\x02" * 16, "train", ids, 0, 20),
                  derive_block_states(KEY, DSID, "test", ids, 0, 20),
                  derive_block_states(KEY, DSID, "train", ids + 1, 0, 20),
                  derive_block_states(KEY, DSID, "train", ids, 1, 20)):
        assert (np.stack(other) != whole).mean() > 0.3
    # a prefix of the blocks is not the same stream for another grid size
    assert (np.stack(derive_block_states(KEY, DSID, "train", ids, 0, 16))
            != whole[:, :, :16]).mean() > 0.3


def test_block_states_are_uniform_and_independent_of_the_permutation():
    o, g, p = derive_block_states(KEY, DSID, "train", np.arange(2000), 0, 16)
    for values, k in ((o, 8), (g, 2), (p, 6)):
        counts = np.bincount(values.ravel(), minlength=k)
        assert len(counts) == k
        expected = values.size / k
        chi2 = ((counts - expected) ** 2 / expected).sum()
        assert chi2 < 40, (k, counts)  # df <= 7: p < 1e-5 for a uniform source
    perm = derive_permutations(KEY, DSID, "train", np.arange(2000), 0, (4, 4))
    assert abs(np.corrcoef(perm.ravel(), o.ravel())[0, 1]) < 0.02


def test_config_validation_and_json():
    cfg = DefenceConfig(drop_border=2, rotate=True, negpos=True).resolve((8, 8), (32, 32, 3))
    raw = json.loads(cfg.to_json())
    assert raw == {"drop_border": 2, "rotate": True, "negpos": True, "channel_perm": False,
                   "source_block_size": [8, 8], "source_image_shape": [32, 32, 3]}
    assert DefenceConfig.from_json(cfg.to_json()) == cfg
    assert cfg.kept_block() == (4, 4) and cfg.kept_image_shape() == (16, 16, 3)
    assert DefenceConfig().to_json() == "{}" and not DefenceConfig.from_json("{}").active
    assert DefenceConfig.from_json(None) == DefenceConfig()
    assert "border drop 2 px" in cfg.describe() and "negative-positive" in cfg.describe()
    for bad, words in ((lambda: DefenceConfig(drop_border=-1), "0 or more"),
                       (lambda: DefenceConfig(drop_border=3).check_block((8, 8)), None),
                       (lambda: DefenceConfig(drop_border=4).check_block((8, 8)), "0..3"),
                       (lambda: DefenceConfig(drop_border=1).check_block((3, 8)), "use 0"),
                       (lambda: DefenceConfig(rotate=True).check_block((8, 4)), "square"),
                       (lambda: DefenceConfig(channel_perm=True).check_channels(1), "3 colour"),
                       (lambda: DefenceConfig.from_json('{"rotate": 1}'), "true or false"),
                       (lambda: DefenceConfig.from_json('{"spin": true}'), "spin"),
                       (lambda: DefenceConfig.from_json("[1]"), "not understood")):
        if words is None:
            bad()  # 2x2 px kept: allowed
            continue
        with pytest.raises(ValueError, match=words):
            bad()
