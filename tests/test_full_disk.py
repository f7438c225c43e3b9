"""A full disk, for real (a 2 MiB tmpfs; skipped where it cannot be mounted): every writer gives
one ``Error:`` line naming the path and the space it needs, exit status 1, and leaves nothing
behind; HDF5's chunked, filtered and JPEG write paths never crash. The commands run as separate
processes, so that a crash shows as one instead of taking the tests with it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def _run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=ENV,
                          timeout=300)


def _one_error(r: subprocess.CompletedProcess, *words: str) -> str:
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("Error:")]
    assert r.returncode == 1 and len(errors) == 1, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and "Segmentation" not in r.stderr, r.stderr
    for w in words:
        assert w in errors[0], (w, errors[0])
    return errors[0]


def _fill(disk: Path, leave: int = 0) -> None:
    """Fill ``disk`` up to ``leave`` free bytes with one file."""
    import shutil

    free = shutil.disk_usage(disk).free - leave
    with open(disk / "filler", "wb") as f:
        try:
            f.write(bytes(max(0, free)))
        except OSError:
            pass


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("full")
    assert _run(BIN / "bs-encrypt", "keygen", "--out", d / "k.key").returncode == 0
    r = _run(BIN / "bs-encrypt", "dataset", "--source", "synthetic", "--limit", "40",
             "--n-keys", "2", "--seed", "1", "--jobs", "1", "--quiet", "--key", d / "k.key",
             "--out", d / "enc.h5")
    assert r.returncode == 0, r.stderr
    return d


@pytest.mark.parametrize("out, extra", [
    ("enc.h5", ["--compression", "gzip"]),
    ("enc.h5", ["--compression", "gzip", "--batch-size", "50"]),
    ("enc/", ["--compression", "gzip"]),
    ("enc.h5", ["--compression", "lzf"]),
    ("enc.h5", ["--store", "jpeg", "--compression", "gzip", "--batch-size", "50"]),
])
def test_compressed_output_on_a_full_disk_is_one_line(made, full_disk, out, extra):
    r = _run(BIN / "bs-encrypt", "dataset", "--source", "synthetic", "--limit", "400",
             "--seed", "1", "--jobs", "1", "--quiet", "--key", made / "k.key",
             "--out", f"{full_disk}/{out}", *extra)
    _one_error(r, "no space left on the disk of", str(full_disk / out.rstrip("/")),
               "needs up to 6.1 MiB", "free")
    assert list(full_disk.iterdir()) == []


def test_clean_partial_deletes_before_the_space_check(made, full_disk):
    stale = full_disk / ".enc.h5.0badc0de.partial"
    _fill(full_disk)
    (full_disk / "filler").rename(stale)
    r = _run(BIN / "bs-encrypt", "dataset", "--source", "synthetic", "--limit", "40",
             "--seed", "1", "--jobs", "1", "--quiet", "--key", made / "k.key",
             "--out", full_disk / "enc.h5", "--clean-partial")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in full_disk.iterdir()) == ["enc.h5"]


def test_decrypt_on_a_full_disk_names_the_path_and_size(made, full_disk):
    r = _run(BIN / "bs-encrypt", "decrypt", made / "enc.h5", "--key", made / "k.key",
             "--out", full_disk / "plain.npz")  # 40 images of one copy
    assert r.returncode == 0, r.stderr
    (full_disk / "plain.npz").unlink()
    _fill(full_disk, leave=16 << 10)
    r = _run(BIN / "bs-encrypt", "decrypt", made / "enc.h5", "--key", made / "k.key",
             "--out", full_disk / "plain.npz")
    _one_error(r, f"no space left on the disk of {full_disk / 'plain.npz'}",
               "writing it needs 122.0 KiB")
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]


def test_bs_train_on_a_full_disk_leaves_no_run_folder(made, full_disk):
    _fill(full_disk, leave=8 << 10)
    run = full_disk / "run"
    r = _run(BIN / "bs-train", made / "enc.h5", "--out", run, "--epochs", "1",
             "--batch-size", "40", "--model", "blockset-narrow", "--no-progress", "--device",
             "cpu", "--threads", "1")
    line = _one_error(r, "no space left on the disk of", str(run), "writing it needs")
    assert "needs 0.0" not in line and "free" in line
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]


def test_bs_predict_on_a_full_disk_names_the_path_and_size(made, full_disk, tmp_path):
    run = tmp_path / "run"
    r = _run(BIN / "bs-train", made / "enc.h5", "--out", run, "--epochs", "1",
             "--batch-size", "40", "--model", "blockset-narrow", "--no-progress", "--device",
             "cpu", "--threads", "1")
    assert r.returncode == 0, r.stderr
    _fill(full_disk, leave=0)
    r = _run(BIN / "bs-predict", run, made / "enc.h5", "--out", full_disk / "p.csv",
             "--device", "cpu")
    _one_error(r, "no space left on the disk of", str(full_disk), "writing it needs")
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]
