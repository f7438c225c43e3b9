"""Bad input met on first use: each gets one ``Error:`` line naming the option and what is
allowed, exit status 1, before any work and before anything is printed or written."""

import pytest
from click.testing import CliRunner

from encrypt_tool.cli import main as encrypt_main


def invoke(*args):
    return CliRunner().invoke(encrypt_main, [str(a) for a in args])


def one_line_error(result, *needles) -> str:
    """Status 1, nothing on stdout, exactly one ``Error:`` line on stderr holding ``needles``."""
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert result.stdout == "", result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def enc(tmp_path, key_file, run_cli):
    out = tmp_path / "enc.h5"
    r = run_cli("dataset", "--source", "synthetic", "--limit", "16", "--jobs", "1", "--quiet",
                "--key", key_file, "--out", out)
    assert r.exit_code == 0, r.output
    return out


@pytest.mark.parametrize("name", ["g.txt", "grid", "g.png.bak"])
def test_inspect_grid_suffix_is_checked_before_any_output(tmp_path, enc, name):
    one_line_error(invoke("inspect", enc, "--grid", tmp_path / name), "--grid",
                   ".png, .jpg, .jpeg, .pdf, .svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enc.h5", "master.key"]


@pytest.mark.parametrize("command", ["bs-encrypt", "bs-train", "bs-reproduce"])
@pytest.mark.parametrize("seed", ["-1", "4294967296", "x"])
def test_a_seed_outside_0_to_2_32_is_refused_in_one_line(tmp_path, key_file, command, seed):
    from experiments.cli import main as reproduce_main
    from trainer.cli import main as train_main

    args = {"bs-encrypt": (encrypt_main, ["dataset", "--source", "synthetic:8", "--key",
                                          key_file, "--out", tmp_path / "o.h5"]),
            "bs-train": (train_main, [tmp_path / "o.h5", "--out", tmp_path / "run"]),
            "bs-reproduce": (reproduce_main, ["--out", tmp_path / "rep"])}
    main, given = args[command]
    r = CliRunner().invoke(main, [*map(str, given), "--seed", seed])
    one_line_error(r, "--seed", "0<=x<=4294967295" if seed != "x" else "integer")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.key"]


def test_a_huge_output_is_refused_without_yes_naming_its_size(tmp_path, key_file,
                                                               monkeypatch):
    monkeypatch.setattr("encrypt_tool.sizing.free_disk", lambda folder: 2**45)  # it would fit
    line = one_line_error(invoke("dataset", "--source", "synthetic", "--n-keys", "100000",
                                 "--limit", "100", "--key", key_file, "--out",
                                 tmp_path / "o.h5"), "28.6 GiB", "--yes", "20.0 GiB")
    assert line.count("Error") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.key"]


def test_yes_lifts_the_size_limit_and_the_plan_is_stated_first(tmp_path, key_file,
                                                               monkeypatch):
    monkeypatch.setattr("encrypt_tool.sizing.LARGE_OUTPUT", 10_000)
    args = ["dataset", "--source", "synthetic:8", "--key", key_file, "--jobs", "1"]
    one_line_error(invoke(*args, "--out", tmp_path / "o.h5", "--quiet"), "--yes", "9.8 KiB")
    r = invoke(*args, "--out", tmp_path / "o.h5", "--yes")
    assert r.exit_code == 0, r.output
    plan = [line for line in r.stderr.splitlines() if line.startswith("plan: output ")]
    assert len(plan) == 1 and (tmp_path / "o.h5").exists()


def test_bs_train_refuses_a_test_file_of_another_master_key(tmp_path, key_file):
    from keys.master import fingerprint, load_key
    from trainer.cli import main as train_main

    other = tmp_path / "other.key"
    assert invoke("keygen", "--out", other).exit_code == 0
    for name, key in (("enc.h5", key_file), ("other.h5", other)):
        r = invoke("dataset", "--source", "synthetic:16", "--key", key, "--out", tmp_path / name,
                   "--quiet", "--jobs", "1", "--n-keys", "1")
        assert r.exit_code == 0, r.output
    r = CliRunner().invoke(train_main, [str(tmp_path / "enc.h5"), "--test",
                                        str(tmp_path / "other.h5"), "--out", str(tmp_path / "run"),
                                        "--device", "cpu", "--no-progress", "--epochs", "1"])
    assert r.exit_code == 1, r.output
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("Error: ") and "different master keys" in line, r.output
    for key in (key_file, other):
        assert fingerprint(load_key(key)) in line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, needles", [
    (["--gridmask-prob", "2"], ["--gridmask-prob", "2.0", "0..1"]),
    (["--gridmask-d", "32-14"], ["--gridmask-d", "32-14", "d_min <= d_max"]),
    (["--pad", "-3"], ["--pad", "-3", ">= 0"]),
    (["--block-size", "0"], ["--block-size", "0x0", ">= 1"]),
    (["--block-size", "8x"], ["--block-size", "'8x'", "HxW"]),
])
def test_augmentation_and_block_errors_name_their_option(tmp_path, key_file, args, needles):
    one_line_error(invoke("dataset", "--source", "synthetic:8", "--key", key_file, "--out",
                          tmp_path / "o.h5", "--quiet", *args), *needles)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.key"]


def test_inspect_grid_of_a_missing_split_prints_no_metadata_first(tmp_path, enc):
    one_line_error(invoke("inspect", enc, "--grid", tmp_path / "g.png", "--split", "valid"),
                   "--split 'valid'", "test, train")


def test_decrypt_out_must_be_an_npz(tmp_path, enc, key_file):
    one_line_error(invoke("decrypt", enc, "--key", key_file, "--out", tmp_path / "p.txt"),
                   "--out", "p.txt", ".npz")
    assert not (tmp_path / "p.txt").exists()


@pytest.mark.parametrize("name", ["x.txt", "enc", "enc.npz"])
def test_dataset_out_must_be_an_h5_file_or_a_folder(tmp_path, key_file, name):
    out = tmp_path / name
    one_line_error(invoke("dataset", "--source", "synthetic:8", "--key", key_file, "--out", out,
                          "--quiet"), f"--out {out}", ".h5 file", "folder for shards")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.key"]
    r = invoke("dataset", "--source", "synthetic:8", "--key", key_file, "--out", f"{out}/",
               "--quiet", "--jobs", "1")  # the same name as a folder of shards
    assert r.exit_code == 0 and (out / "manifest.json").is_file(), r.output
