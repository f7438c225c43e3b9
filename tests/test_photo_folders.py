"""Folders of real photos: one size, modes, a test split, scaled augmentation, size checks."""

import json

import h5py
import numpy as np
import pytest
from PIL import Image

from encrypt_tool.augment import AugmentConfig, scaled_defaults
from encrypt_tool.sizing import effective_batch
from encrypt_tool.sources import SourceError, open_source
from encrypt_tool.sources.folder import stratified_split


def fails(result, *needles):
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for n in needles:
        assert n in result.output, result.output


def _photo(path, w, h, mode="RGB", seed=0):
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
    im = Image.fromarray(arr).resize((w, h), Image.BILINEAR).convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)


def _photos(root, per_class=4):
    """Mixed photos: 500x375 JPEG, grayscale, RGBA, odd sizes, one corrupt file."""
    kinds = [(500, 375, "RGB", "jpg"), (300, 300, "L", "jpg"), (256, 320, "RGBA", "png"),
             (375, 500, "RGB", "png"), (241, 199, "RGB", "webp")]
    for c in ("cat", "dog"):
        for i in range(per_class):
            w, h, mode, ext = kinds[(i + (c == "dog")) % len(kinds)]
            _photo(root / c / f"{i}.{ext}", w, h, mode, seed=i)
    (root / "cat" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return root


def test_mixed_photos_encrypt_to_224_with_16px_blocks(tmp_path, key_file, run_cli):
    root = _photos(tmp_path / "photos")
    out = tmp_path / "p.h5"
    args = ["dataset", "--source", f"folder:{root}", "--key", key_file, "--out", out,
            "--block-size", "16", "--jobs", "1", "--quiet", "--seed", "3"]
    fails(run_cli(*args), "broken.jpg", "--skip-corrupt")
    fails(run_cli(*args, "--skip-corrupt"), "6 of 8 images differ", "--image-size")
    assert not out.exists() and not list(tmp_path.glob(".*partial"))
    r = run_cli(*[a for a in args if a != "--quiet"], "--skip-corrupt", "--image-size", "224",
                "--test-fraction", "0.25")
    assert r.exit_code == 0, r.output
    assert "augment crop pad 28 px (zero), flip, GridMask d 98-224 px" in r.output
    for note in ("left out 1 corrupt", "grayscale", "composited on white"):
        assert note in r.output
    with h5py.File(out) as f:
        assert f["train/shard_00000/images"].shape == (6, 4, 224, 224, 3)
        assert f["test/shard_00000/images"].shape == (2, 1, 224, 224, 3)
        aug = json.loads(f["train"].attrs["augment"])
        assert aug["pad"] == 28 and aug["gridmask_d"] == [98, 224]
        pre = json.loads(f.attrs["preprocess"])
        assert pre["image_size"] == [224, 224] and pre["channels"] == "rgb"
        assert pre["split"] == {"test_fraction": 0.25, "seed": 3, "stratified": True}
        assert "broken" not in f.attrs["preprocess"]
        assert f.attrs["source"] == "folder"  # the kind only: a folder's name can be private
    assert b"photos" not in out.read_bytes()
    grid = tmp_path / "grid.png"
    r = run_cli("inspect", out, "--key", key_file, "--grid", grid, "--split", "train")
    assert r.exit_code == 0, r.output
    assert "crop pad 28 px (zero), flip, GridMask d 98-224 px, r 0.6, p 0.8" in r.output
    assert "blocks 16x16 (196 per image)" in r.output
    assert 2 * (224 + 2) < Image.open(grid).height < 2 * (224 + 2) + 100  # 1:1, two captions
    r = run_cli("decrypt", out, "--key", key_file, "--out", tmp_path / "d.npz", "--split", "test")
    assert r.exit_code == 0 and np.load(tmp_path / "d.npz")["images"].shape == (2, 224, 224, 3)


def test_channels_l_gives_one_channel(tmp_path, key_file, run_cli):
    root = _photos(tmp_path / "photos", per_class=2)
    src = open_source(f"folder:{root}", image_size=(64, 48), channels="l", skip_corrupt=True)
    x = src.splits["train"].read(0, 4)
    assert x.shape == (4, 64, 48, 1) and src.meta["channels"] == "l"
    assert not any("grayscale" in n for n in src.notes)
    out = tmp_path / "l.h5"
    r = run_cli("dataset", "--source", f"folder:{root}", "--key", key_file, "--out", out,
                "--skip-corrupt", "--image-size", "64x48", "--channels", "l", "--quiet")
    assert r.exit_code == 0, r.output
    r = run_cli("decrypt", out, "--key", key_file, "--out", tmp_path / "l.npz")
    assert r.exit_code == 0 and np.load(tmp_path / "l.npz")["images"].shape == (4, 64, 48, 1)
    r = run_cli("inspect", out, "--key", key_file, "--grid", tmp_path / "l.png")
    assert r.exit_code == 0 and "64x48x1" in r.output, r.output


def test_train_without_test_is_not_a_class(tmp_path):
    for c in ("a", "b"):
        for i in range(3):
            _photo(tmp_path / "train" / c / f"{i}.png", 16, 16, seed=i)
    src = open_source(f"folder:{tmp_path}")
    assert src.class_names == ("a", "b") and list(src.splits) == ["train"]
    src = open_source(f"folder:{tmp_path}", test_fraction=0.34)
    assert src.splits["train"].n == 4 and src.splits["test"].n == 2
    assert np.array_equal(np.bincount(src.splits["test"].labels), [1, 1])  # stratified
    _photo(tmp_path / "c" / "0.png", 16, 16)
    with pytest.raises(SourceError, match=r"train/ and also other folders \(c\)"):
        open_source(f"folder:{tmp_path}")
    (tmp_path / "c" / "0.png").unlink()
    (tmp_path / "c").rmdir()
    _photo(tmp_path / "test" / "a" / "0.png", 16, 16)
    with pytest.raises(SourceError, match="already has a test/ split"):
        open_source(f"folder:{tmp_path}", test_fraction=0.2)
    (tmp_path / "train").rename(tmp_path / "training")
    with pytest.raises(SourceError, match="test/ but no train/"):
        open_source(f"folder:{tmp_path}")


def test_stratified_split_is_seeded_and_per_class():
    labels = np.repeat(np.arange(3), [10, 20, 5])
    a = stratified_split(labels, 0.2, seed=0)
    assert np.array_equal(np.bincount(labels[a]), [2, 4, 1])
    assert np.array_equal(a, stratified_split(labels, 0.2, seed=0))
    assert not np.array_equal(a, stratified_split(labels, 0.2, seed=1))
    assert not stratified_split(np.zeros(1, int), 0.9, 0).any()  # a lone image stays in train


def test_augmentation_scales_with_image_size():
    assert scaled_defaults(32) == (4, (14, 32))
    assert scaled_defaults(224) == (28, (98, 224))
    cfg = AugmentConfig(pad=None, gridmask_d=None)
    assert cfg.resolve((224, 300, 3)).pad == 28
    assert cfg.resolve((32, 32, 3)) == AugmentConfig()  # CIFAR-sized output is unchanged
    fixed = AugmentConfig(pad=2, gridmask_d=(20, 40)).resolve((224, 224, 3))
    assert fixed.pad == 2 and fixed.gridmask_d == (20, 40)
    # scaled GridMask holes (side 0.4 d) span at least two 16-pixel blocks
    d0 = cfg.resolve((224, 224, 3)).gridmask_d[0]
    assert d0 - round(0.6 * d0) >= 2 * 16


def test_small_gridmask_units_on_large_blocks_warn(tmp_path, key_file, run_cli):
    for i in range(2):
        _photo(tmp_path / "f" / "a" / f"{i}.png", 64, 64, seed=i)
    r = run_cli("dataset", "--source", f"folder:{tmp_path / 'f'}", "--key", key_file, "--out",
                tmp_path / "o.h5", "--block-size", "16", "--gridmask-d", "6-12", "--quiet")
    assert r.exit_code == 0 and "GridMask units of 6-12 px are smaller than the 16x16" in r.output


@pytest.mark.parametrize("args, needle", [
    (["--image-size", "0"], "--image-size '0' is not valid"),
    (["--image-size", "big"], "--image-size 'big'"),
    (["--test-fraction", "1.5"], "--test-fraction 1.5 is not valid"),
    (["--test-fraction", "0"], "--test-fraction 0.0 is not valid"),
    (["--channels", "cmyk"], "cmyk"),
])
def test_bad_folder_options(tmp_path, key_file, run_cli, args, needle):
    _photo(tmp_path / "f" / "a" / "0.png", 32, 32)
    out = tmp_path / "o.h5"
    r = run_cli("dataset", "--source", f"folder:{tmp_path / 'f'}", "--key", key_file,
                "--out", out, *args)
    assert r.exit_code != 0 and needle in r.output and "Traceback" not in r.output, r.output
    assert not out.exists() and not list(tmp_path.glob(".*partial"))


def test_folder_options_refused_for_other_sources(tmp_path, key_file, run_cli):
    fails(run_cli("dataset", "--source", "synthetic:20", "--key", key_file, "--out",
                  tmp_path / "o.h5", "--image-size", "64"), "--image-size applies to folder")


def test_batch_shrinks_as_copies_grow():
    cifar, photo = 32 * 32 * 3, 224 * 224 * 3
    assert effective_batch(1000, cifar, 4) == 1000  # CIFAR-10 batches are unchanged
    assert effective_batch(1000, photo, 4) < effective_batch(1000, photo, 1) < 1000
    assert effective_batch(1000, photo, 100) * photo * 100 <= 256 * 2**20
    assert effective_batch(1000, photo, 100_000) == 1


def test_too_large_for_the_disk_is_refused_up_front(tmp_path, key_file, run_cli):
    out = tmp_path / "o.h5"
    fails(run_cli("dataset", "--source", "synthetic", "--key", key_file, "--out", out,
                  "--n-keys", "100000", "--quiet"), "needs about", str(tmp_path), "free")
    assert not out.exists() and not list(tmp_path.glob(".*partial"))


def test_too_large_for_memory_is_refused_up_front(tmp_path, key_file, run_cli, monkeypatch):
    monkeypatch.setattr("encrypt_tool.sizing.available_memory", lambda: 100 * 2**20)
    out = tmp_path / "o.h5"
    fails(run_cli("dataset", "--source", "synthetic:50", "--key", key_file, "--out", out,
                  "--quiet"), "of memory", "available", "--n-keys")
    assert not out.exists() and not list(tmp_path.glob(".*partial"))


def test_a_failed_write_names_the_file(tmp_path):
    from encrypt_tool.encrypt import BatchSpec, encrypt_unit

    spec = BatchSpec("train", 1, (8, 8), None, False, b"0" * 16)
    sp = open_source("synthetic:4").splits["train"]
    target = (str(tmp_path / "gone" / ".o.h5.1234.partial"), 0)
    with pytest.raises(OSError, match=r"cannot write to .*gone.*\.o\.h5\.1234\.partial"):
        encrypt_unit(sp, 0, 4, spec, b"", target)


def _class_folder(root, per_class=3, size=(40, 30)):
    for c in ("cat", "dog"):
        for i in range(per_class):
            _photo(root / c / f"{i}.jpg", *size, seed=i)
    return root


def test_skip_corrupt_skips_a_truncated_jpeg(tmp_path, key_file, run_cli):
    """The header and Pillow's verify pass a JPEG cut short; the up-front decode does not."""
    root = _class_folder(tmp_path / "photos")
    whole = (root / "dog" / "1.jpg").read_bytes()
    scan = whole.index(b"\xff\xda")  # start of the coded pixels: the header stays whole
    (root / "dog" / "1.jpg").write_bytes(whole[: (scan + len(whole)) // 2])
    with Image.open(root / "dog" / "1.jpg") as im:
        im.verify()  # passes: only a decode finds it
    out = tmp_path / "o.h5"
    args = ["dataset", "--source", f"folder:{root}", "--key", key_file, "--out", out,
            "--block-size", "2", "--jobs", "1", "--test-fraction", "0.4"]
    fails(run_cli(*args, "--quiet"), "dog/1.jpg", "truncated", "--skip-corrupt")
    assert not out.exists()
    r = run_cli(*args, "--skip-corrupt")
    assert r.exit_code == 0, r.output
    assert "left out 1 corrupt" in r.output and "dog/1.jpg" in r.output
    with h5py.File(out) as f:
        n = sum(f[s].attrs["n_images"] for s in ("train", "test"))
    assert n == 5


def test_decompression_bomb_warning_once_with_the_file_name(tmp_path, key_file, run_cli,
                                                             monkeypatch):
    root = _class_folder(tmp_path / "photos", per_class=2)
    _photo(root / "dog" / "huge.jpg", 60, 40, seed=9)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)  # 60x40 = 2400: above, not 2x above
    r = run_cli("dataset", "--source", f"folder:{root}", "--key", key_file, "--out",
                tmp_path / "o.h5", "--image-size", "30x40", "--block-size", "2", "--jobs", "1",
                "--test-fraction", "0.4")
    assert r.exit_code == 0, r.output
    lines = [line for line in r.output.replace(str(tmp_path), "").splitlines()
             if "decompression" in line.lower()]
    assert len(lines) == 1 and "dog/huge.jpg (60x40)" in lines[0], r.output


def test_folder_source_leaves_the_warning_filters_as_they_were(tmp_path, monkeypatch):
    """The bomb warning is held back while the folder is probed and read, not for the process."""
    import warnings
    from concurrent.futures import ThreadPoolExecutor

    root = _class_folder(tmp_path / "photos", per_class=2)
    _photo(root / "dog" / "huge.jpg", 60, 40, seed=9)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)
    before = list(warnings.filters)
    src = open_source(f"folder:{root}", image_size=(30, 40))
    assert warnings.filters == before
    assert any("decompression-bomb limit" in n for n in src.notes)
    train = src.splits["train"]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with ThreadPoolExecutor(4) as pool:  # threads reading at once, as --jobs does
            list(pool.map(lambda i: train.read(i, i + 1), range(train.n)))
        inside = list(warnings.filters)
    assert not [w for w in seen if issubclass(w.category, Image.DecompressionBombWarning)]
    assert warnings.filters == before and inside[0][0] == "always"  # nothing left behind
    with pytest.warns(Image.DecompressionBombWarning):
        Image.open(root / "dog" / "huge.jpg").close()  # elsewhere, Pillow warns as ever


def test_memory_plan_counts_decoding_the_largest_source_file(tmp_path, key_file, run_cli):
    """Large photos shrunk to small images: decoding one file can outweigh a whole batch."""
    root = _class_folder(tmp_path / "photos", per_class=2, size=(40, 30))
    _photo(root / "cat" / "big.jpg", 800, 600, seed=5)
    src = open_source(f"folder:{root}", image_size=(16, 16))
    assert src.splits["train"].decode_bytes == 2 * 4 * 800 * 600
    r = run_cli("dataset", "--source", f"folder:{root}", "--key", key_file, "--out",
                tmp_path / "o.h5", "--image-size", "16", "--block-size", "4", "--jobs", "2",
                "--test-fraction", "0.4")
    assert r.exit_code == 0, r.output
    assert "2 worker(s)" in r.output and "3.7 MiB a worker to decode" in r.output, r.output


def test_folder_without_test_or_with_one_class_is_warned_at_dataset_time(tmp_path, key_file,
                                                                         run_cli):
    from click.testing import CliRunner

    from trainer.cli import main as train_main

    root = _class_folder(tmp_path / "photos", per_class=2)
    out = tmp_path / "o.h5"
    r = run_cli("dataset", "--source", f"folder:{root}", "--key", key_file, "--out", out,
                "--block-size", "2", "--jobs", "1", "--quiet")
    assert r.exit_code == 0, r.output
    assert "no test/ folder" in r.output and "--test-fraction" in r.output, r.output
    r = CliRunner().invoke(train_main, [str(out), "--out", str(tmp_path / "run"), "--device",
                                        "cpu", "--epochs", "1"])
    assert r.exit_code == 1 and "no 'test' split" in r.output, r.output
    assert "--test-fraction" in r.output and "--test" in r.output
    r = run_cli("dataset", "--source", f"folder:{root}", "--key", key_file, "--out",
                tmp_path / "t.h5", "--block-size", "2", "--jobs", "1", "--quiet",
                "--test-fraction", "0.5")
    assert r.exit_code == 0 and "warning" not in r.output, r.output
    for d in (root / "dog").iterdir():
        d.unlink()
    (root / "dog").rmdir()
    r = run_cli("dataset", "--source", f"folder:{root}", "--key", key_file, "--out",
                tmp_path / "one.h5", "--block-size", "2", "--jobs", "1", "--quiet",
                "--test-fraction", "0.5")
    assert r.exit_code == 0, r.output
    assert "has one class (cat)" in r.output and "at least 2" in r.output, r.output
