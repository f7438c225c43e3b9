"""The learned attacks: they learn something real, run in the battery, are cached beside the
report for the setting they were trained for, and are refused in one line where they cannot run.
"""

import json

import numpy as np
import pytest
from PIL import Image

from encrypt_tool.audit import AuditConfig, run_audit
from encrypt_tool.audit.learn import obtain
from encrypt_tool.audit.states import StateSpace
from keys.master import load_key

torch = pytest.importorskip("torch")


def smooth_images(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """(n, size, size, 3) uint8 images of smooth random colour fields: neighbours continue."""
    rng = np.random.default_rng(seed)
    coarse = torch.from_numpy(rng.random((n, 3, 4, 4)).astype(np.float32))
    fine = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic",
                                           align_corners=True).clamp(0, 1)
    return (fine.permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8)


def test_learned_pair_model_beats_chance():
    from encrypt_tool.audit.learn.pairs import train_pairs

    x = smooth_images(120)
    model, fig = train_pairs(x, 8, StateSpace.of({}), gap=0, steps=60, batch=8, states=1)
    chance = 1 / fig["candidates"]
    assert fig["held_out_top1"] > 5 * chance, fig


def test_training_says_how_far_it_got_at_least_every_log_every_seconds(monkeypatch):
    from encrypt_tool.audit.learn import fit as fitting

    lines = []
    model = torch.nn.Linear(2, 1)
    x = torch.ones(4, 2)
    fitting.fit(model, 60, lambda step: model(x).square().mean(), "m", lines.append)
    assert [ln.split(",")[0] for ln in lines] == ["m: step 50/60"]  # fast steps: every 50
    monkeypatch.setattr(fitting, "LOG_EVERY", 0.0)  # slow steps: each step is news
    lines.clear()
    fitting.fit(model, 3, lambda step: model(x).square().mean(), "m", lines.append)
    assert [ln.split(",")[0] for ln in lines] == ["m: step 1/3", "m: step 2/3", "m: step 3/3"]
    assert lines[0].endswith("left")


def test_learned_state_model_beats_chance():
    from encrypt_tool.audit.learn.states import train_states

    x = (smooth_images(120, seed=1).astype(np.float32) ** 2 / 255).astype(np.uint8)  # dark
    space = StateSpace.of({"negpos": True})
    model, fig = train_states(x, 8, space, steps=80, batch=128)
    assert fig["held_out"]["sign"] > 0.6, fig  # chance: 0.5


@pytest.fixture
def enc_and_photos(tmp_path, key_file, run_cli):
    enc = tmp_path / "enc.h5"
    r = run_cli("dataset", "--source", "synthetic", "--limit", "24", "--n-keys", "1",
                "--out", enc, "--key", key_file, "--quiet")
    assert r.exit_code == 0, r.output
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, img in enumerate(smooth_images(100, seed=2)):
        Image.fromarray(img).save(photos / f"p{i:03d}.png")
    return enc, photos


def test_learned_pairs_run_in_the_battery_and_are_cached(tmp_path, key_file, enc_and_photos,
                                                         monkeypatch, capsys):
    enc, photos = enc_and_photos
    key = load_key(key_file)
    out = tmp_path / "audit"
    cfg = AuditConfig(samples=4, split="train", attacks=("learned-pairs",), train=str(photos),
                      attack_steps=50, progress=True)  # what is tested here is the wiring
    summary = run_audit(enc, key, out, cfg)
    names = set(summary["attacks"])
    assert {"learned pairs, clusters", "learned pairs, edges only"} <= names, names
    assert summary["learned"]["learned-pairs"]["from"] == "trained"
    said = capsys.readouterr().err
    assert "learned-pairs: training on 100 plain images, 50 steps" in said, said
    cached = out / "models" / "learned-pairs.pt"
    assert cached.is_file()
    blob = cached.read_bytes()
    assert key not in blob and key.hex().encode() not in blob.lower()

    def no_training(*a, **k):
        raise AssertionError("a cached model was trained again")

    monkeypatch.setattr(obtain, "_train", no_training)
    again = run_audit(enc, key, out, cfg)
    assert again["learned"]["learned-pairs"]["from"] == str(cached)
    assert again["attacks"]["learned pairs, clusters"] == summary["attacks"][
        "learned pairs, clusters"]
    assert f"`learned-pairs`: cached ({cached})" in (out / "audit.md").read_text()


def test_a_cached_model_trained_for_other_steps_is_trained_again(tmp_path, key_file,
                                                                 enc_and_photos, run_cli):
    enc, photos = enc_and_photos
    out = tmp_path / "audit"
    base = ["audit", enc, "--key", key_file, "--split", "train", "--samples", "2", "--attacks",
            "learned-pairs", "--attack-train", photos, "--out", out, "--quiet", "--overwrite"]
    steps = []
    for n in ("50", "60", "60"):
        r = run_cli(*base, "--attack-steps", n)
        assert r.exit_code == 0, r.output
        learned = json.loads((out / "audit.json").read_text())["learned"]["learned-pairs"]
        steps.append((learned["steps"], learned["from"] == "trained"))
    assert steps == [(50, True), (60, True), (60, False)]  # the last one from the cache


@pytest.mark.parametrize("steps", ["10", "0", "100001"])
def test_attack_steps_out_of_range_is_refused(tmp_path, key_file, enc_and_photos, run_cli,
                                              steps):
    enc, _ = enc_and_photos
    out = tmp_path / "rep"
    r = run_cli("audit", enc, "--key", key_file, "--attack-steps", steps, "--out", out)
    assert r.exit_code == 1 and r.output.strip().count("\n") == 0, r.output
    assert r.output.startswith(f"Error: --attack-steps {steps} is not valid; it must be 50 to")
    assert not out.exists()


def test_a_cached_model_for_another_setting_is_refused(tmp_path, key_file, enc_and_photos,
                                                       run_cli, monkeypatch):
    enc, photos = enc_and_photos
    other = tmp_path / "other.h5"
    r = run_cli("dataset", "--source", "synthetic", "--limit", "24", "--n-keys", "1",
                "--drop-border", "1", "--out", other, "--key", key_file, "--quiet")
    assert r.exit_code == 0, r.output
    key = load_key(key_file)
    out = tmp_path / "audit"
    cfg = AuditConfig(samples=2, split="train", attacks=("learned-pairs",), train=str(photos),
                      attack_steps=50)
    run_audit(enc, key, out, cfg)
    models = out / "models"
    with pytest.raises(ValueError, match=r"cached .* 8x8 kept blocks, a 0-px gap.*this file "
                                         r"needs .* 6x6 kept blocks, a 2-px gap"):
        run_audit(other, key, tmp_path / "audit2", AuditConfig(
            samples=2, split="train", attacks=("learned-pairs",), train=str(photos),
            models=str(models), attack_steps=50))
    assert not (tmp_path / "audit2").exists()


def test_too_few_training_images_is_a_reason_not_an_error(tmp_path, key_file, enc_and_photos):
    enc, _ = enc_and_photos
    key = load_key(key_file)
    summary = run_audit(enc, key, tmp_path / "audit",
                        AuditConfig(samples=10, split="train", attacks=("clusters",
                                                                        "learned-pairs")))
    why = [w for w in summary["not_run"] if w.startswith("learned-pairs: ")]
    assert why and "fewer than 1000" in why[0] and "--attack-train" in why[0]
    assert not (tmp_path / "audit" / "models").exists()
    with pytest.raises(ValueError, match="no chosen attack could run.*fewer than 1000"):
        run_audit(enc, key, tmp_path / "alone",
                  AuditConfig(samples=10, split="train", attacks=("learned-pairs",)))
    assert not (tmp_path / "alone").exists()


def test_unknown_attack_is_refused_before_any_work(tmp_path, key_file, enc_and_photos, run_cli):
    enc, _ = enc_and_photos
    out = tmp_path / "rep"
    r = run_cli("audit", enc, "--key", key_file, "--attacks", "clusters,nope", "--out", out)
    assert r.exit_code == 1
    assert r.output.strip().splitlines() == [
        r.output.strip().splitlines()[0]] and "'nope' is not an attack" in r.output
    assert "learned-pairs" in r.output and not out.exists()


def test_list_attacks_names_every_attack(run_cli):
    from encrypt_tool.audit.attacks import REGISTRY

    r = run_cli("audit", "--list-attacks")
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    assert [ln.split()[0] for ln in lines] == list(REGISTRY)
    assert any(ln.startswith("learned-states") and "model" in ln for ln in lines)


def test_attack_train_must_be_a_folder(tmp_path, key_file, enc_and_photos, run_cli):
    enc, _ = enc_and_photos
    out = tmp_path / "rep"
    r = run_cli("audit", enc, "--key", key_file, "--attack-train", tmp_path / "missing",
                "--out", out)
    assert r.exit_code == 1 and "--attack-train" in r.output and "not a folder" in r.output
    assert not out.exists()


def test_learned_attack_without_torch_says_what_to_install(tmp_path, key_file, enc_and_photos,
                                                           run_cli, monkeypatch):
    import encrypt_tool.audit.learn as learn

    enc, _ = enc_and_photos
    monkeypatch.setattr(learn, "torch_available", lambda: False)
    out = tmp_path / "rep"
    r = run_cli("audit", enc, "--key", key_file, "--attacks", "learned-states", "--out", out)
    assert r.exit_code == 1
    assert "needs PyTorch" in r.output and "bs-encrypt[learned]" in r.output
    assert not out.exists()


def test_report_names_the_learned_training(tmp_path, key_file, enc_and_photos):
    enc, _ = enc_and_photos
    out = tmp_path / "audit"
    run_audit(enc, load_key(key_file), out, AuditConfig(samples=4, split="train"))
    report = json.loads((out / "audit.json").read_text())
    assert any(w.startswith("learned-pairs: ") for w in report["not_run"])
    assert "learned" in report
    md = (out / "audit.md").read_text()
    assert "Not run: " in md and "learned-pairs: " in md and "Attacks run (seconds): `edges`" in md


def test_each_chunk_of_the_battery_gets_its_own_model_cache():
    """The learned attacks cache per-chunk costs in ``ctx.models``; a cache left over from the
    previous chunk would be used for other images (and other counts of them)."""
    from encrypt_tool.audit.attack import SideInfo
    from encrypt_tool.audit.attacks.base import Answer, Attack
    from encrypt_tool.audit.battery import run_battery

    def run(ctx):
        m = ctx.models.setdefault("_cached", len(ctx.enc))  # as learned._pair_costs caches
        return {"probe": Answer(orders=np.tile(np.arange(16), (m, 1)))}

    enc = np.zeros((5, 1, 32, 32, 3), np.uint8)
    bat = run_battery(enc, (8, 8), SideInfo(pad=0), attacks=(Attack("probe", "a probe", run),),
                      models={"learned-pairs": "unused"}, chunk=2)
    assert bat.images()["probe"].shape[0] == 5
