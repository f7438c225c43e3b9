"""The public API of ``trainer`` for a cloud team's own loop: the streamed dataset, and the
example of docs/TRAINING.md run exactly as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from test_trainer_files import write_file
from torch.utils.data import DataLoader

import trainer
from encrypt_tool.cli import main as encrypt_main
from trainer.errors import TrainError
from trainer.plan import epoch_plan
from trainer.source import describe, load_split

REPO = Path(__file__).resolve().parents[1]


def _example() -> str:
    """The Python block of the section "Your own training loop" of docs/TRAINING.md."""
    text = (REPO / "docs" / "TRAINING.md").read_text()
    section = text.split("## Your own training loop", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_documented_example_runs(tmp_path):
    """The example trains a torchvision model on data/demo.h5: here a small synthetic file."""
    code = _example()
    assert len(code.splitlines()) <= 20 and "num_workers=2" in code
    (tmp_path / "data").mkdir()
    run = CliRunner().invoke
    assert run(encrypt_main, ["keygen", "--out", str(tmp_path / "k.key")]).exit_code == 0
    r = run(encrypt_main, ["dataset", "--source", "synthetic", "--limit", "64", "--n-keys", "2",
                           "--key", str(tmp_path / "k.key"), "--quiet",
                           "--out", str(tmp_path / "data" / "demo.h5")])
    assert r.exit_code == 0, r.output
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stderr
    assert re.fullmatch(r"test accuracy \d+\.\d% on the encrypted test images\n", p.stdout)


def test_api_is_listed_and_cheap_to_import():
    code = ("import sys, trainer; print(sorted(trainer.__all__)); "
            "print('torch' in sys.modules)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[1] == "False"
    for name in trainer.__all__:
        assert getattr(trainer, name) is not None
    assert "open_images" in trainer.__all__ and "build_model" in trainer.__all__
    with pytest.raises(AttributeError):
        trainer.nothing  # noqa: B018


def _epoch(ds, workers: int) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for x, y in DataLoader(ds, batch_size=16, num_workers=workers):
        assert x.dtype == torch.float32 and x.shape[1:] == (3, 32, 32) and y.dtype == torch.int64
        xs.append(x)
        ys.append(y)
    mean, std = (torch.tensor(v)[:, None, None] for v in ds.stats)
    x = (torch.cat(xs) * std + mean) * 255  # back to (n, C, H, W) pixel values
    return x.round().to(torch.uint8).permute(0, 2, 3, 1).numpy(), torch.cat(ys).numpy()


def _keys(x: np.ndarray, y: np.ndarray) -> list[bytes]:
    return sorted(a.tobytes() + bytes([b]) for a, b in zip(x, y, strict=True))


@pytest.mark.parametrize("workers", [0, 2])
def test_each_epoch_is_one_copy_of_every_image(tmp_path, workers):
    """With 0 or 2 DataLoader workers an epoch holds image j once, as its copy s_j(epoch)."""
    path = write_file(tmp_path / "d.h5", n_train=600, n_test=8, n_copies=3, shard_size=250)
    ds = trainer.open_images(path, seed=5)
    ds.stream.chunk = 100  # several chunks, so that both workers read some
    images, labels = load_split(describe(str(path), "train"))  # (n, N, H, W, C), (n,)
    seen = []
    for epoch in (0, 1):
        ds.set_epoch(epoch)
        x, y = _epoch(ds, workers)
        s = epoch_plan(5, epoch, 600, 3).copies
        assert len(y) == len(ds) == 600
        assert _keys(x, y) == _keys(images[np.arange(600), s], labels)
        seen.append(_keys(x, y))
    assert seen[0] != seen[1]  # a new random copy per epoch


def test_normalised_with_the_training_stats(tmp_path):
    path = write_file(tmp_path / "d.h5", n_train=64, n_test=32)
    train = trainer.open_images(path)
    test = trainer.open_images(path, "test", stats=train.stats)
    assert test.stats == train.stats and not test.stream.shuffle and train.stream.shuffle
    x = torch.stack([x for x, _ in train])  # (n, C, H, W)
    assert x.mean((0, 2, 3)).abs().max() < 0.05 and (x.std((0, 2, 3)) - 1).abs().max() < 0.05
    with pytest.raises(TrainError, match="3 means and 3 positive stds"):
        trainer.open_images(path, stats=([0.5], [0.5]))


def test_streaming_a_limited_split_reads_its_chosen_rows(tmp_path):
    """``--limit-train K --data stream`` streams the K stratified rows that memory holds."""
    from trainer.stream import ShardStream

    path = write_file(tmp_path / "d.h5", n_train=300, n_test=8, n_copies=2, shard_size=70)
    split = describe(str(path), "train", limit=60, seed=3)
    images, labels = load_split(split)  # (60, N, H, W, C): the chosen rows
    s = epoch_plan(0, 0, 60, 2).copies
    x, y = (torch.cat(t).numpy() for t in zip(*ShardStream(split, 16, chunk=25), strict=True))
    assert _keys(x, y) == _keys(images[np.arange(60), s], labels)
