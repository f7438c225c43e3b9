"""Files written by every format version stay readable: the golden files of tests/golden (one
file, a shard folder and each defence; version 1 written by the tool before version 2 existed)
decrypt to their recorded hashes, each with its own version's key derivation; an unknown
version is refused in one line; version 2's content does not depend on the layout."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from bsformat.format import READ_VERSIONS, FormatError
from bsformat.reader import open_dataset
from keys.master import load_key

GOLDEN = Path(__file__).resolve().parent / "golden"
_spec = importlib.util.spec_from_file_location("golden_make", GOLDEN / "make.py")
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)

CASES = [(v, name) for v in READ_VERSIONS
         for name in json.loads((GOLDEN / f"v{v}" / "expected.json").read_text())]


@pytest.mark.parametrize("version, name", CASES)
def test_golden_files_decrypt_to_their_hashes(version, name):
    path = GOLDEN / f"v{version}" / name
    expected = json.loads((GOLDEN / f"v{version}" / "expected.json").read_text())[name]
    with open_dataset(path) as ds:
        assert ds.info.format_version == version
        assert ds.verify() > 0
    assert make.digest(path, load_key(make.KEY)) == expected


def test_versions_encrypt_differently():
    """Version 2 changed the keying: the same images and key give other bytes."""
    with open_dataset(GOLDEN / "v1" / "plain.h5") as a, open_dataset(GOLDEN / "v2" / "plain.h5") \
            as b:
        assert not np.array_equal(a.read_range("train", 0, 4).images,
                                  b.read_range("train", 0, 4).images)


def test_an_unknown_version_is_refused_in_one_line(tmp_path, run_cli):
    f = tmp_path / "v9.h5"
    shutil.copy(GOLDEN / "v2" / "plain.h5", f)
    with h5py.File(f, "r+") as h:
        h.attrs["format_version"] = 9
    with pytest.raises(FormatError, match="format version 9; this tool reads versions 1, 2"):
        open_dataset(f)
    r = run_cli("decrypt", f, "--key", make.KEY, "--out", tmp_path / "p.npz")
    errors = [ln for ln in r.output.splitlines() if ln.startswith("Error:")]
    assert r.exit_code == 1 and len(errors) == 1 and "v9.h5" in errors[0]
    assert not (tmp_path / "p.npz").exists()


def test_the_content_does_not_depend_on_the_layout(tmp_path, run_cli):
    """One file, shard folders of other shard sizes, other batches, two processes: the same
    dataset id and the same encrypted images (version 1 differed with the shard size)."""
    src = make.source(tmp_path)
    base = ["dataset", "--source", f"npz:{src}", "--n-keys", "2", "--block-size", "4",
            "--seed", "7", "--quiet", "--key", make.KEY]
    outs = {"one.h5": ["--jobs", "1"], "f/": ["--shard-size", "1", "--batch-size", "1"],
            "g/": ["--shard-size", "3", "--batch-size", "2", "--jobs", "2", "--backend",
                   "processes"]}
    for out, extra in outs.items():
        r = run_cli(*base, "--out", f"{tmp_path}/{out}", *extra)
        assert r.exit_code == 0, r.output
    with open_dataset(tmp_path / "one.h5") as one:
        want = {s: one.read_range(s, 0, one.split(s).n_images) for s in one.info.splits}
        for out in ("f", "g"):
            with open_dataset(tmp_path / out) as ds:
                assert ds.info.dataset_id == one.info.dataset_id
                for s, b in want.items():
                    got = ds.read_range(s, 0, len(b))
                    assert np.array_equal(got.images, b.images), (out, s)
                    assert np.array_equal(got.labels, b.labels)


def test_the_jpeg_golden_file_stores_jpeg_copies():
    """The JPEG case holds each copy as a baseline JPEG (4:4:4, quality 90): its recorded
    hashes are of the decoded, then decrypted, pixels."""
    path = GOLDEN / "v2" / "jpeg.h5"
    with h5py.File(path, "r") as f:
        assert json.loads(f.attrs["store"]) == {"kind": "jpeg", "quality": 90,
                                                "subsampling": "444"}
        blob = f["train/shard_00000/images"][0, 0]  # one stored copy: JPEG bytes
        assert bytes(blob[:3]) == b"\xff\xd8\xff"
    with open_dataset(path) as ds:
        assert ds.read_range("train", 0, 4, copy=None).images.shape == (4, 2, 16, 16, 3)
