"""The privacy-accuracy frontier as a library: budgets, data, leakage, training, table, chart.

``bench/bench_frontier.py`` (the CLI) and ``bench/gpu_check.py`` call ``run_frontier``. One
encrypted file per block size (the paper's other settings: zero-padded crop, flip, N = 4 keys
per image; GridMask as the budget says), one plain file per plain reference; on each file every
model of the budget is trained; beside each setting the audit's leakage of its training copies.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["BUDGETS", "Budget", "chart", "cifar_source", "encrypt_setting", "leakage",
           "run_frontier", "with_overrides"]


@dataclass(frozen=True)
class Budget:
    """How much of everything one frontier run does."""

    name: str
    n_train: int
    epochs: int
    n_test: int = 1000  # the exact CIFAR-10 test images
    blocks: tuple[int, ...] = (4, 8, 16)
    models: tuple[str, ...] = ("resnet18-narrow", "blockset-narrow")
    plain_blocks: tuple[int, ...] = (8,)  # block grids of the plain block-set references
    gridmask: bool = False
    audit_samples: int = 200
    batch_size: int = 128
    device: str = "cpu"


BUDGETS = {
    # the CPU reference budget: about 30 min on 2 idle cores
    "cpu": Budget("cpu", n_train=10_000, epochs=10),
    # the same on a loaded machine: a quarter of the images, 4 epochs
    "cpu-quick": Budget("cpu-quick", n_train=2_500, epochs=4, audit_samples=100),
    # a GPU budget that fits gpu-check's 8 minutes on one H100
    "gpu": Budget("gpu", n_train=25_000, epochs=15, models=("resnet18", "blockset"),
                  plain_blocks=(4, 8, 16), audit_samples=500, batch_size=256, device="auto"),
    # a whole run in seconds, for tests
    "smoke": Budget("smoke", n_train=256, epochs=1, n_test=128, blocks=(4, 8), audit_samples=8,
                    batch_size=64),
}


def leakage(path: Path, key: bytes, samples: int) -> dict:
    """What the audit recovers from the training copies of ``path``: the share of images that
    any of its attacks reassembles exactly (perfect, the per-image union) and of true neighbour
    pairs found (neighbour, union), with the best single attack named beside them.

    The one call into the audit; switch here when its entry point changes.
    """
    from encrypt_tool.audit import leak_figures

    s = leak_figures(path, key, split="train", samples=samples)
    return {"perfect": s["union"]["perfect"], "neighbour": s["union"]["neighbour"],
            "attack": f"union (best single: {s['best']['attack']})", "samples": s["samples"]}


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


def encrypt_setting(source: str, key: bytes, block: int, scramble: bool, b: Budget,
                    out: Path) -> Path:
    """One file of the frontier: CIFAR-10 (or ``source``) with ``block`` blocks, N = 4."""
    from encrypt_tool.augment import AugmentConfig
    from encrypt_tool.pipeline import DatasetConfig, build_dataset
    from encrypt_tool.sources import open_source

    cfg = DatasetConfig(out=str(out), source=source, n_keys=4, block_size=(block, block),
                        scramble=scramble, augment=AugmentConfig(gridmask=b.gridmask),
                        seed=0, jobs=2, limit=max(b.n_train, b.n_test), overwrite=True)
    return build_dataset(cfg, key if scramble else b"", lambda *a, **k: open_source(source))


def _train(data: Path, model: str, b: Budget, out: Path) -> dict:
    from trainer.config import TrainConfig
    from trainer.train import train

    t0 = time.perf_counter()
    r = train(TrainConfig(data=str(data), out=str(out), epochs=b.epochs, batch_size=b.batch_size,
                          model=model, device=b.device, limit_train=b.n_train,
                          limit_test=b.n_test, subset="first", overwrite=True,
                          progress=False))  # the first 1,000 test images are the exact ones
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    train_s = sum(float(r["epoch_s"]) for r in rows)
    return {"acc": r["final_test_acc"], "acc_tta": r["final_test_acc_tta"],
            "train_s": train_s, "wall_s": time.perf_counter() - t0}


def run_frontier(b: Budget, source: str, out: Path, key: bytes | None = None) -> dict:
    """Encrypt, audit and train as ``b`` says; write frontier.{md,csv,json,png} into ``out``."""
    from keys.master import generate_key

    key = key or generate_key()  # memory only
    out.mkdir(parents=True, exist_ok=True)
    data, runs = out / "data", out / "runs"
    data.mkdir(exist_ok=True)
    rows: list[dict] = []
    settings = [(f"{k}x{k}", k, True) for k in b.blocks]
    settings += [("plain", 8, False)]
    for label, block, scramble in settings:
        path = encrypt_setting(source, key, block, scramble, b, data / f"{label}.h5")
        leak = {"perfect": 1.0, "neighbour": 1.0, "attack": "none needed", "samples": 0}
        if scramble:
            leak = leakage(path, key, b.audit_samples)
        print(f"== {label}: leakage perfect {leak['perfect']:.1%}, neighbours "
              f"{leak['neighbour']:.1%}", flush=True)
        models = b.models if scramble else [m for m in b.models if not m.startswith("block")]
        for model in models:
            rows.append(_row(label, block, leak, model,
                             _train(path, model, b, runs / f"{label}-{model}")))
        if not scramble:  # plain block-set references, one per block grid
            for pb in b.plain_blocks:
                p = path if pb == block else encrypt_setting(source, key, pb, False, b,
                                                      data / f"plain{pb}.h5")
                for model in (m for m in b.models if m.startswith("block")):
                    rows.append(_row(f"plain ({pb}x{pb} grid)", pb, leak, model,
                                     _train(p, model, b, runs / f"plain{pb}-{model}")))
        path.unlink(missing_ok=True)  # the encrypted file is not a result
    summary = {"budget": asdict(b), "rows": rows}
    _write(summary, out)
    return summary


def _row(label: str, block: int, leak: dict, model: str, r: dict) -> dict:
    row = {"setting": label, "block": block, "perfect": leak["perfect"],
           "neighbour": leak["neighbour"], "model": model, **r}
    print(f"   {model:16s} test {r['acc']:.1%}  TTA {r['acc_tta']:.1%}  "
          f"train {r['train_s']:.0f} s", flush=True)
    return row


def _write(summary: dict, out: Path) -> None:
    rows = summary["rows"]
    (out / "frontier.json").write_text(json.dumps(summary, indent=2))
    with open(out / "frontier.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    lines = ["| setting | exact reassembly | neighbours found | model | test | with TTA | "
             "train s |", "| --- | ---: | ---: | --- | ---: | ---: | ---: |"]
    lines += [f"| {r['setting']} | {r['perfect']:.1%} | {r['neighbour']:.1%} | {r['model']} | "
              f"{r['acc']:.1%} | {r['acc_tta']:.1%} | {r['train_s']:.0f} |" for r in rows]
    (out / "frontier.md").write_text("\n".join(lines) + "\n")
    chart(rows, out / "frontier.png")


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


def with_overrides(b: Budget, **kw) -> Budget:
    """``b`` with the given fields replaced (None leaves a field as it is)."""
    return replace(b, **{k: v for k, v in kw.items() if v is not None})
