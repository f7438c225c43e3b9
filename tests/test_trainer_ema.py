"""``bs-train --ema DECAY``: the weight average equals a hand-computed EMA, is what a run
evaluates, saves and serves, resumes exactly, and bad decays are refused in one line."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from test_trainer_files import write_file

import trainer.train as tt
from trainer import checkpoint as ckpt
from trainer.cli import main
from trainer.config import TrainConfig
from trainer.ema import WeightAverage, ema_decay
from trainer.errors import TrainError
from trainer.predict import load_predictor
from trainer.predict_cli import main as predict_main

TINY = ["--epochs", "2", "--batch-size", "32", "--model", "resnet18-narrow", "--device", "cpu",
        "--threads", "1", "--deterministic", "--seed", "3", "--no-progress", "--ema", "0.9"]


def bs_train(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def last(run: Path) -> dict:
    return torch.load(run / "last.pt", weights_only=True)


def hand_ema(start: dict, snapshots: list[dict], decay: float) -> dict:
    """The EMA of ``snapshots`` (state dicts after each step) from ``start``, in float64."""
    avg = {k: v.double() for k, v in start.items()}
    for t, snap in enumerate(snapshots):
        d = min(decay, (1 + t) / (10 + t))
        avg = {k: (d * a + (1 - d) * snap[k].double() if snap[k].is_floating_point()
                   else snap[k].double()) for k, a in avg.items()}
    return avg


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_file(tmp_path_factory.mktemp("d") / "enc.h5", n_train=64, n_test=32)


@pytest.fixture(scope="module")
def full(data, tmp_path_factory) -> Path:
    """The uninterrupted run with --ema 0.9."""
    out = tmp_path_factory.mktemp("full") / "run"
    r = bs_train(data, "--out", out, *TINY)
    assert r.exit_code == 0, r.output
    assert "weight average (EMA decay 0.9)" in r.output
    return out


def test_ema_decay_warms_up_to_the_decay():
    assert [ema_decay(0.999, t) for t in (0, 1, 8)] == [0.1, 2 / 11, 0.5]
    assert ema_decay(0.9, 10**6) == 0.9


def test_average_of_parameters_and_buffers_equals_a_hand_computed_ema():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    avg = WeightAverage(model, 0.6)
    snapshots = []
    for _ in range(5):
        loss = model(torch.randn(8, 3)).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        avg.update(model)
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
    want = hand_ema(start, snapshots, 0.6)
    got = avg.state_dict()
    assert avg.updates == 5 and int(got["1.num_batches_tracked"]) == 5
    for k in want:
        assert torch.allclose(got[k].double(), want[k], rtol=0, atol=1e-6), k
    for k in ("0.weight", "1.running_mean", "1.running_var"):  # parameters and buffers
        assert not torch.allclose(got[k], model.state_dict()[k]), k
    assert all(not p.requires_grad for p in avg.module.parameters())


def test_a_run_averages_after_every_step_and_saves_the_average(data, tmp_path, monkeypatch):
    seen: list[dict] = []
    start: list[dict] = []
    real = WeightAverage.update

    def recording(self, model):
        if not start:
            start.append({k: v.clone() for k, v in self.module.state_dict().items()})
        real(self, model)
        seen.append({k: v.clone() for k, v in model.state_dict().items()})

    monkeypatch.setattr(WeightAverage, "update", recording)
    config = TrainConfig(data=str(data), out=str(tmp_path / "run"), epochs=2, batch_size=32,
                         model="resnet18-narrow", device="cpu", progress=False, ema=0.9,
                         threads=1)
    tt.train(config)
    state = last(tmp_path / "run")
    assert len(seen) == state["ema_updates"] == 4  # 64 images, batch 32, 2 epochs
    assert same(state["raw_model"], seen[-1])  # the trained weights go on training
    want = hand_ema(start[0], seen, 0.9)
    for k, v in state["model"].items():
        assert torch.allclose(v.double(), want[k], rtol=0, atol=1e-5), k
    assert not same(state["model"], state["raw_model"])
    assert json.loads((tmp_path / "run" / "config.json").read_text())["config"]["ema"] == 0.9
    best = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    assert "raw_model" not in best
    if best["epoch"] == 2:  # best.pt holds the average of its epoch
        assert same(best["model"], state["model"])


def test_evaluation_and_compile_use_the_averaged_module(data, tmp_path, monkeypatch):
    compiled, evaluated = [], []
    real_evaluate = tt.evaluate
    monkeypatch.setattr(tt.torch, "compile", lambda m: compiled.append(m) or m)
    monkeypatch.setattr(tt, "evaluate", lambda m, *a, **k: evaluated.append(m) or
                        real_evaluate(m, *a, **k))
    averages = []
    real_init = WeightAverage.__init__

    def init(self, *a, **k):
        real_init(self, *a, **k)
        averages.append(self)

    monkeypatch.setattr(WeightAverage, "__init__", init)
    tt.train(TrainConfig(data=str(data), out=str(tmp_path / "run"), epochs=1, batch_size=32,
                         model="resnet18-narrow", device="cpu", progress=False, ema=0.5,
                         compile=True, threads=1))
    assert len(averages) == 1 and len(compiled) == 2
    assert compiled[1] is averages[0].module and compiled[0] is not averages[0].module
    assert evaluated == [averages[0].module]


def test_resume_after_an_interruption_gives_the_uninterrupted_average(data, full, tmp_path,
                                                                     monkeypatch):
    out = tmp_path / "run"
    real = tt._train_epoch

    def stop_at_second_epoch(net, run, batches, prepare, e, *rest):
        if e == 1:
            monkeypatch.setattr(tt, "_train_epoch", real)
            raise KeyboardInterrupt
        return real(net, run, batches, prepare, e, *rest)

    monkeypatch.setattr(tt, "_train_epoch", stop_at_second_epoch)
    r = bs_train(data, "--out", out, *TINY)
    assert r.exit_code == 130, r.output
    assert last(out)["ema_updates"] == 2
    command = shlex.split(r.stderr.strip().splitlines()[-1].split("continue with: ")[1])
    r = bs_train(*command[1:])
    assert r.exit_code == 0 and "after epoch 1" in r.output, r.output
    got, want = last(out), last(full)
    assert got["ema_updates"] == want["ema_updates"] == 4
    assert same(got["model"], want["model"]) and same(got["raw_model"], want["raw_model"])
    for key in ("test_loss", "test_acc", "test_acc_tta", "train_loss"):
        assert [m[key] for m in got["metrics"]] == [m[key] for m in want["metrics"]], key


def test_resume_refuses_another_decay(full):
    r = bs_train("--resume", full, "--ema", "0.99")
    assert r.exit_code == 1, r.output
    line = r.stderr.strip()
    assert line.startswith("Error: ") and "--ema 0.99" in line and "--ema 0.9 " in line, line


def test_checkpoints_from_before_the_option_resume_without_it():
    ckpt.check_resume({"epochs": 2}, {"epochs": 2, "ema": 0.0})
    with pytest.raises(TrainError, match="ema: checkpoint 0.0, now 0.9"):
        ckpt.check_resume({"epochs": 2}, {"epochs": 2, "ema": 0.9})


@pytest.mark.parametrize("value", ["1", "-0.1", "1.5", "nan"])
def test_bad_decay_is_one_line_before_any_work(data, tmp_path, value):
    r = bs_train(data, "--out", tmp_path / "run", "--ema", value, "--device", "cpu")
    assert r.exit_code == 1, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in r.output
    assert f"--ema {float(value)}" in lines[0] and "between 0 and 1" in lines[0], lines
    assert "TrainConfig(" not in r.output  # refused before the configuration is printed
    assert not (tmp_path / "run").exists()


def test_bs_predict_uses_the_averaged_weights(data, full, tmp_path):
    state = last(full)
    served = load_predictor(full, "cpu").model.state_dict()
    best = torch.load(full / "best.pt", weights_only=True)
    assert same({k: v.cpu() for k, v in served.items()}, best["model"])
    assert not same(best["model"], state["raw_model"])
    out = tmp_path / "p.csv"
    r = CliRunner().invoke(predict_main, [str(full), str(data), "--out", str(out),
                                          "--batch-size", "32", "--device", "cpu"])
    assert r.exit_code == 0, r.output
    accuracy = json.loads(out.with_suffix(".json").read_text())["accuracy"]
    assert accuracy == pytest.approx(best["metrics"]["test_acc_tta"], abs=1e-12)
