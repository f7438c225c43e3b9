"""The reproduction harness end to end in its CPU smoke mode."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from experiments.cli import main
from experiments.splits import reproduce_source

SHARED_CIFAR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10"

KEY = bytes(range(100, 132))


def run(tmp_path, *args):
    result = CliRunner().invoke(main, ["--smoke", "--no-progress", "--out", str(tmp_path / "r"),
                                       *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return tmp_path / "r", result.output


def test_smoke_synthetic_all_conditions(tmp_path, monkeypatch):
    monkeypatch.setattr("experiments.reproduce.run_key", lambda seed: KEY)
    out, text = run(tmp_path, "--source", "synthetic")
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert {r["condition"] for r in rows} == {"plain", "encrypted", "plain_aug", "encrypted_aug"}
    assert {r["split"] for r in rows} == {"test", "holdout"}
    for r in rows:
        assert 0.0 <= float(r["acc"]) <= 1.0 and 0.0 <= float(r["acc_tta"]) <= 1.0
    record = json.loads((out / "run.json").read_text())
    assert record["device"] and record["versions"]["torch"] and record["wall_s"] > 0
    assert record["splits"]["train"]["images"] == 300
    for name in ("results.md", "fig3_accuracy.png", "fig2_samples.png"):
        assert (out / name).stat().st_size > 0
    assert "exact test images (headline)" in text
    # the run's key stays in memory: no file of the run holds it, and the data files are gone
    for f in out.rglob("*"):
        if f.is_file():
            blob = f.read_bytes()
            assert KEY not in blob and KEY.hex().encode() not in blob
    assert not list(out.rglob("*.h5"))


def test_results_are_not_overwritten(tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "results.csv").write_text("keep")
    r = CliRunner().invoke(main, ["--smoke", "--source", "synthetic", "--out", str(out)])
    assert r.exit_code != 0 and "--overwrite" in r.output
    assert (out / "results.csv").read_text() == "keep"


def test_bad_condition_and_sizes(tmp_path):
    r = CliRunner().invoke(main, ["--smoke", "--source", "synthetic", "--n-holdout", "0",
                                  "--out", str(tmp_path / "x")])
    assert r.exit_code == 1 and "--n-holdout 0" in r.output
    r = CliRunner().invoke(main, ["--condition", "sideways"])
    assert r.exit_code != 0 and "sideways" in r.output


def test_synthetic_splits_are_disjoint():
    src = reproduce_source("synthetic:1000,200", n_holdout=100)
    train, hold = src.splits["train"], src.splits["holdout"]
    assert train.n == 900 and hold.n == 100
    assert np.array_equal(hold.read(0, 100), src.splits["train"].base.read(900, 1000))
    assert "test_all" not in src.splits  # every synthetic test image is exact


@pytest.mark.skipif(not (SHARED_CIFAR / "unpack.py").exists(),
                    reason="offline CIFAR-10 copy not present")
def test_smoke_cifar10(tmp_path):
    src = reproduce_source("cifar10", data_dir=str(SHARED_CIFAR), n_test=100)
    assert src.splits["test"].exact.all() and src.splits["holdout"].n == 5000
    assert src.splits["train"].n == 45000 and not src.splits["test_all"].exact.all()
    out, _ = run(tmp_path, "--data-dir", str(SHARED_CIFAR), "--condition", "encrypted_aug")
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert [r["split"] for r in rows] == ["test", "holdout", "test_all"]
    assert rows[0]["images"] == "100" and rows[2]["images"] == "1000"
