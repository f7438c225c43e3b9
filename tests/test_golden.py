"""Files of every format version stay readable: the golden cases (tests/golden/make.py: one
file, a shard folder, each defence, JPEG copies), written again by this code, decrypt to their
recorded hashes and store the recorded bytes; version 1's keying, which reproduced every byte
of the files the version-1 tool wrote, gives its recorded bytes and round-trips; an unknown
version is refused in one line; version 2's content does not depend on the layout."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from bsformat.format import FormatError
from bsformat.reader import open_dataset
from encrypt_tool.defences import DefenceConfig
from encrypt_tool.keyed import decrypt_copy
from keys.master import load_key

GOLDEN = Path(__file__).resolve().parent / "golden"
_spec = importlib.util.spec_from_file_location("golden_make", GOLDEN / "make.py")
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)
RECORDED = {k: json.loads(p.read_text()) for k, p in make.RECORDS.items()}


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> dict[str, Path]:
    """Every golden case written by this code, into one temporary folder."""
    d = tmp_path_factory.mktemp("golden")
    src = make.source(d)
    return {name: make.write(name, src, d / "out") for name in make.CASES}


@pytest.mark.parametrize("name", list(make.CASES))
def test_golden_cases_decrypt_to_their_hashes_and_store_their_bytes(cases, name):
    key = load_key(make.KEY)
    with open_dataset(cases[name]) as ds:
        assert ds.info.format_version == 2
        assert ds.verify() > 0
    assert make.digest(cases[name], key) == RECORDED["v2-decrypted"][name]
    assert make.stored(cases[name], key) == RECORDED["v2-stored"][name]


@pytest.mark.parametrize("name", make.V1_CASES)
def test_version_1_keying_gives_its_recorded_bytes_and_round_trips(cases, name):
    key = load_key(make.KEY)
    assert make.v1_keying(cases[name], key) == RECORDED["v1-keying"][name]
    for info, split, copy, batch, plain in make._copies(cases[name], key):
        enc = make.v1_encrypted(info, split, copy, batch.ids, plain, key)
        assert not np.array_equal(enc, batch.images)  # version 2 keys differently
        back, _ = decrypt_copy(enc, key, bytes.fromhex(info.dataset_id), split, batch.ids,
                               copy, tuple(info.block_size),
                               DefenceConfig.from_dict(info.defences), version=1)
        assert np.array_equal(back, plain)


def test_a_file_marked_version_1_is_read_with_version_1_keying(cases, tmp_path):
    key = load_key(make.KEY)
    f = tmp_path / "v1.h5"
    shutil.copy(cases["plain.h5"], f)
    with h5py.File(f, "r+") as h:
        h.attrs["format_version"] = 1
    for info, split, copy, batch, plain in make._copies(f, key):
        assert info.format_version == 1
        want, _ = decrypt_copy(batch.images, key, bytes.fromhex(info.dataset_id), split,
                               batch.ids, copy, tuple(info.block_size), None, version=1)
        assert np.array_equal(plain, want)


def test_an_unknown_version_is_refused_in_one_line(cases, tmp_path, run_cli):
    f = tmp_path / "v9.h5"
    shutil.copy(cases["plain.h5"], f)
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


def test_the_jpeg_golden_file_stores_jpeg_copies(cases):
    """The JPEG case holds each copy as a baseline JPEG (4:4:4, quality 90): its recorded
    hashes are of the decoded, then decrypted, pixels."""
    path = cases["jpeg.h5"]
    with h5py.File(path, "r") as f:
        assert json.loads(f.attrs["store"]) == {"kind": "jpeg", "quality": 90,
                                                "subsampling": "444"}
        blob = f["train/shard_00000/images"][0, 0]  # one stored copy: JPEG bytes
        assert bytes(blob[:3]) == b"\xff\xd8\xff"
    with open_dataset(path) as ds:
        assert ds.read_range("train", 0, 4, copy=None).images.shape == (4, 2, 16, 16, 3)
