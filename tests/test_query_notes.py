"""What ``bs-encrypt query`` says about its inputs: images it enlarges (as ``dataset`` does),
labels it leaves out, and an .npz of another size under --resize."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from encrypt_tool.cli import main
from encrypt_tool.sources.synthetic import render


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    d = tmp_path_factory.mktemp("client")
    assert cli("keygen", "--out", d / "k.key").exit_code == 0
    r = cli("dataset", "--source", "synthetic:16", "--key", d / "k.key", "--n-keys", "1",
            "--limit", "16", "--seed", "0", "--out", d / "enc.h5", "--quiet", "--jobs", "1")
    assert r.exit_code == 0, r.output
    return d


def query(client, tmp_path, *inputs, opts=()):
    return cli("query", *inputs, "--like", client / "enc.h5", "--key", client / "k.key",
               "--out", tmp_path / "q.h5", *opts)


def warnings_of(r) -> list[str]:
    return [line for line in r.stderr.splitlines() if line.startswith("warning: ")]


def test_query_warns_when_it_enlarges_an_image_as_dataset_does(client, tmp_path, key_file):
    d = tmp_path / "imgs"
    d.mkdir()
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(d / "tiny.png")
    Image.fromarray(np.zeros((40, 48, 3), np.uint8)).save(d / "big.png")
    r = query(client, tmp_path, d, opts=["--resize"])
    assert r.exit_code == 0, r.output
    [line] = warnings_of(r)
    assert line == ("warning: 1 image(s) smaller than 32x32 (WxH) enlarged to cover it, up to "
                    f"3.2x ({d / 'tiny.png'}, 10x10): enlarged images are blurred")
    # dataset says it in the same words (one shared function)
    for cls in ("a", "b"):
        (tmp_path / "photos" / cls).mkdir(parents=True)
        Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(tmp_path / "photos" / cls / "t.png")
        Image.fromarray(np.zeros((40, 48, 3), np.uint8)).save(tmp_path / "photos" / cls / "u.png")
    r = cli("dataset", "--source", f"folder:{tmp_path / 'photos'}", "--image-size", "32",
            "--test-fraction", "0.5", "--key", key_file, "--out", tmp_path / "f.h5", "--quiet",
            "--jobs", "1")
    assert r.exit_code == 0, r.output
    assert ("warning: 2 image(s) smaller than 32x32 (WxH) enlarged to cover it, up to 3.2x "
            "(a/t.png"
            ", 10x10): enlarged images are blurred") in warnings_of(r)


def test_no_warning_when_nothing_is_enlarged(client, tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    Image.fromarray(np.zeros((40, 48, 3), np.uint8)).save(d / "big.png")
    r = query(client, tmp_path, d, opts=["--resize"])
    assert r.exit_code == 0 and warnings_of(r) == [], r.output


def test_labels_left_out_of_a_mixed_query_are_explained_in_one_line(client, tmp_path):
    np.savez(tmp_path / "new.npz", images=render(7, np.arange(3)), labels=np.arange(3))
    Image.fromarray(render(7, np.arange(1))[0]).save(tmp_path / "one.png")
    r = query(client, tmp_path, tmp_path / "new.npz", tmp_path / "one.png")
    assert r.exit_code == 0, r.output
    [line] = warnings_of(r)
    assert "labels of new.npz are left out" in line and "1 image file(s) have none" in line
    assert "query the .npz on its own" in line
    import h5py

    with h5py.File(tmp_path / "q.h5") as f:
        assert not f.attrs["has_labels"]
    r = query(client, tmp_path, tmp_path / "new.npz", opts=["--overwrite"])  # alone: kept
    assert r.exit_code == 0 and warnings_of(r) == [], r.output


def test_npz_of_another_size_says_resize_applies_to_image_files_only(client, tmp_path):
    np.savez(tmp_path / "x.npz", images=np.zeros((2, 10, 10, 3), np.uint8))
    r = query(client, tmp_path, tmp_path / "x.npz", opts=["--resize"])
    assert r.exit_code == 1
    [line] = r.stderr.strip().splitlines()
    assert line.startswith("Error: ") and "(2, 10, 10, 3)" in line
    assert "--resize applies to image files only" in line
    assert not (tmp_path / "q.h5").exists()
