"""The recognition test (experiments.recognition): refilling dropped borders, the union and
its chance level, the best whole-image transform, the plain images recomputed from the key,
bad options, and a smoke run on synthetic images."""

from __future__ import annotations

import json

import numpy as np
import pytest

from encrypt_tool.audit.pieces import kept_pixels
from encrypt_tool.setting import Setting
from experiments.recognition import cli as recognition_cli
from experiments.recognition.attack import Attacked, attack_setting, refill
from experiments.recognition.score import score, table, union


def _images(m: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (m, 32, 32, 3), dtype=np.uint8)


def test_refill_puts_kept_blocks_back_in_place():
    x = _images(2)
    defences = {"drop_border": 2, "source_block_size": [8, 8]}
    kept = kept_pixels(x, defences)  # (2, 16, 16, 3): 4x4 of each 8x8 block
    zero = refill(kept, 2, (4, 4), "zero")
    inner = np.zeros((32, 32), bool)
    for i in range(4):
        inner[8 * i + 2: 8 * i + 6] = True
    inner = inner & inner.T  # the 4x4 middle of every 8x8 block
    assert zero.shape == x.shape
    assert np.array_equal(zero[:, inner], x[:, inner]) and not zero[:, ~inner].any()
    edge = refill(kept, 2, (4, 4), "edge")
    assert np.array_equal(edge[:, inner], x[:, inner])
    assert np.array_equal(edge[:, 0, 0], x[:, 2, 2])  # the corner's nearest kept pixel
    assert np.array_equal(edge[:, 9, 15], x[:, 10, 13])  # never a pixel of the next block
    assert refill(x, 0, (8, 8)) is x
    with pytest.raises(ValueError, match="fill 'mean' is not known"):
        refill(kept, 2, (4, 4), "mean")
    with pytest.raises(ValueError, match="not a grid of 5x5"):
        refill(kept, 2, (5, 5))


def test_union_and_its_chance_level():
    labels = np.array([0, 1, 2])
    preds = np.array([[0, 0, 0],   # attack 1
                      [3, 1, 0],   # attack 2
                      [3, 0, 0]])  # attack 3
    hit, chance = union(preds, labels, 10)
    assert hit.tolist() == [True, True, False]
    assert chance == pytest.approx((2 + 2 + 1) / 3 / 10)  # distinct classes per image / K
    with pytest.raises(ValueError, match="do not fit 2 labels"):
        union(preds, labels[:2], 10)


def _attacked(plain: np.ndarray, outputs: dict, extended: dict) -> Attacked:
    s = Setting("8x8 negpos", block=8, negpos=True)
    return Attacked(s, plain, plain, 255 - plain, outputs, extended, outputs["a"], 0.0,
                    {"negpos": True})


def test_score_takes_the_best_whole_image_transform_only_where_asked():
    rng = np.random.default_rng(1)
    plain = np.stack([rng.integers(150, 256, (32, 32, 3)), rng.integers(0, 100, (32, 32, 3))])
    plain = plain.astype(np.uint8)  # a bright and a dark image, textured (the audit needs it)
    labels = np.array([1, 0])

    def classify(x):  # bright -> 1, dark -> 0
        return (x.reshape(len(x), -1).mean(axis=1) > 127).astype(int)

    neg = 255 - plain  # an extended attack's output, right up to a global negation
    r = score(_attacked(plain, {"a": plain, "ext": neg}, {"ext": neg}), labels, classify, 2)
    assert r["plain"] == r["self_chosen"] == 1.0 and r["scrambled"] == 0.0
    assert r["attacks"]["ext"] == {"acc": 0.0, "best_variant": 1.0, "variants": 2}
    assert r["union"] == r["union_variants"] == 1.0 and r["best_attack"]["name"] == "a"
    assert r["audit_self_chosen"] == r["audit_union"] == 1.0  # the audit sees it too
    r = score(_attacked(plain, {"a": neg, "ext": neg}, {"ext": neg}), labels, classify, 2)
    assert r["union"] == 0.0 and r["union_variants"] == 1.0 and r["self_chosen"] == 0.0
    assert r["union_variants_chance"] == 1.0  # both classes named: the bound says nothing
    assert r["audit_self_chosen"] == 0.0 and r["audit_union"] == 1.0  # negated back: seen
    text = table({"8x8 negpos": r})
    assert "| 8x8 negpos | 100.0% |" in text and "0.0% (0.00x; chance 50%)" in text
    assert text.rstrip().endswith("| 0% / 100% |")


@pytest.mark.parametrize("setting", [Setting("8x8", block=8),
                                     Setting("8x8 drop 2", block=8, drop=2)])
def test_attack_setting_recomputes_the_plain_images_from_the_key(tmp_path, setting):
    x = _images(3)
    a = attack_setting(x, np.array([0, 1, 2]), [f"c{i}" for i in range(10)], setting,
                       bytes(range(32)), tmp_path)  # raises if plain and decrypt disagree
    assert a.plain.shape == a.kept_true.shape == a.scrambled.shape == x.shape
    assert all(o.shape == x.shape for o in a.outputs.values()) and not a.extended
    assert not np.array_equal(a.scrambled, a.kept_true)
    assert not list(tmp_path.iterdir()), "the encrypted file is removed"


@pytest.mark.parametrize("argv, message", [
    (["--images", "0"], "--images 0 is not valid"),
    (["--epochs", "0"], "--epochs 0 is not valid"),
    (["--jobs", "0"], "--jobs 0 is not valid"),
    (["--n-train", "0"], "--n-train 0 is not valid"),
    (["--threads", "0"], "--threads 0 is not valid"),
    (["--arch", "vgg"], "--arch 'vgg' is not known"),
    (["--setting", "9x9"], "setting '9x9' is not known"),
    (["--fill", "mean"], "invalid choice: 'mean'"),
    (["--model", "/nonexistent/run"], "--model /nonexistent/run does not exist"),
    (["--data", "/nonexistent/cifar"], "CIFAR-10 folder /nonexistent/cifar does not exist"),
])
def test_bad_options_give_one_error_line(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as e:
        code = recognition_cli.main([*argv, "--out", str(out)])
        raise SystemExit(code)
    err = capsys.readouterr().err
    assert e.value.code == 1 and err.startswith("Error: ") and message in err
    assert err.count("\n") == 1 and not out.exists()


def test_an_earlier_result_needs_overwrite(tmp_path, capsys):
    (tmp_path / "recognition.json").write_text("{}")
    with pytest.raises(SystemExit):
        recognition_cli.main(["--smoke", "--out", str(tmp_path)])
    assert "pass --overwrite" in capsys.readouterr().err


@pytest.mark.slow
def test_smoke_run(tmp_path):
    out = tmp_path / "r"
    assert recognition_cli.main(["--smoke", "--out", str(out), "--threads", "1"]) == 0
    s = json.loads((out / "recognition.json").read_text())
    assert s["images"] == 8 and list(s["results"]) == ["paper: 8x8", "8x8 drop 2 + rotate"]
    r = s["results"]["8x8 drop 2 + rotate"]
    assert r["union_variants"] is not None and r["n_attacks"] >= 8
    assert s["results"]["paper: 8x8"]["union_variants"] is None
    assert "| paper: 8x8 |" in (out / "recognition.md").read_text()
    assert not list(out.rglob("*.h5")), "no encrypted or plain file is left"
