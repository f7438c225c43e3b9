"""The audit's attacks on real-looking cases: GridMask holes, zero-padded crops; union, picks,
per-image rows and the image selection."""

import json

import numpy as np
import pytest
from test_audit import smooth_images

from encrypt_tool.audit import AuditConfig, audit_arrays, leak_figures, run_audit
from encrypt_tool.audit.attack import SideInfo, attack
from encrypt_tool.audit.metrics import perfect
from encrypt_tool.audit.report import picture
from encrypt_tool.audit.select import parse_indices, select_indices
from encrypt_tool.audit.simulate import Settings, simulate
from keys.master import load_key

MASKED = [
    ("GridMask holes", Settings(pad=0, gridmask=True, gm_p=1.0, n_copies=1), 21),
    ("GridMask holes and zero-padded crops", Settings(gm_p=1.0, n_copies=1), 21),
    ("GridMask holes and zero-padded crops", Settings(gm_p=1.0, n_copies=1), 22),
]


@pytest.mark.parametrize("case,settings,seed", MASKED)
def test_masked_cost_solves_what_mgc_misses(case, settings, seed):
    # the old default (MGC) puts black-against-black edges first and loses true hole borders
    x = smooth_images(16, seed=seed)
    plain, enc, _ = simulate(x, settings, seed=seed - 20)
    old = perfect(attack(enc, (8, 8), None, method="mgc"), plain[:, 0]).mean()
    new = perfect(attack(enc, (8, 8), None, method="masked"), plain[:, 0]).mean()
    assert old <= 0.75, case
    assert new == 1.0, case


def test_union_and_self_chosen_on_gridmask_images():
    x = smooth_images(12, seed=23)
    plain, enc, _ = simulate(x, Settings(gm_p=1.0, n_copies=2), seed=4)
    s, images = audit_arrays(plain[:, 0], enc, (8, 8), SideInfo(4, "zero"), index=np.arange(
        100, 112))
    per = s["per_image"]
    assert [r["index"] for r in per] == list(range(100, 112)) and per[0]["copy"] == 0
    any_perfect = np.mean([any(a["perfect"] for a in r["attacks"].values()) for r in per])
    assert s["union"]["perfect"] == pytest.approx(any_perfect)
    for a in s["attacks"].values():
        assert s["union"]["perfect"] >= a["perfect"] and s["union"]["neighbour"] >= a["neighbour"]
    assert s["attacks"]["edges only, MGC"]["perfect"] < s["union"]["perfect"]
    assert all(r["self_chosen"] in s["attacks"] for r in per)
    assert s["self_chosen"]["perfect"] >= s["attacks"]["edges only, MGC"]["perfect"]
    assert len(images) == 4


def test_parse_and_select_indices():
    assert parse_indices("0-3,7, 9-9") == [0, 1, 2, 3, 7, 9]
    for bad in ("", "a", "3-1", "1-", "-2", "1,,2"):
        with pytest.raises(ValueError):
            parse_indices(bad)
    assert select_indices(10, 3, 8).tolist() == [8, 9]
    assert select_indices(10, None, 7).tolist() == [7, 8, 9]
    assert select_indices(10, 5, 0, [4, 2]).tolist() == [4, 2]
    with pytest.raises(ValueError, match="index 10 is not valid"):
        select_indices(10, 5, 0, [1, 10])
    with pytest.raises(ValueError, match="repeated"):
        select_indices(10, 5, 0, [1, 1])
    with pytest.raises(ValueError, match="start 10"):
        select_indices(10, 5, 10)


def test_picture_has_captions(tmp_path):
    from PIL import Image

    columns = [np.full((2, 8, 8, 3), 255, np.uint8)] * 3  # white images: only text is dark
    plain = Image.open(picture(columns, tmp_path / "a.png")).convert("RGB")
    captioned = Image.open(picture(columns, tmp_path / "b.png", [
        "plain", "encrypted", "best: a long attack name that wraps"])).convert("RGB")
    assert captioned.width == plain.width and captioned.height > plain.height
    band = np.asarray(captioned)[: captioned.height - plain.height]
    assert (band < 128).any()  # text was drawn
    assert not (np.asarray(plain) < 128).any()


def test_audit_selected_images_and_figures(tmp_path, key_file, run_cli):
    enc = tmp_path / "enc.h5"
    r = run_cli("dataset", "--source", "synthetic", "--limit", "30", "--n-keys", "2",
                "--out", enc, "--key", key_file, "--quiet")
    assert r.exit_code == 0, r.output
    out = tmp_path / "audit"
    r = run_cli("audit", enc, "--key", key_file, "--split", "train", "--indices", "3,25-27",
                "--out", out)
    assert r.exit_code == 0, r.output
    rows = json.loads((out / "audit.json").read_text())["per_image"]
    assert [row["index"] for row in rows] == [3, 25, 26, 27]
    s = run_audit(enc, load_key(key_file), tmp_path / "a2",
                  AuditConfig(samples=4, split="train", start=28))
    assert [row["index"] for row in s["per_image"]] == [28, 29]
    f = leak_figures(enc, load_key(key_file), AuditConfig(split="train", indices=(0, 1, 2)))
    assert f["samples"] == 3 and set(f) == {"samples", "best", "union", "self_chosen"}
    assert f["union"]["perfect"] >= f["best"]["perfect"] and "attack" in f["best"]
    for args, msg in ((["--indices", "2,99"], "index 99"), (["--indices", "x"], "indices"),
                      (["--start", "-1"], "--start"), (["--start", "2", "--indices", "1"],
                                                        "exclude"), (["--jobs", "0"], "--jobs 0")):
        bad = tmp_path / "bad"
        r = run_cli("audit", enc, "--key", key_file, "--split", "train", "--out", bad, *args)
        assert r.exit_code == 1 and msg in r.output and not bad.exists(), r.output


@pytest.mark.parametrize("method", ["prediction", "masked"])
@pytest.mark.parametrize("gap", [0, 2, 8])
def test_prediction_costs_of_stored_pixels_equal_the_float_costs(method, gap):
    """Integer pixels take the fractional power through a table of its values: the costs are
    the very ones the float power gives (blanked rows, white rows and any gap included)."""
    from encrypt_tool.audit import compat

    rng = np.random.default_rng(gap)
    x, y = (rng.integers(0, 256, (2, 40, 4, 2, 3), dtype=np.uint8) for _ in range(2))
    x[:, :6, :2], y[:, 3:9] = 0, 0  # holes
    x[:, 10:14, 1:3] = 255
    for white in (False, True):
        got = compat.edge_pairs(x, y, method, gap, white)
        want = compat.edge_pairs(x.astype(np.float64), y.astype(np.float64), method, gap, white)
        for g, w in zip(*(v if isinstance(v, tuple) else (v,) for v in (got, want)),
                        strict=True):
            assert g.dtype == w.dtype and np.array_equal(g, w)
