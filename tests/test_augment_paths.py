"""Crop and GridMask have two implementations (per-image slices, batch-vectorized) chosen by
image size; both must give the same bytes, and a seeded `dataset` must keep its bytes."""

import hashlib

import h5py
import numpy as np
import pytest

from encrypt_tool.augment import AugmentConfig, apply_augment, sample_augment
from encrypt_tool.augment.crop import apply_crop, sample_crop
from encrypt_tool.augment.flip import apply_flip
from encrypt_tool.augment.gridmask import gridmask_masks, sample_gridmask, zero_holes
from encrypt_tool.augment.paths import pick_path

KEY_HEX = "ab" * 32  # a fixed master key: the golden hashes below depend on it

# sha256 of every stored image byte (train shards, then test shards) of format version 2 (per-image
# keys, commit "Format version 2"); version 1's keying stays pinned by tests/golden/v1-keying.json
GOLDEN = {
    "32-zero": "d1ebe160603e6669d48fade938919e9ec3dd35453ca6c49dfe6be07efb214411",
    "32-reflect": "2b795123ec98f165d9fb22882f30ce879b48f05e455256cd9e7ae05a9eda38f8",
    "224-zero": "ce99dbd74f7b8a525b696907422df0cfc6cda770af356e5ddfe532730084587c",
    "224-reflect-nogrid": "70d73e4ed760d8f5b2d649d6cd233f6ed7ac220589a4545b3a47c243b091e19d",
}


def _images_hash(path) -> str:
    h = hashlib.sha256()
    with h5py.File(path) as f:
        for split in ("train", "test"):
            for shard in sorted(f[split]):
                h.update(f[split][shard]["images"][...].tobytes())
    return h.hexdigest()


CASES = {
    "32-zero": (32, []),
    "32-reflect": (32, ["--pad-mode", "reflect"]),
    "224-zero": (224, ["--block-size", "16"]),
    "224-reflect-nogrid": (224, ["--block-size", "16", "--pad-mode", "reflect", "--no-gridmask"]),
}


def _dataset(tmp_path, run_cli, case):
    """The dataset id depends on the source spec, so the spec is a path relative to tmp_path."""
    side, extra = CASES[case]
    rng = np.random.default_rng(side)
    n = 48 if side == 32 else 6
    npz = f"src{side}.npz"
    np.savez(tmp_path / npz, images=rng.integers(0, 256, (n, side, side, 3), dtype=np.uint8),
             labels=np.arange(n) % 3)
    key = tmp_path / "fixed.key"
    key.write_text(KEY_HEX + "\n")
    key.chmod(0o600)
    out = tmp_path / f"{case}.h5"
    r = run_cli("dataset", "--source", f"npz:{npz},{npz}", "--key", key, "--out", out,
                "--seed", "11", "--batch-size", "16", "--quiet", *extra)
    assert r.exit_code == 0, r.output
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_seeded_dataset_keeps_its_bytes(tmp_path, run_cli, case, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _images_hash(_dataset(tmp_path, run_cli, case)) == GOLDEN[case]


SIZES = [(32, 32, 3), (7, 9, 3), (33, 31, 1), (64, 64, 3), (65, 64, 3), (224, 224, 3),
         (17, 50, 2)]


@pytest.mark.parametrize("shape", SIZES)
@pytest.mark.parametrize("mode", ["zero", "reflect"])
def test_crop_paths_agree(shape, mode):
    h, w, c = shape
    rng = np.random.default_rng(h * w)
    x = rng.integers(0, 256, (9, h, w, c), dtype=np.uint8)
    for pad in sorted({0, 1, min(h, w) // 4, min(h, w) // 2 - (mode == "reflect")}):
        off = sample_crop(rng, len(x), pad)
        a = apply_crop(x, off, pad, mode, path="batch")
        b = apply_crop(x, off, pad, mode, path="slices")
        assert a.dtype == np.uint8 and a.shape == x.shape
        assert np.array_equal(a, b), (shape, mode, pad)
        assert np.array_equal(apply_crop(x, off, pad, mode), a)


@pytest.mark.parametrize("shape", SIZES)
@pytest.mark.parametrize("p", [0.0, 0.5, 1.0])
def test_gridmask_paths_agree(shape, p):
    h, w, c = shape
    rng = np.random.default_rng(h + w)
    x = rng.integers(1, 256, (12, h, w, c), dtype=np.uint8)
    g = sample_gridmask(rng, len(x), (2, max(2, min(h, w))), 0.5, p)
    a, b = x.copy(), x.copy()
    zero_holes(a, g, path="batch")
    zero_holes(b, g, path="slices")
    assert np.array_equal(a, b)
    assert np.array_equal((a == 0).all(-1), gridmask_masks(g, h, w))
    if p > 0:
        assert not np.array_equal(a, x)  # something was zeroed


def test_augment_paths_agree_on_a_whole_batch():
    x = np.random.default_rng(5).integers(0, 256, (40, 48, 40, 3), dtype=np.uint8)
    for cfg in (AugmentConfig(pad=6, pad_mode="reflect"), AugmentConfig(pad=5, gridmask=False),
                AugmentConfig(crop=False, flip=False)):
        params = sample_augment(np.random.default_rng(9), len(x), cfg)
        ref = apply_augment(x, params, cfg)
        y = apply_crop(x, params.crop, cfg.pad, cfg.pad_mode, "slices") if cfg.crop else x.copy()
        y = apply_flip(y, params.flip) if cfg.flip else y
        if cfg.gridmask:
            zero_holes(y, params.gridmask, path="slices")
        assert np.array_equal(ref, y)


def test_rule_and_bad_path():
    assert pick_path("auto", 32, 32) == "batch" and pick_path("auto", 224, 224) == "slices"
    assert pick_path("auto", 64, 64) == "batch" and pick_path("auto", 64, 65) == "slices"
    assert pick_path("slices", 8, 8) == "slices"
    x = np.zeros((1, 8, 8, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="'fast'.*auto, batch, slices"):
        apply_crop(x, np.zeros((1, 2), dtype=np.int64), 2, path="fast")
    g = sample_gridmask(np.random.default_rng(0), 1, (2, 4), 0.5, 1.0)
    with pytest.raises(ValueError, match="C-contiguous"):
        zero_holes(np.zeros((1, 8, 16, 3), dtype=np.uint8)[:, :, ::2], g)
