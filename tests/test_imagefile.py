"""One image file to an array: resize + centre crop as torchvision, modes, the recursive finder."""

import numpy as np
import pytest
from PIL import Image

from encrypt_tool.sources.imagefile import (
    find_images,
    parse_image_size,
    read_image,
    resize_center_crop,
)


def _photo(w: int, h: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (h // 4 + 1, w // 4 + 1, 3), dtype=np.uint8)
    return Image.fromarray(base).resize((w, h), Image.BICUBIC)


@pytest.mark.parametrize("w, h", [(500, 375), (375, 500), (224, 224), (50, 37), (301, 640)])
def test_resize_center_crop_is_torchvision_resize_center_crop(w, h):
    import torchvision.transforms as T

    im = _photo(w, h)
    want = np.asarray(T.Compose([T.Resize(224), T.CenterCrop(224)])(im))
    got = np.asarray(resize_center_crop(im, (224, 224)))
    assert got.shape == (224, 224, 3)
    assert np.array_equal(got, want)


def test_resize_to_hxw_covers_then_crops(tmp_path):
    _photo(500, 375).save(tmp_path / "a.png")
    x = read_image(tmp_path / "a.png", (96, 160))
    assert x.shape == (96, 160, 3) and x.dtype == np.uint8
    tall = read_image(tmp_path / "a.png", (300, 100))  # the height decides: no empty border
    assert tall.shape == (300, 100, 3) and tall.std() > 10


def test_modes(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 200  # red everywhere, but the left half fully transparent
    rgba[:, 4:, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    x = read_image(tmp_path / "a.png")
    assert x.shape == (8, 8, 3)
    assert np.all(x[:, :4] == 255)  # hidden pixels stay hidden: composited on white
    assert np.array_equal(x[0, 7], [200, 0, 0])
    gray = np.arange(64, dtype=np.uint8).reshape(8, 8) * 3
    Image.fromarray(gray, "L").save(tmp_path / "g.png")
    g = read_image(tmp_path / "g.png")
    assert np.array_equal(g, np.repeat(gray[..., None], 3, axis=2))  # copied to 3 channels
    assert np.array_equal(read_image(tmp_path / "g.png", channels="l")[..., 0], gray)
    lum = read_image(tmp_path / "a.png", channels="l")
    assert lum.shape == (8, 8, 1) and np.all(lum[:, :4] == 255)
    deep = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000)
    Image.fromarray(deep).save(tmp_path / "d.png")  # 16-bit grayscale: scaled, not clipped
    d = read_image(tmp_path / "d.png", channels="l")[..., 0]
    assert d.max() > 200 and len(np.unique(d)) > 32


def test_bad_files_and_sizes(tmp_path):
    (tmp_path / "x.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    with pytest.raises(ValueError, match=r"cannot decode image .*x.jpg"):
        read_image(tmp_path / "x.jpg")
    assert parse_image_size("224") == (224, 224) and parse_image_size("96x160") == (96, 160)
    for bad in ("0", "abc", "1x2x3", "-4", "224x"):
        with pytest.raises(ValueError, match=f"--image-size '{bad}' is not valid"):
            parse_image_size(bad)


def test_find_images_recursive(tmp_path):
    for rel in ("a/1.png", "a/deep/2.JPG", "b/3.webp", ".hidden/4.png", "a/.5.png", "a/6.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in find_images(tmp_path)]
    assert found == ["a/1.png", "a/deep/2.JPG", "b/3.webp"]


def test_reduced_scale_jpeg_decode_within_tolerance(tmp_path):
    data = pytest.importorskip("skimage.data")  # a real photo: smooth noise hides the error

    big = Image.fromarray(data.astronaut()).resize((1200, 900), Image.BICUBIC)
    big.save(tmp_path / "big.jpg", quality=90)
    fast = read_image(tmp_path / "big.jpg", (128, 128)).astype(int)
    full = read_image(tmp_path / "big.jpg", (128, 128), draft=False).astype(int)
    with Image.open(tmp_path / "big.jpg") as im:
        from encrypt_tool.sources.imagefile import draft_for

        assert draft_for(im, (128, 128)) and im.size == (600, 450)  # 1/2 scale, >= 2x cover
    diff = np.abs(fast - full)
    assert 0 < diff.mean() < 0.5 and diff.max() <= 8


def test_no_reduced_scale_below_four_times(tmp_path):
    _photo(500, 375).save(tmp_path / "a.jpg", quality=90)
    assert np.array_equal(read_image(tmp_path / "a.jpg", (224, 224)),
                          read_image(tmp_path / "a.jpg", (224, 224), draft=False))
