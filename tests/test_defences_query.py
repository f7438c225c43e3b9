"""Defences on the second leg: `query --like` copies the training file's defences, the client
decrypts its query exactly, the cloud classifies a defended query, and a query whose defences
differ from those the model was trained on is refused."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from test_defences_cli import ALL, zero_border
from test_query import refused

from encrypt_tool.cli import main as encrypt_main
from encrypt_tool.demo_images import write_demo_images
from encrypt_tool.sources.synthetic import render
from trainer.config import TrainConfig
from trainer.predict_cli import main as predict_main
from trainer.train import train


def enc(*args):
    return CliRunner().invoke(encrypt_main, [str(a) for a in args])


def predict(*args):
    return CliRunner().invoke(predict_main, [str(a) for a in args])


def dataset(d: Path, name: str, *opts) -> Path:
    r = enc("dataset", "--source", "synthetic:64", "--key", d / "k.key", "--n-keys", "1",
            "--limit", "64", "--seed", "1", "--out", d / name, "--quiet", *opts)
    assert r.exit_code == 0, r.output
    return d / name


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """A key, a training file with every defence and new PNGs."""
    d = tmp_path_factory.mktemp("defended")
    assert enc("keygen", "--out", d / "k.key").exit_code == 0
    dataset(d, "enc.h5", *ALL)
    write_demo_images(d / "imgs", n=6)
    return d


@pytest.fixture(scope="module")
def cloud(client):
    """The client's files and a 1-epoch model trained on its defended file (in run/)."""
    train(TrainConfig(data=str(client / "enc.h5"), out=str(client / "run"), epochs=1,
                      batch_size=32, model="resnet18-narrow", progress=False, device="cpu"))
    return client


def test_query_like_copies_the_defences_and_decrypts_exactly(client, tmp_path):
    cloud = client
    q = tmp_path / "q.h5"
    r = enc("query", cloud / "imgs", "--like", cloud / "enc.h5", "--key", cloud / "k.key",
            "--out", q, "--no-test-augment")
    assert r.exit_code == 0, r.output
    with h5py.File(q) as f, h5py.File(cloud / "enc.h5") as g:
        assert json.loads(f.attrs["defences"]) == json.loads(g.attrs["defences"])
        assert list(f.attrs["block_size"]) == [4, 4]
        assert f["query/shard_00000/images"].shape == (6, 1, 16, 16, 3)
    r = enc("decrypt", q, "--key", cloud / "k.key", "--out", tmp_path / "p.npz")
    assert r.exit_code == 0, r.output
    plain = np.load(tmp_path / "p.npz")["images"]
    assert np.array_equal(plain, zero_border(render(7, np.arange(6)), 8, 2))


def test_inspect_shows_the_defences(client):
    r = enc("inspect", client / "enc.h5")
    assert r.exit_code == 0, r.output
    line = next(s for s in r.output.splitlines() if s.startswith("defences"))
    for words in ("border drop 2 px", "8x8 blocks keep 4x4", "rotation and flip",
                  "negative-positive", "channel permutation"):
        assert words in line, line
    assert "16x16x3" in r.output and "blocks 4x4" in r.output


def test_bs_predict_classifies_a_defended_query(cloud, tmp_path):
    q = tmp_path / "q.h5"
    r = enc("query", cloud / "imgs", "--like", cloud / "enc.h5", "--key", cloud / "k.key",
            "--out", q)
    assert r.exit_code == 0, r.output
    out = tmp_path / "p.csv"
    r = predict(cloud / "run", q, "--out", out)
    assert r.exit_code == 0, r.output
    assert len(out.read_text().splitlines()) == 1 + 6
    state = torch.load(cloud / "run" / "best.pt", weights_only=True)
    assert state["defences"] == json.loads(h5py.File(q)["/"].attrs["defences"])


def test_a_query_with_other_defences_is_refused(cloud, tmp_path):
    assert enc("keygen", "--out", tmp_path / "k.key").exit_code == 0
    other = dataset(tmp_path, "other.h5", "--drop-border", "2", "--rotate")  # same 16x16 images
    q = tmp_path / "q.h5"
    r = enc("query", cloud / "imgs", "--like", other, "--key", tmp_path / "k.key", "--out", q)
    assert r.exit_code == 0, r.output
    out = tmp_path / "p.csv"
    refused(predict(cloud / "run", q, "--out", out), "defences", "negative-positive")
    assert not out.exists() and not out.with_suffix(".json").exists()
    plain = dataset(tmp_path, "plain.h5")  # no defences, 32x32 images
    refused(predict(cloud / "run", plain, "--out", out), "image size", "defences")
