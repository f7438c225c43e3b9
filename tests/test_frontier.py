"""The frontier's settings (block size, border drop, within-block transforms) and its runner:
which models train on which setting, partial runs added to an earlier one, bad options."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from encrypt_tool.setting import Setting, pick
from experiments.frontier import BUDGETS, run_frontier
from experiments.frontier import cli as frontier_cli
from experiments.frontier import photos as frontier_photos
from experiments.frontier.run import _models
from experiments.settings import FRONTIER as SETTINGS
from experiments.settings import PHOTO as PHOTO_SETTINGS


def test_every_setting_is_one_bs_encrypt_accepts():
    for s in SETTINGS + PHOTO_SETTINGS:
        s.defences().check_block(s.block)  # raises for a setting bs-encrypt refuses
        assert min(s.kept) >= 2 and 0 < s.pixels_kept <= 1
    names = [s.name for s in SETTINGS]
    assert len(set(names)) == len(names)
    assert {"8x8", "4x4", "8x8 drop 1", "8x8 drop 2", "8x8 rotate", "8x8 negpos",
            "8x8 channel-perm", "8x8 drop 2 + all", "4x4 + all", "plain"} <= set(names)


def test_setting_options_and_kept_pixels():
    s = pick(SETTINGS, ["8x8 drop 2 + all"])[0]
    assert s.options() == "--block-size 8 --drop-border 2 --rotate --negpos --channel-perm"
    assert s.kept == (4, 4) and s.pixels_kept == 0.25 and s.transforms
    assert not Setting("4x4 drop 1", block=4, drop=1).transforms
    with pytest.raises(ValueError, match="'9x9' is not known"):
        pick(SETTINGS, ["9x9"])


def test_resnet_only_where_no_transform():
    b = BUDGETS["cpu-quick"]
    models = {s.name: [m for _, m, _ in _models(s, b)] for s in SETTINGS}
    assert models["8x8 drop 2"] == ["resnet18-narrow", "blockset-narrow"]
    assert models["8x8 rotate"] == models["8x8 drop 2 + all"] == ["blockset-narrow"]
    assert [lab for lab, _, _ in _models(pick(SETTINGS, ["plain"])[0], b)] == [
        "plain", "plain (8x8 grid)"]


def test_partial_runs_add_to_an_earlier_one(tmp_path):
    b = replace(BUDGETS["smoke"], n_train=32, n_test=16, settings=("8x8 drop 2 + all",),
                models=("resnet18-narrow", "blockset-narrow"), batch_size=16)
    out = tmp_path / "f"
    run_frontier(b, "synthetic:64,16", out, parts=("accuracy",))
    s = json.loads((out / "frontier.json").read_text())
    rows = s["rows"]
    assert [r["model"] for r in rows] == ["blockset-narrow"]  # no ResNet under transforms
    assert rows[0]["kept"] == 4 and rows[0]["neighbour"] is None  # not audited in this run
    assert "n/a" in (out / "frontier.md").read_text()
    assert not list(out.rglob("*.h5")), "encrypted files are not results"
    b2 = replace(b, settings=("8x8",), models=("blockset-narrow",))
    run_frontier(b2, "synthetic:64,16", out, parts=("accuracy",), update=True)
    rows = json.loads((out / "frontier.json").read_text())["rows"]
    assert [r["setting"] for r in rows] == ["8x8 drop 2 + all", "8x8"]
    with pytest.raises(ValueError, match="another budget"):
        run_frontier(replace(b2, epochs=2), "synthetic:64,16", out, parts=("accuracy",),
                     update=True)


def test_frontier_cli_refuses_bad_options(tmp_path, capsys):
    for argv, words in ((["--setting", "9x9"], "'9x9' is not known"),
                        (["--only", "speed"], "invalid choice")):
        with pytest.raises(SystemExit) as e:
            frontier_cli.main([*argv, "--out", str(tmp_path / "x")])
        assert e.value.code == 2
        assert words in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_photo_frontier_refuses_bad_options(tmp_path, capsys):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "photos.json").write_text("{}")
    for argv, words in ((["--setting", "8x8"], "'8x8' is not known"),
                        (["--images", "0"], "--images 0"),
                        (["--out", str(tmp_path / "old")], "--overwrite")):
        with pytest.raises(SystemExit) as e:
            frontier_photos.main(["--out", str(tmp_path / "new"), *argv])
        assert e.value.code == 2
        assert words in capsys.readouterr().err


@pytest.mark.slow
def test_frontier_cli_model_option_trains_only_that_model(tmp_path, capsys):
    out = tmp_path / "f"
    assert frontier_cli.main(["--budget", "smoke", "--setting", "8x8", "--only", "accuracy",
                              "--n-train", "64", "--model", "blockset-narrow",
                              "--out", str(out)]) == 0
    rows = json.loads((out / "frontier.json").read_text())["rows"]
    assert [(r["setting"], r["model"]) for r in rows] == [("8x8", "blockset-narrow")]
    with pytest.raises(SystemExit) as e:
        frontier_cli.main(["--model", "vgg", "--out", str(tmp_path / "y")])
    assert e.value.code == 2 and "invalid choice: 'vgg'" in capsys.readouterr().err
    assert not (tmp_path / "y").exists()
