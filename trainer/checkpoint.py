"""Checkpoints and the metrics file of a run directory, all written atomically.

``last.pt`` holds everything a resumed run needs (model, optimiser, schedule, epoch, metrics so
far, RNG states); ``best.pt`` the model with the best test accuracy with TTA. The next epoch's
data randomness derives from (seed, epoch), so resuming replays the uninterrupted run exactly.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import torch

from trainer.errors import TrainError

__all__ = ["METRIC_COLUMNS", "RUN_FILES", "check_resume", "load", "prepare_run_dir", "save",
           "write_json", "write_metrics"]

RUN_FILES = ("config.json", "metrics.csv", "last.pt", "best.pt")
METRIC_COLUMNS = (
    "epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc", "test_loss_tta",
    "test_acc_tta", "images_per_s", "epoch_s",
)


def _replace(tmp: Path, path: Path) -> None:
    os.replace(tmp, path)


def save(state: dict, path: str | os.PathLike) -> None:
    """``torch.save`` to a temporary name, then rename (``state``: tensors and plain types only,
    so that ``load`` can read it with ``weights_only=True``)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    torch.save(state, tmp)
    _replace(tmp, path)


def _check_kind(path: Path) -> None:
    """TrainError naming what ``path`` is when its first bytes say it is no torch checkpoint
    (a zip archive, or a legacy pickle)."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head == b"\x89HDF\r\n\x1a\n":
        raise TrainError(f"{path} is a bs-encrypt data file, not a checkpoint; give the run "
                         f"directory of bs-train (or its best.pt or last.pt)")
    if head.startswith(b"PK") or head.startswith(b"\x80"):
        return
    what = "an empty file" if not head else "a text file" if _is_text(head) else "another kind"
    raise TrainError(f"{path} is not a checkpoint ({what}); give the run directory of bs-train "
                     f"(or its best.pt or last.pt)")


def _is_text(head: bytes) -> bool:
    try:
        return head.decode("utf-8").isprintable() or "\n" in head.decode("utf-8")
    except UnicodeDecodeError:
        return False


def load(path: str | os.PathLike) -> dict:
    """A checkpoint written by ``save``; TrainError if missing, unreadable or not plain data.

    It is loaded with ``weights_only=True``: only tensors and plain types (dict, list, str,
    numbers) are unpickled, so a checkpoint from elsewhere cannot run code.
    """
    path = Path(path)
    if not path.is_file():
        raise TrainError(f"no checkpoint at {path}")
    _check_kind(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds for a damaged or unsafe file
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "weights_only" in str(e) or "Weights only" in str(e):  # never pass on its advice
            first = "it holds objects other than tensors and plain types, which could run code"
        raise TrainError(f"checkpoint {path} cannot be read (truncated, or not a bs-train "
                         f"checkpoint of tensors and plain types): {first}") from None
    if not isinstance(state, dict):
        raise TrainError(f"checkpoint {path} is not a bs-train checkpoint (it holds a "
                         f"{type(state).__name__}, not a dict)")
    return state


def write_json(obj: dict, path: str | os.PathLike) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    _replace(tmp, path)


def write_metrics(rows: list[dict], path: str | os.PathLike) -> None:
    """All epochs so far as CSV (rewritten whole, so a resumed run never duplicates rows)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=METRIC_COLUMNS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    _replace(tmp, path)


def prepare_run_dir(out: str, resume: bool, overwrite: bool, main: bool = True) -> Path:
    """Create ``out``; refuse one holding results unless resuming or overwriting (only the
    ``main`` process deletes old results)."""
    d = Path(out)
    if d.exists() and not d.is_dir():
        raise TrainError(f"run directory {d} exists and is not a directory")
    present = [n for n in RUN_FILES if (d / n).exists()]
    if resume:
        if not (d / "last.pt").is_file():
            if not present:
                raise TrainError(f"--resume: there is no previous run in {d} to continue; "
                                 "leave out --resume to start one")
            raise TrainError(f"--resume: {d} has no last.pt to resume from (no epoch "
                             "finished there); start again with --overwrite")
    elif present and not overwrite:
        raise TrainError(
            f"run directory {d} already holds results ({', '.join(present)}); "
            "give --resume to continue it or --overwrite to start again"
        )
    elif overwrite and main:
        for n in present:
            (d / n).unlink()
    d.mkdir(parents=True, exist_ok=True)
    return d


def check_resume(saved: dict, current: dict) -> None:
    """TrainError naming every result-affecting setting where checkpoint and run differ."""
    diff = [f"{k}: checkpoint {saved.get(k)!r}, now {v!r}" for k, v in current.items()
            if saved.get(k) != v]
    if diff:
        raise TrainError(
            "--resume: the checkpoint belongs to another configuration (" + "; ".join(diff) + ")"
        )
