"""Crop and GridMask have two implementations (per-image slices, batch-vectorized) chosen by
image size; both must give the same bytes, and a seeded `dataset` must keep its bytes."""

import hashlib

import h5py
import numpy as np
import pytest

KEY_HEX = "ab" * 32  # a fixed master key: the golden hashes below depend on it

# sha256 of every stored image byte (train shards, then test shards), computed on the code
# before the two paths existed (commit 5f46193)
GOLDEN = {
    "32-zero": "533d41a390995bcb88f5b85a326e41397794c8b92e8b14443e41ee40979728ed",
    "32-reflect": "2c1f7ca1a33a3a2adcd2598564633dd5821961b9540eb3df853f99ab476f63c5",
    "224-zero": "467163b073560239cfa6d4628547a78d935cd4e44bed1fe3f26f8ea701763d98",
    "224-reflect-nogrid": "d26e5774db98e52fcf9d1a71c6183fcc746b95e19cb6c3719bfbea3411b53593",
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
