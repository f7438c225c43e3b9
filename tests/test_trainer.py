"""The trainer on small synthetic bs-encrypt files: learning, copy choices, TTA, resume, data
paths, and clear errors for bad input."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from test_trainer_files import write_file

from trainer.cli import main
from trainer.config import TrainConfig
from trainer.data import MemoryLoader
from trainer.model import build_model
from trainer.plan import epoch_plan, rank_batches, window_order
from trainer.source import describe
from trainer.stream import ShardStream, StreamLoader
from trainer.train import evaluate, predict, summarise, train

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def enc(tmp_path_factory) -> Path:
    return write_file(tmp_path_factory.mktemp("data") / "enc.h5")


def tiny(data: Path, out: Path, **kw) -> TrainConfig:
    base = dict(data=str(data), out=str(out), epochs=2, batch_size=32, model="resnet18-narrow",
                progress=False, device="cpu")
    return TrainConfig(**{**base, **kw})


# --- learning, end to end ---------------------------------------------------------------


def test_tiny_run_learns_and_writes_run_dir(enc, tmp_path):
    result = train(tiny(enc, tmp_path / "run", epochs=3))
    assert result["final_test_acc"] > 0.6, result  # chance is 0.25
    assert result["best_test_acc_tta"] >= result["final_test_acc_tta"]
    for name in ("config.json", "metrics.csv", "last.pt", "best.pt"):
        assert (tmp_path / "run" / name).is_file()
    rows = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert {"test_acc", "test_acc_tta", "test_loss", "images_per_s"} <= set(rows[0])


# --- copy choices -----------------------------------------------------------------------


def test_same_seed_same_copy_choices():
    a, b = epoch_plan(7, 3, 1000, 4), epoch_plan(7, 3, 1000, 4)
    assert np.array_equal(a.copies, b.copies) and np.array_equal(a.order, b.order)
    c = epoch_plan(7, 4, 1000, 4)
    assert not np.array_equal(a.copies, c.copies) and not np.array_equal(a.order, c.order)
    assert not np.array_equal(a.copies, epoch_plan(8, 3, 1000, 4).copies)
    assert sorted(a.order) == list(range(1000)) and a.copies.min() >= 0 and a.copies.max() < 4


def test_every_copy_used_over_epochs():
    used = np.zeros((200, 4), bool)
    for epoch in range(40):
        p = epoch_plan(0, epoch, 200, 4)
        used[np.arange(200), p.copies] = True
    assert used.all()


def test_memory_loader_one_copy_of_each_image_per_epoch(enc):
    split = describe(enc, "train")
    loader = MemoryLoader(split, torch.device("cpu"), batch_size=32, seed=5)
    images, _ = loader.images.numpy(), loader.labels.numpy()
    for epoch in (0, 1):
        xs = torch.cat([x for x, _ in loader.batches(epoch)]).numpy()  # (n, H, W, C)
        p = epoch_plan(5, epoch, split.n_images, split.n_copies)
        assert np.array_equal(xs, images[p.order, p.copies[p.order]])


def test_stream_gives_the_same_copies_once_each(enc):
    split = describe(enc, "train")
    stream = ShardStream(split, batch_size=32, seed=5, chunk=40, window=2)
    stream.set_epoch(1)
    xs = torch.cat([x for x, _ in stream]).numpy()
    ys = torch.cat([y for _, y in stream]).numpy()
    mem = MemoryLoader(split, torch.device("cpu"), batch_size=32, seed=5)
    idx = np.concatenate(stream.groups())
    assert sorted(idx) == list(range(split.n_images))
    p = epoch_plan(5, 1, split.n_images, split.n_copies)
    assert np.array_equal(xs, mem.images.numpy()[idx, p.copies[idx]])
    assert np.array_equal(ys, mem.labels.numpy()[idx])


def test_stream_with_worker_processes_covers_the_epoch(enc):
    split = describe(enc, "train")
    loader = StreamLoader(split, torch.device("cpu"), batch_size=32, seed=1, workers=2)
    ys = torch.cat([y for _, y in loader.batches(0)]).numpy()
    assert len(ys) == split.n_images
    assert np.array_equal(np.bincount(ys), np.bincount(describe_labels(enc)))


def describe_labels(path: Path) -> np.ndarray:
    with h5py.File(path) as f:
        g = f["train"]
        return np.concatenate([g[k]["labels"][()] for k in sorted(g)])


def test_stream_ranks_take_disjoint_parts_with_equal_batch_counts(enc):
    split = describe(enc, "train", limit=250)
    parts = []
    for rank in range(2):
        stream = ShardStream(split, batch_size=32, seed=4, chunk=30, window=3, rank=rank, world=2)
        parts.append([y for _, y in stream])
    assert len(parts[0]) == len(parts[1])
    single = torch.cat([y for _, y in ShardStream(split, 32, seed=4, chunk=30, window=3)])
    both = torch.cat([torch.cat(p) for p in parts])
    assert len(both) == 250 and torch.equal(both.sort().values, single.sort().values)


def test_window_order_is_a_permutation():
    groups = window_order(3, 0, 1000, chunk=64, window=4)
    assert sorted(np.concatenate(groups)) == list(range(1000))
    assert len(groups) == -(-16 // 4)


def test_ranks_split_each_batch_disjointly():
    order = epoch_plan(0, 0, 103, 2).order
    parts = [rank_batches(order, 8, r, 2) for r in range(2)]
    assert len(parts[0]) == len(parts[1])
    got = np.concatenate([np.concatenate(p) for p in parts])
    assert set(got) == set(order) and len(got) == 104  # one image repeated to even out


# --- model and evaluation ---------------------------------------------------------------


def test_model_stems():
    small = build_model("resnet18-narrow", 10, (32, 32, 3))
    assert small(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert small[0].kernel_size == (3, 3) and small[0].stride == (1, 1)
    large = build_model("resnet18-narrow", 5, (224, 224, 3))
    assert large[0].kernel_size == (7, 7) and isinstance(large[3], torch.nn.MaxPool2d)
    full = build_model("resnet18", 10, (32, 32, 3))
    assert sum(p.numel() for p in full.parameters()) == 11_173_962  # CIFAR ResNet-18


def test_tta_is_the_mean_of_the_two_predictions():
    torch.manual_seed(0)
    model = build_model("resnet18-narrow", 4, (32, 32, 3)).eval()
    x, y = torch.randn(6, 3, 32, 32), torch.tensor([0, 1, 2, 3, 0, 1])
    with torch.no_grad():
        p, pf = model(x).softmax(1), model(x.flip(3)).softmax(1)
    torch.testing.assert_close(predict(model, x, tta=True), (p + pf) / 2)
    torch.testing.assert_close(predict(model, x), p)
    m = summarise(evaluate(model, [(x, y)]))
    assert m["acc"] == pytest.approx(float((p.argmax(1) == y).float().mean()))
    assert m["acc_tta"] == pytest.approx(float(((p + pf).argmax(1) == y).float().mean()))
    assert m["loss_tta"] == pytest.approx(float(-((p + pf) / 2)[range(6), y].log().mean()), 1e-5)


# --- bad input: clear errors, no traceback ----------------------------------------------


def run_cli(*args) -> tuple[int, str]:
    r = CliRunner().invoke(main, [str(a) for a in args] + ["--no-progress", "--device", "cpu"])
    return r.exit_code, r.output


def assert_clean_error(code: int, output: str, *words: str) -> None:
    assert code != 0, output
    assert "Traceback" not in output and "Error:" in output, output
    for w in words:
        assert w in output, output


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    good = write_file(d / "good.h5", n_train=64, n_test=32)
    truncated = d / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    foreign = d / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.zeros(3)
    return {
        "good": good, "truncated": truncated, "foreign": foreign,
        "incomplete": write_file(d / "incomplete.h5", n_train=64, complete=False),
        "blocks": write_file(d / "blocks.h5", n_train=64, n_test=32, block=4),
        "size": write_file(d / "size.h5", n_train=64, n_test=32, size=16),
        "classes": write_file(d / "classes.h5", n_train=64, n_test=32, n_classes=5),
        "empty": write_file(d / "empty.h5", n_train=0, n_test=32),
        "notest": write_file(d / "notest.h5", n_train=64, splits=("train",)),
    }


@pytest.mark.parametrize("name, words", [
    ("missing", ["does not exist"]),
    ("truncated", ["truncated"]),
    ("foreign", ["not a bs-encrypt file"]),
    ("incomplete", ["not complete"]),
    ("empty", ["empty"]),
    ("notest", ["no 'test' split"]),
])
def test_bad_file_is_a_clear_error(bad_files, tmp_path, name, words):
    path = bad_files.get(name, tmp_path / "missing.h5")
    assert_clean_error(*run_cli(path, "--out", tmp_path / "run"), *words)


@pytest.mark.parametrize("name, words", [
    ("blocks", ["block size"]), ("size", ["image shape"]), ("classes", ["n classes"]),
])
def test_mismatched_test_file_is_a_clear_error(bad_files, tmp_path, name, words):
    code, out = run_cli(bad_files["good"], "--test", bad_files[name], "--out", tmp_path / "r")
    assert_clean_error(code, out, *words)


def test_batch_larger_than_dataset_is_a_clear_error(bad_files, tmp_path):
    code, out = run_cli(bad_files["good"], "--batch-size", 65, "--out", tmp_path / "r")
    assert_clean_error(code, out, "batch size 65", "64 images")


def test_run_dir_and_resume_errors(bad_files, tmp_path):
    args = [bad_files["good"], "--out", tmp_path / "r", "--model", "resnet18-narrow",
            "--epochs", 1, "--batch-size", 32]
    code, out = run_cli(*args)
    assert code == 0, out
    assert "TrainConfig(" in out and "final (epoch 1)" in out
    assert_clean_error(*run_cli(*args), "already holds results", "--overwrite")
    code, out = run_cli(*args[:-1], 16, "--resume")
    assert_clean_error(code, out, "--batch-size 16", "--batch-size 32")
    assert_clean_error(*run_cli(*args[:2], tmp_path / "none", *args[3:], "--resume"),
                       "no previous run", "leave out --resume")
    (tmp_path / "r" / "last.pt").unlink()  # no epoch saved: resuming starts it again
    code, out = run_cli(*args, "--resume")
    assert code == 0 and "starts from epoch 1" in out and "final (epoch 1)" in out, out
    assert run_cli(*args, "--overwrite")[0] == 0


# --- the cloud side never sees the keys package ------------------------------------------


def test_trainer_never_imports_keys(tmp_path):
    script = f"""
import sys
from test_trainer_files import write_file
import trainer.cli, trainer.train, trainer.stream
from trainer.config import TrainConfig
path = write_file({str(tmp_path / 'k.h5')!r}, n_train=64, n_test=32)
trainer.train.train(TrainConfig(data=str(path), out={str(tmp_path / 'r')!r}, epochs=1,
    batch_size=32, model="resnet18-narrow", progress=False, device="cpu", data_mode="stream"))
assert "keys" not in sys.modules, [m for m in sys.modules if m.startswith("keys")]
print("ok")
"""
    path = os.pathsep.join([str(REPO / "tests"), os.environ.get("PYTHONPATH", "")])
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO,
                       env={**os.environ, "PYTHONPATH": path})
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stdout + r.stderr


def test_to_input_normalises_per_channel():
    from trainer.data import to_input

    x = torch.randint(0, 256, (5, 8, 8, 3), dtype=torch.uint8)
    mean, std = torch.tensor([0.2, 0.5, 0.7]), torch.tensor([0.1, 0.2, 0.3])
    want = (x.permute(0, 3, 1, 2).float() / 255 - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)
    for cl in (False, True):
        got = to_input(x, mean, std, channels_last=cl)
        torch.testing.assert_close(got, want)
    assert to_input(x, mean, std, channels_last=True).is_contiguous(
        memory_format=torch.channels_last)


# --- end to end with the real writer -----------------------------------------------------


def test_end_to_end_with_bs_encrypt_dataset(tmp_path):
    encrypt_cli = pytest.importorskip("encrypt_tool.cli")
    key_file = tmp_path / "fixed.key"  # a fixed key: the same data, so the same figure, every run
    key_file.write_text("5e" * 32 + "\n")
    key_file.chmod(0o600)
    out = tmp_path / "syn.h5"
    r = CliRunner().invoke(encrypt_cli.main, [
        "dataset", "--source", "synthetic", "--n-keys", "2", "--limit", "512", "--out", str(out),
        "--key", str(key_file), "--seed", "0", "--quiet", "--jobs", "1"])
    if r.exit_code != 0 or not out.exists():
        pytest.skip(f"bs-encrypt dataset --source synthetic is not available: {r.output[-300:]}")
    result = train(tiny(out, tmp_path / "run", epochs=6, batch_size=64))
    assert result["best_test_acc_tta"] > 0.2, result  # 10 classes: chance is 0.1


def test_stream_stops_cleanly_when_the_consumer_leaves_early(enc):
    stream = ShardStream(describe(enc, "train"), batch_size=8, chunk=16, window=1, prefetch=1)
    for i, _ in enumerate(stream):
        if i == 2:
            break  # the generator closes: the prefetch thread must end, not hang
    assert len(list(stream)) == 256 // 8


def test_trainer_imports_nothing_of_the_client_package():
    import ast

    for path in (REPO / "trainer").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] not in ("keys", "encrypt_tool"), (path, name)
