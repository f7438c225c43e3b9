"""`bs-encrypt dataset` end to end on the built-in synthetic source: structure and invariants."""

import h5py
import numpy as np
import pytest

from bsformat.format import open_encrypted, read_info
from encrypt_tool.sources import open_source
from keys.master import load_key

SMALL = ["--source", "synthetic", "--limit", "120", "--batch-size", "50", "--shard-size", "100",
         "--quiet"]


@pytest.fixture
def enc(tmp_path, key_file, run_cli):
    out = tmp_path / "enc.h5"
    r = run_cli("dataset", *SMALL, "--n-keys", "3", "--seed", "1", "--key", key_file,
                "--jobs", "1", "--out", out)
    assert r.exit_code == 0, r.output
    return out


def test_file_structure(enc, key_file):
    with h5py.File(enc) as f:
        assert f.attrs["complete"] and f.attrs["format"] == "bs-encrypt"
        assert f["train"].attrs["n_shards"] == 2
        s0 = f["train/shard_00000"]
        assert s0["images"].shape == (100, 3, 32, 32, 3) and s0["images"].dtype == np.uint8
        assert s0["images"].chunks is None  # contiguous
        assert f["train/shard_00001/images"].shape == (20, 3, 32, 32, 3)
        assert f["test/shard_00000/images"].shape == (100, 1, 32, 32, 3)
        assert np.array_equal(f["train/shard_00001/ids"][()], np.arange(100, 120))
    with open_encrypted(enc) as f:
        info = read_info(f)
    assert info.n_classes == 10 and info.scrambled and info.block_size == (8, 8)
    assert info.splits["train"].augment["gridmask"] is True
    assert info.splits["test"].augment["gridmask"] is False


def test_no_key_material_in_file(enc, key_file):
    key = load_key(key_file)
    blob = enc.read_bytes()
    assert key not in blob and key.hex().encode() not in blob
    assert key.hex()[:16].encode() not in blob


def test_copies_differ_and_decrypt_to_augmented_plain(enc, key_file, tmp_path, run_cli):
    with h5py.File(enc) as f:
        x = f["train/shard_00000/images"][:10]  # (10, 3, 32, 32, 3)
    assert all(not np.array_equal(x[i, 0], x[i, 1]) for i in range(10))
    out = tmp_path / "plain.npz"
    r = run_cli("decrypt", enc, "--key", key_file, "--out", out, "--copy", "2")
    assert r.exit_code == 0, r.output
    plain = np.load(out)
    assert plain["images"].shape == (120, 32, 32, 3)
    src = open_source("synthetic").splits["train"]
    assert np.array_equal(plain["labels"], src.labels[:120])
    # each decrypted image is a crop (padding 4) of its source, maybe mirrored, maybe masked
    padded = np.pad(src.read(0, 20), ((0, 0), (4, 4), (4, 4), (0, 0)))
    for i in range(20):
        y, kept = plain["images"][i], plain["images"][i].any(-1)
        assert any(
            np.array_equal(y[kept], (c[:, ::-1] if flip else c)[kept])
            for dy in range(9) for dx in range(9) for flip in (False, True)
            for c in [padded[i, dy:dy + 32, dx:dx + 32]]
        )


def test_no_augment_round_trip_is_exact(tmp_path, key_file, run_cli):
    out = tmp_path / "exact.h5"
    r = run_cli("dataset", *SMALL, "--no-augment", "--n-keys", "2", "--key", key_file,
                "--jobs", "1", "--out", out)
    assert r.exit_code == 0, r.output
    src = open_source("synthetic")
    for split in ("train", "test"):
        for copy in ((0, 1) if split == "train" else (0,)):
            npz = tmp_path / f"{split}{copy}.npz"
            r = run_cli("decrypt", out, "--key", key_file, "--out", npz, "--split", split,
                        "--copy", str(copy))
            assert r.exit_code == 0, r.output
            assert np.array_equal(np.load(npz)["images"], src.splits[split].read(0, 120))
    with h5py.File(out) as f:  # and the stored images are really scrambled
        enc = f["train/shard_00000/images"][:, 0]
    assert not np.array_equal(enc, src.splits["train"].read(0, 100))


def test_no_scramble_is_the_plain_pipeline(tmp_path, run_cli):
    out = tmp_path / "plain.h5"
    r = run_cli("dataset", *SMALL, "--no-scramble", "--no-augment", "--n-keys", "1",
                "--jobs", "1", "--out", out)
    assert r.exit_code == 0, r.output
    with h5py.File(out) as f:
        assert not f.attrs["scrambled"] and f.attrs["key_fingerprint"] == ""
        x = f["train/shard_00000/images"][:, 0]
    assert np.array_equal(x, open_source("synthetic").splits["train"].read(0, 100))


def test_same_key_and_seed_same_bytes_any_jobs(tmp_path, key_file, run_cli):
    def images(name, *extra):
        out = tmp_path / name
        r = run_cli("dataset", *SMALL, "--n-keys", "2", "--key", key_file, "--out", out, *extra)
        assert r.exit_code == 0, r.output
        with h5py.File(out) as f:
            return np.concatenate([f["train"][s]["images"][()] for s in f["train"]])

    a = images("a.h5", "--seed", "5", "--jobs", "1")
    b = images("b.h5", "--seed", "5", "--jobs", "2")  # threads
    e = images("e.h5", "--seed", "5", "--jobs", "2", "--backend", "processes")
    c = images("c.h5", "--seed", "6", "--jobs", "1")
    d = images("d.h5", "--jobs", "1")
    assert np.array_equal(a, b) and np.array_equal(a, e)
    assert not np.array_equal(a, c) and not np.array_equal(a, d)


def test_compression_round_trip(tmp_path, key_file, run_cli):
    out = tmp_path / "gz.h5"
    r = run_cli("dataset", *SMALL, "--no-augment", "--compression", "gzip", "--n-keys", "2",
                "--key", key_file, "--jobs", "1", "--out", out)
    assert r.exit_code == 0, r.output
    with h5py.File(out) as f:
        assert f["train/shard_00000/images"].compression == "gzip"
    npz = tmp_path / "p.npz"
    assert run_cli("decrypt", out, "--key", key_file, "--out", npz).exit_code == 0
    assert np.array_equal(np.load(npz)["images"],
                          open_source("synthetic").splits["train"].read(0, 120))


def test_block_size_options(tmp_path, key_file, run_cli):
    for bs in ("4", "16", "8x4"):
        out = tmp_path / f"b{bs}.h5"
        r = run_cli("dataset", *SMALL, "--block-size", bs, "--n-keys", "1", "--key", key_file,
                    "--jobs", "1", "--out", out, "--no-augment")
        assert r.exit_code == 0, r.output
        npz = tmp_path / f"b{bs}.npz"
        assert run_cli("decrypt", out, "--key", key_file, "--out", npz).exit_code == 0
        assert np.array_equal(np.load(npz)["images"],
                              open_source("synthetic").splits["train"].read(0, 120))


def test_default_key_is_created_on_first_use(tmp_path, run_cli, monkeypatch):
    home = tmp_path / "home" / "master.key"
    monkeypatch.setenv("BS_ENCRYPT_KEY", str(home))
    r = run_cli("dataset", *SMALL, "--n-keys", "1", "--jobs", "1", "--out", tmp_path / "e.h5")
    assert r.exit_code == 0, r.output
    assert home.exists() and "created master key" in r.output and "needed to decrypt" in r.output
    assert load_key(home).hex() not in r.output


def test_inspect(enc, key_file, tmp_path, run_cli):
    r = run_cli("inspect", enc)
    assert r.exit_code == 0 and "fingerprint" in r.output and "train" in r.output
    png = tmp_path / "grid.png"
    r = run_cli("inspect", enc, "--key", key_file, "--grid", png)
    assert r.exit_code == 0, r.output
    from PIL import Image

    with Image.open(png) as im:
        assert im.height > im.width / 8  # two rows: encrypted and plain


def test_presets_and_explicit_options(tmp_path, key_file, run_cli):
    from bsformat.format import open_encrypted, read_info

    def info(name, *extra):
        out = tmp_path / name
        r = run_cli("dataset", *SMALL, "--key", key_file, "--jobs", "1", "--out", out, *extra)
        assert r.exit_code == 0, r.output
        with open_encrypted(out) as f:
            return read_info(f)

    hard = info("h.h5", "--preset", "hardened")
    assert hard.block_size == (4, 4) and hard.splits["train"].n_copies == 1
    assert hard.splits["train"].augment["pad_mode"] == "reflect"
    assert hard.splits["train"].augment["gridmask"] is True
    mixed = info("m.h5", "--preset", "hardened", "--n-keys", "3")
    assert mixed.block_size == (4, 4) and mixed.splits["train"].n_copies == 3
    paper = info("p.h5")
    assert paper.block_size == (8, 8) and paper.splits["train"].n_copies == 4
    assert paper.splits["train"].augment["pad_mode"] == "zero"


def test_encrypting_does_not_import_torch(tmp_path, key_file):
    import subprocess
    import sys

    code = (
        "import sys, runpy\n"
        "sys.argv = ['bs-encrypt', 'dataset', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('encrypt_tool.cli', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "print('torch' in sys.modules, 'trainer' in sys.modules)\n"
    )
    args = [*SMALL, "--key", str(key_file), "--out", str(tmp_path / "e.h5"), "--jobs", "1"]
    res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         check=True)
    assert res.stdout.split()[-2:] == ["False", "False"]
