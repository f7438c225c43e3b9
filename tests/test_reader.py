"""The one reader: what it returns, what it reads, how it refuses; per-shard checksums."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from bsformat.checksum import CHECKSUM_ATTR
from bsformat.format import FormatError
from bsformat.reader import open_dataset

SMALL = ["--source", "synthetic", "--limit", "40", "--jobs", "1", "--quiet", "--shard-size", "16",
         "--n-keys", "2"]


@pytest.fixture
def enc(tmp_path, key_file, run_cli):
    out = tmp_path / "enc.h5"
    r = run_cli("dataset", *SMALL, "--key", key_file, "--out", out)
    assert r.exit_code == 0, r.output
    return out


def _plain_read(path, split):
    """Every shard of ``split`` read straight with h5py: (n, N, H, W, C), labels, ids."""
    with h5py.File(path) as f:
        g = f[split]
        names = sorted(k for k in g if k.startswith("shard_"))
        return [np.concatenate([g[k][d][()] for k in names]) for d in ("images", "labels", "ids")]


def test_reads_match_the_file(enc):
    x, y, j = _plain_read(enc, "train")  # 40 images in shards of 16, 16, 8
    with open_dataset(enc) as ds:
        assert [(s.start, s.n) for s in ds.shards("train")] == [(0, 16), (16, 16), (32, 8)]
        assert ds.info.attrs["format"] == "bs-encrypt" and ds.info.defences == {}
        b = ds.read_range("train", 10, 35)  # spans all three shards, all copies
        assert b.images.shape == (25, 2, 32, 32, 3) and b.images.dtype == np.uint8
        np.testing.assert_array_equal(b.images, x[10:35])
        np.testing.assert_array_equal(b.labels, y[10:35])
        idx = np.array([33, 2, 17, 2, 39, 0])  # any order, repeats, across shards
        b = ds.read("train", idx, copy=1)
        np.testing.assert_array_equal(b.images, x[idx, 1])
        np.testing.assert_array_equal(b.ids, j[idx])
        np.testing.assert_array_equal(ds.read("train", idx, copy=None).images, x[idx])
        assert len(ds.read("train", [], copy=0)) == 0
        whole = np.concatenate([b.images for b in ds.iter_batches("train", 7, copy=0)])
        np.testing.assert_array_equal(whole, x[:, 0])
        picked = [b.ids for b in ds.iter_batches("train", 4, copy=0, indices=idx)]
        np.testing.assert_array_equal(np.concatenate(picked), j[idx])


def test_reads_only_the_rows_asked_for(enc, monkeypatch):
    rows = []
    original = h5py.Dataset.__getitem__

    def spy(self, key):
        out = original(self, key)
        if self.name.endswith("/images"):
            rows.append(len(out))
        return out

    with open_dataset(enc) as ds:
        ds.verify()  # each shard's checksum reads it whole once per process; here done first
        monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
        ds.read("train", [0, 39], copy=0)  # far apart: two rows, not the split
        assert sum(rows) == 2
        rows.clear()
        ds.read_range("test", 3, 5)
        assert sum(rows) == 2


def test_bad_requests_are_refused(enc):
    with open_dataset(enc) as ds:
        with pytest.raises(FormatError, match="'valid' is not in .*enc.h5"):
            ds.read("valid", [0])
        with pytest.raises(ValueError, match="copy 2 is not valid.*0..1"):
            ds.read("train", [0], copy=2)
        with pytest.raises(ValueError, match="index 40 is out of range.*0..39"):
            ds.read("train", [1, 40])
        with pytest.raises(ValueError, match="range 5..50"):
            ds.read_range("train", 5, 50)
        with pytest.raises(ValueError, match="batch size 0"):
            next(ds.iter_batches("train", 0))


def test_damaged_shards_are_named(enc, tmp_path):
    with h5py.File(enc, "r+") as f:
        del f["train/shard_00001/labels"]
    with pytest.raises(FormatError, match=r"enc.h5: cannot read train/shard_00001") as e:
        open_dataset(enc)
    assert "\n" not in str(e.value)


def test_bad_labels_are_refused(enc):
    with h5py.File(enc, "r+") as f:
        f["test/shard_00002/labels"][0] = 99
    with open_dataset(enc) as ds:
        ds.read("test", [0, 1])  # a shard with good labels reads fine
        with pytest.raises(FormatError, match=r"labels outside \[0, 10\): .*99"):
            ds.read("test", [32])


def test_shape_mismatch_is_refused(enc):
    with h5py.File(enc, "r+") as f:
        del f["test/shard_00000/ids"]
        f["test/shard_00000/ids"] = np.arange(3)
    with pytest.raises(FormatError, match="test/shard_00000/images has shape"):
        open_dataset(enc)


def _zero_bytes(path, dataset: str, start: int, n: int) -> None:
    with h5py.File(path) as f:
        offset = f[dataset].id.get_offset()
    with open(path, "r+b") as fh:
        fh.seek(offset + start)
        fh.write(bytes(n))


def test_verify_names_a_zeroed_shard(enc, run_cli):
    ok = run_cli("inspect", "--verify", enc)
    assert ok.exit_code == 0 and "all 6 shards match their SHA-256" in ok.output
    _zero_bytes(enc, "train/shard_00001/images", 5000, 300)
    with open_dataset(enc) as ds:
        with pytest.raises(FormatError, match="train/shard_00001 is damaged"):
            ds.read("train", [20])  # a shard's first read checks its checksum
    r = run_cli("inspect", "--verify", enc)
    assert r.exit_code == 1
    lines = [ln for ln in r.output.splitlines() if ln.startswith("Error:")]
    assert len(lines) == 1 and "train/shard_00001 is damaged" in lines[0]
    assert "Traceback" not in r.output and "file " not in r.output  # nothing else printed


def test_verify_says_when_a_file_has_no_checksums(enc, run_cli):
    with h5py.File(enc, "r+") as f:
        for split in ("train", "test"):
            for name in f[split]:
                del f[split][name].attrs[CHECKSUM_ATTR]
    r = run_cli("inspect", "--verify", enc)
    assert r.exit_code == 0 and "none stored" in r.output and "nothing verified" in r.output
    with h5py.File(enc, "r+") as f:
        f["train/shard_00002"].attrs[CHECKSUM_ATTR] = "0" * 64
    r = run_cli("inspect", "--verify", enc)
    assert r.exit_code == 1 and "has no checksum while other shards have one" in r.output


def test_checksum_is_deterministic(tmp_path, key_file, run_cli):
    outs = []
    for name in ("a.h5", "b.h5"):
        out = tmp_path / name
        assert run_cli("dataset", *SMALL, "--seed", "3", "--key", key_file, "--out",
                       out).exit_code == 0
        with h5py.File(out) as f:
            outs.append(f["train/shard_00000"].attrs[CHECKSUM_ATTR])
    assert outs[0] == outs[1] and len(outs[0]) == 64
