"""gpu-check and the frontier benchmark, at their smoke budget on the CPU (no GPU needed)."""

import json

import numpy as np
import pytest

from experiments import gpu_check
from experiments.cifar import cifar_source


def test_gpu_check_smoke_writes_one_folder(tmp_path, capsys):
    out = tmp_path / "check"
    assert gpu_check.main(["--smoke", "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert [r["compile"] for r in s["throughput"]] == [False]  # compiling on a CPU: minutes
    assert all(r["images_per_s"] > 0 for r in s["throughput"])
    rows = s["frontier"]["rows"]
    assert {r["setting"] for r in rows} == {"8x8", "plain", "plain (8x8 grid)"}
    assert all(0 <= r["acc_tta"] <= 1 and 0 <= r["neighbour"] <= 1 for r in rows)
    for name in ("summary.md", "frontier.md", "frontier.csv", "frontier.png"):
        assert (out / name).stat().st_size > 0
    assert not list(out.rglob("*.h5")), "encrypted files are not results"
    assert not list(out.rglob("*.key")), "no key is written"
    with pytest.raises(SystemExit) as e:  # no silent overwrite
        gpu_check.main(["--smoke", "--out", str(out)])
    assert e.value.code == 2
    assert "--overwrite" in capsys.readouterr().err


def test_gpu_check_needs_data_and_a_gpu(tmp_path, capsys):
    with pytest.raises(SystemExit):
        gpu_check.main(["--out", str(tmp_path / "x")])
    assert "DATA is missing" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        gpu_check.main([str(tmp_path), "--smoke", "--out", str(tmp_path / "x")])
    assert "neither cifar10_train.npz" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_cifar_source_reads_one_train_sheet(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (2 * 32, 250 * 32, 3), dtype=np.uint8)).save(
        tmp_path / "train_half1.webp", lossless=True)
    Image.fromarray(rng.integers(0, 256, (20 * 32, 50 * 32, 3), dtype=np.uint8)).save(
        tmp_path / "test_first1000.webp", lossless=True)
    np.savez(tmp_path / "labels.npz", class_names=np.array([f"c{k}" for k in range(10)]),
             train_labels=np.arange(50_000) % 10, test_labels=np.arange(10_000) % 10)
    spec = cifar_source(tmp_path, tmp_path / "work")
    train = np.load(tmp_path / "work" / "cifar10_train.npz")
    assert spec.startswith("npz:") and train["images"].shape == (500, 32, 32, 3)
    sheet = np.asarray(Image.open(tmp_path / "train_half1.webp"))
    np.testing.assert_array_equal(train["images"][251], sheet[32:64, 32:64])
    assert np.load(tmp_path / "work" / "cifar10_test.npz")["exact"].all()
