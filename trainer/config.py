"""The one typed configuration of a training run (``bs-train`` builds it from its options)."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from bsformat.clitools import SEED_MAX
from bsformat.subset import SUBSET_WAYS
from trainer.errors import TrainError
from trainer.registry import MODEL_NAMES, MODELS

__all__ = ["INVARIANCE_NAMES", "MACHINE_FIELDS", "MAX_DEFAULT_THREADS", "MODEL_NAMES",
           "RECIPE_NAMES", "RESULT_FIELDS", "TrainConfig", "available_cores", "default_threads",
           "format_config", "gpu_absent", "option_name", "resume_config"]

# The names of trainer.recipe.RECIPES, kept here so that checking options needs no torch (a
# test keeps them equal); the model names are the registry's (trainer.registry, torch-free).
RECIPE_NAMES = ("auto", "onecycle", "paper", "adamw")
INVARIANCE_NAMES = ("rotate", "negpos", "channel_perm")  # trainer.invariance.INVARIANCES
INVARIANCE_MODES = {"rotate": ("canonical", "orbit"), "negpos": ("orbit", "canonical"),
                    "channel_perm": ("set", "canonical")}  # trainer.invariance.MODES
MAX_DEFAULT_THREADS = 8

# The fields that change the result: a resumed run must agree with its checkpoint on these.
RESULT_FIELDS = (
    "epochs", "batch_size", "recipe", "lr", "seed", "model", "limit_train", "normalize", "subset",
    "ema",
)
# The fields that say how and where a run computes, not what: a resumed run may change them.
# (``data`` and ``test`` are locations too: the checkpoint checks the data's identity.)
MACHINE_FIELDS = (
    "data", "test", "device", "data_mode", "workers", "threads", "progress", "compile",
    "deterministic", "checkpoint_every",
)
_FLAGS = {"data": "DATA", "test": "--test", "data_mode": "--data", "progress": "--no-progress"}


@dataclass
class TrainConfig:
    """Everything a run needs. ``data`` holds a ``train`` split (and ``test`` unless ``test``
    names another file); results go to the run directory ``out``."""

    data: str
    out: str
    test: str | None = None
    epochs: int = 250
    batch_size: int = 128
    recipe: str = "auto"  # auto: adamw for block-set models, onecycle otherwise
    lr: float | None = None  # None: the recipe's peak
    seed: int = 0
    model: str = "resnet18"
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    data_mode: str = "auto"  # auto | memory | stream
    workers: int = 0  # DataLoader worker processes for streaming
    normalize: str = "data"  # data: per-channel mean/std of the training data; fixed: 0.5/0.5
    limit_train: int | None = None  # K training images, stratified by label, seeded
    limit_test: int | None = None  # K test images, stratified by label, seeded
    subset: str = "stratified"  # how the limits choose: stratified, or the first K
    checkpoint_every: int = 1  # epochs between saves of last.pt (and always the last epoch)
    resume: bool = False
    overwrite: bool = False
    progress: bool = True
    compile: bool = False  # torch.compile the model (CUDA)
    deterministic: bool = False  # torch.use_deterministic_algorithms, for exact replays
    threads: int | None = None  # torch CPU threads; None: default_threads()
    invariance: str = "auto"  # auto: what the file's defences call for | none | comma list
    ema: float = 0.0  # decay of the weight average (trainer/ema.py); 0: off

    def validate(self, check_files: bool = True) -> None:
        """TrainError naming the first bad value and what is allowed (no torch needed)."""
        checks = [
            (self.epochs >= 1, f"--epochs {self.epochs} is not valid; it must be >= 1"),
            (self.batch_size >= 1,
             f"--batch-size {self.batch_size} is not valid; it must be >= 1"),
            (self.recipe in RECIPE_NAMES,
             f"--recipe {self.recipe!r} is not known; use {', '.join(RECIPE_NAMES)}"),
            (self.model in MODEL_NAMES,
             f"--model {self.model!r} is not known; use {', '.join(MODEL_NAMES)}"),
            (re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device) is not None,
             f"--device {self.device!r} is not known; use auto, cpu, cuda or cuda:N"),
            (self.data_mode in ("auto", "memory", "stream"),
             f"--data {self.data_mode!r} is not known; use auto, memory or stream"),
            (self.normalize in ("data", "fixed"),
             f"--normalize {self.normalize!r} is not known; use data or fixed"),
            (self.checkpoint_every >= 1,
             f"--checkpoint-every {self.checkpoint_every} is not valid; it must be >= 1"),
            (self.workers >= 0, f"--workers {self.workers} is not valid; it must be >= 0"),
            (self.threads is None or 1 <= self.threads <= available_cores(),
             f"--threads {self.threads} is not valid; use 1 to {available_cores()} (the CPU "
             f"cores this process may use)"),
            (self.lr is None or self.lr > 0, f"--lr {self.lr} is not valid; it must be > 0"),
            (0 <= self.seed <= SEED_MAX,
             f"--seed {self.seed} is not valid; use a whole number from 0 to {SEED_MAX}"),
            (self.limit_train is None or self.limit_train >= 1,
             f"--limit-train {self.limit_train} is not valid; it must be >= 1"),
            (self.limit_test is None or self.limit_test >= 1,
             f"--limit-test {self.limit_test} is not valid; it must be >= 1"),
            (self.ema == 0 or 0 < self.ema < 1,
             f"--ema {self.ema} is not valid; use 0 (off) or a decay between 0 and 1 "
             f"(exclusive), e.g. 0.999"),
            (self.subset in SUBSET_WAYS,
             f"--subset {self.subset!r} is not known; use {' or '.join(SUBSET_WAYS)}"),
            (not (self.resume and self.overwrite), "give --resume or --overwrite, not both"),
            (_invariance_ok(self.invariance),
             f"--invariance {self.invariance!r} is not known; use auto, none or a comma list "
             f"of {', '.join(INVARIANCE_NAMES)}, each optionally NAME:MODE with the modes "
             f"{_modes()}"),
            (self.invariance in ("auto", "none") or self.model not in MODELS
             or MODELS[self.model].block_set,
             f"--invariance {self.invariance} needs a block-set model (--model {self.model} "
             f"has no within-block invariances); use auto or none"),
        ]
        for ok, message in checks:
            if not ok:
                raise TrainError(message)
        for path in (self.data, self.test) if check_files else ():
            if path is None or Path(path).is_file() or (Path(path) / "manifest.json").is_file():
                continue
            what = "is a folder without manifest.json" if Path(path).is_dir() else "does not exist"
            raise TrainError(f"data file {path} {what}; give a bs-encrypt .h5 file or shard "
                             f"folder")
        if self.device.startswith("cuda") and gpu_absent():
            raise TrainError(f"--device {self.device} asked for, but no GPU is visible here; "
                             "use --device cpu (or auto)")

    def results(self) -> dict:
        """The fields that must match for ``resume``."""
        return {k: getattr(self, k) for k in RESULT_FIELDS}

    def to_dict(self) -> dict:
        return asdict(self)

    def saved(self) -> dict:
        """The fields for the run's config.json: absolute paths (``--resume`` from anywhere),
        neither ``resume`` nor ``overwrite``."""
        paths = {k: str(Path(v).resolve()) for k in ("data", "test", "out")
                 if (v := getattr(self, k)) is not None}
        return {**self.to_dict(), **paths, "resume": False, "overwrite": False}


def _modes() -> str:
    return "; ".join(f"{n}: {', '.join(m)}" for n, m in INVARIANCE_MODES.items())


def _invariance_ok(text: str) -> bool:
    if text in ("auto", "none"):
        return True
    names = [n.strip().partition(":") for n in text.split(",")]
    return bool(names) and all(n in INVARIANCE_NAMES and m in ("", *INVARIANCE_MODES[n])
                               for n, _, m in names)


def format_config(config: TrainConfig) -> str:
    """``TrainConfig`` as aligned ``name = value`` lines, for printing at start-up."""
    names = [f.name for f in fields(config)]
    width = max(map(len, names))
    lines = [f"  {n:<{width}} = {getattr(config, n)!r}" for n in names]
    return "TrainConfig(\n" + "\n".join(lines) + "\n)"


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity; ``os.cpu_count()`` elsewhere)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _cpu_times(cpus: set[int]) -> tuple[int, int] | None:
    """(busy, total) clock ticks of the CPUs ``cpus`` since boot, from /proc/stat (None
    elsewhere); busy is all but idle and I/O wait."""
    busy = total = 0
    try:
        with open("/proc/stat") as f:
            for line in f:
                name, *values = line.split()
                if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
                    v = [int(x) for x in values[:8]]
                    total += sum(v)
                    busy += sum(v) - v[3] - v[4]
    except (OSError, ValueError, IndexError):
        return None
    return (busy, total) if total else None


def _busy_cores(interval: float = 0.25) -> float | None:
    """The cores that other processes keep busy now: CPU time spent over ``interval`` seconds,
    while this process sleeps (None where /proc/stat cannot tell)."""
    try:
        cpus = os.sched_getaffinity(0)
    except AttributeError:
        return None
    a = _cpu_times(cpus)
    time.sleep(interval)
    b = _cpu_times(cpus)
    if a is None or b is None or b[1] <= a[1]:
        return None
    return len(cpus) * (b[0] - a[0]) / (b[1] - a[1])


def default_threads() -> int:
    """The idle cores at start-up, at least 1, at most ``MAX_DEFAULT_THREADS``: the cores this
    process may use minus those other processes keep busy, measured over a quarter second
    (where /proc/stat is missing: minus the whole part of the 1-minute load average).

    Measured, not the load average: that average trails the last minute, so on an idle 2-core
    machine it still counted the command just finished and the choice was 1 thread, where 2
    ran 1.7x faster. On a busy machine extra threads only wait for each other
    (bench/bench_threads.py: 2 threads ran at 0.41x the speed of 1 on 2 cores at load 12)."""
    cores = available_cores()
    busy = _busy_cores()
    if busy is None:
        try:
            busy = float(int(os.getloadavg()[0]))
        except (AttributeError, OSError):
            busy = 0.0
    return max(1, min(cores, MAX_DEFAULT_THREADS, round(cores - busy)))


def option_name(field: str) -> str:
    """The command-line name of a ``TrainConfig`` field: ``batch_size`` -> ``--batch-size``."""
    return _FLAGS.get(field, "--" + field.replace("_", "-"))


def resume_config(run_dir: str | os.PathLike, given: dict) -> TrainConfig:
    """The configuration of the run in ``run_dir`` (its config.json) for ``--resume``, with the
    options ``given`` on the command line (field -> value). A given option that changes the
    result (anything but ``MACHINE_FIELDS``) must equal the run's: TrainError naming the option
    and both values otherwise."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        what = "does not exist" if not Path(run_dir).exists() else "has no config.json"
        raise TrainError(f"--resume: there is no previous run in {run_dir} to continue (it "
                         f"{what}); leave out --resume to start one")
    try:
        saved = json.loads(path.read_text())["config"]
        config = TrainConfig(**{f.name: saved[f.name] for f in fields(TrainConfig)
                                if f.name in saved})
    except (ValueError, KeyError, TypeError) as e:
        raise TrainError(f"--resume: {path} cannot be read as a bs-train run configuration "
                         f"({type(e).__name__}: {e})") from None
    for name, value in given.items():
        if name not in MACHINE_FIELDS and value != getattr(config, name):
            raise TrainError(
                f"--resume: {option_name(name)} {value} differs from the run's "
                f"{option_name(name)} {getattr(config, name)} (in {path}); leave it out to "
                f"continue the run as it was, or start a new run with another --out")
        setattr(config, name, value)
    config.out, config.resume, config.overwrite = str(run_dir), True, False
    return config


def gpu_absent() -> bool:
    """True when no CUDA/ROCm device can be present (no device files, or none made visible);
    False means torch has to tell."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return True
    nodes = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/dev/dxg")
    return not any(os.path.exists(n) for n in nodes)
