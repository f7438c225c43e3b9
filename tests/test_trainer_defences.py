"""The trainer and bs-predict with a file's defences: the block-set model enables the invariances
the file names, the checkpoint records them, and bs-predict rebuilds the same model."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from test_blockset_invariance import defend
from test_query import refused
from test_trainer_files import write_file

from trainer import checkpoint as ckpt
from trainer.cli import main as train_main
from trainer.config import INVARIANCE_MODES, INVARIANCE_NAMES, TrainConfig
from trainer.errors import TrainError
from trainer.invariance import INVARIANCES, MODES, parse_invariance
from trainer.predict import load_predictor
from trainer.predict_cli import main as predict_main
from trainer.source import describe
from trainer.train import train

DEFENCES = {"drop_border": 1, "rotate": True, "negpos": True, "channel_perm": True,
            "source_block_size": [8, 8], "source_image_shape": [32, 32, 3]}


def defended_file(path, defences=DEFENCES):
    """A file of 24x24 images in 6x6 kept blocks that declares ``defences``."""
    write_file(path, n_train=32, n_test=16, n_copies=2, size=24, block=6)
    with h5py.File(path, "r+") as f:
        f.attrs["defences"] = json.dumps(defences)
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("defended")
    defended_file(d / "enc.h5")
    train(TrainConfig(data=str(d / "enc.h5"), out=str(d / "run"), epochs=1, batch_size=16,
                      model="blockset-narrow", progress=False, device="cpu", threads=1))
    return d


def test_the_checkpoint_records_defences_and_invariances(run):
    state = ckpt.load(run / "run" / "best.pt")
    assert state["defences"] == DEFENCES
    assert state["invariances"] == list(parse_invariance("auto", DEFENCES))
    assert state["mean"] == [0.5, 0.5, 0.5] and len(set(state["std"])) == 1
    assert describe(str(run / "enc.h5"), "train").defences == DEFENCES


def test_predictions_are_the_same_for_any_state_of_the_blocks(run):
    p = load_predictor(run / "run", device="cpu")
    assert p.info.invariances == parse_invariance("auto", DEFENCES)
    assert p.info.defences == DEFENCES
    with h5py.File(run / "enc.h5") as f:
        x = torch.from_numpy(f["test/shard_00000/images"][:8, 0])  # (8, 24, 24, 3) uint8
    y = defend(x, (6, 6), INVARIANCES, seed=11)
    assert not torch.equal(x, y)
    np.testing.assert_allclose(p.predict(y), p.predict(x), atol=2e-6)


def test_bs_predict_refuses_a_file_with_other_defences(run, tmp_path):
    q = defended_file(tmp_path / "q.h5", {**DEFENCES, "negpos": False})
    refused(CliRunner().invoke(predict_main, [str(run / "run"), str(q), "--out",
                                              str(tmp_path / "p.csv")]), "q.h5", "defences")
    assert not (tmp_path / "p.csv").exists()


def test_train_and_test_files_must_have_the_same_defences(tmp_path):
    a = defended_file(tmp_path / "a.h5")
    b = defended_file(tmp_path / "b.h5", {**DEFENCES, "rotate": False})
    with pytest.raises(TrainError, match="differ in defences"):
        train(TrainConfig(data=str(a), test=str(b), out=str(tmp_path / "r"), epochs=1,
                          batch_size=16, model="blockset-narrow", progress=False, device="cpu"))


@pytest.mark.parametrize("value,model,words", [
    ("spin", "blockset-narrow", ["--invariance 'spin'", "rotate, negpos, channel_perm"]),
    ("", "blockset-narrow", ["--invariance ''"]),
    ("rotate,", "blockset-narrow", ["--invariance 'rotate,'"]),
    ("negpos:spin", "blockset-narrow", ["--invariance 'negpos:spin'", "negpos: orbit, canonical"]),
    ("negpos", "resnet18-narrow", ["--invariance negpos", "block-set model"]),
])
def test_bad_invariance_option(tmp_path, value, model, words):
    data = defended_file(tmp_path / "enc.h5")
    r = CliRunner().invoke(train_main, [str(data), "--out", str(tmp_path / "r"), "--model",
                                        model, "--invariance", value, "--device", "cpu"])
    refused(r, *words)
    assert not (tmp_path / "r").exists()


def test_invariance_names_are_the_models():
    assert INVARIANCE_NAMES == INVARIANCES and INVARIANCE_MODES == MODES


def test_invariance_none_trains_a_plain_model_on_a_defended_file(tmp_path):
    data = defended_file(tmp_path / "enc.h5")
    train(TrainConfig(data=str(data), out=str(tmp_path / "r"), epochs=1, batch_size=16,
                      model="blockset-narrow", invariance="none", progress=False, device="cpu",
                      threads=1))
    state = ckpt.load(tmp_path / "r" / "best.pt")
    assert state["invariances"] == [] and state["mean"] != [0.5, 0.5, 0.5]


@pytest.mark.slow
def test_real_defences_give_the_same_predictions_under_two_keys(tmp_path):
    """End to end with the client's own defences (every one, 1-px border drop): the same images
    in two query files, each block with its own fresh permutation, orientation, sign and channel
    order, get the same probabilities from a block-set model; so the model's invariances match
    the client's transforms."""
    from test_predict import enc_cli, two_key_predictions

    from encrypt_tool.demo_images import write_demo_images

    d = tmp_path
    assert enc_cli("keygen", "--out", d / "k.key").exit_code == 0
    r = enc_cli("dataset", "--source", "synthetic:64", "--key", d / "k.key", "--n-keys", "1",
                "--limit", "32", "--seed", "1", "--out", d / "enc.h5", "--quiet",
                "--drop-border", "1", "--rotate", "--negpos", "--channel-perm")
    assert r.exit_code == 0, r.output
    train(TrainConfig(data=str(d / "enc.h5"), out=str(d / "run"), epochs=1, batch_size=16,
                      model="blockset-narrow", progress=False, device="cpu", threads=1))
    write_demo_images(d / "imgs", n=6)
    probs, images = two_key_predictions(d)
    assert images[0].shape[2:4] == (24, 24)  # 6x6 kept blocks of the 8x8 grid
    assert not np.array_equal(images[0], images[1])
    np.testing.assert_allclose(probs[0], probs[1], atol=2e-6)  # the CSV has 6 decimals
