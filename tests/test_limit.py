"""``dataset --limit K``: a folder source (stored class by class) keeps every class in both
splits, by a seeded stratified choice; other sources take their first K and warn where those
miss classes."""

import h5py
import numpy as np
from PIL import Image

from encrypt_tool.sources import open_source
from encrypt_tool.sources.limit import limit_split


def photo_folder(root, classes=4, per_class=10):
    for c in range(classes):
        d = root / f"class{c}"
        d.mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(np.full((16, 16, 3), 20 * c + i, np.uint8)).save(d / f"{i}.png")
    return root


def labels_of(path, split):
    with h5py.File(path) as f:
        return np.concatenate([f[f"{split}/{k}/labels"][()] for k in sorted(f[split])
                               if k.startswith("shard_")])


def test_limit_on_a_folder_keeps_every_class_in_both_splits(tmp_path, key_file, run_cli):
    src = photo_folder(tmp_path / "photos")
    args = ["dataset", "--source", f"folder:{src}", "--test-fraction", "0.5", "--limit", "8",
            "--key", key_file, "--quiet", "--jobs", "1", "--n-keys", "1", "--block-size", "4",
            "--seed", "3", "--no-augment"]
    r = run_cli(*args, "--out", tmp_path / "enc.h5")
    assert r.exit_code == 0, r.output
    for split in ("train", "test"):
        y = labels_of(tmp_path / "enc.h5", split)
        assert len(y) == 8 and sorted(np.bincount(y)) == [2, 2, 2, 2], (split, y)
    # the shard folder layout stores the same images (workers get a cut of the file list)
    r = run_cli(*args, "--out", f"{tmp_path}/enc/", "--shard-size", "3")
    assert r.exit_code == 0, r.output
    r1 = run_cli("decrypt", tmp_path / "enc.h5", "--key", key_file, "--out", tmp_path / "a.npz",
                 "--split", "test")
    r2 = run_cli("decrypt", tmp_path / "enc", "--key", key_file, "--out", tmp_path / "b.npz",
                 "--split", "test")
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    assert np.array_equal(a["labels"], b["labels"]) and np.array_equal(a["images"], b["images"])


def test_the_stratified_choice_is_seeded(tmp_path):
    src = open_source(f"folder:{photo_folder(tmp_path / 'p')}")
    one, again = (limit_split(src, "train", 8, seed=1).files for _ in range(2))
    other = limit_split(src, "train", 8, seed=2).files
    assert one == again != other
    assert limit_split(src, "train", 40) is src.splits["train"]


def test_other_sources_take_their_first_k_and_warn_when_classes_are_missing(tmp_path,
                                                                           key_file, run_cli):
    x = np.zeros((40, 8, 8, 3), np.uint8)
    np.savez(tmp_path / "sorted.npz", images=x, labels=np.repeat(np.arange(4), 10))
    r = run_cli("dataset", "--source", f"npz:{tmp_path / 'sorted.npz'}", "--limit", "8",
                "--key", key_file, "--out", tmp_path / "o.h5", "--quiet", "--jobs", "1",
                "--n-keys", "1", "--block-size", "4")
    assert r.exit_code == 0, r.output
    assert ("--limit 8 takes the first 8 images of split 'train' of 'npz:sorted', which hold 1 "
            "of its 4 classes") in r.output
    assert list(labels_of(tmp_path / "o.h5", "train")) == [0] * 8
