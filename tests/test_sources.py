"""Image sources: synthetic, npz (read in place), folder, CIFAR-10 (shared copy), errors."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from encrypt_tool.sources import Source, SourceError, SplitSource, open_source
from encrypt_tool.sources.npzmember import member_info

SHARED_CIFAR = Path(__file__).resolve().parents[1].parent / "shared/data/cifar10"
FIRST1000_SHA = "da362006b99671213d1a5d856cab2bedf64d40bad4501630ee60f4ceb2d3ec7f"


def _check_split(sp: SplitSource, n_classes: int) -> None:
    x = sp.read(0, min(sp.n, 7))
    assert x.dtype == np.uint8 and x.flags.c_contiguous
    assert x.shape == (min(sp.n, 7), *sp.image_shape)
    assert sp.labels.shape == (sp.n,) and sp.labels.dtype == np.int64
    assert 0 <= sp.labels.min() and sp.labels.max() < n_classes


# ----------------------------------------------------------------------------- synthetic


def test_synthetic_shapes_labels_and_balance() -> None:
    src = open_source("synthetic")
    assert isinstance(src, Source) and src.name == "synthetic"
    assert len(src.class_names) == 10
    assert src.splits["train"].n == 5000 and src.splits["test"].n == 1000
    for sp in src.splits.values():
        assert sp.image_shape == (32, 32, 3)
        _check_split(sp, 10)
        assert np.all(np.bincount(sp.labels, minlength=10) == sp.n // 10)
    assert open_source("synthetic:30").splits["train"].n == 30
    assert open_source("synthetic:30,20").splits["test"].n == 20


def test_synthetic_is_deterministic_across_batchings() -> None:
    sp = open_source("synthetic:300").splits["train"]
    whole = sp.read(0, 300)
    parts = np.concatenate([sp.read(a, b) for a, b in [(0, 1), (1, 77), (77, 200), (200, 300)]])
    assert np.array_equal(whole, parts)
    assert np.array_equal(open_source("synthetic:300").splits["train"].read(0, 300), whole)
    assert np.array_equal(sp.labels[:100], open_source("synthetic:100").splits["train"].labels)
    test = open_source("synthetic:300").splits["test"].read(0, 300)
    assert not np.array_equal(test, whole)  # the splits hold different images
    # neighbouring pixels are correlated (smooth images, not white noise)
    f = whole.astype(np.float64)
    corr = np.corrcoef(f[:, :, :-1].ravel(), f[:, :, 1:].ravel())[0, 1]
    assert corr > 0.3


def _scramble_blocks(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    b = len(x)
    blocks = x.reshape(b, 4, 8, 4, 8, 3).transpose(0, 1, 3, 2, 4, 5).reshape(b, 16, 8, 8, 3)
    perm = np.argsort(rng.random((b, 16)), axis=1)  # (B, 16) a random block order per image
    return blocks[np.arange(b)[:, None], perm]  # (B, 16, 8, 8, 3)


def _block_features(blocks: np.ndarray) -> np.ndarray:
    """Per image: histogram of per-pixel colour (4 bins/channel), x and y gradient energy."""
    f = blocks.astype(np.float32)  # (B, 16, 8, 8, 3)
    q = (blocks // 64).astype(np.int64)  # (B, 16, 8, 8, 3) in 0..3
    code = (q[..., 0] * 16 + q[..., 1] * 4 + q[..., 2]).reshape(len(blocks), -1)  # (B, 1024)
    hist = np.stack([np.bincount(c, minlength=64) for c in code]) / code.shape[1]  # (B, 64)
    gx = np.abs(np.diff(f, axis=3)).mean(axis=(1, 2, 3, 4))[:, None] / 64
    gy = np.abs(np.diff(f, axis=2)).mean(axis=(1, 2, 3, 4))[:, None] / 64
    return np.concatenate([hist, gx, gy], axis=1)


def test_synthetic_learnable_after_block_scrambling() -> None:
    src = open_source("synthetic:2000,500")
    rng = np.random.default_rng(0)
    tr, te = src.splits["train"], src.splits["test"]
    ftr = _block_features(_scramble_blocks(tr.read(0, tr.n), rng))
    fte = _block_features(_scramble_blocks(te.read(0, te.n), rng))
    means = np.stack([ftr[tr.labels == c].mean(0) for c in range(10)])  # (10, F)
    pred = np.argmin(((fte[:, None] - means[None]) ** 2).sum(-1), axis=1)
    assert (pred == te.labels).mean() > 0.3  # chance is 0.1


def test_synthetic_mean_colour_alone_is_weak() -> None:
    sp = open_source("synthetic:2000").splits["train"]
    m = sp.read(0, sp.n).mean(axis=(1, 2))  # (N, 3)
    means = np.stack([m[sp.labels == c].mean(0) for c in range(10)])
    pred = np.argmin(((m[:, None] - means[None]) ** 2).sum(-1), axis=1)
    assert (pred == sp.labels).mean() < 0.3


# ----------------------------------------------------------------------------- pickling


def test_split_pickle_round_trip_is_small(tmp_path: Path) -> None:
    sp = open_source("synthetic").splits["train"]
    x = sp.read(10, 20)
    blob = pickle.dumps(sp)
    assert len(blob) < 2000
    back = pickle.loads(blob)
    assert np.array_equal(back.read(10, 20), x) and np.array_equal(back.labels, sp.labels)

    path = tmp_path / "d.npz"
    np.savez(path, images=np.zeros((5000, 8, 8, 3), np.uint8), labels=np.arange(5000) % 3)
    npz = open_source(f"npz:{path}").splits["train"]
    npz.read(0, 10)  # opens the memory map, which must not travel
    blob = pickle.dumps(npz)
    assert len(blob) < 2000
    back = pickle.loads(blob)
    assert np.array_equal(back.labels, np.arange(5000) % 3)
    assert np.array_equal(back.read(0, 10), npz.read(0, 10))


# ----------------------------------------------------------------------------- npz


def _images(n: int, h: int = 6, w: int = 5, c: int | None = 3, seed: int = 0) -> np.ndarray:
    shape = (n, h, w) if c is None else (n, h, w, c)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize("compressed", [False, True])
def test_npz_round_trip(tmp_path: Path, compressed: bool) -> None:
    x, y = _images(40), np.arange(40) % 4
    path = tmp_path / "mine.npz"
    save = np.savez_compressed if compressed else np.savez
    save(path, images=x, labels=y, class_names=np.array(["a", "b", "c", "d"]))
    src = open_source(f"npz:{path}")
    assert src.name == "npz:mine" and src.class_names == ("a", "b", "c", "d")
    assert list(src.splits) == ["train"]
    sp = src.splits["train"]
    assert sp.n == 40 and sp.image_shape == (6, 5, 3)
    assert np.array_equal(sp.read(0, 40), x) and np.array_equal(sp.read(13, 29), x[13:29])
    assert np.array_equal(sp.labels, y)
    assert sp.reads_in_place is not compressed
    _check_split(sp, 4)


def test_npz_stored_member_is_read_in_place(tmp_path: Path) -> None:
    x = _images(1000, 16, 16)
    path = tmp_path / "big.npz"
    np.savez(path, labels=np.zeros(1000, np.int64), images=x)
    sp = open_source(f"npz:{path}").splits["train"]
    batch = sp.read(500, 510)
    assert np.array_equal(batch, x[500:510])
    assert "images" not in sp._cache  # only the batch was read: nothing loaded or mapped
    assert batch.flags.writeable and batch.flags.c_contiguous
    info = member_info(str(path), "images")
    assert info.stored and info.data_offset > 0
    with open(path, "rb") as f:
        f.seek(info.data_offset)
        assert f.read(x[0].nbytes) == x[0].tobytes()


def test_npz_grayscale_two_files_and_default_class_names(tmp_path: Path) -> None:
    np.savez(tmp_path / "tr.npz", images=_images(12, c=None), labels=np.array([3, 7] * 6))
    np.savez(tmp_path / "te.npz", images=_images(4, c=None, seed=1), labels=np.array([7, 3, 3, 9]))
    src = open_source(f"npz:{tmp_path / 'tr.npz'},{tmp_path / 'te.npz'}")
    assert src.name == "npz:tr" and set(src.splits) == {"train", "test"}
    assert src.class_names == ("3", "7", "9")
    assert np.array_equal(src.splits["test"].labels, [1, 0, 0, 2])
    sp = src.splits["train"]
    assert sp.image_shape == (6, 5, 1)
    assert np.array_equal(sp.read(0, 12)[..., 0], _images(12, c=None))
    back = pickle.loads(pickle.dumps(src.splits["test"]))
    assert np.array_equal(back.labels, [1, 0, 0, 2])


def test_npz_train_and_test_keys(tmp_path: Path) -> None:
    path = tmp_path / "both.npz"
    np.savez(path, train_images=_images(6), train_labels=np.arange(6) % 2,
             test_images=_images(2), test_labels=np.array([1, 0]))
    src = open_source(f"npz:{path}")
    assert src.splits["train"].n == 6 and src.splits["test"].n == 2


# ----------------------------------------------------------------------------- folder


def _write_folder(root: Path, classes: dict[str, int], size=(5, 4), seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    written = {}
    for name, count in classes.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / name / f"img{i}.png")
            written[(name, i)] = arr
    return written


def test_folder_source(tmp_path: Path) -> None:
    root = tmp_path / "pets"
    written = _write_folder(root, {"dog": 2, "cat": 3})
    Image.fromarray(written[("cat", 0)][..., 0]).save(root / "cat" / "gray.PNG")  # grayscale -> RGB
    (root / "cat" / "notes.txt").write_text("not an image")
    src = open_source(f"folder:{root}")
    assert src.name == "folder:pets" and src.class_names == ("cat", "dog")
    assert list(src.splits) == ["train"]
    sp = src.splits["train"]
    assert sp.n == 6 and sp.image_shape == (4, 5, 3)
    x = sp.read(0, 6)
    assert np.array_equal(sp.labels, [0, 0, 0, 0, 1, 1])
    assert np.array_equal(x[0], np.repeat(written[("cat", 0)][..., :1], 3, axis=2))  # gray.PNG
    assert np.array_equal(x[1], written[("cat", 0)]) and np.array_equal(x[5], written[("dog", 1)])
    back = pickle.loads(pickle.dumps(sp))
    assert np.array_equal(back.read(2, 5), x[2:5])


def test_folder_with_train_and_test(tmp_path: Path) -> None:
    _write_folder(tmp_path / "train", {"a": 2, "b": 2})
    _write_folder(tmp_path / "test", {"a": 1, "b": 1}, seed=1)
    src = open_source(f"folder:{tmp_path}")
    assert set(src.splits) == {"train", "test"}
    assert src.splits["test"].n == 2 and np.array_equal(src.splits["test"].labels, [0, 1])


# ----------------------------------------------------------------------------- cifar10


def test_cifar10_from_shared_copy() -> None:
    if not SHARED_CIFAR.is_dir():
        pytest.skip(f"offline CIFAR-10 copy not found at {SHARED_CIFAR}")
    src = open_source("cifar10", data_dir=str(SHARED_CIFAR))
    assert src.name == "cifar10" and src.class_names[0] == "airplane"
    train, test = src.splits["train"], src.splits["test"]
    assert train.n == 50_000 and test.n == 10_000 and test.image_shape == (32, 32, 3)
    assert np.all(np.bincount(train.labels) == 5000)
    assert train.exact is None and test.exact.sum() == 1000 and test.exact[:1000].all()
    first = test.read(0, 1000)
    assert hashlib.sha256(first.tobytes()).hexdigest() == FIRST1000_SHA
    assert np.array_equal(test.read(995, 1005)[:5], first[995:])  # across two sheets
    back = pickle.loads(pickle.dumps(test))
    assert len(pickle.dumps(train)) < 2000
    assert np.array_equal(back.read(0, 3), first[:3]) and np.array_equal(back.labels, test.labels)


def test_cifar10_pickled_batches(tmp_path: Path) -> None:
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    rng = np.random.default_rng(0)
    imgs = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
        imgs[name] = x
        batch = {b"data": x.transpose(0, 3, 1, 2).reshape(3, -1), b"labels": [1, 2, 3]}
        (d / name).write_bytes(pickle.dumps(batch))
    meta = {b"label_names": [f"c{i}".encode() for i in range(10)]}
    (d / "batches.meta").write_bytes(pickle.dumps(meta))
    src = open_source("cifar10", data_dir=str(tmp_path))
    assert src.class_names[3] == "c3" and src.splits["train"].n == 15
    got = src.splits["train"].read(2, 7)
    want = np.concatenate(
        [imgs["data_batch_1"][2:], imgs["data_batch_2"], imgs["data_batch_3"][:1]]
    )
    assert np.array_equal(got, want)
    assert np.array_equal(src.splits["test"].read(0, 3), imgs["test_batch"])
    assert np.array_equal(src.splits["test"].labels, [1, 2, 3])
    # threads reading different batch files at once get their own images (the cache is shared)
    from concurrent.futures import ThreadPoolExecutor

    sp = src.splits["train"]
    all_train = np.concatenate([imgs[f"data_batch_{i}"] for i in range(1, 6)])
    ranges = [(i % 15, i % 15 + 1) for i in range(300)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda r: sp.read(*r), ranges))
    assert all(np.array_equal(g, all_train[a:b]) for g, (a, b) in zip(got, ranges, strict=True))


def test_cifar10_unpacked_npz(tmp_path: Path) -> None:
    names = np.array([f"n{i}" for i in range(10)])
    np.savez(tmp_path / "cifar10_train.npz", images=_images(10, 32, 32), labels=np.arange(10),
             class_names=names)
    np.savez(tmp_path / "cifar10_test.npz", images=_images(4, 32, 32), labels=np.arange(4),
             class_names=names, exact=np.array([True, True, False, False]))
    src = open_source("cifar10", data_dir=str(tmp_path))
    assert src.name == "cifar10" and src.class_names[9] == "n9"
    assert np.array_equal(src.splits["test"].exact, [True, True, False, False])


def test_cifar10_missing_says_where_and_how(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(SourceError, match="--download") as e:
        open_source("cifar10", data_dir=str(tmp_path))
    assert str(tmp_path) in str(e.value) and "--data-dir" in str(e.value)
    monkeypatch.setenv("BS_ENCRYPT_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(SourceError, match="env"):
        open_source("cifar10")
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(SourceError, match="must be a directory"):
        open_source("cifar10", data_dir=str(f))


# ----------------------------------------------------------------------------- errors


def test_unknown_spec() -> None:
    with pytest.raises(SourceError, match="unknown source spec 'mnist'.*allowed.*cifar10"):
        open_source("mnist")
    with pytest.raises(SourceError, match="did you mean npz:x.npz"):
        open_source("x.npz")
    with pytest.raises(SourceError, match="synthetic:abc"):
        open_source("synthetic:abc")
    with pytest.raises(SourceError, match="needs a path"):
        open_source("folder:")


def test_read_out_of_range() -> None:
    with pytest.raises(SourceError, match="out of range"):
        open_source("synthetic:10").splits["train"].read(5, 11)


def test_npz_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found.*nope.npz"):
        open_source(f"npz:{tmp_path / 'nope.npz'}")
    p = tmp_path / "e.npz"
    np.savez(p, pixels=_images(2), labels=np.arange(2))
    with pytest.raises(SourceError, match=r"no 'images'.*\['labels', 'pixels'\]"):
        open_source(f"npz:{p}")
    np.savez(p, images=_images(3), labels=np.arange(2))
    with pytest.raises(SourceError, match=r"labels.*\(2,\).*3 images"):
        open_source(f"npz:{p}")
    np.savez(p, images=_images(2).astype(np.float32), labels=np.arange(2))
    with pytest.raises(SourceError, match="float32.*uint8"):
        open_source(f"npz:{p}")
    np.savez(p, images=np.zeros((2, 4), np.uint8), labels=np.arange(2))
    with pytest.raises(SourceError, match=r"shape \(2, 4\)"):
        open_source(f"npz:{p}")
    np.savez(p, images=_images(2))
    with pytest.raises(SourceError, match="no 'labels'"):
        open_source(f"npz:{p}")
    np.savez(p, images=_images(2), labels=np.array([0, 5]), class_names=np.array(["a", "b"]))
    with pytest.raises(SourceError, match=r"\[0, 2\)"):
        open_source(f"npz:{p}")
    p.write_bytes(b"garbage")
    with pytest.raises(SourceError, match="not a readable .npz"):
        open_source(f"npz:{p}")


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        open_source(f"folder:{tmp_path / 'missing'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no class subfolders"):
        open_source(f"folder:{tmp_path / 'empty'}")
    root = tmp_path / "ds"
    _write_folder(root, {"a": 2})
    (root / "b").mkdir()
    with pytest.raises(SourceError, match=r"class folder .*[/\\]b has no images"):
        open_source(f"folder:{root}")
    _write_folder(root, {"b": 1}, size=(7, 4))
    with pytest.raises(SourceError, match=r"1 of 3 images differ .* size 5x4 .*b.img0.png \(7x4\)"):
        open_source(f"folder:{root}")
    (root / "b" / "img0.png").unlink()
    (root / "b" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(SourceError, match=r"1 corrupt or unreadable image file.*bad.png"):
        open_source(f"folder:{root}")
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(SourceError, match="needs a directory"):
        open_source(f"folder:{f}")


def test_folder_truncated_image_fails_at_read(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    _write_folder(root, {"a": 2}, size=(64, 64))
    good = (root / "a" / "img1.png").read_bytes()
    src = open_source(f"folder:{root}")
    (root / "a" / "img1.png").write_bytes(good[: len(good) // 2])  # damaged after opening
    with pytest.raises(SourceError, match=r"cannot decode image .*img1.png"):
        src.splits["train"].read(0, 2)
