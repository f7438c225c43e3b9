"""What bs-train says at start-up: the long-run warning, plain vs scrambled data, threads."""

import json

from click.testing import CliRunner

from trainer.cli import main
from trainer.estimate import estimate_seconds, long_run_warning


def test_estimate_tells_days_from_minutes():
    paper = long_run_warning("resnet18", "cpu", 45000, 250, threads=2)
    assert paper is not None and "days" in paper and "--model resnet18-narrow" in paper
    assert "--limit-train 10000" in paper
    assert 40 * 3600 < estimate_seconds("resnet18", "cpu", 45000, 250) < 100 * 3600
    assert long_run_warning("resnet18-narrow", "cpu", 5000, 5) is None  # the demo: minutes
    assert long_run_warning("resnet18", "cuda", 45000, 250) is None
    big = estimate_seconds("resnet18", "cpu", 1000, 1, image_hw=(224, 224))
    assert big > estimate_seconds("resnet18", "cpu", 1000, 1)


def test_startup_lines(tmp_path, key_file, run_cli, monkeypatch):
    data = tmp_path / "plain.h5"
    r = run_cli("dataset", "--source", "synthetic", "--limit", "64", "--no-scramble", "--quiet",
                "--n-keys", "1", "--out", data)
    assert r.exit_code == 0, r.output
    monkeypatch.setattr("trainer.estimate.LONG_RUN_S", 0.0)
    r = CliRunner().invoke(main, [str(data), "--out", str(tmp_path / "run"), "--epochs", "1",
                                  "--batch-size", "32", "--model", "resnet18-narrow",
                                  "--device", "cpu", "--no-progress", "--threads", "1"])
    assert r.exit_code == 0, r.output
    assert "plain (not scrambled)" in r.output and "blocks 8x8" not in r.output
    assert "warning: 1 epoch of resnet18-narrow on 64 images may take about" in r.output
    assert "CPU with 1 thread " in r.output
    assert "memory: about" in r.output and "available" in r.output  # the peak estimate
    config = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    assert config["threads"] == 1
