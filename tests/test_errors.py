"""Bad input: a clear message naming the value, a non-zero exit, nothing written or lost."""

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

SMALL = ["--source", "synthetic", "--limit", "64", "--jobs", "1", "--quiet"]
ROOT = os.geteuid() == 0


def fails(result, *needles):
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    for n in needles:
        assert n in result.output, result.output


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.fixture
def enc(tmp_path, key_file, run_cli):
    out = tmp_path / "enc.h5"
    assert run_cli("dataset", *SMALL, "--key", key_file, "--out", out).exit_code == 0
    return out


def test_source_missing(tmp_path, key_file, run_cli):
    out = tmp_path / "o.h5"
    fails(run_cli("dataset", "--source", f"npz:{tmp_path}/nope.npz", "--key", key_file,
                  "--out", out), "nope.npz")
    assert not out.exists()


def test_unknown_source(tmp_path, key_file, run_cli):
    fails(run_cli("dataset", "--source", "imagenet", "--key", key_file,
                  "--out", tmp_path / "o.h5"), "imagenet")


def test_cifar10_offline_without_data(tmp_path, key_file, run_cli):
    fails(run_cli("dataset", "--source", "cifar10", "--data-dir", tmp_path / "empty",
                  "--key", key_file, "--out", tmp_path / "o.h5"), "--download")


def test_empty_folder(tmp_path, key_file, run_cli):
    (tmp_path / "imgs").mkdir()
    fails(run_cli("dataset", "--source", f"folder:{tmp_path}/imgs", "--key", key_file,
                  "--out", tmp_path / "o.h5"), "imgs")


def test_npz_without_images(tmp_path, key_file, run_cli):
    npz = write_npz(tmp_path / "x.npz", pictures=np.zeros((4, 32, 32, 3), np.uint8),
                    labels=np.zeros(4))
    fails(run_cli("dataset", "--source", f"npz:{npz}", "--key", key_file,
                  "--out", tmp_path / "o.h5"), "images", "pictures")


def test_size_not_divisible_by_block(tmp_path, key_file, run_cli):
    npz = write_npz(tmp_path / "x.npz", images=np.zeros((4, 30, 30, 3), np.uint8),
                    labels=np.arange(4))
    out = tmp_path / "o.h5"
    fails(run_cli("dataset", "--source", f"npz:{npz}", "--key", key_file, "--out", out),
          "30x30", "8x8")
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


def _folder(root, sizes):
    for i, size in enumerate(sizes):
        d = root / f"c{i % 2}"
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((*size, 3), 40 * i, np.uint8)).save(d / f"{i}.png")
    return root


def test_mixed_image_sizes(tmp_path, key_file, run_cli):
    root = _folder(tmp_path / "f", [(32, 32), (32, 32), (24, 24)])
    fails(run_cli("dataset", "--source", f"folder:{root}", "--key", key_file,
                  "--out", tmp_path / "o.h5"), "2.png")


def test_corrupt_image(tmp_path, key_file, run_cli):
    root = _folder(tmp_path / "f", [(32, 32), (32, 32)])
    (root / "c0" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    fails(run_cli("dataset", "--source", f"folder:{root}", "--key", key_file,
                  "--out", tmp_path / "o.h5"), "bad.png")


@pytest.mark.parametrize(
    "args, needle",
    [(["--n-keys", "0"], "--n-keys 0"), (["--block-size", "0"], "0x0"),
     (["--block-size", "7"], "7x7"), (["--block-size", "64"], "larger than"),
     (["--batch-size", "0"], "--batch-size 0"), (["--gridmask-d", "x"], "--gridmask-d"),
     (["--gridmask-ratio", "1.5"], "1.5"), (["--gridmask-ratio", "0"], "0.3 <= r < 1"),
     (["--pad", "-2"], "-2")],
)
def test_bad_options(tmp_path, key_file, run_cli, args, needle):
    out = tmp_path / "o.h5"
    fails(run_cli("dataset", *SMALL, "--key", key_file, "--out", out, *args), needle)
    assert not out.exists()


def test_output_exists_is_kept(tmp_path, key_file, run_cli):
    out = tmp_path / "o.h5"
    out.write_bytes(b"precious")
    fails(run_cli("dataset", *SMALL, "--key", key_file, "--out", out), "--overwrite")
    assert out.read_bytes() == b"precious"
    assert run_cli("dataset", *SMALL, "--key", key_file, "--out", out,
                   "--overwrite").exit_code == 0
    assert h5py.is_hdf5(out)


def test_output_directory_missing(tmp_path, key_file, run_cli):
    fails(run_cli("dataset", *SMALL, "--key", key_file, "--out", tmp_path / "no" / "o.h5"),
          "does not exist")


def test_output_parent_is_a_file(tmp_path, key_file, run_cli):
    (tmp_path / "file").write_text("x")
    fails(run_cli("dataset", *SMALL, "--key", key_file, "--out", tmp_path / "file" / "o.h5"),
          "file")


@pytest.mark.skipif(ROOT, reason="root may write to any directory")
def test_output_directory_not_writable(tmp_path, key_file, run_cli):
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    try:
        fails(run_cli("dataset", *SMALL, "--key", key_file, "--out", d / "o.h5"), "not writable")
    finally:
        d.chmod(0o755)


def test_key_file_missing(tmp_path, run_cli):
    fails(run_cli("dataset", *SMALL, "--key", tmp_path / "none.key", "--out", tmp_path / "o.h5"),
          "none.key", "keygen")
    assert not (tmp_path / "o.h5").exists()


def test_key_file_wrong_length(tmp_path, run_cli):
    k = tmp_path / "short.key"
    k.write_text("ab" * 10)
    k.chmod(0o600)
    fails(run_cli("dataset", *SMALL, "--key", k, "--out", tmp_path / "o.h5"), "10 bytes")


def test_key_file_is_a_directory(tmp_path, run_cli):
    fails(run_cli("dataset", *SMALL, "--key", tmp_path, "--out", tmp_path / "o.h5"),
          "directory")


@pytest.mark.skipif(ROOT, reason="root reads any file")
def test_key_file_unreadable(tmp_path, key_file, run_cli):
    key_file.chmod(0o000)
    fails(run_cli("dataset", *SMALL, "--key", key_file, "--out", tmp_path / "o.h5"),
          "not readable")


def test_key_file_readable_by_others_warns(tmp_path, key_file, run_cli):
    key_file.chmod(0o644)
    r = run_cli("dataset", *SMALL, "--key", key_file, "--out", tmp_path / "o.h5")
    assert r.exit_code == 0 and "readable by others" in r.output


def test_decrypt_with_wrong_key(enc, tmp_path, run_cli):
    other = tmp_path / "other.key"
    run_cli("keygen", "--out", other)
    out = tmp_path / "p.npz"
    fails(run_cli("decrypt", enc, "--key", other, "--out", out), "wrong key",
          f"key file {other})")
    assert not out.exists()
    # the default key (here $BS_ENCRYPT_KEY) is named as such
    run_cli("keygen")
    fails(run_cli("decrypt", enc, "--out", out), "wrong key", "master.key, the default",
          "--key")
    fails(run_cli("inspect", enc, "--grid", tmp_path / "g.png", "--key", other), "wrong key",
          str(other))
    assert not out.exists()


def test_decrypted_images_are_private(enc, key_file, tmp_path, run_cli):
    out = tmp_path / "p.npz"
    assert run_cli("decrypt", enc, "--key", key_file, "--out", out).exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert np.load(out)["images"].shape == (64, 32, 32, 3)


def test_keygen_refuses_a_missing_folder(tmp_path, run_cli):
    fails(run_cli("keygen", "--out", tmp_path / "no" / "dir" / "k.key"), "no/dir",
          "does not exist")
    assert not (tmp_path / "no").exists()


def test_decrypt_output_exists(enc, key_file, tmp_path, run_cli):
    out = tmp_path / "p.npz"
    out.write_bytes(b"keep")
    fails(run_cli("decrypt", enc, "--key", key_file, "--out", out), "--overwrite")
    assert out.read_bytes() == b"keep"


def test_decrypt_bad_copy_and_split(enc, key_file, tmp_path, run_cli):
    fails(run_cli("decrypt", enc, "--key", key_file, "--out", tmp_path / "p.npz", "--copy", "9"),
          "copy 9")
    fails(run_cli("decrypt", enc, "--key", key_file, "--out", tmp_path / "p.npz",
                  "--split", "val"), "'val'")


@pytest.mark.parametrize("command", ["decrypt", "inspect"])
def test_truncated_file(enc, key_file, tmp_path, run_cli, command):
    cut = tmp_path / "cut.h5"
    cut.write_bytes(enc.read_bytes()[: enc.stat().st_size // 3])
    extra = ["--key", key_file, "--out", tmp_path / "p.npz"] if command == "decrypt" else []
    fails(run_cli(command, cut, *extra), "cut.h5")
    assert not (tmp_path / "p.npz").exists()


@pytest.mark.parametrize("command", ["decrypt", "inspect"])
def test_foreign_file(key_file, tmp_path, run_cli, command):
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.arange(3)
    text = tmp_path / "notes.h5"
    text.write_text("hello")
    extra = ["--key", key_file, "--out", tmp_path / "p.npz"] if command == "decrypt" else []
    fails(run_cli(command, foreign, *extra), "not a bs-encrypt file")
    fails(run_cli(command, text, *extra), "notes.h5")
    fails(run_cli(command, tmp_path / "absent.h5", *extra), "absent.h5")


def test_keygen_does_not_overwrite(tmp_path, run_cli):
    k = tmp_path / "k.key"
    assert run_cli("keygen", "--out", k).exit_code == 0
    before = k.read_text()
    fails(run_cli("keygen", "--out", k), "--overwrite")
    assert k.read_text() == before


def _start_dataset(tmp_path, key_file, stderr=subprocess.DEVNULL):
    """A long `bs-encrypt dataset` process, returned once its partial file exists."""
    out = tmp_path / "big.h5"
    cmd = [sys.executable, "-m", "encrypt_tool.cli", "dataset", "--source", "synthetic:20000",
           "--key", str(key_file), "--out", str(out), "--jobs", "1", "--batch-size", "100",
           "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr)
    deadline = time.time() + 60
    while not list(tmp_path.glob(".big.h5.*.partial")) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    return proc, out


def test_killed_during_dataset_leaves_nothing_complete(tmp_path, key_file):
    from bsformat.format import FormatError, open_encrypted

    proc, out = _start_dataset(tmp_path, key_file)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    for partial in tmp_path.glob("*.partial"):  # what is left says it is unfinished
        with h5py.File(partial) as f:
            assert not f.attrs["complete"]
        with pytest.raises(FormatError, match="not complete"):
            open_encrypted(partial)


def test_terminated_during_dataset_cleans_up(tmp_path, key_file):
    proc, out = _start_dataset(tmp_path, key_file, stderr=subprocess.PIPE)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0, err
    assert b"Traceback" not in err
    assert not out.exists() and not list(Path(tmp_path).glob("*.partial"))


def test_inspect_grid_bad_input(enc, tmp_path, run_cli):
    png = tmp_path / "g.png"
    png.write_bytes(b"keep")
    fails(run_cli("inspect", enc, "--grid", png), "--overwrite")
    assert png.read_bytes() == b"keep"
    fails(run_cli("inspect", enc, "--grid", tmp_path / "g2.png", "--samples", "0"), "--samples 0")
    fails(run_cli("inspect", enc, "--grid", tmp_path / "no" / "g.png"), "does not exist")
    assert run_cli("inspect", enc, "--grid", png, "--overwrite").exit_code == 0


def test_audit_bad_input(enc, key_file, tmp_path, run_cli):
    out = tmp_path / "audit"
    fails(run_cli("audit", enc, "--key", key_file, "--samples", "0", "--out", out), "--samples 0")
    fails(run_cli("audit", enc, "--key", key_file, "--split", "val", "--out", out), "'val'")
    other = tmp_path / "other.key"
    run_cli("keygen", "--out", other)
    fails(run_cli("audit", enc, "--key", other, "--out", out), "wrong key")
    assert not out.exists()
    assert run_cli("audit", enc, "--key", key_file, "--samples", "4", "--out", out).exit_code == 0
    fails(run_cli("audit", enc, "--key", key_file, "--out", out), "--overwrite")
