"""One checkpoint loader (``trainer.trained.load_model``) under bs-predict and the experiments,
and no import circle in the cloud packages."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch
from cycles import assert_no_cycle
from test_trainer_files import write_file

from experiments.evaluate import evaluate_checkpoint
from trainer import checkpoint as ckpt
from trainer.errors import TrainError
from trainer.model import build_model
from trainer.predict import load_predictor
from trainer.source import describe, load_split
from trainer.trained import load_model

REPO = Path(__file__).resolve().parents[1]


def _imports(path: Path, package: str) -> set[str]:
    """The modules of ``package`` that ``path`` imports anywhere (inside functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found |= {n for n in names if n.split(".")[0] == package}
    return found


@pytest.mark.parametrize("package", ["trainer", "experiments"])
def test_no_import_circle(package):
    mods = {f"{package}.{p.stem}": p for p in (REPO / package).glob("*.py")
            if p.stem != "__init__"}
    graph = {m: {i for i in _imports(p, package) if i in mods and i != m}
             for m, p in mods.items()}
    assert_no_cycle(graph)


def _checkpoint(tmp_path: Path, invariances: tuple[str, ...]) -> tuple[Path, Path]:
    """A data file and a (random-weight) block-set checkpoint with ``invariances``."""
    data = write_file(tmp_path / "d.h5", n_train=16, n_test=24, n_classes=3)
    torch.manual_seed(0)
    net = build_model("blockset-narrow", 3, (32, 32, 3), (8, 8), invariances)
    ckpt.save({"model": net.state_dict(), "model_name": "blockset-narrow",
               "class_names": ["c0", "c1", "c2"], "image_shape": [32, 32, 3],
               "block_size": [8, 8], "mean": [0.5] * 3, "std": [0.25] * 3, "epoch": 1,
               "invariances": list(invariances), "scrambled": True, "defences": {}},
              tmp_path / "best.pt")
    return data, tmp_path / "best.pt"


def test_evaluation_keeps_the_checkpoints_invariances(tmp_path):
    """experiments' evaluation and bs-predict load the same model, invariances included
    (``channel_perm:set`` changes the first layer's shape: without it the weights do not fit)."""
    data, path = _checkpoint(tmp_path, ("rotate", "channel_perm:set"))
    m = load_model(path)
    assert m.model.modes == {"rotate": "canonical", "channel_perm": "set"}
    assert not m.model.training
    got = evaluate_checkpoint(str(path), str(data), "test", torch.device("cpu"))
    x, y = load_split(describe(str(data), "test"))
    p = load_predictor(path, device="cpu").predict(x[:, 0], tta=True)
    assert got["n"] == 24
    assert got["acc_tta"] == pytest.approx(float(np.mean(p.argmax(1) == y)), abs=1e-9)


def test_weights_of_another_model_are_refused(tmp_path):
    _, path = _checkpoint(tmp_path, ())
    state = ckpt.load(path)
    ckpt.save({**state, "invariances": ["channel_perm:set"]}, tmp_path / "x.pt")
    with pytest.raises(TrainError, match="x.pt: the weights do not fit model 'blockset-narrow'"):
        load_model(tmp_path / "x.pt")
