"""``bs-encrypt query`` and ``results``: the client's side of classifying new images.

Query files get the test treatment of the training file and fresh per-image keys, hold opaque
ids only, decrypt with the client's key, and every bad input is one clear line with nothing
left behind."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from test_trainer_files import write_file

from encrypt_tool.cli import main
from encrypt_tool.demo_images import write_demo_images
from encrypt_tool.sources.synthetic import render


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """A key, a small encrypted training file (crop + flip on its test split) and new PNGs."""
    d = tmp_path_factory.mktemp("client")
    assert cli("keygen", "--out", d / "k.key").exit_code == 0
    r = cli("dataset", "--source", "synthetic:64", "--key", d / "k.key", "--n-keys", "1",
            "--limit", "32", "--seed", "0", "--out", d / "enc.h5", "--quiet")
    assert r.exit_code == 0, r.output
    write_demo_images(d / "imgs" / "sub", n=6)  # a nested folder: searched recursively
    return d


def listing(d: Path) -> set[str]:
    return {p.name for p in d.iterdir()}


def test_query_writes_opaque_ids_and_a_private_manifest(client, tmp_path):
    out = tmp_path / "q.h5"
    r = cli("query", client / "imgs", "--like", client / "enc.h5", "--key", client / "k.key",
            "--out", out)
    assert r.exit_code == 0, r.output
    man = tmp_path / "q.private-manifest.json"
    assert "keep it on this machine" in r.output and str(man) in r.output
    assert stat.S_IMODE(man.stat().st_mode) == 0o600
    m = json.loads(man.read_text())
    assert [e["id"] for e in m["images"]] == list(range(6))
    assert Path(m["images"][0]["path"]).name.startswith("000_")
    with h5py.File(out) as f, h5py.File(client / "enc.h5") as g:
        assert f.attrs["complete"] and f.attrs["kind"] == "query"
        assert f.attrs["dataset_id"] == m["dataset_id"] != g.attrs["dataset_id"]
        assert f.attrs["key_fingerprint"] == g.attrs["key_fingerprint"]
        assert list(f["query/shard_00000/ids"][()]) == list(range(6))
        assert f["query/shard_00000/images"].shape == (6, 1, 32, 32, 3)
        assert json.loads(f["query"].attrs["augment"])["crop"] is True  # the test treatment
        assert json.loads(f["query"].attrs["augment"])["gridmask"] is False


def test_created_follows_source_date_epoch(client, tmp_path, monkeypatch):
    """As dataset's: the file's and the manifest's ``created`` is $SOURCE_DATE_EPOCH when set
    (else the time of the run); a bad value is refused before anything is written."""
    args = ["query", client / "imgs", "--like", client / "enc.h5", "--key", client / "k.key"]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert cli(*args, "--out", tmp_path / "a.h5").exit_code == 0
    with h5py.File(tmp_path / "a.h5") as f:
        assert f.attrs["created"] == "2023-11-14T22:13:20+00:00"
    man = json.loads((tmp_path / "a.private-manifest.json").read_text())
    assert man["created"] == "2023-11-14T22:13:20+00:00"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    r = cli(*args, "--out", tmp_path / "b.h5")
    assert r.exit_code == 1 and "SOURCE_DATE_EPOCH='yesterday'" in r.output
    assert listing(tmp_path) == {"a.h5", "a.private-manifest.json"}
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert cli(*args, "--out", tmp_path / "c.h5").exit_code == 0
    with h5py.File(tmp_path / "c.h5") as f:
        assert f.attrs["created"].startswith("20")


def test_client_decrypts_a_query_back_to_its_images(client, tmp_path):
    out = tmp_path / "q.h5"
    r = cli("query", client / "imgs", "--like", client / "enc.h5", "--key", client / "k.key",
            "--out", out, "--no-test-augment")
    assert r.exit_code == 0, r.output
    with h5py.File(out) as f:
        enc = f["query/shard_00000/images"][:, 0]
    plain = render(7, np.arange(6))  # what write_demo_images wrote
    assert not np.array_equal(enc, plain)  # scrambled
    r = cli("decrypt", out, "--key", client / "k.key", "--out", tmp_path / "plain.npz")
    assert r.exit_code == 0, r.output
    assert np.array_equal(np.load(tmp_path / "plain.npz")["images"], plain)


def test_every_query_gets_fresh_keys(client, tmp_path):
    outs = []
    for name in ("a.h5", "b.h5"):
        r = cli("query", client / "imgs", "--like", client / "enc.h5", "--key",
                client / "k.key", "--out", tmp_path / name, "--no-test-augment")
        assert r.exit_code == 0, r.output
        with h5py.File(tmp_path / name) as f:
            outs.append((f.attrs["dataset_id"], f["query/shard_00000/images"][()]))
    assert outs[0][0] != outs[1][0]
    same = [np.array_equal(a, b) for a, b in zip(outs[0][1], outs[1][1], strict=True)]
    assert not any(same)  # every image scrambled differently (16! permutations)


def test_plain_training_file_needs_no_key(client, tmp_path):
    r = cli("dataset", "--source", "synthetic:16", "--no-scramble", "--limit", "16",
            "--out", tmp_path / "plain.h5", "--quiet")
    assert r.exit_code == 0, r.output
    r = cli("query", client / "imgs", "--like", tmp_path / "plain.h5", "--out", tmp_path / "q.h5",
            "--no-test-augment")
    assert r.exit_code == 0, r.output
    assert not (tmp_path / "default-home").exists()  # no key was created or read
    with h5py.File(tmp_path / "q.h5") as f:
        assert not f.attrs["scrambled"]
        assert np.array_equal(f["query/shard_00000/images"][:, 0], render(7, np.arange(6)))


def test_npz_input_keeps_labels(client, tmp_path):
    x = render(7, np.arange(5))
    np.savez(tmp_path / "new.npz", images=x, labels=np.arange(5))
    r = cli("query", tmp_path / "new.npz", "--like", client / "enc.h5", "--key",
            client / "k.key", "--out", tmp_path / "q.h5")
    assert r.exit_code == 0, r.output
    with h5py.File(tmp_path / "q.h5") as f:
        assert f.attrs["has_labels"]
        assert list(f["query/shard_00000/labels"][()]) == [0, 1, 2, 3, 4]


# --- bad input: one line naming the value, exit 1, nothing written --------------------------


def refused(r, *words) -> None:
    assert r.exit_code == 1, r.output
    text = r.output.strip()
    assert text.startswith("Error:") and len(text.splitlines()) == 1, text
    for w in words:
        assert str(w) in text, (w, text)


def query(client, out_dir: Path, *inputs, **opts):
    args = ["query", *inputs, "--out", out_dir / "q.h5"]
    opts = {"like": client / "enc.h5", "key": client / "k.key", **opts}
    for k, v in opts.items():
        args += [f"--{k.replace('_', '-')}"] + ([] if v is True else [v])
    return cli(*args)


def test_no_images_found(client, tmp_path):
    (tmp_path / "empty" / "deeper").mkdir(parents=True)
    (tmp_path / "empty" / "notes.txt").write_text("no images")
    out = tmp_path / "out"
    out.mkdir()
    refused(query(client, out, tmp_path / "empty"), "no images found", "empty")
    assert listing(out) == set()


def test_corrupt_image_is_named_or_skipped(client, tmp_path):
    d = tmp_path / "imgs"
    write_demo_images(d, n=3)
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    out = tmp_path / "out"
    out.mkdir()
    refused(query(client, out, d), "broken.png")
    assert listing(out) == set()
    r = query(client, out, d, skip_bad=True)
    assert r.exit_code == 0, r.output
    assert "3 images" in r.output and "1 skipped" in r.output
    m = json.loads((out / "q.private-manifest.json").read_text())
    assert len(m["images"]) == 3 and "broken.png" in m["skipped"][0]["path"]


def test_wrong_size_lists_the_expected_size(client, tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    Image.fromarray(np.zeros((40, 48, 3), np.uint8)).save(d / "big.png")
    out = tmp_path / "out"
    out.mkdir()
    refused(query(client, out, d), "big.png", "48x40", "32x32", "--resize")
    assert listing(out) == set()


def test_resize_brings_other_sizes_to_the_training_size(client, tmp_path):
    from encrypt_tool.sources.imagefile import read_image

    d = tmp_path / "imgs"
    d.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(d / "a.png")
    Image.fromarray(rng.integers(0, 256, (64, 30), dtype=np.uint8)).save(d / "b.png")  # grey
    out = tmp_path / "out"
    out.mkdir()
    r = query(client, out, d, resize=True, no_test_augment=True)
    assert r.exit_code == 0, r.output
    r = cli("decrypt", out / "q.h5", "--key", client / "k.key", "--out", tmp_path / "p.npz")
    assert r.exit_code == 0, r.output
    want = np.stack([read_image(d / n, (32, 32)) for n in ("a.png", "b.png")])
    assert np.array_equal(np.load(tmp_path / "p.npz")["images"], want)


def test_query_like_a_resized_folder_file_is_resized_the_same_way(tmp_path, key_file):
    from encrypt_tool.sources.imagefile import read_image

    src = tmp_path / "photos"
    rng = np.random.default_rng(1)
    for cls in ("cat", "dog"):
        (src / cls).mkdir(parents=True)
        for i in range(3):
            img = rng.integers(0, 256, (50 + 10 * i, 70, 3), dtype=np.uint8)
            Image.fromarray(img).save(src / cls / f"{i}.png")
    r = cli("dataset", "--source", f"folder:{src}", "--image-size", "32", "--test-fraction",
            "0.34", "--key", key_file, "--n-keys", "1", "--no-augment", "--out",
            tmp_path / "enc.h5", "--quiet", "--jobs", "1")
    assert r.exit_code == 0, r.output
    out = tmp_path / "out"
    out.mkdir()
    r = cli("query", src / "cat", "--like", tmp_path / "enc.h5", "--key", key_file,
            "--out", out / "q.h5")
    assert r.exit_code == 0, r.output  # no --resize needed: the training file was resized
    r = cli("decrypt", out / "q.h5", "--key", key_file, "--out", tmp_path / "p.npz")
    assert r.exit_code == 0, r.output
    want = np.stack([read_image(src / "cat" / f"{i}.png", (32, 32)) for i in range(3)])
    assert np.array_equal(np.load(tmp_path / "p.npz")["images"], want)


@pytest.mark.parametrize("case", ["missing", "text", "incomplete", "damaged"])
def test_bad_like_file(client, tmp_path, case):
    like = tmp_path / "like.h5"
    if case == "text":
        like.write_text("not hdf5")
    elif case == "incomplete":
        write_file(like, n_train=8, n_test=4, complete=False)
    elif case == "damaged":  # a bs-encrypt file whose metadata lacks an attribute
        write_file(like, n_train=8, n_test=4)
        with h5py.File(like, "r+") as f:
            del f.attrs["image_shape"]
    out = tmp_path / "out"
    out.mkdir()
    refused(query(client, out, client / "imgs", like=like), "like.h5")
    assert listing(out) == set()


def test_key_of_another_fingerprint_is_refused(client, tmp_path):
    assert cli("keygen", "--out", tmp_path / "other.key").exit_code == 0
    out = tmp_path / "out"
    out.mkdir()
    refused(query(client, out, client / "imgs", key=tmp_path / "other.key"), "fingerprint")
    assert listing(out) == set()


@pytest.mark.parametrize("name", ["q.txt", "q"])
def test_out_must_be_an_h5_file(client, tmp_path, name):
    out = tmp_path / "out"
    out.mkdir()
    r = cli("query", client / "imgs", "--like", client / "enc.h5", "--key", client / "k.key",
            "--out", out / name)
    refused(r, f"--out {out / name}", ".h5 file")
    assert listing(out) == set()


def test_existing_output_needs_overwrite(client, tmp_path):
    (tmp_path / "q.h5").write_bytes(b"old")
    refused(query(client, tmp_path, client / "imgs"), "q.h5", "--overwrite")
    assert (tmp_path / "q.h5").read_bytes() == b"old"
    assert not (tmp_path / "q.private-manifest.json").exists()
    r = query(client, tmp_path, client / "imgs", overwrite=True)
    assert r.exit_code == 0, r.output


# --- results ---------------------------------------------------------------------------------


def test_results_refuses_predictions_of_another_query(client, tmp_path):
    """The query id travels in the CSV: a manifest of another query of the same length is
    refused, whatever JSON lies beside it, and so are predictions that carry no id."""
    r = query(client, tmp_path, client / "imgs")
    assert r.exit_code == 0, r.output
    man = tmp_path / "q.private-manifest.json"
    want = json.loads(man.read_text())["dataset_id"]
    other = "ab" * 16
    rows = "".join(f"{i},{other},redcyan-vert5,0.9\n" for i in range(6))
    (tmp_path / "p.csv").write_text("id,query_id,class,probability\n" + rows)
    (tmp_path / "p.json").write_text(json.dumps({"query": {"dataset_id": want}}))  # lies
    refused(cli("results", tmp_path / "p.csv", "--manifest", man), other, want, "p.csv")
    (tmp_path / "p.json").unlink()
    refused(cli("results", tmp_path / "p.csv", "--manifest", man), other, want)
    rows = "".join(f"{i},redcyan-vert5,0.9\n" for i in range(6))
    (tmp_path / "p.csv").write_text("id,class,probability\n" + rows)  # no id: not trusted
    refused(cli("results", tmp_path / "p.csv", "--manifest", man), "no query id", want)
    rows = "".join(f"{i},{want if i else ''},redcyan-vert5,0.9\n" for i in range(6))
    (tmp_path / "p.csv").write_text("id,query_id,class,probability\n" + rows)  # one row blank
    refused(cli("results", tmp_path / "p.csv", "--manifest", man), "no query id", want)


def test_results_table_is_not_overwritten_without_overwrite(client, tmp_path):
    r = query(client, tmp_path, client / "imgs")
    assert r.exit_code == 0, r.output
    qid = json.loads((tmp_path / "q.private-manifest.json").read_text())["dataset_id"]
    rows = "".join(f"{i},{qid},redcyan-vert5,0.9\n" for i in range(6))
    (tmp_path / "p.csv").write_text("id,query_id,class,probability\n" + rows)
    (tmp_path / "table.csv").write_text("old")
    args = ["results", tmp_path / "p.csv", "--manifest", tmp_path / "q.private-manifest.json",
            "--out", tmp_path / "table.csv"]
    refused(cli(*args), "table.csv", "--overwrite")
    assert (tmp_path / "table.csv").read_text() == "old"
    r = cli(*args, "--overwrite")
    assert r.exit_code == 0 and "000_" in r.output, r.output
    assert stat.S_IMODE((tmp_path / "table.csv").stat().st_mode) == 0o600
