"""The recognition test: a classifier trained on plain CIFAR-10 classifies what the audit's
attacks reassemble from encrypted test images, against its accuracy on the plain images.

    .venv/bin/python -m experiments.recognition [--data DIR] [--out runs/recognition]
    ... --model runs/recognition/plain/run      # reuse a plain model instead of training one
    ... --setting "8x8 drop 2" --images 100     # fewer settings, fewer images
    ... --smoke                                 # synthetic images, about a minute

The plain model: resnet18-narrow trained with bs-train on a --no-scramble file of the first
10,000 CIFAR-10 training images (crop, flip, GridMask, N = 4), 10 epochs. The test images: the
first K (default 200) CIFAR-10 test images, never trained on, encrypted per setting as a
training split (N = 4, the presets' augmentation); every attack of the audit runs on copy 0
with all copies as side information. Outputs with a dropped border are put back at the source
size, the gap filled with the nearest kept pixel of each block (--fill edge) or 0 (--fill zero).
Writes recognition.json and recognition.md to --out. DATA: a folder with cifar10_train.npz and
cifar10_test.npz or the CIFAR-10 sheets; default: the offline copy.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from encrypt_tool.setting import pick
from experiments.cifar import SHARED_CIFAR, cifar_source
from experiments.machine import describe_machine as machine
from experiments.recognition.attack import FILLS, attack_setting
from experiments.recognition.score import score, table
from experiments.recognition.train import train_plain
from experiments.settings import RECOGNITION as SETTINGS
from experiments.settings import RECOGNITION_SMOKE as SMOKE_SETTINGS

__all__ = ["main", "run"]

SMOKE_SOURCE = "synthetic:256,256"  # as many test as training images: no --limit warning


class Parser(argparse.ArgumentParser):
    """argparse with the project's convention: one ``Error: ...`` line, exit status 1."""

    def error(self, message: str):
        sys.stderr.write(f"Error: {message}\n")
        sys.exit(1)


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = Parser(prog="python -m experiments.recognition", description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="CIFAR-10 folder (npz or sheets)")
    ap.add_argument("--out", type=Path, default=Path("runs/recognition"))
    ap.add_argument("--model", type=Path, default=None,
                    help="a bs-train run directory or checkpoint of a plain model (default: "
                         "train one into OUT/plain)")
    ap.add_argument("--arch", default="resnet18-narrow", help="model to train")
    ap.add_argument("--n-train", type=int, default=10_000)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=None, help="torch threads for training")
    ap.add_argument("--images", type=int, default=200, help="K: the first K test images")
    ap.add_argument("--setting", action="append", default=None,
                    help=f"a setting (repeat; default all): {', '.join(s.name for s in SETTINGS)}")
    ap.add_argument("--fill", choices=FILLS, default="edge",
                    help="the gap of a dropped border: nearest kept pixel, or 0")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes for the attacks")
    ap.add_argument("--smoke", action="store_true",
                    help="synthetic images: 1 epoch on 256, 8 test images, 2 settings")
    ap.add_argument("--overwrite", action="store_true")
    a = ap.parse_args(argv)
    if a.smoke:
        a.n_train, a.epochs = min(a.n_train, 256), 1
        a.images = 8 if a.images == 200 else a.images
    from trainer.registry import MODEL_NAMES

    if a.arch not in MODEL_NAMES:
        ap.error(f"--arch {a.arch!r} is not known; use {', '.join(MODEL_NAMES)}")
    for name in ("n_train", "epochs", "images", "jobs", "threads"):
        if getattr(a, name) is not None and getattr(a, name) < 1:
            ap.error(f"--{name.replace('_', '-')} {getattr(a, name)} is not valid; "
                     f"it must be >= 1")
    try:
        a.settings = SMOKE_SETTINGS if a.smoke and not a.setting else pick(SETTINGS, a.setting)
    except ValueError as e:
        ap.error(str(e))
    if a.model is not None and not a.model.exists():
        ap.error(f"--model {a.model} does not exist; give a bs-train run directory or a .pt")
    if (a.out / "recognition.json").exists() and not a.overwrite:
        ap.error(f"{a.out} already holds a recognition test; pass --overwrite to replace it")
    return a


def _data(a: argparse.Namespace, tmp: Path) -> tuple[str, np.ndarray, np.ndarray, tuple]:
    """The training source spec and the first K test images, labels and class names."""
    from encrypt_tool.sources import open_source

    if a.smoke:
        source = SMOKE_SOURCE
    else:
        data = a.data or SHARED_CIFAR
        if not data.is_dir():
            raise ValueError(f"CIFAR-10 folder {data} does not exist; give --data DIR (npz "
                             f"files or the sheets) or use --smoke")
        source = cifar_source(data, tmp / "cifar")
    src = open_source(source)
    test = src.splits["test"]
    if a.images > test.n:
        raise ValueError(f"--images {a.images} is not valid; the test split has {test.n} "
                         f"images (on CIFAR-10 the exact ones), so use 1..{test.n}")
    return source, test.read(0, a.images), np.asarray(test.labels[: a.images]), src.class_names


def run(a: argparse.Namespace) -> dict:
    from keys.master import generate_key
    from trainer.predict import load_predictor

    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        source, x, labels, names = _data(a, Path(tmp))
        a.out.mkdir(parents=True, exist_ok=True)
        if a.model is None:
            plain = train_plain(source, a.out / "plain", a.arch, a.n_train, a.epochs,
                                None if a.smoke else 1000, a.threads)
            print(f"plain model: {a.arch}, {a.n_train} images, {a.epochs} epochs: test "
                  f"{plain['test_acc']:.1%} (TTA {plain['test_acc_tta']:.1%}), "
                  f"{plain['train_wall_s']:.0f} s", flush=True)
            model = Path(plain["run"])
        else:
            plain, model = {"run": str(a.model)}, a.model
        pred = load_predictor(model, device="cpu")
        if tuple(pred.info.image_shape) != x.shape[1:] or len(pred.class_names) != len(names):
            raise ValueError(f"--model {model} classifies {pred.info.image_shape} images into "
                             f"{len(pred.class_names)} classes; the test images are "
                             f"{x.shape[1:]} of {len(names)} classes")

        def classify(y: np.ndarray) -> np.ndarray:
            return pred.predict(y, tta=True).argmax(axis=1)  # flip TTA, as bs-predict

        key, results = generate_key(), {}  # the key lives in memory only
        for s in a.settings:
            at = attack_setting(x, labels, names, s, key, Path(tmp), a.fill, a.jobs)
            t0 = time.perf_counter()
            r = score(at, labels, classify, len(names))
            r.update(options=s.options(), attack_s=at.attack_s,
                     classify_s=time.perf_counter() - t0, load=os.getloadavg()[0])
            results[s.name] = r
            print(f"== {s.name}: plain {r['plain']:.1%}, scrambled {r['scrambled']:.1%}, "
                  f"self-chosen {r['self_chosen']:.1%}, union {r['union']:.1%} "
                  f"({r['n_attacks']} attacks, {at.attack_s:.0f} s)", flush=True)
    return {"plain_model": plain, "images": int(len(x)), "test_images": f"first {len(x)}",
            "fill": a.fill, "tta": True, "smoke": a.smoke, "machine": machine(),
            "wall_s": time.perf_counter() - t_all, "results": results}


def main(argv: list[str] | None = None) -> int:
    a = _args(argv)
    try:
        summary = run(a)
    except (ValueError, OSError) as e:
        sys.stderr.write(f"Error: {' '.join(str(e).split())}\n")
        return 1
    md = table(summary["results"])
    (a.out / "recognition.json").write_text(json.dumps(summary, indent=2))
    (a.out / "recognition.md").write_text(md)
    print(md)
    print(f"{summary['machine']}; {summary['wall_s']:.0f} s in all -> {a.out}")
    return 0
