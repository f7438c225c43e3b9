"""JPEG copies in a shard folder, end to end: encrypt, train, predict, audit, decrypt."""

import json

import pytest
from click.testing import CliRunner

torch = pytest.importorskip("torch")

from encrypt_tool.cli import main as encrypt_main  # noqa: E402
from trainer.config import TrainConfig  # noqa: E402
from trainer.predict_cli import main as predict_main  # noqa: E402
from trainer.train import train  # noqa: E402


def _cli(main, *args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.slow
def test_jpeg_folder_encrypt_train_predict_audit_decrypt(tmp_path):
    assert _cli(encrypt_main, "keygen", "--out", tmp_path / "k.key").exit_code == 0
    r = _cli(encrypt_main, "dataset", "--source", "synthetic:64", "--key", tmp_path / "k.key",
             "--n-keys", "2", "--limit", "64", "--seed", "1", "--shard-size", "24",
             "--store", "jpeg:90", "--out", f"{tmp_path}/enc/", "--quiet")
    assert r.exit_code == 0, r.output
    enc = tmp_path / "enc"
    train(TrainConfig(data=str(enc), out=str(tmp_path / "run"), epochs=1, batch_size=32,
                      model="resnet18-narrow", progress=False, device="cpu"))
    best = torch.load(tmp_path / "run" / "best.pt", weights_only=True)["metrics"]
    r = _cli(predict_main, tmp_path / "run", enc, "--out", tmp_path / "p.csv", "--batch-size",
             32)
    assert r.exit_code == 0, r.output
    meta = json.loads((tmp_path / "p.json").read_text())
    assert meta["accuracy"] == pytest.approx(best["test_acc_tta"], abs=1e-12)
    r = _cli(encrypt_main, "audit", enc, "--key", tmp_path / "k.key", "--samples", "3",
             "--out", tmp_path / "audit")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "audit" / "audit.json").is_file()
    r = _cli(encrypt_main, "decrypt", enc, "--key", tmp_path / "k.key", "--out",
             tmp_path / "d.npz", "--split", "test")
    assert r.exit_code == 0 and "64 images" in r.output, r.output
