"""Shard folders and JPEG copies through the one reader: same images as one file, damaged
shards named, every command reads the folder form."""

import json

import numpy as np
import pytest

from bsformat.format import FormatError
from bsformat.reader import open_dataset

SMALL = ["dataset", "--source", "synthetic", "--limit", "48", "--batch-size", "16",
         "--shard-size", "20", "--seed", "5", "--quiet", "--jobs", "1"]


def _make(run_cli, key_file, out, *args):
    r = run_cli(*SMALL, "--key", key_file, "--out", out, *args)
    assert r.exit_code == 0, r.output
    return out


@pytest.fixture
def pair(tmp_path, key_file, run_cli):
    one = _make(run_cli, key_file, tmp_path / "one.h5")
    _make(run_cli, key_file, f"{tmp_path}/enc/")
    return one, tmp_path / "enc"


def test_folder_holds_the_same_images_as_one_file(pair):
    one, folder = pair
    m = json.loads((folder / "manifest.json").read_text())
    assert [s["name"] for s in m["shards"]] == [f"{s}-0000{i}.h5" for s in ("train", "test")
                                               for i in range(3)]
    assert [(s["start"], s["count"]) for s in m["shards"][:3]] == [(0, 20), (20, 20), (40, 8)]
    with open_dataset(one) as a, open_dataset(folder) as b:
        assert b.info.dataset_id == a.info.dataset_id and b.info.path == str(folder)
        for split in ("train", "test"):
            x, y = a.read_range(split, 0, 48), b.read_range(split, 0, 48)
            assert np.array_equal(x.images, y.images) and np.array_equal(x.ids, y.ids)
            assert np.array_equal(x.labels, y.labels)
            idx = [47, 3, 21, 20, 19]
            assert np.array_equal(a.read(split, idx, copy=None).images,
                                  b.read(split, idx, copy=None).images)
        assert b.verify() == 6


def test_existing_empty_folder_is_the_folder_form(tmp_path, key_file, run_cli):
    (tmp_path / "e").mkdir()
    _make(run_cli, key_file, tmp_path / "e")
    assert (tmp_path / "e" / "manifest.json").is_file()
    r = run_cli(*SMALL, "--key", key_file, "--out", tmp_path / "e")
    assert r.exit_code == 1 and "not empty" in r.output and "--overwrite" in r.output


@pytest.mark.parametrize("damage, needle", [
    ("missing", "train-00001.h5 listed in manifest.json is missing"),
    ("truncated", "train-00001.h5 has"),
    ("altered", "train-00001.h5 is altered"),
    ("manifest", "without manifest.json"),
])
def test_damaged_folder_is_refused_naming_the_shard(pair, damage, needle, run_cli, key_file,
                                                     tmp_path):
    _, folder = pair
    shard = folder / "train-00001.h5"
    if damage == "missing":
        shard.unlink()
    elif damage == "truncated":
        shard.write_bytes(shard.read_bytes()[:-100])
    elif damage == "altered":
        data = bytearray(shard.read_bytes())
        data[-50] ^= 0xFF  # in the image bytes, at the end of the file
        shard.write_bytes(bytes(data))
    else:
        (folder / "manifest.json").unlink()
    with pytest.raises(FormatError, match=needle):
        with open_dataset(folder) as ds:
            ds.read_range("train", 0, 48)
    r = run_cli("decrypt", folder, "--key", key_file, "--out", tmp_path / "d.npz")
    assert r.exit_code == 1 and needle.split(" ")[0] in r.output
    assert not (tmp_path / "d.npz").exists()


def test_jpeg_copies_end_to_end_decrypt_and_inspect(tmp_path, key_file, run_cli):
    raw = _make(run_cli, key_file, tmp_path / "raw.h5")
    jpg = _make(run_cli, key_file, f"{tmp_path}/jpg/", "--store", "jpeg:90")
    r = run_cli("inspect", jpg)
    assert r.exit_code == 0, r.output
    for name in ("raw", "jpg"):
        path = raw if name == "raw" else tmp_path / "jpg"
        r = run_cli("decrypt", path, "--key", key_file, "--out", tmp_path / f"{name}.npz",
                    "--split", "test")
        assert r.exit_code == 0, r.output
    a = np.load(tmp_path / "raw.npz")["images"].astype(float)
    b = np.load(tmp_path / "jpg.npz")["images"].astype(float)
    psnr = 10 * np.log10(255**2 / np.mean((a - b) ** 2))
    assert a.shape == b.shape and 28 < psnr < 60  # lossy, close
    with open_dataset(tmp_path / "jpg") as ds:
        assert json.loads(ds.info.attrs["store"]) == {"kind": "jpeg", "quality": 90,
                                                      "subsampling": "444"}
        assert ds.read("train", [2, 40], copy=None).images.shape == (2, 4, 32, 32, 3)
    size = sum(p.stat().st_size for p in (tmp_path / "jpg").glob("*.h5"))
    assert size < 0.8 * raw.stat().st_size


def test_jpeg_off_the_grid_refused_before_any_output(tmp_path, key_file, run_cli):
    r = run_cli(*SMALL, "--key", key_file, "--out", tmp_path / "x.h5", "--store", "jpeg:90:420",
                "--block-size", "8")
    assert r.exit_code == 1 and "8x8 is off the JPEG grid" in r.output
    assert list(tmp_path.glob("x*")) == [] and not list(tmp_path.glob(".x*"))


def test_clean_partial_removes_a_killed_runs_folder(tmp_path, key_file, run_cli):
    stale = tmp_path / ".enc.0badc0de.partial"
    stale.mkdir()
    (stale / "train-00000.h5").write_bytes(b"half")
    r = run_cli(*SMALL, "--key", key_file, "--out", f"{tmp_path}/enc/", "--clean-partial")
    assert r.exit_code == 0, r.output
    assert not stale.exists() and "deleted 1 partial file(s)" in r.output
    assert (tmp_path / "enc" / "manifest.json").is_file()


@pytest.mark.parametrize("store", ["raw", "jpeg:90"])
def test_one_chosen_copy_per_image(tmp_path, key_file, run_cli, store):
    out = _make(run_cli, key_file, f"{tmp_path}/e/", "--store", store)
    copies = np.random.default_rng(0).integers(0, 4, 30)
    with open_dataset(out) as ds:
        every = ds.read_range("train", 10, 40).images  # (30, 4, H, W, C) across two shards
        got = ds.read_range("train", 10, 40, copy=copies)
        assert np.array_equal(got.images, every[np.arange(30), copies])
        with pytest.raises(ValueError, match="copies 0..3"):
            ds.read_range("train", 10, 40, copy=copies + 4)


def test_jpeg_grid_is_checked_on_the_kept_blocks(tmp_path, key_file, run_cli):
    r = run_cli(*SMALL, "--key", key_file, "--out", tmp_path / "x.h5", "--store", "jpeg",
                "--block-size", "16", "--drop-border", "2")
    assert r.exit_code == 1 and "12x12 is off the JPEG grid" in r.output
    assert not list(tmp_path.glob("*x*"))
    out = _make(run_cli, key_file, tmp_path / "y.h5", "--store", "jpeg", "--block-size", "16",
                "--drop-border", "4")
    with open_dataset(out) as ds:
        assert ds.info.block_size == (8, 8)
        assert ds.read("train", [0], copy=None).images.shape == (1, 4, 16, 16, 3)
