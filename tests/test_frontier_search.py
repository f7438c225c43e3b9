"""The frontier search: its grid, its results files, its stages end to end on synthetic images
at a smoke budget (stage a resumes, stage b trains what met the goal), and its refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.frontier_search import store
from experiments.frontier_search.goal import BUDGETS, GOALS
from experiments.frontier_search.grid import PRIORITY, grid, named
from experiments.frontier_search.report import pareto
from experiments.frontier_search.stages import Run, model_folder, pick_b, pick_best

ROOT = Path(__file__).resolve().parents[1]
A = ["--data", "synthetic", "--samples", "4", "--pool", "24", "--attacks", "edges,side-info"]


def search(*args: str, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "experiments.frontier_search", *args,
                           "--out", str(out)], capture_output=True, text=True, env=env)


def test_grid_prunes_and_names_every_point():
    g32, g224 = grid(32), grid(224)
    names = [s.name for s in g32]
    assert len(names) == len(set(names))
    # 4x4: drops 0 and 1 (a quarter of 4 is 1; 2 px leave nothing); 8x8: 0, 1, 2
    assert {(s.block, s.drop) for s in g32} == {((4, 4), 0), ((4, 4), 1), ((8, 8), 0),
                                                 ((8, 8), 1), ((8, 8), 2)}
    assert len(g32) == 5 * 5 * 2 * 2
    # 224 px: 8 (0, 1, 2), 16 (0, 1, 2, 4), 32 (0, 1, 2, 8)
    assert len(g224) == 11 * 5 * 2 * 2
    for size in (32, 224):
        assert [s.name for s in named(size, list(PRIORITY[size]))] == list(PRIORITY[size])
        assert named(size, [])[0].name == PRIORITY[size][0]
    s = named(32, ["8x8-d2-all-n4-gm"])[0]
    assert (s.rotate, s.negpos, s.channel_perm, s.n_copies, s.augment.gridmask) == (
        True, True, True, 4, True)
    assert named(32, ["4x4-d1-none-n1-nogm"])[0].augment.gridmask is False
    with pytest.raises(ValueError, match="not in the 32-px grid"):
        named(32, ["4x4-d2-none-n4-gm"])


def test_n1_and_n4_share_the_learned_models():
    assert model_folder("4x4-d1-rot-n1-gm") == model_folder("4x4-d1-rot-n4-gm") == "4x4-d1-rot-gm"
    assert model_folder("4x4-d1-rot-n4-gm") != model_folder("4x4-d1-rot-n4-nogm")


def test_pareto_front():
    pts = [(0.05, 0.20), (0.10, 0.30), (0.10, 0.25), (0.50, 0.30), (0.02, 0.10)]
    assert pareto(pts) == [True, True, False, False, True]


def test_store_skips_a_row_cut_short(tmp_path):
    p = tmp_path / "rows.jsonl"
    store.append(p, {"setting": "a", "samples": 4})
    with open(p, "a") as f:
        f.write('{"setting": "b", "sam')  # killed mid-row
    store.append(p, {"setting": "c", "samples": 4})
    assert [r["setting"] for r in store.read(p)] == ["a", "c"]
    assert store.done(p, samples=4) == {"a", "c"}
    assert store.done(p, samples=8) == set()


def test_stage_b_takes_what_met_the_goal(tmp_path):
    rows = [{"setting": "4x4-d1-none-n4-gm", "neighbour": 0.08, "perfect": 0.0,
             "recognisable": 0.0},
            {"setting": "8x8-d0-rot-n4-gm", "neighbour": 0.5, "perfect": 0.1,
             "recognisable": 1.0},
            {"setting": "4x4-d1-rot-n4-gm", "neighbour": 0.02, "perfect": 0.0,
             "recognisable": 0.06}]  # recognisable above 5%: not met
    for r in rows:
        store.append(tmp_path / "leakage-cifar.jsonl", r)
    run = Run(tmp_path, "cifar", None, 32, 200, 0, None, "m", "c", GOALS["cifar"],
              note=lambda s: None)
    # then the private presets' settings (today's, which missed here, and the former one)
    assert [s.name for s in pick_b(run, [])] == ["4x4-d1-none-n4-gm", "4x4-d1-rot-n4-gm",
                                                 "8x8-d2-all-n4-gm", "plain-n4-gm"]


def test_stages_c_and_d_take_the_most_accurate_that_met_the_goal(tmp_path):
    leak = [("4x4-d1-none-n4-gm", 0.08), ("4x4-d1-rot-n4-gm", 0.05), ("8x8-d0-none-n4-gm", 0.9)]
    for name, nbr in leak:
        store.append(tmp_path / "leakage-cifar.jsonl", {"setting": name, "neighbour": nbr,
                                                        "perfect": 0.0, "recognisable": 0.0})
    acc = [("4x4-d1-none-n4-gm", 0.30), ("4x4-d1-none-n4-gm", 0.26), ("4x4-d1-rot-n4-gm", 0.29),
           ("8x8-d0-none-n4-gm", 0.35)]  # the last leaks: never chosen
    for name, a in acc:
        store.append(tmp_path / "accuracy-cifar.jsonl", {"setting": name, "budget": "quick",
                                                         "acc_tta": a})
    run = Run(tmp_path, "cifar", None, 32, 200, 0, None, "m", "c", GOALS["cifar"],
              note=lambda s: None)
    quick = BUDGETS["quick"]
    assert [s.name for s in pick_best(run, [], quick, 3)] == ["4x4-d1-rot-n4-gm",
                                                              "4x4-d1-none-n4-gm"]
    assert [s.name for s in pick_best(run, [], quick, 1, references=True)] == [
        "4x4-d1-rot-n4-gm", "plain-n4-gm"]
    with pytest.raises(ValueError, match="run the stage before"):
        pick_best(run, [], BUDGETS["reference"], 1)
    # a model variant's rows do not choose; seeds of the base model are averaged
    store.append(tmp_path / "accuracy-cifar.jsonl", {"setting": "4x4-d1-none-n4-gm",
                                                     "budget": "quick", "acc_tta": 0.9,
                                                     "variant": "ema"})
    store.append(tmp_path / "accuracy-cifar.jsonl", {"setting": "4x4-d1-rot-n4-gm",
                                                     "budget": "quick", "acc_tta": 0.2,
                                                     "seed": 1})
    assert [s.name for s in pick_best(run, [], quick, 1)] == ["4x4-d1-none-n4-gm"]


def test_stages_a_and_b_end_to_end_and_resume(tmp_path):
    out = tmp_path / "search"
    settings = ["--setting", "4x4-d1-none-n1-nogm", "--setting", "8x8-d0-none-n4-nogm"]
    r = search("--stage", "a", *A, *settings, out=out)
    assert r.returncode == 0, r.stderr
    rows = store.read(out / "leakage-synthetic.jsonl")
    assert [x["setting"] for x in rows] == ["4x4-d1-none-n1-nogm", "8x8-d0-none-n4-nogm"]
    row = rows[0]
    assert row["samples"] == 4 and row["kept"] == 2 and row["n_copies"] == 1
    assert set(row["attacks"]) <= {"edges", "side-info"}
    for k in ("perfect", "neighbour", "recognisable"):
        assert 0.0 <= row[k] <= 1.0
    # per-image rows are stored rounded to 4 decimals
    assert row["neighbour"] >= max(a["alone"]["neighbour"] for a in row["attacks"].values()) - 1e-3
    assert "python -m experiments.frontier_search --stage a" in row["command"]
    assert rows[1]["neighbour"] > rows[0]["neighbour"]  # no defence leaks more
    # a rerun measures nothing again
    r = search("--stage", "a", *A, *settings, out=out)
    assert r.returncode == 0 and "0 settings to measure" in r.stderr
    assert len(store.read(out / "leakage-synthetic.jsonl")) == 2
    # stage b at a smoke budget: the setting that met the goal, with its commands
    b = ["--stage", "b", "--budget", "smoke", "--data", "synthetic", "--samples", "4",
         "--setting", "4x4-d1-none-n1-nogm"]
    r = search(*b, out=out)
    assert r.returncode == 0, r.stderr
    acc = store.read(out / "accuracy-synthetic.jsonl")
    assert [(x["setting"], x["model"], x["budget"]) for x in acc] == [
        ("4x4-d1-none-n1-nogm", "blockset-narrow", "smoke")]
    assert acc[0]["commands"][1].startswith("bs-train ") and 0.0 <= acc[0]["acc_tta"] <= 1.0
    assert not list((out / "data").rglob("*.h5"))  # encrypted files are not results
    assert "on the front" in (out / "search.md").read_text()
    r = search(*b, out=out)
    assert r.returncode == 0 and len(store.read(out / "accuracy-synthetic.jsonl")) == 1
    # a second seed adds one training in its own folder; a variant that does not apply to the
    # setting (orbit pooling on blocks that are not rotated) trains nothing
    r = search(*b, "--seeds", "0,1", "--variant", "base", "--variant", "orbit", out=out)
    assert r.returncode == 0, r.stderr
    assert "variant orbit does not apply" in r.stderr
    acc = store.read(out / "accuracy-synthetic.jsonl")
    assert [(x["seed"], x["variant"]) for x in acc] == [(0, "base"), (1, "base")]
    assert acc[1]["run"].endswith("-s1") and "--seed 1" in acc[1]["commands"][1]
    assert json.loads((out / "leakage-synthetic.jsonl").read_text().splitlines()[0])


@pytest.mark.parametrize("args, words", [
    (["--stage", "a", "--setting", "8x8-d9-all-n4-gm"], "not in the 32-px grid"),
    (["--stage", "a", "--data", "synthetic", "--attacks", "nope"], "'nope' is not an attack"),
    (["--stage", "b", "--budget", "huge"], "--budget 'huge' is not known"),
    (["--stage", "a", "--samples", "0"], "--samples 0"),
    (["--stage", "b", "--data", "synthetic"], "run --stage a first"),
    (["--stage", "c", "--data", "synthetic"], "run the stage before"),
    (["--stage", "b", "--data", "photos"], "has no classes"),
    (["--stage", "a", "--data", "cifar", "--data-dir", "/nonexistent"], "holds no"),
    (["--stage", "e"], "--stage"),
    (["--stage", "b", "--seeds", "0,x"], "--seeds '0,x' is not valid"),
    (["--stage", "b", "--variant", "wide"], "--variant 'wide' is not known"),
])
def test_bad_input_is_refused_in_one_line(tmp_path, args, words):
    out = tmp_path / "search"
    r = search(*args, out=out)
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and words in lines[0], r.stderr
    assert not out.exists()
