"""Damaged pixels in one .h5 file: each shard's stored SHA-256 is checked on its first read, so
decrypt, bs-train and bs-predict refuse the file in one line naming the shard, as they refuse
a shard folder's altered shard."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from bsformat.checksum import forget_checked
from bsformat.format import FormatError
from bsformat.reader import open_dataset
from encrypt_tool.cli import main as encrypt_main
from trainer.cli import main as train_main


def _invoke(main, *args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("integrity")
    assert _invoke(encrypt_main, "keygen", "--out", d / "k.key").exit_code == 0
    r = _invoke(encrypt_main, "dataset", "--source", "synthetic", "--limit", "40", "--n-keys",
                "2", "--shard-size", "16", "--seed", "3", "--jobs", "1", "--quiet",
                "--key", d / "k.key", "--out", d / "enc.h5")
    assert r.exit_code == 0, r.output
    return d


def _damage(src: Path, dst: Path, shard: str = "train/shard_00001") -> None:
    """Copy ``src`` with 4 KB of ``shard``'s image bytes overwritten."""
    with h5py.File(src, "r") as f:
        offset = f[shard]["images"].id.get_offset()
    data = bytearray(src.read_bytes())
    data[offset + 100:offset + 100 + 4096] = np.random.default_rng(0).integers(
        0, 256, 4096, np.uint8).tobytes()
    dst.write_bytes(bytes(data))


def test_reader_refuses_damaged_pixels_on_first_read(made, tmp_path):
    bad = tmp_path / "bad.h5"
    _damage(made / "enc.h5", bad)
    with open_dataset(bad) as ds:  # opening reads metadata only
        ds.read_range("train", 0, 16)  # shard 0 is intact
        with pytest.raises(FormatError, match=r"train/shard_00001 is damaged"):
            ds.read("train", [20], copy=0)
    with open_dataset(made / "enc.h5") as ds:
        assert ds.read_range("train", 0, 40).images.shape == (40, 2, 32, 32, 3)


@pytest.mark.parametrize("command", ["decrypt", "bs-train"])
def test_damaged_pixels_fail_in_one_line(made, tmp_path, command):
    bad = tmp_path / "bad.h5"
    _damage(made / "enc.h5", bad)
    forget_checked()
    if command == "decrypt":
        r = _invoke(encrypt_main, "decrypt", bad, "--key", made / "k.key", "--out",
                    tmp_path / "p.npz")
    else:
        r = _invoke(train_main, bad, "--out", tmp_path / "run", "--epochs", "1",
                    "--batch-size", "40", "--model", "blockset-narrow", "--no-progress",
                    "--device", "cpu", "--threads", "1")
    errors = [ln for ln in r.output.splitlines() if ln.startswith("Error:")]
    assert r.exit_code == 1 and len(errors) == 1, r.output
    assert "train/shard_00001 is damaged" in errors[0] and "bad.h5" in errors[0]
    assert not (tmp_path / "p.npz").exists() and not (tmp_path / "run").exists()


def test_a_removed_checksum_is_refused(made, tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes((made / "enc.h5").read_bytes())
    with h5py.File(bad, "r+") as f:
        del f["train/shard_00001"].attrs["sha256"]
    with open_dataset(bad) as ds:
        with pytest.raises(FormatError, match="shard_00001 has no checksum"):
            ds.read_range("train", 0, 40)
