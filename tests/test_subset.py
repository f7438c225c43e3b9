"""A seeded subset stratified by label for --limit-train/--limit-test, audit --samples and
inspect --grid: a file stored class by class (as a folder source writes it) gives every class."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from bsformat.subset import choose_subset, stratified_counts
from encrypt_tool.cli import main

N_CLASSES, PER_CLASS, SIDE = 10, 200, 16
CLASS_ORDERED = np.repeat(np.arange(N_CLASSES), PER_CLASS)  # (2000,): 0 0 ... 9 9


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# --- the pure function -----------------------------------------------------------------------


def test_200_of_a_class_ordered_split_hold_all_10_classes():
    s = choose_subset(len(CLASS_ORDERED), 200, seed=0, labels=CLASS_ORDERED)
    assert np.array_equal(np.bincount(CLASS_ORDERED[s.indices], minlength=10), [20] * 10)
    assert np.all(np.diff(s.indices) > 0)  # sorted, no repeats: reads stay in file order
    assert s.how == "stratified"
    assert s.describe() == "200 of 2,000 images, stratified by label (seed 0)"
    first = np.arange(200)  # what "the first K" gave: one class
    assert len(np.unique(CLASS_ORDERED[first])) == 1


def test_subset_is_seeded():
    a = choose_subset(2000, 50, 0, CLASS_ORDERED).indices
    assert np.array_equal(a, choose_subset(2000, 50, 0, CLASS_ORDERED).indices)
    assert not np.array_equal(a, choose_subset(2000, 50, 1, CLASS_ORDERED).indices)


def test_without_labels_a_seeded_random_subset():
    for labels in (None, np.full(100, -1)):  # no labels, or a query file's -1
        s = choose_subset(100, 10, 3, labels)
        assert s.how == "random" and len(np.unique(s.indices)) == 10
        assert s.describe() == "10 of 100 images, seeded random, no labels (seed 3)"
        assert s.indices.max() > 10  # not the first ten


def test_all_and_bad_sizes():
    assert choose_subset(5, None).describe() == "all 5 images"
    assert np.array_equal(choose_subset(5, 5).indices, np.arange(5))
    for k in (0, 6):
        with pytest.raises(ValueError, match="1..5"):
            choose_subset(5, k)


@pytest.mark.parametrize("sizes, k", [([1, 1, 1, 97], 10), ([500, 30, 5], 20), ([3, 0, 7], 4),
                                       ([10] * 10, 7), ([900, 100], 10)])
def test_stratified_counts(sizes, k):
    take = stratified_counts(np.array(sizes), k)
    assert take.sum() == k and np.all(take <= sizes) and np.all(take >= 0)
    if k >= sum(s > 0 for s in sizes):
        assert np.all(take[np.array(sizes) > 0] >= 1)  # every class present
    share = np.array(sizes) / sum(sizes) * k
    forced = int(((share < 1) & (np.array(sizes) > 0)).sum())  # small classes raised to one
    assert np.all(np.abs(take - share) < 1 + forced)  # otherwise proportional


# --- every command that takes a subset -------------------------------------------------------


@pytest.fixture(scope="module")
def ordered(tmp_path_factory):
    """A file stored class by class: class k is a constant grey 20 + 20 k (scrambling keeps a
    constant image), 2,000 training and 2,000 test images, no augmentation."""
    d = tmp_path_factory.mktemp("ordered")
    x = (20 + 20 * CLASS_ORDERED).astype(np.uint8)[:, None, None, None]
    x = np.broadcast_to(x, (len(x), SIDE, SIDE, 3)).copy()  # (2000, 16, 16, 3)
    np.savez(d / "train.npz", images=x, labels=CLASS_ORDERED)
    np.savez(d / "test.npz", images=x, labels=CLASS_ORDERED)
    assert cli("keygen", "--out", d / "k.key").exit_code == 0
    r = cli("dataset", "--source", f"npz:{d / 'train.npz'},{d / 'test.npz'}", "--key",
            d / "k.key", "--block-size", "4", "--n-keys", "1", "--no-augment", "--seed", "0",
            "--jobs", "1", "--quiet", "--out", d / "enc.h5")
    assert r.exit_code == 0, r.output
    return d


def test_limit_train_and_test_take_every_class(ordered):
    from trainer.source import describe, load_split

    for split in ("train", "test"):
        sp = describe(str(ordered / "enc.h5"), split, limit=200, seed=0)
        assert sp.n_images == 200 and "stratified by label" in sp.subset
        x, y = load_split(sp)
        assert x.shape == (200, 1, SIDE, SIDE, 3)
        assert np.array_equal(np.bincount(y, minlength=10), [20] * 10)
        assert np.array_equal(x[:, 0, 0, 0, 0], 20 + 20 * y)  # images match their labels


def test_bs_train_says_which_subset(ordered, tmp_path):
    from trainer.cli import main as train_main

    r = CliRunner().invoke(train_main, [
        str(ordered / "enc.h5"), "--out", str(tmp_path / "run"), "--limit-train", "200",
        "--limit-test", "50", "--epochs", "1", "--model", "resnet18-narrow", "--device", "cpu",
        "--batch-size", "100", "--threads", "1"])
    assert r.exit_code == 0, r.output
    assert "train subset: 200 of 2,000 images, stratified by label (seed 0)" in r.output
    assert "test subset: 50 of 2,000 images, stratified by label (seed 0)" in r.output


def test_audit_samples_take_every_class(ordered, tmp_path):
    out = tmp_path / "audit"
    r = cli("audit", ordered / "enc.h5", "--key", ordered / "k.key", "--samples", "20",
            "--out", out)
    assert r.exit_code == 0, r.output
    assert "20 of 2,000 images, stratified by label (seed 0)" in r.output
    report = json.loads((out / "audit.json").read_text())
    picked = [row["index"] for row in report["per_image"]]
    assert np.array_equal(np.bincount(CLASS_ORDERED[picked], minlength=10), [2] * 10)
    r = cli("audit", ordered / "enc.h5", "--key", ordered / "k.key", "--samples", "20",
            "--start", "0", "--out", out, "--overwrite")  # an explicit range stays a range
    assert r.exit_code == 0 and "20 from position 0 on" in r.output, r.output


def test_inspect_grid_shows_every_class(ordered, tmp_path):
    grid = tmp_path / "g.png"
    r = cli("inspect", ordered / "enc.h5", "--grid", grid, "--samples", "10")
    assert r.exit_code == 0, r.output
    assert "(test split, 10 of 2,000 images, stratified by label (seed 0))" in r.output
    pixels = np.asarray(Image.open(grid).convert("L"))
    greys = set(np.unique(pixels).tolist()) & {20 + 20 * k for k in range(10)}
    assert len(greys) == 10  # one image of every class


def test_first_k_on_request():
    labels = np.repeat(np.arange(10), 20)  # (200,) class by class
    s = choose_subset(200, 30, seed=5, labels=labels, way="first")
    assert s.indices.tolist() == list(range(30))
    assert s.describe() == "the first 30 of 200 images"
    with pytest.raises(ValueError, match="subset 'last' is not known"):
        choose_subset(200, 30, way="last")


def test_limit_with_subset_first_reads_the_head(ordered):
    from trainer.source import describe, load_split

    sp = describe(str(ordered / "enc.h5"), "test", limit=30, seed=0, way="first")
    assert sp.subset == "the first 30 of 2,000 images"
    _, y = load_split(sp)
    assert y.tolist() == [0] * 30  # the file is stored class by class
