"""One convention for bad input in every command: one ``Error: ...`` line, exit status 1, and
nothing left behind; bs-train answers before importing torch; --version everywhere."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from encrypt_tool import __version__
from encrypt_tool.cli import main as encrypt_main
from experiments.cli import main as reproduce_main
from trainer.cli import main as train_main
from trainer.predict_cli import main as predict_main

REPO = Path(__file__).resolve().parents[1]
COMMANDS = {"bs-encrypt": encrypt_main, "bs-train": train_main, "bs-reproduce": reproduce_main,
            "bs-predict": predict_main}


def invoke(command: str, *args):
    return CliRunner().invoke(COMMANDS[command], [str(a) for a in args])


def one_line_error(result, *needles) -> str:
    """The result failed with status 1 and exactly one ``Error:`` line on stderr."""
    assert result.exit_code == 1, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output and "Usage:" not in result.output
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def enc(tmp_path, key_file, run_cli):
    out = tmp_path / "enc.h5"
    r = run_cli("dataset", "--source", "synthetic", "--limit", "64", "--jobs", "1", "--quiet",
                "--key", key_file, "--out", out)
    assert r.exit_code == 0, r.output
    return out


@pytest.mark.parametrize("args, needles", [
    (["dataset", "--key", "{dir}"], ["--key", "is a directory"]),
    (["keygen", "--out", "{dir}/"], ["--out", "is a directory"]),
    (["dataset", "--out", "{dir}", "--workers", "0"], ["--workers 0", "at least 1"]),
    (["dataset", "--store", "jpeg", "--block-size", "4"], ["4x4", "off the JPEG grid"]),
    (["dataset", "--scheduler", "tcp://10.1.2.3:8786"], ["tcp://10.1.2.3:8786", "tls://"]),
    (["dataset", "--preset", "strong"], ["--preset", "'strong'", "paper", "hardened", "private"]),
    (["dataset", "--n-keys", "four"], ["--n-keys", "'four'", "integer"]),
    (["dataset", "--n-keys", "0"], ["--n-keys 0", "at least 1"]),
    (["inspect"], ["FILE"]),
    (["encryptt"], ["encryptt"]),
])
def test_bs_encrypt_bad_input(tmp_path, args, needles):
    args = [a.format(dir=tmp_path) for a in args]
    one_line_error(invoke("bs-encrypt", *args), *needles)


def test_output_naming_an_existing_file_is_one_line(tmp_path, key_file, run_cli):
    out = tmp_path / "o.h5"
    out.write_bytes(b"keep")
    one_line_error(invoke("bs-encrypt", "dataset", "--source", "synthetic", "--limit", "8",
                          "--key", key_file, "--out", out, "--quiet"), "--overwrite")
    assert out.read_bytes() == b"keep"


@pytest.mark.parametrize("args, needles", [
    (["{dir}"], ["is a folder without manifest.json"]),
    (["{dir}/none.h5"], ["none.h5", "does not exist"]),
    (["{h5}", "--epochs", "0"], ["--epochs 0", ">= 1"]),
    (["{h5}", "--batch-size", "-1"], ["--batch-size -1", ">= 1"]),
    (["{h5}", "--threads", "0"], ["--threads 0"]),
    (["{h5}", "--model", "vgg"], ["--model", "'vgg'", "resnet18"]),
    (["{h5}", "--epochs", "many"], ["--epochs", "integer"]),
    (["{h5}", "--device", "tpu"], ["'tpu'", "auto, cpu, cuda"]),
    (["{h5}", "--resume", "--overwrite"], ["--resume or --overwrite"]),
])
def test_bs_train_bad_input(tmp_path, args, needles):
    h5 = tmp_path / "d.h5"
    h5.write_bytes(b"not checked before the options")
    args = [a.format(dir=tmp_path, h5=h5) for a in args]
    one_line_error(invoke("bs-train", *args, "--out", tmp_path / "run"), *needles)
    assert not (tmp_path / "run").exists()


def test_bs_train_cuda_without_gpu(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # no GPU visible, whatever the machine
    h5 = tmp_path / "d.h5"
    h5.write_bytes(b"x")
    one_line_error(invoke("bs-train", h5, "--device", "cuda"), "--device cuda", "--device cpu")


@pytest.mark.parametrize("args, needles", [
    (["--condition", "sideways"], ["--condition", "'sideways'"]),
    (["--key", "{dir}"], ["--key", "is a directory"]),
    (["--epochs", "x"], ["--epochs", "integer"]),
])
def test_bs_reproduce_click_errors(tmp_path, args, needles):
    args = [a.format(dir=tmp_path) for a in args]
    one_line_error(invoke("bs-reproduce", *args, "--out", tmp_path / "r"), *needles)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("args, needles", [
    (["{dir}", "{dir}/q.h5", "--top-k", "abc"], ["--top-k", "integer"]),
    (["{dir}", "{dir}/q.h5", "--checkpoint", "first"], ["--checkpoint", "'first'"]),
    (["{dir}"], ["DATA"]),
])
def test_bs_predict_click_errors(tmp_path, args, needles):
    args = [a.format(dir=tmp_path) for a in args]
    one_line_error(invoke("bs-predict", *args, "--out", tmp_path / "p.csv"), *needles)
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize("command, args", [
    ("bs-train", ["{file}", "--out", "{file}"]),
    ("bs-reproduce", ["--out", "{file}"]),
    ("bs-encrypt", ["audit", "{file}", "--out", "{file}"]),
])
def test_out_naming_an_existing_file(tmp_path, command, args):
    file = tmp_path / "taken"
    file.write_bytes(b"keep")
    one_line_error(invoke(command, *[a.format(file=file) for a in args]), "--out", "is a file")
    assert file.read_bytes() == b"keep"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_version(command):
    r = invoke(command, "--version")
    assert r.exit_code == 0 and r.output.strip() == f"{command}, version {__version__}"


def test_bs_train_rejects_bad_options_before_importing_torch(tmp_path):
    h5 = tmp_path / "d.h5"
    h5.write_bytes(b"x")
    script = f"""
import sys
from trainer.cli import main
for args in (["--epochs", "0"], ["--batch-size", "-1"], ["--device", "cuda"], []):
    path = {str(h5)!r} if args else {str(tmp_path / "missing.h5")!r}
    try:
        main([path, *args])
    except SystemExit as e:
        print("exit", e.code, "torch" in sys.modules)
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO,
                       env={"PATH": "/usr/bin:/bin", "CUDA_VISIBLE_DEVICES": ""}, timeout=120)
    assert r.stdout.split("\n")[:4] == ["exit 1 False"] * 4, (r.stdout, r.stderr)
    errors = r.stderr.strip().splitlines()
    assert len(errors) == 4 and all(e.startswith("Error: ") for e in errors), r.stderr
    assert "--epochs 0" in errors[0] and "missing.h5" in errors[3]


def test_recipe_names_match_the_torch_module():
    from trainer.config import RECIPE_NAMES
    from trainer.recipe import RECIPES

    assert set(RECIPE_NAMES) == set(RECIPES)


def test_default_threads_follows_the_idle_cores(monkeypatch):
    import os

    from trainer.config import MAX_DEFAULT_THREADS, default_threads

    cores = len(os.sched_getaffinity(0))
    monkeypatch.setattr("trainer.config._busy_cores", lambda: 0.0)
    assert default_threads() == min(cores, MAX_DEFAULT_THREADS)
    monkeypatch.setattr("trainer.config._busy_cores", lambda: cores + 10.0)
    assert default_threads() == 1


# --- silent clamps are refused, naming the limit -------------------------------------------


def test_limit_train_larger_than_the_data_is_refused(enc, tmp_path):
    one_line_error(invoke("bs-train", enc, "--limit-train", "999999", "--device", "cpu",
                          "--out", tmp_path / "run"), "--limit-train 999999", "64", "1..64")
    assert not (tmp_path / "run").exists()


def test_limit_test_larger_than_the_split_is_refused_before_any_output(enc, tmp_path):
    r = invoke("bs-train", enc, "--limit-test", "99999", "--device", "cpu", "--out",
               tmp_path / "run")
    one_line_error(r, "--limit-test 99999", "'test' split holds 64 images", "1..64")
    assert r.stdout == ""  # the configuration is not printed for a run that cannot start
    assert not (tmp_path / "run").exists()
    script = f"""
import sys
from trainer.cli import main
try:
    main([{str(enc)!r}, "--limit-test", "99999", "--out", {str(tmp_path / "run")!r}])
except SystemExit as e:
    print("exit", e.code, "torch" in sys.modules)
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO,
                       env={"PATH": "/usr/bin:/bin", "CUDA_VISIBLE_DEVICES": ""}, timeout=120)
    assert r.stdout == "exit 1 False\n", (r.stdout, r.stderr)  # before torch is imported


def test_audit_samples_larger_than_the_split_is_refused(enc, key_file, tmp_path):
    out = tmp_path / "audit"
    one_line_error(invoke("bs-encrypt", "audit", enc, "--key", key_file, "--samples", "100000",
                          "--out", out), "--samples 100000", "64 images", "1..64")
    assert not out.exists()


def test_dataset_limit_above_every_split_is_refused(tmp_path, key_file):
    out = tmp_path / "o.h5"
    one_line_error(invoke("bs-encrypt", "dataset", "--source", "synthetic:64", "--limit",
                          "100000", "--key", key_file, "--out", out, "--quiet"),
                   "--limit 100,000", "train 64", "test 1,000", "1..1000")
    assert not out.exists()
    r = invoke("bs-encrypt", "dataset", "--source", "synthetic:64", "--limit", "100",
               "--key", key_file, "--out", out, "--quiet")  # the smaller split: said, not hidden
    assert r.exit_code == 0, r.output
    assert "split 'train' has 64 images, fewer than --limit 100: all of them" in r.stderr


@pytest.mark.parametrize("args, needles", [
    (["--start", "999", "--samples", "5"], ["--start 999", "past the end", "64 images", "0..63"]),
    (["--start", "64"], ["--start 64", "0..63"]),
    (["--start", "60", "--samples", "5"], ["--samples 5 from --start 60", "1..4"]),
])
def test_audit_start_past_the_end_is_refused(enc, key_file, tmp_path, args, needles):
    out = tmp_path / "audit"
    one_line_error(invoke("bs-encrypt", "audit", enc, "--key", key_file, *args, "--out", out),
                   *needles)
    assert not out.exists()


def test_audit_default_samples_shrink_to_the_rest_of_the_split_saying_so(enc, key_file,
                                                                        tmp_path):
    r = invoke("bs-encrypt", "audit", enc, "--key", key_file, "--start", "61", "--out",
               tmp_path / "audit")
    assert r.exit_code == 0, r.output
    assert "auditing the 3 images from --start 61 of split 'test'" in r.stderr
    assert "the default --samples is 200" in r.stderr


@pytest.mark.parametrize("samples, needles", [
    ("100000", ["--samples 100000", "1..32"]), ("0", ["--samples 0", "1..32"]),
    ("20", ["--samples 20", "16 images", "1..16"]),
])
def test_inspect_grid_samples_out_of_range_are_refused(tmp_path, key_file, samples, needles):
    small = tmp_path / "small.h5"
    r = invoke("bs-encrypt", "dataset", "--source", "synthetic:16", "--limit", "16", "--key",
               key_file, "--out", small, "--quiet")
    assert r.exit_code == 0, r.output
    grid = tmp_path / "g.png"
    r = invoke("bs-encrypt", "inspect", small, "--grid", grid, "--samples", samples)
    one_line_error(r, *needles)
    assert not grid.exists() and r.stdout == ""
    r = invoke("bs-encrypt", "inspect", small, "--grid", grid, "--samples", "16")
    assert r.exit_code == 0 and grid.exists(), r.output
    with Image.open(grid) as im:
        assert im.width < 16 * 4 * (32 + 2) + 1


def test_pad_larger_than_half_the_image_is_refused(tmp_path, key_file, run_cli):
    out = tmp_path / "o.h5"
    r = run_cli("dataset", "--source", "synthetic", "--limit", "8", "--key", key_file,
                "--out", out, "--pad", "100", "--quiet")
    assert r.exit_code == 1 and "--pad 100" in r.output and "0..16" in r.output, r.output
    assert not out.exists() and not list(tmp_path.glob("*.partial"))
    assert run_cli("dataset", "--source", "synthetic", "--limit", "8", "--key", key_file,
                   "--out", out, "--pad", "16", "--quiet").exit_code == 0


# --- words -----------------------------------------------------------------------------------


def test_inspect_counts_in_the_singular_and_plural(enc, run_cli):
    text = run_cli("inspect", enc).output
    assert "64 images x 1 copy in 1 shard of" in text
    assert "64 images x 4 copies in 1 shard of" in text
    assert "1 copies" not in text and "1 shards" not in text


def test_nchw_npz_is_named_as_such(tmp_path, key_file, run_cli):
    npz = tmp_path / "x.npz"
    np.savez(npz, images=np.zeros((4, 3, 32, 32), np.uint8), labels=np.arange(4))
    r = run_cli("dataset", "--source", f"npz:{npz}", "--key", key_file, "--out", tmp_path / "o.h5")
    assert r.exit_code == 1
    assert "images must be NHWC (N, H, W, C)" in r.output and "NCHW" in r.output, r.output
    assert "block size" not in r.output


def test_cifar10_download_failure_says_how_to_use_a_local_copy(tmp_path, key_file, run_cli,
                                                                monkeypatch):
    import urllib.error

    import torchvision

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    out = tmp_path / "o.h5"
    r = run_cli("dataset", "--source", "cifar10", "--data-dir", tmp_path / "cifar", "--download",
                "--key", key_file, "--out", out)
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "could not download CIFAR-10" in r.output and "name resolution" in r.output
    assert "--data-dir" in r.output and "CIFAR_DIR=" in r.output, r.output
    assert not out.exists()
    assert not (tmp_path / "cifar").exists()  # no empty cache folder left behind


def test_bare_bs_encrypt_prints_its_help():
    r = invoke("bs-encrypt")
    assert r.exit_code == 0 and r.output.startswith("Usage: ") and "Error" not in r.output


# --- the config line comes only once the options are valid -----------------------------------


@pytest.mark.parametrize("args, needles", [
    (["--block-size", "64"], ["larger than"]),  # found while opening the source
    (["--pad", "100"], ["--pad 100"]),
])
def test_dataset_refusal_is_one_line_without_config(tmp_path, key_file, args, needles):
    out = tmp_path / "o.h5"
    r = invoke("bs-encrypt", "dataset", "--source", "synthetic", "--limit", "8", "--key",
               key_file, "--out", out, *args)  # no --quiet
    one_line_error(r, *needles)
    assert "config {" not in r.output and not out.exists()


def test_dataset_prints_config_once_and_never_with_quiet(tmp_path, key_file):
    args = ["dataset", "--source", "synthetic", "--limit", "8", "--key", key_file, "--jobs", "1"]
    r = invoke("bs-encrypt", *args, "--out", tmp_path / "a.h5")
    assert r.exit_code == 0, r.output
    assert r.stderr.count("config {") == 1, r.stderr
    r = invoke("bs-encrypt", *args, "--out", tmp_path / "b.h5", "--quiet")
    assert r.exit_code == 0 and "config {" not in r.output, r.output


def test_bs_reproduce_refusal_is_one_line_without_config(tmp_path):
    r = invoke("bs-reproduce", "--smoke", "--source", "synthetic", "--batch-size", "100000",
               "--out", tmp_path / "r")
    one_line_error(r, "--batch-size 100000")
    assert "config" not in r.output.replace(str(tmp_path), "") and not (tmp_path / "r").exists()


def test_ctrl_c_exits_130_with_one_line(tmp_path, key_file, monkeypatch):
    """Ctrl-C: status 130 (128 + SIGINT), the one convention of every command."""
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("encrypt_tool.pipeline.build_dataset", interrupted)
    r = invoke("bs-encrypt", "dataset", "--source", "synthetic", "--limit", "8", "--key",
               key_file, "--out", tmp_path / "o.h5", "--quiet")
    assert r.exit_code == 130 and r.stderr.strip().splitlines() == [
        "interrupted; nothing was written"], (r.exit_code, r.output)
    assert not (tmp_path / "o.h5").exists()
