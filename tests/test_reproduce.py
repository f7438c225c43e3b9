"""The reproduction harness end to end in its CPU smoke mode."""

import csv
import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from experiments.cli import main
from experiments.splits import reproduce_source
from keys.master import fingerprint

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


# --- same command, same results; bad input leaves nothing behind ---------------------------

ONE = ["--source", "synthetic", "--condition", "encrypted", "--keep-data", "--n-train", "64",
       "--n-holdout", "32", "--n-test", "32", "--batch-size", "32"]


def test_same_seed_same_encrypted_data_and_rows(tmp_path):
    a, _ = run(tmp_path / "a", *ONE)
    b, _ = run(tmp_path / "b", *ONE)
    assert (a / "data" / "encrypted.h5").read_bytes() == (b / "data" / "encrypted.h5").read_bytes()
    assert (a / "results.csv").read_text() == (b / "results.csv").read_text()
    c, _ = run(tmp_path / "c", *ONE, "--seed", "1")
    assert (a / "data" / "encrypted.h5").read_bytes() != (c / "data" / "encrypted.h5").read_bytes()


def test_key_file_replaces_the_seed_key(tmp_path, key_file):
    from experiments.reproduce import run_key

    a, _ = run(tmp_path / "a", *ONE, "--key", str(key_file))
    with h5py.File(a / "data" / "encrypted.h5") as f:
        assert f.attrs["key_fingerprint"] == fingerprint(key_file_bytes(key_file))
        assert f.attrs["key_fingerprint"] != fingerprint(run_key(0))


def key_file_bytes(path):
    from keys.master import load_key

    return load_key(path)


@pytest.mark.parametrize("args, needle", [
    (["--n-train", "100000"], "--n-train"),
    (["--source", "cifar10", "--data-dir", "{tmp}/nowhere"], "nowhere"),
    (["--n-test", "0"], "--n-test 0"),
    (["--n-test", "99999"], "--n-test 99999"),
    (["--batch-size", "-1"], "--batch-size -1"),
    (["--batch-size", "301"], "--batch-size 301"),
    (["--epochs", "0"], "--epochs 0"),
    (["--jobs", "0"], "--jobs 0"),
    (["--device", "tpu"], "'tpu'"),
])
def test_bad_options_leave_nothing_behind(tmp_path, args, needle):
    args = [a.format(tmp=tmp_path) for a in args]
    r = CliRunner().invoke(main, ["--smoke", "--source", "synthetic", "--out",
                                  str(tmp_path / "r"), *args])
    assert r.exit_code == 1 and needle in r.output and "Traceback" not in r.output, r.output
    assert not (tmp_path / "r").exists()


def test_a_failed_run_removes_its_folder(tmp_path, monkeypatch):
    from trainer.errors import TrainError

    def broken(*args, **kwargs):
        raise TrainError("out of memory, say")

    monkeypatch.setattr("experiments.reproduce._train", broken)
    r = CliRunner().invoke(main, ["--smoke", "--source", "synthetic", "--out",
                                  str(tmp_path / "r")])
    assert r.exit_code == 1 and "out of memory" in r.output
    assert not (tmp_path / "r").exists()


def test_split_labels_carry_no_counts():
    from experiments.splits import SPLIT_ROLES

    assert not any(ch.isdigit() for label in SPLIT_ROLES.values() for ch in label)
