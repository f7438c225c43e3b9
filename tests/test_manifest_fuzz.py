"""Fuzz the manifest of a shard folder: swap, reorder and remove entries, edit ranges, swap shard
files on disk. Every reader (decrypt, inspect --verify, bs-train, bs-predict) refuses each edit
with exit status 1 and exactly one ``Error:`` line naming the shard, before using an image."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from encrypt_tool.cli import main as encrypt_main
from trainer.cli import main as train_main
from trainer.config import TrainConfig
from trainer.predict_cli import main as predict_main
from trainer.train import train

CASES = 24
SHARD = re.compile(r"\b(train|test)-\d{5}\.h5\b")


def _invoke(main, *args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """A key, a shard folder (30 + 30 images in shards of 8: 4 + 4 shards) and a run on it."""
    d = tmp_path_factory.mktemp("mfuzz")
    assert _invoke(encrypt_main, "keygen", "--out", d / "k.key").exit_code == 0
    r = _invoke(encrypt_main, "dataset", "--source", "synthetic", "--limit", "30", "--n-keys",
                "2", "--shard-size", "8", "--seed", "1", "--jobs", "1", "--quiet",
                "--key", d / "k.key", "--out", f"{d}/enc/")
    assert r.exit_code == 0, r.output
    train(TrainConfig(data=str(d / "enc"), out=str(d / "run"), epochs=1, batch_size=30,
                      model="blockset-narrow", progress=False, device="cpu", threads=1))
    return d


def _swap_fields(shards, rng, fields=("name", "sha256", "bytes")) -> None:
    i, j = rng.choice(len(shards), 2, replace=False)
    for k in fields:
        shards[i][k], shards[j][k] = shards[j][k], shards[i][k]


def _edit(folder: Path, kind: str, rng: np.random.Generator) -> None:
    """Apply one edit of ``kind`` to ``folder``'s manifest (and, for 'files', its shards)."""
    path = folder / "manifest.json"
    m = json.loads(path.read_text())
    shards = m["shards"]
    if kind == "swap":  # the issue's case: two entries' name, sha256 and bytes exchanged
        _swap_fields(shards, rng)
    elif kind == "reorder":
        first = [s["name"] for s in shards]
        while [s["name"] for s in shards] == first:
            rng.shuffle(shards)
    elif kind == "remove":
        del shards[int(rng.integers(len(shards)))]
    elif kind == "range":
        e = shards[int(rng.integers(len(shards)))]
        field = ["start", "stop", "count"][int(rng.integers(3))]
        e[field] += int(rng.choice([-3, -1, 1, 2, 8]))
    elif kind == "ranges-swapped":  # entries keep their files but exchange ranges
        i = int(rng.integers(len(shards) - 1))
        j = i + 1 if shards[i]["split"] == shards[i + 1]["split"] else i - 1
        for k in ("start", "stop", "count"):
            shards[i][k], shards[j][k] = shards[j][k], shards[i][k]
    elif kind == "files":  # two shard files swapped on disk, the manifest's checksums with them
        names = [s["name"] for s in shards if s["split"] == "train"][:3]
        a, b = rng.choice(names, 2, replace=False)
        (folder / a).rename(folder / "tmp")
        (folder / b).rename(folder / a)
        (folder / "tmp").rename(folder / b)
        ea, eb = (next(s for s in shards if s["name"] == n) for n in (a, b))
        for k in ("sha256", "bytes"):
            ea[k], eb[k] = eb[k], ea[k]
    path.write_text(json.dumps(m, indent=1))


KINDS = ("swap", "reorder", "remove", "range", "ranges-swapped", "files")


def _commands(d: Path, f: Path, out: Path) -> dict[str, tuple]:
    key = d / "k.key"
    return {
        "inspect": (encrypt_main, "inspect", "--verify", f),
        "decrypt": (encrypt_main, "decrypt", f, "--key", key, "--out", out / "p.npz"),
        "bs-train": (train_main, f, "--out", out / "run", "--epochs", "1", "--batch-size", "30",
                     "--model", "blockset-narrow", "--no-progress", "--device", "cpu",
                     "--threads", "1"),
        "bs-predict": (predict_main, d / "run", f, "--out", out / "p.csv", "--device", "cpu"),
    }


@pytest.mark.parametrize("case", range(CASES))
def test_edited_manifest_is_refused_naming_the_shard(clean, tmp_path, case):
    kind = KINDS[case % len(KINDS)]
    rng = np.random.default_rng(2300 + case)
    f = tmp_path / "enc"
    shutil.copytree(clean / "enc", f)
    _edit(f, kind, rng)
    names = ("inspect", "decrypt", "bs-train", "bs-predict") if case < len(KINDS) else (
        "inspect", "decrypt")
    for name in names:
        out = tmp_path / name
        out.mkdir()
        main, *args = _commands(clean, f, out)[name]
        r = _invoke(main, *args)
        errors = [ln for ln in r.output.splitlines() if ln.startswith("Error:")]
        assert r.exit_code == 1 and len(errors) == 1, (name, kind, r.output)
        assert SHARD.search(errors[0]), (name, kind, errors[0])
        assert "Traceback" not in r.output and list(out.iterdir()) == [], (name, kind)


def test_unedited_folder_reads(clean, tmp_path):
    r = _invoke(encrypt_main, "inspect", "--verify", clean / "enc")
    assert r.exit_code == 0, r.output
