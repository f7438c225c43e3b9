import numpy as np
import pytest

from encrypt_tool.scramble import (
    block_grid,
    invert_permutations,
    parse_block_size,
    scramble,
    unscramble,
)
from keys.derive import derive_permutations

KEY, WRONG, DSID = b"k" * 32, b"w" * 32, b"d" * 16


def perms(key, n, grid, copy=0):
    return derive_permutations(key, DSID, "train", np.arange(n), copy, grid)


@pytest.mark.parametrize(
    "hw, block",
    [((32, 32), (8, 8)), ((32, 32), (4, 4)), ((32, 32), (16, 16)), ((32, 32), (8, 4)),
     ((224, 224), (16, 16)), ((24, 40), (8, 8))],
)
def test_round_trip_and_block_moves(hw, block):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (6, *hw, 3), dtype=np.uint8)
    grid = block_grid(hw, block)
    p = perms(KEY, 6, grid)
    y = scramble(x, p, block)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert np.array_equal(unscramble(y, p, block), x)
    # block k of the output is block p[k] of the input
    bh, bw = block
    for b in range(6):
        for k in (0, grid[0] * grid[1] - 1):
            (oy, ox), (sy, sx) = divmod(k, grid[1]), divmod(int(p[b, k]), grid[1])
            assert np.array_equal(y[b, oy * bh:(oy + 1) * bh, ox * bw:(ox + 1) * bw],
                                  x[b, sy * bh:(sy + 1) * bh, sx * bw:(sx + 1) * bw])
    # the same pixels, only moved
    assert np.array_equal(np.sort(y.reshape(6, -1), 1), np.sort(x.reshape(6, -1), 1))


def test_wrong_key_does_not_round_trip():
    x = np.random.default_rng(1).integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    y = scramble(x, perms(KEY, 20, (4, 4)), (8, 8))
    z = unscramble(y, perms(WRONG, 20, (4, 4)), (8, 8))
    assert all(not np.array_equal(z[i], x[i]) for i in range(20))


def test_other_dtypes_and_channels():
    x = np.random.default_rng(2).random((3, 32, 32, 1)).astype(np.float32)
    p = perms(KEY, 3, (4, 4))
    assert np.array_equal(unscramble(scramble(x, p, (8, 8)), p, (8, 8)), x)


def test_inverse_permutations():
    p = perms(KEY, 10, (4, 4))
    inv = invert_permutations(p)
    assert (np.take_along_axis(p, inv, 1) == np.arange(16)).all()


@pytest.mark.parametrize(
    "hw, block, message",
    [((32, 32), (7, 7), "not divisible"), ((32, 32), (64, 64), "larger than"),
     ((32, 32), (32, 32), "single block")],
)
def test_bad_block_sizes(hw, block, message):
    with pytest.raises(ValueError, match=message):
        block_grid(hw, block)


@pytest.mark.parametrize("value, message", [(0, ">= 1"), ("0", ">= 1"), ("8x", "not valid"),
                                            ("a", "not valid"), ("8x8x8", "not valid")])
def test_parse_block_size_errors(value, message):
    with pytest.raises(ValueError, match=message):
        parse_block_size(value)


def test_parse_block_size():
    assert parse_block_size("8") == (8, 8)
    assert parse_block_size("8x4") == (8, 4)
    assert parse_block_size(16) == (16, 16)
