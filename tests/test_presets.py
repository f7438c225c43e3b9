"""`bs-encrypt dataset --preset private` (and the former one, `private-v1`): their settings, the
block size chosen by image size, that they encrypt with their defences and round-trip exactly
with the key, that explicit options win, and the bad cases they meet."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
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
    assert p.block == "auto" and p.n_copies == 4 and p.augment.gridmask
    assert p.drop == "quarter" and p.rotate and not p.negpos and not p.channel_perm
    # the block by image size: 4x4 on CIFAR-10, 8x8 on 224-px photos, a quarter dropped
    for shape, block, drop in (((32, 32, 3), 4, 1), ((48, 64, 3), 4, 1), ((96, 96, 3), 8, 2),
                               ((224, 224, 3), 8, 2), ((224, 320, 3), 8, 2)):
        r = p.resolve(shape)
        assert (r.block, r.drop, r.kept) == ((block, block), drop, (block // 2, block // 2))
    v1 = PRESETS["private-v1"]  # the former private, kept by name
    assert v1.block == (8, 8) and v1.drop == "quarter" and v1.n_copies == 4
    assert v1.rotate and v1.negpos and v1.channel_perm
    for name in ("paper", "hardened"):  # the other presets keep no defence
        s = PRESETS[name]
        assert s.drop == 0 and not s.transforms


@pytest.mark.parametrize("name, block, drop, colours", [
    ("private", 4, 1, False),  # 4x4 blocks at 32 px, 1 px dropped at each edge, rotation
    ("private-v1", 8, 2, True),  # 8x8 blocks, 2 px dropped, every transform
])
def test_private_presets_encrypt_with_their_defences_and_round_trip(tmp_path, key_file, name,
                                                                    block, drop, colours):
    out = tmp_path / "p.h5"
    r = cli("dataset", *SMALL, "--key", key_file, "--out", out, "--preset", name,
            "--no-augment", "--seed", "2")
    assert r.exit_code == 0, r.output
    kept = block - 2 * drop
    with h5py.File(out) as f:
        d = json.loads(f.attrs["defences"])
        assert list(f.attrs["block_size"]) == [kept, kept]
        assert f["train/shard_00000/images"].shape == (24, 2, 32 * kept // block,
                                                       32 * kept // block, 3)
    assert d == {"drop_border": drop, "rotate": True, "negpos": colours,
                 "channel_perm": colours, "source_block_size": [block, block],
                 "source_image_shape": [32, 32, 3]}
    src = open_source("synthetic:64").splits
    for split, copy in (("train", 1), ("test", 0)):
        p = tmp_path / f"{split}.npz"
        r = cli("decrypt", out, "--key", key_file, "--out", p, "--split", split, "--copy", copy)
        assert r.exit_code == 0, r.output
        assert np.array_equal(np.load(p)["images"],
                              zero_border(src[split].read(0, 24), block, drop))


def test_private_preset_refuses_an_image_size_no_block_divides(tmp_path, key_file):
    from PIL import Image

    for i in range(4):
        d = tmp_path / "photos" / f"c{i % 2}"
        d.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (30, 30), (i * 40, 90, 200)).save(d / f"{i}.png")
    out = tmp_path / "p.h5"
    r = cli("dataset", "--source", f"folder:{tmp_path / 'photos'}", "--key", key_file, "--out",
            out, "--preset", "private", "--quiet")
    refused(r, "--preset private", "30x30", "multiples of 4 px up to 63 px",
            "multiples of 8 px from 64 px")
    assert not out.exists() and not list(tmp_path.glob("p.h5*"))


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
