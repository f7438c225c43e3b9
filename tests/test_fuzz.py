"""Fuzz every reader: corrupt seeded byte ranges of a small finished file and run inspect,
decrypt, audit, bs-train and bs-predict on it. Each either works (the bytes hit pixels that no
check covers) or fails with exit status 1 and exactly one ``Error:`` line; never a traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from encrypt_tool.cli import main as encrypt_main
from trainer.cli import main as train_main
from trainer.config import TrainConfig
from trainer.predict_cli import main as predict_main
from trainer.train import train

CASES = 20
NAMES = ("inspect", "decrypt", "audit", "bs-train", "bs-predict")
HEAVY = ("audit", "bs-train", "bs-predict")  # seconds each: run on every fourth case only


def _invoke(main, *args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """A key, a small file (24 + 24 images, 2 copies, shards of 8) and a 1-epoch run on it."""
    d = tmp_path_factory.mktemp("fuzz")
    assert _invoke(encrypt_main, "keygen", "--out", d / "k.key").exit_code == 0
    r = _invoke(encrypt_main, "dataset", "--source", "synthetic", "--limit", "24", "--n-keys",
                "2", "--shard-size", "8", "--seed", "1", "--jobs", "1", "--quiet",
                "--key", d / "k.key", "--out", d / "enc.h5")
    assert r.exit_code == 0, r.output
    train(TrainConfig(data=str(d / "enc.h5"), out=str(d / "run"), epochs=1, batch_size=24,
                      model="blockset-narrow", progress=False, device="cpu", threads=1))
    return d


def _corrupt(src: Path, dst: Path, rng: np.random.Generator) -> tuple[int, int]:
    """Copy ``src`` to ``dst`` with one range of random bytes; half the cases aim at the
    metadata near the start (the 8-byte signature stays intact)."""
    data = bytearray(src.read_bytes())
    hi = 8192 if rng.random() < 0.5 else len(data)
    start = int(rng.integers(8, hi))
    n = int(rng.integers(1, 256))
    data[start:start + n] = rng.integers(0, 256, len(data[start:start + n]), np.uint8).tobytes()
    dst.write_bytes(bytes(data))
    return start, n


def _commands(d: Path, f: Path, out: Path) -> dict[str, tuple]:
    key = d / "k.key"
    return {
        "inspect": (encrypt_main, "inspect", "--verify", f, "--grid", out / "g.png",
                    "--samples", "3", "--key", key),
        "decrypt": (encrypt_main, "decrypt", f, "--key", key, "--out", out / "p.npz"),
        "audit": (encrypt_main, "audit", f, "--key", key, "--samples", "2", "--out",
                  out / "audit"),
        "bs-train": (train_main, f, "--out", out / "run", "--epochs", "1", "--batch-size", "24",
                     "--model", "blockset-narrow", "--no-progress", "--device", "cpu",
                     "--threads", "1"),
        "bs-predict": (predict_main, d / "run", f, "--out", out / "p.csv", "--device", "cpu"),
    }


@pytest.mark.parametrize("case", range(CASES))
def test_corrupted_file_gives_one_line_or_works(clean, tmp_path, case):
    rng = np.random.default_rng(1000 + case)
    f = tmp_path / "bad.h5"
    where = _corrupt(clean / "enc.h5", f, rng)
    for name in NAMES if case % 4 == 0 else [n for n in NAMES if n not in HEAVY]:
        out = tmp_path / name
        out.mkdir()
        main, *args = _commands(clean, f, out)[name]
        r = _invoke(main, *args)
        text = r.output
        assert r.exception is None or isinstance(r.exception, SystemExit), (
            name, where, repr(r.exception), text)
        assert "Traceback" not in text, (name, where, text)
        assert r.exit_code in (0, 1), (name, where, r.exit_code, text)
        if r.exit_code == 1:
            errors = [ln for ln in text.splitlines() if ln.startswith("Error:")]
            assert len(errors) == 1, (name, where, text)


def test_damaged_metadata_with_intact_signature_is_one_line(clean, tmp_path):
    """Overwrite the root group's attribute area: every reader names the file in one line."""
    f = tmp_path / "meta.h5"
    data = bytearray((clean / "enc.h5").read_bytes())
    data[48:2048] = bytes(2000)  # the superblock's signature (first 8 bytes) is kept
    f.write_bytes(bytes(data))
    for name, (main, *args) in _commands(clean, f, tmp_path).items():
        r = _invoke(main, *args)
        assert r.exit_code == 1, (name, r.output)
        errors = [ln for ln in r.output.splitlines() if ln.startswith("Error:")]
        assert len(errors) == 1 and "meta.h5" in errors[0], (name, r.output)
