"""``bs-predict`` and ``trainer.predict``: the cloud classifies query files and test splits.

Its accuracy equals bs-train's evaluation of the same checkpoint; no file name or key reaches
query.h5 or the predictions; it never imports ``keys``; bad input is one line, nothing written.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from test_query import refused
from test_trainer_files import write_file

from encrypt_tool.cli import main as encrypt_main
from encrypt_tool.demo_images import write_demo_images
from trainer.config import TrainConfig
from trainer.data import MemoryLoader, to_input
from trainer.predict import load_predictor
from trainer.predict_cli import main as predict_main
from trainer.source import describe
from trainer.train import predict as eval_predict
from trainer.train import train

REPO = Path(__file__).resolve().parents[1]


def enc_cli(*args):
    return CliRunner().invoke(encrypt_main, [str(a) for a in args])


def predict_cli(*args):
    return CliRunner().invoke(predict_main, [str(a) for a in args])


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    """A real bs-encrypt file (synthetic, 64 + 64 images) and a 1-epoch narrow model on it."""
    return make_cloud(tmp_path_factory.mktemp("cloud"), "resnet18-narrow")


def make_cloud(d: Path, model: str) -> Path:
    """Key k.key, file enc.h5 (synthetic, 64 + 64 images) and a 1-epoch ``model`` in run/."""
    assert enc_cli("keygen", "--out", d / "k.key").exit_code == 0
    r = enc_cli("dataset", "--source", "synthetic:64", "--key", d / "k.key", "--n-keys", "1",
                "--limit", "64", "--seed", "1", "--out", d / "enc.h5", "--quiet")
    assert r.exit_code == 0, r.output
    train(TrainConfig(data=str(d / "enc.h5"), out=str(d / "run"), epochs=1, batch_size=32,
                      model=model, progress=False, device="cpu"))
    return d


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_accuracy_equals_bs_train_evaluation(cloud, tmp_path):
    """bs-predict on the file's test split scores what bs-train's evaluation scored."""
    best = torch.load(cloud / "run" / "best.pt", weights_only=True)["metrics"]
    for flag, key in (([], "test_acc_tta"), (["--no-tta"], "test_acc")):
        out = tmp_path / f"p{len(flag)}.csv"
        r = predict_cli(cloud / "run", cloud / "enc.h5", "--out", out, "--batch-size", 32, *flag)
        assert r.exit_code == 0, r.output
        meta = json.loads(out.with_suffix(".json").read_text())
        assert meta["accuracy"] == pytest.approx(best[key], abs=1e-12), (meta, best)
        assert f"{100 * best[key]:.2f}%" in r.output


def test_predictions_equal_the_evaluation_path(cloud, tmp_path):
    """Per image, the CSV's probabilities are the evaluation path's (``evaluate.predict``)."""
    out = tmp_path / "p.csv"
    r = predict_cli(cloud / "run", cloud / "enc.h5", "--out", out, "--top-k", 10)
    assert r.exit_code == 0, r.output
    rows = read_csv(out)
    assert len(rows) == 64 and [int(r["id"]) for r in rows] == list(range(64))
    state = torch.load(cloud / "run" / "best.pt", weights_only=True)
    pred = load_predictor(cloud / "run")
    split = describe(str(cloud / "enc.h5"), "test")
    x = torch.cat([xb for xb, _ in MemoryLoader(split, torch.device("cpu"), 64,
                                                 shuffle=False).batches(0)])
    inp = to_input(x, torch.tensor(state["mean"]), torch.tensor(state["std"]))
    want = eval_predict(pred.model, inp, tta=True).numpy()  # (64, 10)
    names = pred.class_names
    got = np.zeros_like(want)
    for i, row in enumerate(rows):
        for k in range(1, 11):
            sfx = "" if k == 1 else f"_{k}"
            got[i, names.index(row[f"class{sfx}"])] = float(row[f"probability{sfx}"])
    np.testing.assert_allclose(got, want, atol=2e-6)
    api = pred.predict(x.numpy(), batch_size=25)
    np.testing.assert_allclose(api, want, atol=1e-5)
    assert api.shape == (64, 10) and np.allclose(api.sum(1), 1, atol=1e-5)
    assert {r["label"] for r in rows} <= set(names)


def test_query_to_named_results_leaks_no_name_or_key(cloud, tmp_path):
    """Client encrypts privately named images, cloud predicts, client joins; the shared files
    hold no file name, folder name or key bytes."""
    ward = tmp_path / "secret_ward"
    write_demo_images(ward / "tmp", n=4)
    for i, p in enumerate(sorted((ward / "tmp").iterdir())):
        p.rename(ward / f"patient_{i:04d}.png")
    (ward / "tmp").rmdir()
    q = tmp_path / "query.h5"
    r = enc_cli("query", ward, "--like", cloud / "enc.h5", "--key", cloud / "k.key", "--out", q)
    assert r.exit_code == 0, r.output
    out = tmp_path / "cloud" / "predictions.csv"
    out.parent.mkdir()
    r = predict_cli(cloud / "run", q, "--out", out)
    assert r.exit_code == 0, r.output
    assert "accuracy" not in r.output  # no labels in a query of image files
    key_hex = (cloud / "k.key").read_text().strip()
    secrets = [b"patient_", b"secret_ward", str(tmp_path).encode(), key_hex.encode(),
               key_hex.upper().encode(), bytes.fromhex(key_hex)]
    for shared in (q, out, out.with_suffix(".json")):
        blob = shared.read_bytes()
        for s in secrets:
            assert s not in blob, (shared.name, s)
    manifest = tmp_path / "query.private-manifest.json"
    r = enc_cli("results", out, "--manifest", manifest, "--out", tmp_path / "table.csv")
    assert r.exit_code == 0, r.output
    table = read_csv(tmp_path / "table.csv")
    assert [Path(t["path"]).name for t in table] == [f"patient_{i:04d}.png" for i in range(4)]
    preds = read_csv(out)
    assert [t["class"] for t in table] == [p["class"] for p in preds]
    assert "patient_0003.png" in r.output
    assert "query_id" not in table[0]
    # a manifest of another query of the same length, with the JSON lost, is refused
    assert {p["query_id"] for p in preds} == {json.loads(manifest.read_text())["dataset_id"]}
    other = tmp_path / "other"
    other.mkdir()
    r = enc_cli("query", ward, "--like", cloud / "enc.h5", "--key", cloud / "k.key",
                "--out", other / "query.h5")
    assert r.exit_code == 0, r.output
    out.with_suffix(".json").unlink()
    other_man = other / "query.private-manifest.json"
    r = enc_cli("results", out, "--manifest", other_man)
    assert r.exit_code == 1 and r.output.startswith("Error:"), r.output
    for qid in (preds[0]["query_id"], json.loads(other_man.read_text())["dataset_id"]):
        assert qid in r.output, r.output


def test_bs_predict_never_imports_keys(cloud, tmp_path):
    script = f"""
import sys
from trainer.predict_cli import main
try:
    main([{str(cloud / 'run')!r}, {str(cloud / 'enc.h5')!r}, "--no-tta", "--out",
          {str(tmp_path / 'p.csv')!r}])
except SystemExit as e:
    assert e.code in (0, None), e.code
assert "keys" not in sys.modules, [m for m in sys.modules if m.startswith("keys")]
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stdout + r.stderr


def test_checkpoint_that_would_run_code_is_refused(tmp_path):
    """weights_only=True: a pickle of an arbitrary object does not load (and runs nothing)."""
    torch.save({"model": {}, "hook": Path("x")}, tmp_path / "evil.pt")
    r = predict_cli(tmp_path / "evil.pt", tmp_path / "q.h5", "--out", tmp_path / "p.csv")
    assert r.exit_code == 1  # the query is missing too; fix it and look again
    write_file(tmp_path / "q.h5", n_train=8, n_test=4)
    r = predict_cli(tmp_path / "evil.pt", tmp_path / "q.h5", "--out", tmp_path / "p.csv")
    refused(r, "evil.pt", "cannot be read")


# --- bad input: one line naming the value, exit 1, nothing written --------------------------


@pytest.fixture
def outdir(tmp_path):
    d = tmp_path / "out"
    d.mkdir()
    yield d
    assert {p.name for p in d.iterdir()} <= {"keep"}  # nothing written


def test_run_without_checkpoint(cloud, outdir, tmp_path):
    (tmp_path / "emptyrun").mkdir()
    refused(predict_cli(tmp_path / "emptyrun", cloud / "enc.h5", "--out", outdir / "p.csv"),
            "emptyrun", "best.pt")
    refused(predict_cli(tmp_path / "nothing", cloud / "enc.h5", "--out", outdir / "p.csv"),
            "nothing")


def test_data_file_or_csv_given_as_the_run(cloud, outdir, tmp_path):
    r = predict_cli(cloud / "enc.h5", cloud / "enc.h5", "--out", outdir / "p.csv")
    refused(r, "enc.h5, is a bs-encrypt data file", "the first argument is the run folder")
    assert "weights_only" not in r.output
    (tmp_path / "p.csv").write_text("id,class,probability\n0,cat,0.9\n")
    r = predict_cli(tmp_path / "p.csv", cloud / "enc.h5", "--out", outdir / "p.csv")
    refused(r, "p.csv is not a checkpoint (a text file)", "run directory")
    torch.save({"model": {}, "hook": Path("x")}, tmp_path / "evil.pt")
    r = predict_cli(tmp_path / "evil.pt", cloud / "enc.h5", "--out", outdir / "p.csv")
    refused(r, "evil.pt", "could run code")
    assert "weights_only" not in r.output


@pytest.mark.parametrize("run", ["run", "run/best.pt"])
def test_swapped_arguments_say_which_comes_first(cloud, outdir, run):
    """bs-predict DATA RUN: one line saying the run folder comes first, and the right order."""
    r = predict_cli(cloud / "enc.h5", cloud / run, "--out", outdir / "p.csv")
    refused(r, "the first argument", "enc.h5, is a bs-encrypt data file",
            "the run folder of bs-train", "the second the data file",
            f"bs-predict {cloud / run} {cloud / 'enc.h5'}")


def test_truncated_or_foreign_checkpoint(cloud, outdir, tmp_path):
    blob = (cloud / "run" / "best.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(blob[: len(blob) // 2])
    refused(predict_cli(tmp_path / "cut.pt", cloud / "enc.h5", "--out", outdir / "p.csv"),
            "cut.pt", "cannot be read")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    refused(predict_cli(tmp_path / "other.pt", cloud / "enc.h5", "--out", outdir / "p.csv"),
            "other.pt", "not a bs-train checkpoint")


@pytest.mark.parametrize("case,words", [
    ("size", ["image size 16x16", "32x32"]),
    ("block", ["block size 4x4", "8x8"]),
    ("channels", ["channels 1", "3"]),
    ("plain", ["plain images", "scrambled"]),
])
def test_query_that_does_not_match_the_model(cloud, outdir, tmp_path, case, words):
    q = tmp_path / "q.h5"
    kw = {"size": dict(size=16), "block": dict(block=4)}.get(case, {})
    write_file(q, n_train=8, n_test=4, n_classes=10, **kw)
    with h5py.File(q, "r+") as f:
        if case == "channels":  # a consistent one-channel file: attribute and images
            f.attrs["image_shape"] = [32, 32, 1]
            for split in ("train", "test"):
                for g in f[split].values():
                    x = g["images"][..., :1]
                    del g["images"]
                    g["images"] = x
        if case == "plain":
            f.attrs["scrambled"] = False
    refused(predict_cli(cloud / "run", q, "--out", outdir / "p.csv"), "q.h5", *words)


def test_images_of_another_master_key_are_refused_naming_both_fingerprints(cloud, outdir,
                                                                          tmp_path):
    """A query (or a test split) encrypted with another master key than the model's training
    data is refused, as bs-train --test refuses it: the fingerprints are public attributes."""
    from keys.master import fingerprint, load_key  # the test's own client side

    assert enc_cli("keygen", "--out", tmp_path / "other.key").exit_code == 0
    r = enc_cli("dataset", "--source", "synthetic:64", "--key", tmp_path / "other.key",
                "--n-keys", "1", "--limit", "64", "--seed", "1", "--out", tmp_path / "other.h5",
                "--quiet")
    assert r.exit_code == 0, r.output
    write_demo_images(tmp_path / "imgs", n=4)
    r = enc_cli("query", tmp_path / "imgs", "--like", tmp_path / "other.h5", "--key",
                tmp_path / "other.key", "--out", tmp_path / "q.h5")
    assert r.exit_code == 0, r.output
    ours, theirs = (fingerprint(load_key(k)) for k in (cloud / "k.key", tmp_path / "other.key"))
    for data in ("other.h5", "q.h5"):
        refused(predict_cli(cloud / "run", tmp_path / data, "--out", outdir / "p.csv"),
                "different master keys", ours, theirs, data, "best.pt")
    assert json.loads((cloud / "run" / "config.json").read_text())["key_fingerprint"] == ours


def test_existing_output_needs_overwrite(cloud, outdir):
    (outdir / "keep").write_text("old")
    refused(predict_cli(cloud / "run", cloud / "enc.h5", "--out", outdir / "keep"),
            "keep", "--overwrite")
    assert (outdir / "keep").read_text() == "old"


@pytest.mark.parametrize("k", [0, 11])
def test_top_k_out_of_range(cloud, outdir, k):
    refused(predict_cli(cloud / "run", cloud / "enc.h5", "--out", outdir / "p.csv",
                        "--top-k", k), f"--top-k {k}")



def two_key_predictions(d) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Encrypt the images in ``d/imgs`` as two query files (each image with a fresh key per
    file), classify both with the run ``d/run``: the (n, K) probabilities in class order and the
    stored query images of each file."""
    probs, images = [], []
    for name in ("a", "b"):
        q = d / f"{name}.h5"
        r = enc_cli("query", d / "imgs", "--like", d / "enc.h5", "--key", d / "k.key",
                    "--out", q, "--no-test-augment")
        assert r.exit_code == 0, r.output
        r = predict_cli(d / "run", q, "--out", d / f"{name}.csv", "--top-k", 10)
        assert r.exit_code == 0, r.output
        table = []
        for row in read_csv(d / f"{name}.csv"):  # class, probability, class_2, ... (top 10)
            pairs = {row["class"]: float(row["probability"])}
            pairs.update({row[f"class_{k}"]: float(row[f"probability_{k}"]) for k in range(2, 11)})
            table.append([pairs[c] for c in sorted(pairs)])
        probs.append(np.array(table))
        with h5py.File(q) as f:
            images.append(f["query/shard_00000/images"][()])
    return probs, images


def test_block_set_model_predicts_the_same_under_two_keys(tmp_path):
    """A block-set model sees a set of blocks: the same images in two query files, each image
    scrambled with its own fresh key, get the same probabilities from bs-predict."""
    d = make_cloud(tmp_path, "blockset-narrow")
    write_demo_images(d / "imgs", n=8)
    probs, (ia, ib) = two_key_predictions(d)
    assert not np.array_equal(ia, ib)  # two different scramblings of the same images
    assert probs[0].shape == (8, 10)
    np.testing.assert_allclose(probs[0], probs[1], atol=2e-6)  # the CSV has 6 decimals
