"""The README's claim, as worded there: "same key and seed: byte-identical output, whatever
--jobs" (the `created` attribute is `$SOURCE_DATE_EPOCH`, or empty for a seeded run)."""

import h5py

SMALL = ["dataset", "--source", "synthetic", "--limit", "96", "--batch-size", "32", "--quiet"]


def test_same_key_and_seed_byte_identical_whatever_jobs(tmp_path, key_file, run_cli):
    def make(name, *args):
        out = tmp_path / name
        r = run_cli(*SMALL, "--key", key_file, "--out", out, *args)
        assert r.exit_code == 0, r.output
        return out.read_bytes()

    one = make("a.h5", "--seed", "7", "--jobs", "1")
    assert make("b.h5", "--seed", "7", "--jobs", "2") == one
    assert make("c.h5", "--seed", "7", "--jobs", "2", "--backend", "processes") == one
    assert make("d.h5", "--seed", "8", "--jobs", "1") != one
    with h5py.File(tmp_path / "a.h5") as f:
        assert f.attrs["created"] == ""


def test_source_date_epoch_sets_created(tmp_path, key_file, run_cli, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    outs = []
    for name in ("a.h5", "b.h5"):
        outs.append(tmp_path / name)
        assert run_cli(*SMALL, "--key", key_file, "--out", outs[-1], "--seed", "1").exit_code == 0
    assert outs[0].read_bytes() == outs[1].read_bytes()
    with h5py.File(outs[0]) as f:
        assert f.attrs["created"] == "2023-11-14T22:13:20+00:00"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    r = run_cli(*SMALL, "--key", key_file, "--out", tmp_path / "c.h5", "--seed", "1")
    assert r.exit_code == 1 and "SOURCE_DATE_EPOCH='yesterday'" in r.output
    assert not (tmp_path / "c.h5").exists()


def test_unseeded_runs_record_the_time(tmp_path, key_file, run_cli, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    out = tmp_path / "a.h5"
    assert run_cli(*SMALL, "--key", key_file, "--out", out).exit_code == 0
    with h5py.File(out) as f:
        assert f.attrs["created"].startswith("20")
