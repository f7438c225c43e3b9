"""`bs-encrypt dataset` with defences, end to end: exact round trips with the right key, a wrong
key refused, same seed same bytes, the stored shapes and attributes, no key material, and every
bad option refused with one line and nothing left behind."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from test_query import refused

from encrypt_tool.augment import AugmentConfig
from encrypt_tool.cli import main
from encrypt_tool.defences import (
    DefenceConfig,
    drop_border,
    from_blocks,
    restore_border,
    to_blocks,
)
from encrypt_tool.encrypt import BatchSpec, encrypt_batch
from encrypt_tool.keyed import decrypt_copy
from encrypt_tool.sources import open_source
from keys.master import load_key

SMALL = ["--source", "synthetic:64", "--limit", "24", "--n-keys", "2", "--quiet"]
ALL = ["--drop-border", "2", "--rotate", "--negpos", "--channel-perm"]


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def zero_border(x: np.ndarray, block: int, d: int) -> np.ndarray:
    """x (B, H, W, C) with the outer d px of every block set to 0."""
    grid = (x.shape[1] // block, x.shape[2] // block)
    return from_blocks(restore_border(drop_border(to_blocks(x, (block, block)), d), d), grid)


def make(tmp_path, key, name, *args):
    out = tmp_path / name
    r = cli("dataset", *SMALL, "--key", key, "--out", out, *args)
    assert r.exit_code == 0, r.output
    return out


@pytest.mark.parametrize("opts", [
    ["--drop-border", "1"], ["--rotate"], ["--negpos"], ["--channel-perm"],
    ["--drop-border", "3", "--negpos"], ALL, ["--block-size", "4", *ALL[:1], "1", *ALL[2:]],
])
def test_every_defence_round_trips_exactly(tmp_path, key_file, opts):
    out = make(tmp_path, key_file, "d.h5", "--no-augment", "--seed", "3", *opts)
    block = int(opts[opts.index("--block-size") + 1]) if "--block-size" in opts else 8
    d = int(opts[opts.index("--drop-border") + 1]) if "--drop-border" in opts else 0
    src = open_source("synthetic:64").splits
    for split, copy in (("train", 1), ("test", 0)):
        p = tmp_path / f"{split}.npz"
        r = cli("decrypt", out, "--key", key_file, "--out", p, "--split", split, "--copy", copy)
        assert r.exit_code == 0, r.output
        plain = np.load(p)["images"]
        expect = zero_border(src[split].read(0, 24), block, d)
        assert plain.shape == (24, 32, 32, 3)
        assert np.array_equal(plain, expect)
    with h5py.File(out) as f:
        stored = f["train/shard_00000/images"][:, 1]
    if not d:
        assert not np.array_equal(np.sort(stored, axis=None), np.sort(expect, axis=None)) \
            or "--rotate" in opts  # colour defences change the values, rotation only moves them


def test_augmented_copies_decrypt_to_the_undefended_augmentation(key_file):
    """With crop, flip and GridMask, a defended copy decrypts to the very image the same copy
    gets without defences, with the border zeroed: the defences come after augmentation."""
    key = load_key(key_file)
    x = open_source("synthetic:64").splits["train"].read(0, 12)
    aug = AugmentConfig(pad=None, gridmask_d=None).resolve(x.shape[1:])
    base = dict(split="train", n_copies=3, block=(8, 8), augment=aug, scramble=True,
                dataset_id=b"\x07" * 16)
    cfg = DefenceConfig(2, True, True, True).resolve((8, 8), x.shape[1:])
    ids = np.arange(12)
    plain_enc = encrypt_batch(x, ids, BatchSpec(**base), key)  # (12, 3, 32, 32, 3)
    def_enc = encrypt_batch(x, ids, BatchSpec(**base, defences=cfg), key)  # (12, 3, 16, 16, 3)
    assert def_enc.shape == (12, 3, 16, 16, 3)
    for s in range(3):
        a, _ = decrypt_copy(plain_enc[:, s], key, base["dataset_id"], "train", ids, s, (8, 8))
        b, _ = decrypt_copy(def_enc[:, s], key, base["dataset_id"], "train", ids, s, (4, 4), cfg)
        assert np.array_equal(b, zero_border(a, 8, 2))


def test_wrong_key_is_refused(tmp_path, key_file):
    out = make(tmp_path, key_file, "d.h5", *ALL)
    other = tmp_path / "other.key"
    assert cli("keygen", "--out", other).exit_code == 0
    r = cli("decrypt", out, "--key", other, "--out", tmp_path / "p.npz")
    refused(r, "wrong key")
    assert not (tmp_path / "p.npz").exists()


def test_same_seed_same_bytes_and_defences_change_them(tmp_path, key_file):
    a = make(tmp_path, key_file, "a.h5", "--seed", "5", *ALL).read_bytes()
    assert make(tmp_path, key_file, "b.h5", "--seed", "5", *ALL, "--jobs", "2").read_bytes() == a
    c = make(tmp_path, key_file, "c.h5", "--seed", "5", *ALL[:-1]).read_bytes()
    assert c != a
    with h5py.File(tmp_path / "a.h5") as f, h5py.File(tmp_path / "c.h5") as g:
        assert f.attrs["dataset_id"] != g.attrs["dataset_id"]  # the defences are in the identity


def test_stored_shapes_and_public_attributes(tmp_path, key_file):
    out = make(tmp_path, key_file, "d.h5", "--seed", "1", *ALL)
    plain = make(tmp_path, key_file, "p.h5", "--seed", "1")
    with h5py.File(out) as f:
        assert list(f.attrs["block_size"]) == [4, 4] and list(f.attrs["image_shape"]) == [16, 16, 3]
        assert f["train/shard_00000/images"].shape == (24, 2, 16, 16, 3)
        assert f["test/shard_00000/images"].shape == (24, 1, 16, 16, 3)
        assert json.loads(f.attrs["defences"]) == {
            "drop_border": 2, "rotate": True, "negpos": True, "channel_perm": True,
            "source_block_size": [8, 8], "source_image_shape": [32, 32, 3]}
    with h5py.File(plain) as f:
        assert "defences" not in f.attrs  # files without defences are as before
    assert out.stat().st_size < plain.stat().st_size


def test_the_file_holds_no_key_material(tmp_path, key_file):
    out = make(tmp_path, key_file, "d.h5", "--seed", "1", *ALL)
    key = load_key(key_file)
    blob = out.read_bytes()
    assert key not in blob and key.hex().encode() not in blob
    with h5py.File(out) as f:
        assert set(f.attrs) == {"tool_version", "created", "dataset_id", "key_fingerprint",
                                "scrambled", "block_size", "image_shape", "source", "augment",
                                "preprocess", "defences", "format", "format_version",
                                "complete"}
        assert set(f["train/shard_00000"]) == {"images", "labels", "ids"}


@pytest.mark.parametrize("args, words", [
    (["--drop-border", "4"], ["--drop-border 4", "0..3"]),
    (["--drop-border", "2", "--block-size", "4"], ["--drop-border 2", "0..1"]),
    (["--drop-border", "-1"], ["--drop-border -1", "0 or more"]),
    (["--rotate", "--block-size", "8x4"], ["--rotate", "8x4", "square"]),
    (["--rotate", "--drop-border", "1", "--block-size", "8x4"], ["6x2", "square"]),
    (["--negpos", "--no-scramble"], ["--no-scramble"]),
])
def test_bad_defence_options(tmp_path, key_file, args, words):
    out = tmp_path / "o.h5"
    refused(cli("dataset", *SMALL, "--key", key_file, "--out", out, *args), *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.key"]


def test_channel_permutation_of_one_channel_images_is_refused(tmp_path, key_file):
    for i in range(2):
        d = tmp_path / "f" / "a"
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((16, 16), 40 * i, np.uint8)).save(d / f"{i}.png")
    out = tmp_path / "o.h5"
    r = cli("dataset", "--source", f"folder:{tmp_path / 'f'}", "--channels", "l", "--key",
            key_file, "--out", out, "--channel-perm", "--block-size", "4", "--quiet")
    # the channels are known once the source is open; the refusal is still the one line
    # (no config line, and the source's warnings are held back)
    assert r.exit_code == 1, r.output
    errors = r.output.splitlines()
    assert len(errors) == 1 and errors[0].startswith("Error: --channel-perm needs 3 colour "
                                                     "channels; these images have 1"), errors
    assert not out.exists() and not list(tmp_path.glob(".*partial*"))
    r = cli("dataset", "--source", f"folder:{tmp_path / 'f'}", "--channels", "l", "--key",
            key_file, "--out", out, "--rotate", "--negpos", "--block-size", "4", "--quiet")
    assert r.exit_code == 0, r.output  # the other defences work on one channel
