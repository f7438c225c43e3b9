"""The model registry: one table that the option check, the factory, the recipe, the
invariance check and the time estimate all read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from trainer.blockset import BLOCKSETS, BlockSet
from trainer.config import TrainConfig
from trainer.errors import TrainError
from trainer.estimate import estimate_seconds
from trainer.model import build_model
from trainer.recipe import resolve_recipe
from trainer.registry import MODEL_NAMES, MODELS, ModelSpec, get_model

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_entry_builds_its_model(name):
    spec = MODELS[name]
    with torch.device("meta"):
        net = build_model(name, 7, (32, 32, 3), (8, 8))
        out = net(torch.empty(2, 3, 32, 32))
    assert out.shape == (2, 7)
    assert isinstance(net, BlockSet) == spec.block_set
    assert spec.cpu_rate > 0 and spec.gpu_rate > 0 and spec.summary


def test_everything_reads_the_table(monkeypatch, tmp_path):
    """A model added to the table alone is accepted by bs-train's check, built, given its
    recipe, allowed invariances and a time estimate."""
    spec = ModelSpec("blockset-tiny", "trainer.blockset:build_blockset",
                     {"stem": 8, "dim": 16, "depth": 1, "heads": 2, "mlp": 2}, block_set=True,
                     cpu_rate=1000.0, gpu_rate=1e5, summary="a tiny block-set model")
    table = {**MODELS, spec.name: spec}
    monkeypatch.setattr("trainer.registry.MODELS", table)
    monkeypatch.setattr("trainer.config.MODELS", table)
    monkeypatch.setattr("trainer.config.MODEL_NAMES", tuple(table))
    (tmp_path / "d.h5").write_bytes(b"")
    TrainConfig(data=str(tmp_path / "d.h5"), out=str(tmp_path / "r"), model="blockset-tiny",
                invariance="rotate").validate()
    assert isinstance(build_model("blockset-tiny", 3, (16, 16, 3), (4, 4), ("rotate",)),
                      BlockSet)
    assert resolve_recipe("auto", "blockset-tiny") == "adamw"
    assert estimate_seconds("blockset-tiny", "cpu", 1000, 1, threads=2) == pytest.approx(1.0)


def test_unknown_model_is_refused_naming_the_known_ones():
    with pytest.raises(TrainError, match="'vgg'.*resnet18, resnet18-narrow, blockset"):
        get_model("vgg")
    with pytest.raises(TrainError, match="no within-block invariances"):
        build_model("resnet18-narrow", 10, (32, 32, 3), (8, 8), ("rotate",))
    with pytest.raises(TrainError, match="--model 'vgg' is not known"):
        TrainConfig(data="x.h5", out="r", model="vgg").validate(check_files=False)


def test_blocksets_follow_the_table():
    assert set(BLOCKSETS) == {n for n, s in MODELS.items() if s.block_set}
    assert BLOCKSETS["blockset"].dim == MODELS["blockset"].sizes["dim"]


def test_no_model_name_test_outside_the_registry():
    """No ``startswith("blockset")`` or per-model tables left in the packages and scripts."""
    for package in ("trainer", "experiments", "bench"):
        for path in sorted((REPO / package).rglob("*.py")):
            text = path.read_text()
            assert 'startswith("blockset")' not in text, path
            assert 'startswith("resnet")' not in text, path
            if path.name == "registry.py":
                continue
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.Dict):
                    keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                    assert not (keys & {"resnet18-narrow", "blockset-narrow"}), path
