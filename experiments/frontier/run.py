"""The privacy-accuracy frontier as a library: budgets, data, leakage, training, table, chart.

``bench/bench_frontier.py`` (the CLI) and ``bench/gpu_check.py`` call ``run_frontier``. One
encrypted file per setting (bench/frontier_settings.py: block size, border drop, within-block
transforms; the paper's other settings: zero-padded crop, flip, N = 4 keys per image; GridMask
as the budget says), one plain file per plain reference; on each file every model of the budget
that applies is trained (the ResNet only without within-block transforms: it has no invariance
to them; the block-set model with the invariances the file's defences call for); beside each
setting the audit's leakage of its training copies (all N copies in the attacker's hands).
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import json
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from frontier_settings import SETTINGS, Setting, pick
from PIL import Image

__all__ = ["BUDGETS", "Budget", "chart", "cifar_source", "encrypt_setting", "leakage",
           "run_frontier", "with_overrides"]

ALL = tuple(s.name for s in SETTINGS)
LEAK_BARS = (("neighbours found", "neighbour"), ("exact reassembly", "perfect"),
             ("recognisable", "recognisable"))
LEAK_KEYS = ("perfect", "neighbour", "recognisable", "in_segments", "largest_segment")


@dataclass(frozen=True)
class Budget:
    """How much of everything one frontier run does."""

    name: str
    n_train: int
    epochs: int
    n_test: int = 1000  # the exact CIFAR-10 test images
    settings: tuple[str, ...] = ALL  # names in frontier_settings.SETTINGS
    models: tuple[str, ...] = ("resnet18-narrow", "blockset-narrow")
    plain_blocks: tuple[int, ...] = (8,)  # block grids of the plain block-set references
    gridmask: bool = False
    audit_samples: int = 200
    batch_size: int = 128
    device: str = "cpu"


BUDGETS = {
    # the CPU reference budget: about 30 min on 2 idle cores for the paper's setting alone
    "cpu": Budget("cpu", n_train=10_000, epochs=10),
    # the same on a loaded machine: a quarter of the images, 4 epochs
    "cpu-quick": Budget("cpu-quick", n_train=2_500, epochs=4, audit_samples=100),
    # a GPU budget that fits gpu-check's 8 minutes on one H100
    "gpu": Budget("gpu", n_train=25_000, epochs=15, settings=("4x4", "8x8", "16x16", "plain"),
                  models=("resnet18", "blockset"), plain_blocks=(4, 8, 16), audit_samples=500,
                  batch_size=256, device="auto"),
    # a whole run in seconds, for tests
    "smoke": Budget("smoke", n_train=256, epochs=1, n_test=128,
                    settings=("4x4", "8x8", "8x8 drop 2 + all", "plain"), audit_samples=8,
                    batch_size=64),
}


@contextlib.contextmanager
def _locked(path: str | None):
    """Hold an exclusive lock on ``path`` (as ``flock PATH``) while the block runs; yields the
    1-minute load average once the lock is held."""
    if not path:
        yield os.getloadavg()[0]
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield os.getloadavg()[0]
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def leakage(path: Path, key: bytes, samples: int) -> dict:
    """What the audit recovers from the training copies of ``path`` (all N copies): the share of
    images that any of its attacks reassembles exactly (perfect, the per-image union), of true
    neighbour pairs found (neighbour, union), and the recognisability measures where the audit
    has them (recognisable images, blocks in correct segments of 4+, largest correct segment),
    with the best single attack named beside them and the attacks the audit could not run.

    The one call into the audit; switch here when its entry point changes.
    """
    from encrypt_tool.audit import AuditConfig, audit_file

    s, _ = audit_file(path, key, AuditConfig(split="train", samples=samples))
    u = s["union"]
    return {**{k: u.get(k) for k in LEAK_KEYS}, "best_attack": s["best_attack"],
            "not_run": s.get("not_run", []), "samples": s["samples"]}


def cifar_source(data_dir: Path, work: Path) -> str:
    """A source spec for CIFAR-10 in ``data_dir``: the unpacked npz files, or the webp sheets
    (``train_half1.webp`` alone is enough: 25,000 training images; with ``train_half2.webp``
    all 50,000), which are unpacked into ``work``. ValueError naming what is missing."""
    npz = [data_dir / "cifar10_train.npz", data_dir / "cifar10_test.npz"]
    if all(p.exists() for p in npz):
        return f"npz:{npz[0]},{npz[1]}"
    need = ["labels.npz", "test_first1000.webp", "train_half1.webp"]
    missing = [n for n in need if not (data_dir / n).exists()]
    if missing:
        raise ValueError(f"DATA {data_dir} holds neither cifar10_train.npz + cifar10_test.npz "
                         f"nor the CIFAR-10 sheets (missing {', '.join(missing)})")
    lab = np.load(data_dir / "labels.npz")
    halves = [h for h in ("train_half1.webp", "train_half2.webp") if (data_dir / h).exists()]
    train = np.concatenate([_tiles(data_dir / h, 250) for h in halves])  # (n, 32, 32, 3)
    test = _tiles(data_dir / "test_first1000.webp", 50)  # (1000, 32, 32, 3), exact
    work.mkdir(parents=True, exist_ok=True)
    names = lab["class_names"]
    np.savez(work / "cifar10_train.npz", images=train, class_names=names,
             labels=lab["train_labels"][: len(train)])
    np.savez(work / "cifar10_test.npz", images=test, class_names=names,
             labels=lab["test_labels"][: len(test)], exact=np.ones(len(test), bool))
    return f"npz:{work / 'cifar10_train.npz'},{work / 'cifar10_test.npz'}"


def _tiles(path: Path, ncol: int) -> np.ndarray:
    grid = np.asarray(Image.open(path).convert("RGB"))  # (rows*32, ncol*32, 3)
    nrow = grid.shape[0] // 32
    return grid.reshape(nrow, 32, ncol, 32, 3).transpose(0, 2, 1, 3, 4).reshape(-1, 32, 32, 3)


def encrypt_setting(source: str, key: bytes, setting: Setting, b: Budget, out: Path) -> Path:
    """One file of the frontier: CIFAR-10 (or ``source``) encrypted as ``setting`` says, N = 4."""
    from encrypt_tool.augment import AugmentConfig
    from encrypt_tool.pipeline import DatasetConfig, build_dataset
    from encrypt_tool.sources import open_source

    one = replace(setting.as_setting(), augment=AugmentConfig(gridmask=b.gridmask))
    cfg = DatasetConfig(out=str(out), source=source, setting=one, seed=0, jobs=2,
                        limit=max(b.n_train, b.n_test), overwrite=True)
    return build_dataset(cfg, key if setting.scramble else b"",
                         lambda *a, **k: open_source(source))


def _train(data: Path, model: str, b: Budget, out: Path, lock: str | None) -> dict:
    from trainer.config import TrainConfig
    from trainer.train import train

    with _locked(lock) as load:
        t0 = time.perf_counter()
        r = train(TrainConfig(data=str(data), out=str(out), epochs=b.epochs,
                              batch_size=b.batch_size, model=model, device=b.device,
                              limit_train=b.n_train, limit_test=b.n_test, subset="first",
                              overwrite=True, progress=False))  # the first 1,000: exact
        wall = time.perf_counter() - t0
        load_after = os.getloadavg()[0]
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    train_s = sum(float(r["epoch_s"]) for r in rows)
    return {"acc": r["final_test_acc"], "acc_tta": r["final_test_acc_tta"],
            "train_s": train_s, "wall_s": wall, "load": [load, load_after]}


def _models(s: Setting, b: Budget) -> list[tuple[str, str, int]]:
    """(row label, model, block grid) of the runs on setting ``s``."""
    if s.scramble:
        return [(s.name, m, s.block) for m in b.models
                if m.startswith("blockset") or not s.transforms]
    runs = [(s.name, m, s.block) for m in b.models if not m.startswith("blockset")]
    return runs + [(f"plain ({pb}x{pb} grid)", m, pb) for pb in b.plain_blocks
                   for m in b.models if m.startswith("blockset")]


def run_frontier(b: Budget, source: str, out: Path, key: bytes | None = None,
                 parts: tuple[str, ...] = ("accuracy", "leakage"), update: bool = False,
                 lock: str | None = None) -> dict:
    """Encrypt, audit and train as ``b`` says; write frontier.{md,csv,json,png} into ``out``.

    ``parts``: what to measure (accuracy, leakage). ``update``: keep the results of an earlier
    run in ``out`` (same budget) and replace only what this run measures. ``lock``: a file
    locked (as ``flock``) around every training run and audit.
    """
    from keys.master import generate_key

    key = key or generate_key()  # memory only
    out.mkdir(parents=True, exist_ok=True)
    data, runs = out / "data", out / "runs"
    data.mkdir(exist_ok=True)
    results = _earlier(out, b) if update else {}
    settings = pick(SETTINGS, list(b.settings))
    for s in settings:
        res = results.setdefault(s.name, {"leak": None, "models": {}})
        files: dict[int, Path] = {}

        def file(block: int, s: Setting = s, files: dict = files) -> Path:
            if block not in files:
                t = s if block == s.block else replace(s, name=f"plain{block}", block=block)
                files[block] = encrypt_setting(source, key, t, b, data / f"{_slug(t.name)}.h5")
            return files[block]

        if "leakage" in parts and s.scramble:
            with _locked(lock) as load:
                t0 = time.perf_counter()
                res["leak"] = {**leakage(file(s.block), key, b.audit_samples),
                               "wall_s": time.perf_counter() - t0,
                               "load": [load, os.getloadavg()[0]]}
            print(f"== {s.name}: leakage perfect {res['leak']['perfect']:.1%}, neighbours "
                  f"{res['leak']['neighbour']:.1%}", flush=True)
        if "accuracy" in parts:
            for label, model, block in _models(s, b):
                r = _train(file(block), model, b, runs / f"{_slug(label)}-{model}", lock)
                res["models"][f"{label}|{model}"] = r
                print(f"   {label:20s} {model:16s} test {r['acc']:.1%}  TTA {r['acc_tta']:.1%}"
                      f"  train {r['train_s']:.0f} s, load {r['load'][0]:.1f}", flush=True)
        for f in files.values():
            f.unlink(missing_ok=True)  # the encrypted file is not a result
        _write({"budget": asdict(b), "results": results}, out)
    summary = {"budget": asdict(b), "results": results}
    _write(summary, out)
    return json.loads((out / "frontier.json").read_text())


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-")


def _earlier(out: Path, b: Budget) -> dict:
    """The per-setting results of an earlier run in ``out`` at the same budget ({} if none)."""
    p = out / "frontier.json"
    if not p.exists():
        return {}
    old = json.loads(p.read_text())
    keep = ("n_train", "epochs", "n_test", "gridmask", "audit_samples")
    if any(old.get("budget", {}).get(k) != asdict(b)[k] for k in keep):
        raise ValueError(f"{p} was measured at another budget; use another --out or leave "
                         f"out --update")
    return old.get("results", {})


def _rows(results: dict) -> list[dict]:
    """One row per (setting, model) run; a setting audited but not trained gets one row."""
    known = {s.name: s for s in SETTINGS}
    rows = []
    for name, res in results.items():
        s = known[name]
        leak = res.get("leak") or {}
        base = {"setting": name, "options": s.options(), "block": s.block, "kept": s.kept,
                "pixels_kept": s.pixels_kept, **{k: leak.get(k) for k in LEAK_KEYS},
                "audit_samples": leak.get("samples"), "audit_s": leak.get("wall_s")}
        if not s.scramble:
            base.update(perfect=1.0, neighbour=1.0)
        runs = res.get("models", {})
        if not runs:
            rows.append({**base, "model": None, "acc": None, "acc_tta": None, "train_s": None,
                         "wall_s": None, "load": None})
        for key, r in runs.items():
            label, model = key.split("|")
            rows.append({**base, "setting": label, "model": model, "acc": r["acc"],
                         "acc_tta": r["acc_tta"], "train_s": r["train_s"],
                         "wall_s": r["wall_s"], "load": r["load"][0]})
    return rows


def _pct(v) -> str:
    return "n/a" if v is None else f"{v:.1%}"


def _num(v, fmt: str) -> str:
    return "" if v is None else format(v, fmt)


def _write(summary: dict, out: Path) -> None:
    rows = _rows(summary["results"])
    summary["rows"] = rows
    (out / "frontier.json").write_text(json.dumps(summary, indent=2))
    if not rows:
        return
    with open(out / "frontier.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    lines = ["| setting | pixels kept | exact reassembly | neighbours found | recognisable | "
             "blocks in segments of 4+ | model | test | with TTA | train s | load |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r['setting']} | {r['pixels_kept']:.0%} | {_pct(r['perfect'])} | "
              f"{_pct(r['neighbour'])} | {_pct(r['recognisable'])} | "
              f"{_pct(r['in_segments'])} | {r['model'] or 'not trained'} | {_pct(r['acc'])} | "
              f"{_pct(r['acc_tta'])} | "
              f"{_num(r['train_s'], '.0f')} | {_num(r['load'], '.1f')} |"
              for r in rows]
    skipped = [f"- {name}: {'; '.join(res['leak']['not_run'])}"
               for name, res in summary["results"].items()
               if (res.get("leak") or {}).get("not_run")]
    if skipped:
        lines += ["", "Attacks the audit could not run (their figures are not in the union):",
                  *skipped]
    (out / "frontier.md").write_text("\n".join(lines) + "\n")
    drawn = [r for r in rows if r["neighbour"] is not None and r["acc_tta"] is not None]
    if drawn:
        chart(drawn, out / "frontier.png")
    leak_chart(summary["results"], out / "leakage.png")


def chart(rows: list[dict], path: Path) -> Path | None:
    """Accuracy with TTA against leaked neighbours, one colour per model, each point named by
    its setting. None (with a warning) without matplotlib."""
    from encrypt_tool.figures import scatter_chart

    series: dict[str, list[tuple[float, float, str]]] = {}
    for r in rows:
        series.setdefault(r["model"], []).append((r["neighbour"], r["acc_tta"], r["setting"]))
    return scatter_chart(series, path, xlabel="true neighbour pairs the audit recovers",
                      ylabel="test accuracy (flip TTA)",
                      title="Test accuracy against leakage (further left: less leaks)")


def leak_chart(results: dict, path: Path) -> Path | None:
    """The audit's union per setting: neighbours found, exact reassembly, recognisable (%)."""
    from encrypt_tool.figures import bar_chart

    groups = [(name.replace(" + ", "\n+ ").replace(" ", "\n", 1),
               [(label, 100 * res["leak"][k]) for label, k in LEAK_BARS
                if res["leak"].get(k) is not None])
              for name, res in results.items() if res.get("leak")]
    if not groups:
        return None
    return bar_chart(groups, path, "What the audit recovers, per setting (union of its attacks)",
                     ylabel="% (of neighbour pairs, of images)")


def with_overrides(b: Budget, **kw) -> Budget:
    """``b`` with the given fields replaced (None leaves a field as it is)."""
    return replace(b, **{k: v for k, v in kw.items() if v is not None})
