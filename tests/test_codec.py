"""JPEG storage: the store spec, the grid rule, deterministic encode, decode within JPEG loss."""

import numpy as np
import pytest
from PIL import Image

from bsformat.codec import StoreSpec, check_grid, decode_batch, encode_batch, parse_store


def _photos(n: int, size: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (n, size // 8, size // 8, 3), dtype=np.uint8)
    return np.stack([np.asarray(Image.fromarray(s).resize((size, size), Image.BICUBIC))
                     for s in small])  # (n, size, size, 3) uint8, smooth like photos


def test_parse_store():
    assert parse_store("raw") == StoreSpec()
    assert parse_store("jpeg") == StoreSpec("jpeg", 90, "444")
    assert parse_store("JPEG:75:420") == StoreSpec("jpeg", 75, "420")
    for bad in ("png", "jpeg:0", "jpeg:101", "jpeg:q", "jpeg:90:422", "jpeg:90:444:1", ""):
        with pytest.raises(ValueError, match="--store"):
            parse_store(bad)


def test_grid_rule():
    check_grid((8, 8), (32, 32), parse_store("jpeg"))
    check_grid((16, 16), (224, 224), parse_store("jpeg:90:420"))
    check_grid((4, 4), (32, 32), parse_store("raw"))
    with pytest.raises(ValueError, match="4x4 is off the JPEG grid.*multiples of 8"):
        check_grid((4, 4), (32, 32), parse_store("jpeg"))
    with pytest.raises(ValueError, match="8x8 is off the JPEG grid.*multiples of 16"):
        check_grid((8, 8), (32, 32), parse_store("jpeg:90:420"))
    with pytest.raises(ValueError, match="image size 36x36"):
        check_grid((8, 8), (36, 36), StoreSpec("jpeg", 90, "444"))


def test_round_trip_is_close_and_bytes_repeat():
    x = _photos(6)
    store = parse_store("jpeg:90")
    blobs = encode_batch(x, store, threads=2)
    assert blobs == encode_batch(x, store)  # threads or not, same bytes
    y = decode_batch(blobs, x.shape[1:], threads=2)
    assert y.shape == x.shape and y.dtype == np.uint8
    mse = np.mean((y.astype(float) - x) ** 2)
    assert 0 < mse and 10 * np.log10(255**2 / mse) > 35  # lossy, but q90 is close
    gray = x[..., :1].copy()
    assert decode_batch(encode_batch(gray, store), gray.shape[1:]).shape == gray.shape


def test_scrambling_on_the_grid_costs_little_and_off_the_grid_much():
    from encrypt_tool.scramble import scramble

    x = _photos(8, 64, seed=1)
    rng = np.random.default_rng(0)
    store = parse_store("jpeg:90")

    def size(block: int) -> int:
        n = (64 // block) ** 2
        perm = np.stack([rng.permutation(n) for _ in x])
        return sum(map(len, encode_batch(scramble(x, perm, (block, block)), store)))

    plain = sum(map(len, encode_batch(x, store)))
    assert size(8) < 1.10 * plain
    assert size(4) > 1.15 * plain


def test_decode_refuses_another_shape():
    blobs = encode_batch(_photos(1), parse_store("jpeg"))
    with pytest.raises(ValueError, match="decodes to"):
        decode_batch(blobs, (32, 32, 3))
