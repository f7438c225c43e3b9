"""The run directory: the run's state (``Run``), its checkpoints and metrics, written atomically.

``last.pt`` holds everything a resumed run needs (model, optimiser, schedule, epoch, metrics so
far, RNG state); ``best.pt`` the model with the best test accuracy with TTA. A checkpoint's
``model`` is always the evaluated one: with ``--ema`` the weight average (``trainer/ema.py``),
and ``last.pt`` then also holds the trained weights (``raw_model``) and the average's update
count (``ema_updates``). The next epoch's
data randomness derives from (seed, epoch), so resuming replays the uninterrupted run exactly.
Every file goes through ``bsformat.files.write_atomic``: a partial file beside it, renamed into
place; a failed write (a full disk) removes the partial file and says which path needed how much
space.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from bsformat.files import partials, write_atomic
from trainer.ema import WeightAverage
from trainer.errors import TrainError

__all__ = ["METRIC_COLUMNS", "RUN_FILES", "Run", "check_resume", "load", "prepare_run_dir",
           "read_json", "save", "write_json", "write_metrics"]

RUN_FILES = ("config.json", "metrics.csv", "last.pt", "best.pt")
METRIC_COLUMNS = (
    "epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc", "test_loss_tta",
    "test_acc_tta", "images_per_s", "epoch_s",
)


def _write_atomic(data: bytes, path: str | os.PathLike) -> None:
    """``data`` to ``path`` through the one atomic write (a partial file beside it, fsynced,
    renamed; removed on failure); a full disk: NoSpaceError naming the path and the size."""
    write_atomic(path, bytes(data))


def save(state: dict, path: str | os.PathLike) -> None:
    """``torch.save`` through memory to a temporary name, then rename (``state``: tensors and
    plain types only, so that ``load`` can read it with ``weights_only=True``)."""
    buf = io.BytesIO()
    torch.save(state, buf)
    _write_atomic(buf.getbuffer(), path)


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


def read_json(path: str | os.PathLike) -> dict:
    """A JSON file of the run directory; TrainError naming it when it cannot be read."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise TrainError(f"{path} cannot be read ({e})") from None


def write_json(obj: dict, path: str | os.PathLike) -> None:
    _write_atomic((json.dumps(obj, indent=2) + "\n").encode(), path)


def write_metrics(rows: list[dict], path: str | os.PathLike) -> None:
    """All epochs so far as CSV (rewritten whole, so a resumed run never duplicates rows)."""
    text = io.StringIO(newline="")
    w = csv.DictWriter(text, fieldnames=METRIC_COLUMNS, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    _write_atomic(text.getvalue().encode(), path)


@dataclass
class Run:
    """What a run carries from epoch to epoch, and what its checkpoints hold.

    ``meta`` is the run's fixed description (identity, mean, std, model name, classes, image
    shape, block size, scrambled), stored in both checkpoints so that a model loads alone.
    """

    dir: Path
    model: nn.Module
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler
    meta: dict
    epoch: int = 0  # epochs finished
    rows: list[dict] = field(default_factory=list)
    best: dict | None = None
    average: WeightAverage | None = None  # --ema: the evaluated, saved and served weights

    def restore(self, state: dict) -> None:
        """Continue from a ``last.pt`` state (after ``check_resume``)."""
        if self.average is not None:
            self.model.load_state_dict(state["raw_model"])
            self.average.load(state["model"], state["ema_updates"])
        else:
            self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        self.rows, self.best, self.epoch = state["metrics"], state["best"], state["epoch"]
        torch.set_rng_state(state["rng"])

    def record(self, row: dict) -> bool:
        """Add a finished epoch's metrics; True when it is the best so far (accuracy with TTA)."""
        self.rows.append(row)
        self.epoch = row["epoch"]
        if self.best is None or row["test_acc_tta"] > self.best["test_acc_tta"]:
            self.best = dict(row)
            return True
        return False

    def save(self, last: bool, best: bool) -> None:
        """Write ``last.pt`` (when ``last``), ``best.pt`` (when ``best``) and ``metrics.csv``."""
        raw = {k: v.detach().cpu() for k, v in self.model.state_dict().items()}
        model, extra = raw, {}
        if self.average is not None:
            model = self.average.state_dict()
            extra = {"raw_model": raw, "ema_updates": self.average.updates}
        if last:
            save({**self.meta, "model": model, **extra,
                  "optimizer": self.optimizer.state_dict(),
                  "schedule": self.schedule.state_dict(), "epoch": self.epoch,
                  "metrics": self.rows, "best": self.best, "rng": torch.get_rng_state()},
                 self.dir / "last.pt")
        if best:
            save({**self.meta, "model": model, "epoch": self.epoch, "metrics": self.best},
                 self.dir / "best.pt")
        write_metrics(self.rows, self.dir / "metrics.csv")


def prepare_run_dir(out: str, resume: bool, overwrite: bool, main: bool = True) -> Path:
    """Create ``out``; refuse one holding results unless resuming or overwriting (only the
    ``main`` process deletes old results and stale ``.partial`` files).

    Resuming needs the run's ``config.json``; a run that saved no ``last.pt`` yet starts again
    from its first epoch (its ``metrics.csv`` and ``best.pt``, if any, are removed)."""
    d = Path(out)
    if d.exists() and not d.is_dir():
        raise TrainError(f"run directory {d} exists and is not a directory")
    present = [n for n in RUN_FILES if (d / n).exists()]
    stale: list[str] = []
    if resume:
        if not (d / "config.json").is_file():
            raise TrainError(f"--resume: there is no previous run in {d} to continue; "
                             "leave out --resume to start one")
        if not (d / "last.pt").is_file():
            stale = [n for n in ("metrics.csv", "best.pt") if n in present]
    elif present and not overwrite:
        raise TrainError(
            f"run directory {d} already holds results ({', '.join(present)}); "
            "give --resume to continue it or --overwrite to start again"
        )
    elif overwrite:
        stale = present
    if main:
        for n in stale:
            (d / n).unlink()
        for p in partials(d) if d.is_dir() else ():
            p.unlink(missing_ok=True)
    d.mkdir(parents=True, exist_ok=True)
    return d


# Settings added after checkpoints were first written: one from before them had this value.
_BEFORE = {"ema": 0.0}


def check_resume(saved: dict, current: dict) -> None:
    """TrainError naming every result-affecting setting where checkpoint and run differ."""
    diff = [f"{k}: checkpoint {saved.get(k, _BEFORE.get(k))!r}, now {v!r}"
            for k, v in current.items() if saved.get(k, _BEFORE.get(k)) != v]
    if diff:
        raise TrainError(
            "--resume: the checkpoint belongs to another configuration (" + "; ".join(diff) + ")"
        )
