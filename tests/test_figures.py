"""Pictures (encrypt_tool/figures.py): images placed pixel for pixel, captions drawn, charts
written, and without matplotlib a warning instead of the picture while tables still appear."""

import sys
import warnings

import numpy as np
import pytest
from PIL import Image

from encrypt_tool.figures import MISSING, bar_chart, charts_available, image_grid, scatter_chart


def _rgb(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_grid_places_images_pixel_for_pixel_under_captions(tmp_path):
    rng = np.random.default_rng(0)
    rows = [rng.integers(0, 256, (3, 10, 12, 3), dtype=np.uint8),
            rng.integers(0, 256, (2, 10, 12, 1), dtype=np.uint8)]  # grey shown as RGB
    plain = _rgb(image_grid(rows, tmp_path / "a.png", scale=2))
    big = rows[0][1].repeat(2, axis=0).repeat(2, axis=1)  # (20, 24, 3)
    ys, xs = np.nonzero((plain[:-19, :-23] == big[0, 0]).all(-1))  # candidate corners
    hits = [(y, x) for y, x in zip(ys, xs, strict=True)
            if np.array_equal(plain[y:y + 20, x:x + 24], big)]
    assert len(hits) == 1  # the second image of the first row, exactly once, unresampled
    grey = np.repeat(rows[1][0], 3, axis=-1).repeat(2, axis=0).repeat(2, axis=1)
    (y, x), = hits
    assert np.array_equal(plain[y + 20 + 6 : y + 40 + 6, x - 24 - 6 : x - 6], grey)  # below
    labelled = _rgb(image_grid(rows, tmp_path / "b.png", row_labels=["top row", "bottom"],
                               col_labels=["first", "second column, a longer caption", "third"],
                               scale=2, title="A title"))
    assert labelled.shape[1] == plain.shape[1] and labelled.shape[0] > plain.shape[0] + 40


def test_rows_of_different_sizes_sit_top_left_in_equal_cells(tmp_path):
    big = np.full((2, 12, 12, 3), 200, np.uint8)
    small = np.zeros((2, 8, 8, 3), np.uint8)  # e.g. stored images after a border drop
    grid = _rgb(image_grid([big, small], tmp_path / "g.png"))
    assert grid.shape[1] == 6 + 2 * (12 + 6)  # cells as wide as the widest image
    ys, xs = np.nonzero((grid == 0).all(-1))
    assert len(ys) == 2 * 8 * 8 and xs.min() == 6 and xs.max() == 6 + 12 + 6 + 7
    assert (grid[ys.min():ys.min() + 8, 6:14] == 0).all()


def test_charts_are_written(tmp_path):
    series = {"resnet": [(0.9, 0.8, "8x8"), (0.1, 0.6, "4x4")], "blockset": [(0.5, 0.7, "x")]}
    p = scatter_chart(series, tmp_path / "l.png", "leak", "accuracy", "title")
    assert _rgb(p).shape == (560, 900, 3) and (_rgb(p) < 100).any()
    p = bar_chart([("(a)", [("plain", 80.0), ("encrypted", 70.0)]), ("(b)", [("plain", 90.0)])],
                  tmp_path / "b.png", "title")
    assert _rgb(p).shape == (520, 860, 3)


@pytest.fixture
def no_matplotlib(monkeypatch):
    """Imports of matplotlib fail, as where the `charts` extra is not installed."""
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)


def test_without_matplotlib_a_warning_and_no_file(tmp_path, no_matplotlib):
    assert not charts_available()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert image_grid([np.zeros((1, 4, 4, 3), np.uint8)], tmp_path / "g.png") is None
        assert bar_chart([("a", [("b", 1.0)])], tmp_path / "b.png", "t") is None
    assert [str(w.message) for w in caught] == [f"g.png not written: {MISSING}",
                                                f"b.png not written: {MISSING}"]
    assert "pip install bs-encrypt[charts]" in MISSING
    assert not list(tmp_path.iterdir())


def test_audit_and_inspect_without_matplotlib(tmp_path, key_file, run_cli, no_matplotlib):
    enc = tmp_path / "enc.h5"
    r = run_cli("dataset", "--source", "synthetic", "--limit", "20", "--n-keys", "1",
                "--out", enc, "--key", key_file, "--quiet")
    assert r.exit_code == 0, r.output
    out = tmp_path / "audit"
    r = run_cli("audit", enc, "--key", key_file, "--samples", "4", "--out", out)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["audit.json", "audit.md"]
    warned = [line for line in r.output.splitlines() if line.startswith("warning:")]
    assert warned == [f"warning: audit.png not written: {MISSING}"]
    assert "wrote" in r.output and "audit.json" in r.output and "audit.png\n" not in r.output
    r = run_cli("inspect", enc, "--key", key_file, "--grid", tmp_path / "g.png")
    assert r.exit_code == 1 and "fingerprint" not in r.output
    assert r.output.strip().splitlines() == [f"Error: --grid {tmp_path / 'g.png'} cannot be "
                                             f"written: {MISSING}"]
    assert not (tmp_path / "g.png").exists()
