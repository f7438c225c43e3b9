"""bs-train's run directory under faults: Ctrl-C and the printed resume command, a full disk,
too many threads, too little memory."""

from __future__ import annotations

import errno
import json
import shlex
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from test_trainer_files import write_file

import trainer.train as tt
from bsformat.files import atomic_write
from trainer import checkpoint as ckpt
from trainer.cli import main
from trainer.errors import TrainError
from trainer.estimate import MemoryEstimate, check_memory, peak_memory

TINY = ["--epochs", "2", "--batch-size", "32", "--model", "resnet18-narrow", "--device", "cpu",
        "--threads", "1", "--deterministic", "--seed", "3", "--no-progress"]


def bs_train(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line(result, *words: str) -> str:
    """Status 1, one ``Error:`` line on stderr naming ``words``, no traceback."""
    assert result.exit_code == 1, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def weights(run: Path) -> dict:
    return torch.load(run / "last.pt", weights_only=True)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_file(tmp_path_factory.mktemp("d") / "enc.h5", n_train=64, n_test=32)


@pytest.fixture(scope="module")
def full(data, tmp_path_factory) -> dict:
    """The uninterrupted run."""
    out = tmp_path_factory.mktemp("full") / "run"
    r = bs_train(data, "--out", out, *TINY)
    assert r.exit_code == 0, r.output
    return weights(out)


def interrupt_at(monkeypatch, epoch: int) -> None:
    """Ctrl-C at the start of epoch ``epoch`` (0-based), once."""
    real = tt._train_epoch

    def hook(net, run, batches, prepare, e, *rest):
        if e == epoch:
            monkeypatch.setattr(tt, "_train_epoch", real)
            raise KeyboardInterrupt
        return real(net, run, batches, prepare, e, *rest)

    monkeypatch.setattr(tt, "_train_epoch", hook)


@pytest.mark.parametrize("epoch", [1, 0])  # after the first epoch; before any epoch finished
def test_the_printed_resume_command_gives_the_uninterrupted_weights(data, full, tmp_path,
                                                                     monkeypatch, epoch):
    out = tmp_path / "my run"  # a space: the command must be quoted as printed
    interrupt_at(monkeypatch, epoch)
    r = bs_train(data, "--out", out, *TINY)
    assert r.exit_code == 130, r.output
    hint = r.stderr.strip().splitlines()[-1]
    assert hint.startswith("interrupted; continue with: bs-train --resume "), r.stderr
    left = sorted(p.name for p in out.iterdir())
    assert left == (["best.pt", "config.json", "last.pt", "metrics.csv"] if epoch else
                    ["config.json"])
    command = shlex.split(hint.split("continue with: ")[1])
    assert command[0] == "bs-train"
    monkeypatch.chdir(tmp_path / "..")  # from another folder: the run knows its own paths
    r = bs_train(*command[1:])
    assert r.exit_code == 0, r.output
    assert ("after epoch 1" if epoch else "starts from epoch 1") in r.output
    got = weights(out)
    assert got["epoch"] == full["epoch"] == 2
    for k in full["model"]:
        assert torch.equal(got["model"][k], full["model"][k]), k
    assert [m["test_loss"] for m in got["metrics"]] == [m["test_loss"] for m in full["metrics"]]


def test_interrupted_before_the_run_began_can_simply_start_again(data, tmp_path, monkeypatch):
    def stop(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(tt, "channel_stats", stop)
    r = bs_train(data, "--out", tmp_path / "run", *TINY)
    assert r.exit_code == 130 and "nothing was saved, so start it again" in r.stderr, r.output
    assert "--resume" not in r.stderr
    monkeypatch.undo()
    r = bs_train(data, "--out", tmp_path / "run", "--epochs", "1", *TINY[2:])
    assert r.exit_code == 0, r.output


def test_resume_refuses_options_that_differ_from_the_run(data, tmp_path):
    run = tmp_path / "run"
    (run).mkdir()
    config = {"config": {"data": str(data), "out": str(run), "epochs": 2, "batch_size": 32,
                         "model": "resnet18-narrow", "seed": 3}, "identity": {}}
    (run / "config.json").write_text(json.dumps(config))
    one_line(bs_train("--resume", run, "--batch-size", 16), "--batch-size 16", "run's",
             "--batch-size 32", "config.json")
    one_line(bs_train("--resume", run, "--model", "resnet18"), "--model resnet18",
             "resnet18-narrow")
    one_line(bs_train("--resume", run, "--overwrite"), "--resume or --overwrite")
    one_line(bs_train("--resume", tmp_path / "none"), "no previous run", "leave out --resume")
    one_line(bs_train("--resume"), "--resume needs the run directory")
    one_line(bs_train("--epochs", 1), "missing DATA", "--resume RUNDIR")
    one_line(bs_train("--resume", run, "--out", tmp_path / "other"), "two runs")
    (run / "config.json").write_text("{not json")
    one_line(bs_train("--resume", run), "config.json", "cannot be read")


# --- a full disk --------------------------------------------------------------------------


def _failing_write(monkeypatch, name: str, error: BaseException) -> None:
    """Writing ``name`` through the one atomic write fails half-way with ``error``."""
    real = ckpt.write_atomic

    def write(path, data, **kw):
        if Path(path).name != name:
            return real(path, data, **kw)
        with atomic_write(path, size=len(data)) as f:
            f.write(bytes(data[: len(data) // 2]))
            raise error

    monkeypatch.setattr(ckpt, "write_atomic", write)


@pytest.mark.parametrize("name", ["config.json", "last.pt", "best.pt", "metrics.csv"])
def test_a_full_disk_is_one_line_naming_the_file(data, tmp_path, monkeypatch, name):
    _failing_write(monkeypatch, name, OSError(errno.ENOSPC, "No space left on device"))
    out = tmp_path / "run"
    line = one_line(bs_train(data, "--out", out, "--epochs", "1", *TINY[2:]),
                    str(out / name), "no space left", "needs")
    assert "Traceback" not in line and "needs 0.0" not in line and "free" in line
    assert not list(out.glob("*.partial")), list(out.iterdir())
    if name == "config.json":  # nothing was saved: no run folder is left behind
        assert not out.exists()


def test_ctrl_c_while_writing_a_checkpoint_leaves_no_partial_file(data, tmp_path, monkeypatch):
    _failing_write(monkeypatch, "last.pt", KeyboardInterrupt())
    out = tmp_path / "run"
    r = bs_train(data, "--out", out, "--epochs", "1", *TINY[2:])
    assert r.exit_code == 130 and "continue with: bs-train --resume" in r.stderr, r.output
    assert not list(out.glob("*.partial")), list(out.iterdir())


def test_a_real_full_disk_leaves_no_partial_file(full_disk):
    with pytest.raises(OSError, match=r"no space left on the disk of .*x.pt: writing it needs "
                                      r"4\.\d MiB"):
        ckpt.save({"w": torch.zeros(1 << 20)}, full_disk / "x.pt")  # 4 MiB on a 2 MiB disk
    assert sorted(p.name for p in full_disk.iterdir()) == []


# --- threads and memory -------------------------------------------------------------------


def test_more_threads_than_cores_are_refused(data, tmp_path):
    from trainer.config import available_cores

    cores = available_cores()
    one_line(bs_train(data, "--out", tmp_path / "r", "--threads", cores + 1),
             f"--threads {cores + 1}", f"1 to {cores}")
    one_line(bs_train(data, "--out", tmp_path / "r", "--threads", 0), "--threads 0")
    assert not (tmp_path / "r").exists()


def test_an_idle_machine_gets_all_its_cores(monkeypatch):
    import os

    import trainer.config as tc

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(os, "getloadavg", lambda: (1.4, 0.0, 0.0))  # it trails the last minute
    for busy, want in ((0.0, 2), (0.3, 2), (1.0, 1), (1.9, 1)):  # cores other work keeps busy
        monkeypatch.setattr(tc, "_busy_cores", lambda busy=busy: busy)
        assert tc.default_threads() == want, busy
    monkeypatch.setattr(tc, "_busy_cores", lambda: None)  # no /proc/stat: the load average
    for load, want in ((0.7, 2), (1.2, 1), (12.0, 1)):
        monkeypatch.setattr(os, "getloadavg", lambda load=load: (load, 0.0, 0.0))
        assert tc.default_threads() == want, load


def test_busy_cores_are_measured_from_cpu_times(monkeypatch):
    import trainer.config as tc

    real = tc._cpu_times({0})  # this machine's first CPU, if /proc/stat exists
    assert real is None or (0 <= real[0] <= real[1])
    ticks = iter([(1000, 5000), (1100, 5200)])  # (busy, total) over 2 CPUs: 100 of 200 ticks
    monkeypatch.setattr(tc, "_cpu_times", lambda cpus: next(ticks))
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    assert tc._busy_cores(0.0) == pytest.approx(1.0)


def test_memory_estimate_parts_and_limits():
    # 1000 images x 4 copies of 224x224x3 in memory, 10,000 test images streamed
    est = peak_memory([(1000, 4, 224 * 224 * 3, "memory"), (10_000, 1, 224 * 224 * 3, "stream")],
                      params=600_000, optimizer_slots=2, batch=128, saved_per_image=2**20)
    assert est.data == 1000 * 4 * 150_528 + (8192 + 512) * 150_528
    assert est.model == 600_000 * 4 * 7 and est.activations >= 128 * 2**20
    assert est.total == est.base + est.data + est.model + est.activations
    line, warning = check_memory(est, "cpu", available=10 * est.total)
    assert line.startswith("memory: about") and "available" in line and warning is None
    _, warning = check_memory(est, "cpu", available=int(est.total * 1.1))
    assert warning is not None and warning.startswith("warning:")
    with pytest.raises(TrainError, match="--batch-size"):
        check_memory(est, "cpu", available=est.total - 1)
    gpu = MemoryEstimate(data=5, model=5, activations=5, batch=1)
    assert check_memory(gpu, "cuda", available=15)[0].startswith("GPU memory: about")


def test_a_run_that_cannot_fit_in_memory_is_refused_before_it_writes(data, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setattr("trainer.estimate.available_memory", lambda: 50 * 2**20)
    one_line(bs_train(data, "--out", tmp_path / "run", *TINY), "needs about", "50.0 MiB is "
             "available", "--batch-size")
    assert not (tmp_path / "run").exists()
