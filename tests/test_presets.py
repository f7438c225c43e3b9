"""`bs-encrypt dataset --preset private`: its settings, that it encrypts with every defence and
round-trips exactly with the key, that explicit options win, and the bad cases it meets."""

from __future__ import annotations

import json

import h5py
import numpy as np
from click.testing import CliRunner
from test_defences_cli import SMALL, zero_border
from test_query import refused

from encrypt_tool.cli import main
from encrypt_tool.presets import PRESETS
from encrypt_tool.sources import open_source


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_private_preset_settings():
    p = PRESETS["private"]
    assert p.block == (8, 8) and p.n_copies == 4 and p.augment.gridmask
    assert p.drop == "quarter" and p.rotate and p.negpos and p.channel_perm
    for name in ("paper", "hardened"):  # the other presets keep no defence
        s = PRESETS[name]
        assert s.drop == 0 and not s.transforms


def test_private_preset_encrypts_with_every_defence_and_round_trips(tmp_path, key_file):
    out = tmp_path / "p.h5"
    r = cli("dataset", *SMALL, "--key", key_file, "--out", out, "--preset", "private",
            "--no-augment", "--seed", "2")
    assert r.exit_code == 0, r.output
    with h5py.File(out) as f:
        d = json.loads(f.attrs["defences"])
        assert list(f.attrs["block_size"]) == [4, 4]  # 8x8 blocks, 2 px dropped at each edge
        assert f["train/shard_00000/images"].shape == (24, 2, 16, 16, 3)
    assert d == {"drop_border": 2, "rotate": True, "negpos": True, "channel_perm": True,
                 "source_block_size": [8, 8], "source_image_shape": [32, 32, 3]}
    src = open_source("synthetic:64").splits
    for split, copy in (("train", 1), ("test", 0)):
        p = tmp_path / f"{split}.npz"
        r = cli("decrypt", out, "--key", key_file, "--out", p, "--split", split, "--copy", copy)
        assert r.exit_code == 0, r.output
        assert np.array_equal(np.load(p)["images"], zero_border(src[split].read(0, 24), 8, 2))


def test_private_preset_keeps_the_paper_augmentation(tmp_path, key_file):
    out = tmp_path / "p.h5"
    r = cli("dataset", *SMALL, "--key", key_file, "--out", out, "--preset", "private")
    assert r.exit_code == 0, r.output
    with h5py.File(out) as f:
        aug = json.loads(f["train"].attrs["augment"])
    assert aug["gridmask"] is True and aug["pad_mode"] == "zero" and aug["flip"] is True


def test_explicit_options_override_the_private_preset(tmp_path, key_file):
    out = tmp_path / "p.h5"
    r = cli("dataset", *SMALL, "--key", key_file, "--out", out, "--preset", "private",
            "--block-size", "16", "--drop-border", "1")
    assert r.exit_code == 0, r.output
    with h5py.File(out) as f:
        d = json.loads(f.attrs["defences"])
        assert list(f.attrs["block_size"]) == [14, 14]
    assert d["drop_border"] == 1 and d["source_block_size"] == [16, 16] and d["rotate"]


def test_private_preset_drops_a_quarter_of_the_block_side(tmp_path, key_file):
    for block, kept in (("16", 8), ("4", 2)):
        out = tmp_path / f"p{block}.h5"
        r = cli("dataset", *SMALL, "--key", key_file, "--out", out, "--preset", "private",
                "--block-size", block, "--no-augment")
        assert r.exit_code == 0, r.output
        with h5py.File(out) as f:
            assert list(f.attrs["block_size"]) == [kept, kept]
            assert json.loads(f.attrs["defences"])["drop_border"] == int(block) // 4


def test_private_preset_with_blocks_too_small_for_its_border_is_refused(tmp_path, key_file):
    out = tmp_path / "p.h5"
    r = cli("dataset", *SMALL, "--key", key_file, "--out", out, "--preset", "private",
            "--block-size", "2")
    refused(r, "--preset private")
    assert not out.exists()
