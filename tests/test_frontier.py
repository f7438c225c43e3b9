"""The frontier's settings (block size, border drop, within-block transforms) and its runner:
which models train on which setting, partial runs added to an earlier one, bad options."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import bench_frontier  # noqa: E402
import frontier  # noqa: E402
from frontier_settings import PHOTO_SETTINGS, SETTINGS, Setting, pick  # noqa: E402


def test_every_setting_is_one_bs_encrypt_accepts():
    for s in SETTINGS + PHOTO_SETTINGS:
        s.defences().check_block((s.block, s.block))  # raises for a setting bs-encrypt refuses
        assert s.kept >= 2 and 0 < s.pixels_kept <= 1
    names = [s.name for s in SETTINGS]
    assert len(set(names)) == len(names)
    assert {"8x8", "4x4", "8x8 drop 1", "8x8 drop 2", "8x8 rotate", "8x8 negpos",
            "8x8 channel-perm", "8x8 drop 2 + all", "4x4 + all", "plain"} <= set(names)


def test_setting_options_and_kept_pixels():
    s = pick(SETTINGS, ["8x8 drop 2 + all"])[0]
    assert s.options() == "--block-size 8 --drop-border 2 --rotate --negpos --channel-perm"
    assert s.kept == 4 and s.pixels_kept == 0.25 and s.transforms
    assert not Setting("4x4 drop 1", 4, 1).transforms
    with pytest.raises(ValueError, match="'9x9' is not known"):
        pick(SETTINGS, ["9x9"])


def test_resnet_only_where_no_transform():
    b = frontier.BUDGETS["cpu-quick"]
    models = {s.name: [m for _, m, _ in frontier._models(s, b)] for s in SETTINGS}
    assert models["8x8 drop 2"] == ["resnet18-narrow", "blockset-narrow"]
    assert models["8x8 rotate"] == models["8x8 drop 2 + all"] == ["blockset-narrow"]
    assert [lab for lab, _, _ in frontier._models(pick(SETTINGS, ["plain"])[0], b)] == [
        "plain", "plain (8x8 grid)"]


def test_partial_runs_add_to_an_earlier_one(tmp_path):
    b = replace(frontier.BUDGETS["smoke"], n_train=32, n_test=16, settings=("8x8 drop 2 + all",),
                models=("resnet18-narrow", "blockset-narrow"), batch_size=16)
    out = tmp_path / "f"
    frontier.run_frontier(b, "synthetic:64,16", out, parts=("accuracy",))
    s = json.loads((out / "frontier.json").read_text())
    rows = s["rows"]
    assert [r["model"] for r in rows] == ["blockset-narrow"]  # no ResNet under transforms
    assert rows[0]["kept"] == 4 and rows[0]["neighbour"] is None  # not audited in this run
    assert "n/a" in (out / "frontier.md").read_text()
    assert not list(out.rglob("*.h5")), "encrypted files are not results"
    b2 = replace(b, settings=("8x8",), models=("blockset-narrow",))
    frontier.run_frontier(b2, "synthetic:64,16", out, parts=("accuracy",), update=True)
    rows = json.loads((out / "frontier.json").read_text())["rows"]
    assert [r["setting"] for r in rows] == ["8x8 drop 2 + all", "8x8"]
    with pytest.raises(ValueError, match="another budget"):
        frontier.run_frontier(replace(b2, epochs=2), "synthetic:64,16", out,
                              parts=("accuracy",), update=True)


def test_bench_frontier_refuses_bad_options(tmp_path, capsys):
    for argv, words in ((["--setting", "9x9"], "'9x9' is not known"),
                        (["--only", "speed"], "invalid choice")):
        with pytest.raises(SystemExit) as e:
            bench_frontier.main([*argv, "--out", str(tmp_path / "x")])
        assert e.value.code == 2
        assert words in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_photo_frontier_refuses_bad_options(tmp_path, capsys):
    import bench_frontier_photos

    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "photos.json").write_text("{}")
    for argv, words in ((["--setting", "8x8"], "'8x8' is not known"),
                        (["--images", "0"], "--images 0"),
                        (["--out", str(tmp_path / "old")], "--overwrite")):
        with pytest.raises(SystemExit) as e:
            bench_frontier_photos.main(["--out", str(tmp_path / "new"), *argv])
        assert e.value.code == 2
        assert words in capsys.readouterr().err


@pytest.mark.slow
def test_bench_frontier_model_option_trains_only_that_model(tmp_path, capsys):
    out = tmp_path / "f"
    assert bench_frontier.main(["--budget", "smoke", "--setting", "8x8", "--only", "accuracy",
                                "--n-train", "64", "--model", "blockset-narrow",
                                "--out", str(out)]) == 0
    rows = json.loads((out / "frontier.json").read_text())["rows"]
    assert [(r["setting"], r["model"]) for r in rows] == [("8x8", "blockset-narrow")]
    with pytest.raises(SystemExit) as e:
        bench_frontier.main(["--model", "vgg", "--out", str(tmp_path / "y")])
    assert e.value.code == 2 and "invalid choice: 'vgg'" in capsys.readouterr().err
    assert not (tmp_path / "y").exists()
