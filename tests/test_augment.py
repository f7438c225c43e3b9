import numpy as np
import pytest

from encrypt_tool.augment import AugmentConfig, apply_augment, sample_augment
from encrypt_tool.augment.crop import apply_crop, sample_crop
from encrypt_tool.augment.flip import apply_flip
from encrypt_tool.augment.gridmask import apply_gridmask, gridmask_masks, sample_gridmask


def images(n=16, seed=0):
    return np.random.default_rng(seed).integers(1, 256, (n, 32, 32, 3), dtype=np.uint8)


@pytest.mark.parametrize("mode", ["zero", "reflect"])
def test_crop_matches_reference(mode):
    x = images()
    off = sample_crop(np.random.default_rng(0), len(x), 4)
    y = apply_crop(x, off, 4, mode)
    padded = np.pad(x, ((0, 0), (4, 4), (4, 4), (0, 0)),
                    mode="constant" if mode == "zero" else "reflect")
    for i in range(len(x)):
        dy, dx = off[i]
        assert np.array_equal(y[i], padded[i, dy:dy + 32, dx:dx + 32])
    assert off.min() >= 0 and off.max() <= 8


def test_centre_crop_is_identity_and_zero_padding_shows():
    x = images(2)
    assert np.array_equal(apply_crop(x, np.array([[4, 4], [4, 4]]), 4), x)
    y = apply_crop(x, np.array([[0, 0], [8, 8]]), 4)
    assert (y[0, :4] == 0).all() and (y[0, :, :4] == 0).all() and (y[1, -4:] == 0).all()


def test_flip():
    x = images(4)
    y = apply_flip(x, np.array([True, False, True, False]))
    assert np.array_equal(y[0], x[0, :, ::-1]) and np.array_equal(y[1], x[1])


def test_gridmask_drops_periodic_squares():
    rng = np.random.default_rng(3)
    g = sample_gridmask(rng, 200, (14, 32), 0.6, 1.0)
    m = gridmask_masks(g, 32, 32)
    drop = m.mean()
    # kept edge share 0.6 -> about (1-0.6)^2 = 16 % of the area is dropped
    assert 0.10 < drop < 0.22
    y = apply_gridmask(images(200), g)
    assert ((y == 0).all(-1) == m).all()
    off = sample_gridmask(rng, 100, (14, 32), 0.6, 0.0)
    assert not gridmask_masks(off, 32, 32).any()


def test_same_rng_same_bytes_and_purity():
    x = images()
    cfg = AugmentConfig()
    a = apply_augment(x, sample_augment(np.random.default_rng(7), len(x), cfg), cfg)
    b = apply_augment(x, sample_augment(np.random.default_rng(7), len(x), cfg), cfg)
    c = apply_augment(x, sample_augment(np.random.default_rng(8), len(x), cfg), cfg)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(x, images())  # input untouched
    assert a.shape == x.shape and a.dtype == np.uint8


@pytest.mark.parametrize(
    "kwargs, message",
    [({"pad_mode": "wrap"}, "pad mode"), ({"pad": -1}, "padding"),
     ({"gridmask_d": (1, 4)}, "d range"), ({"gridmask_d": (20, 10)}, "d range"),
     ({"gridmask_ratio": 1.5}, "ratio"), ({"gridmask_prob": 2.0}, "probability")],
)
def test_bad_augment_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AugmentConfig(**kwargs)


@pytest.mark.parametrize("r", [0.0, 0.1, 0.29])
def test_gridmask_ratio_that_erases_most_of_an_image_is_refused(r):
    with pytest.raises(ValueError, match=r"0\.3 <= r < 1"):
        AugmentConfig(gridmask_ratio=r)
    AugmentConfig(gridmask_ratio=r, gridmask=False)  # no GridMask: the ratio does nothing


def test_least_gridmask_ratio_erases_at_most_about_half():
    """At the least ratio allowed, the holes of a whole batch cover about (1 - 0.3)^2."""
    cfg = AugmentConfig(gridmask_ratio=0.3, gridmask_prob=1.0, gridmask_d=(14, 32))
    p = sample_gridmask(np.random.default_rng(0), 500, cfg.gridmask_d, cfg.gridmask_ratio, 1.0)
    share = gridmask_masks(p, 96, 96).mean()
    assert 0.40 < share < 0.53, share
