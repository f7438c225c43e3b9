"""``bs-encrypt dataset``: source -> augment -> scramble -> HDF5 shards, in parallel."""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from bsformat.clitools import SEED_MAX
from bsformat.codec import check_grid, parse_store
from bsformat.files import H5_SUFFIXES, check_output, is_no_space, no_space
from bsformat.folder import is_folder_out
from bsformat.format import created_stamp
from bsformat.writer import ShardWriter, SplitLayout
from encrypt_tool import __version__
from encrypt_tool.augment import AugmentConfig, describe_augment
from encrypt_tool.augment.crop import check_pad
from encrypt_tool.cluster import check_scheduler
from encrypt_tool.defences import DefenceConfig
from encrypt_tool.encrypt import BatchSpec
from encrypt_tool.runner import run_units
from encrypt_tool.scramble import block_grid
from encrypt_tool.sharded import build_folder, check_folder_output, shard_tasks
from encrypt_tool.sizing import (
    BASE_MEMORY,
    batch_bytes,
    check_resources,
    effective_batch,
    human,
    output_bytes,
)
from encrypt_tool.sources.limit import limit_split
from keys.derive import derive_dataset_id
from keys.master import fingerprint

if TYPE_CHECKING:  # the setting builds its run config (Setting.dataset_config): no import here
    from encrypt_tool.setting import Setting

__all__ = ["DatasetConfig", "build_dataset", "plan_units", "resolve_backend"]


@dataclass(frozen=True)
class DatasetConfig:
    """One ``bs-encrypt dataset`` run: the encryption ``setting`` and where and how to run it."""

    out: str
    setting: Setting
    source: str = "cifar10"
    data_dir: str | None = None
    download: bool = False
    seed: int | None = None
    jobs: int = 1
    backend: str = "auto"
    batch_size: int = 1000
    shard_size: int = 10000
    limit: int | None = None
    compression: str | None = None
    overwrite: bool = False
    image_size: tuple[int, int] | None = None
    channels: str = "rgb"
    test_fraction: float | None = None
    skip_corrupt: bool = False
    workers: int | None = None
    scheduler: str | None = None
    connect_timeout: float = 10.0
    yes: bool = False  # write an output above sizing.LARGE_OUTPUT

    def __post_init__(self) -> None:
        s = self.setting
        if s.resolved:
            s.defences().check_block(s.block)
        if self.channels not in ("rgb", "l"):
            raise ValueError(f"--channels {self.channels!r} is not valid; use rgb or l")
        if not self.sharded and Path(self.out).suffix.lower() not in H5_SUFFIXES:
            raise ValueError(f"--out {self.out} is not valid; give a .h5 file (such as enc.h5) "
                             f"or a folder for shards (a name ending in /, such as enc/)")
        if self.test_fraction is not None and not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"--test-fraction {self.test_fraction} is not valid; it must be "
                             "between 0 and 1, such as 0.2")
        for name in ("jobs", "batch_size", "shard_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} {getattr(self, name)} is not valid; "
                                 f"it must be at least 1")
        if self.seed is not None and not 0 <= self.seed <= SEED_MAX:
            raise ValueError(f"--seed {self.seed} is not valid; use a whole number from 0 to "
                             f"{SEED_MAX}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"--limit {self.limit} is not valid; it must be at least 1")
        if self.backend not in ("auto", "threads", "processes"):
            raise ValueError(f"--backend {self.backend!r} is not valid; use auto, threads or "
                             f"processes")
        if self.compression not in (None, "gzip", "lzf"):
            raise ValueError(f"--compression {self.compression!r} is not valid; use gzip or lzf")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"--workers {self.workers} is not valid; it must be at least 1")
        if self.workers is not None and self.scheduler is not None:
            raise ValueError("--workers and --scheduler exclude each other; give one of them")
        if self.scheduler is not None:
            check_scheduler(self.scheduler)
        if not self.connect_timeout > 0:
            raise ValueError(f"--connect-timeout {self.connect_timeout} is not valid; it must "
                             f"be more than 0 seconds")
        store = parse_store(s.store)
        if s.resolved:
            check_grid(s.kept, s.kept, store)

    @property
    def sharded(self) -> bool:
        """Whether the output is a folder of shard files (bsformat.folder)."""
        return is_folder_out(self.out, self.workers is not None or self.scheduler is not None)

    def identity(self) -> str:
        """The settings that fix the pixels (not where, how fast or how they are stored: one
        file or a folder, any batch or shard size; a JPEG dataset holds the JPEGs of the raw
        one's pixels), of a resolved setting."""
        s = self.setting
        fixed = {"source": self.source, "n_keys": s.n_copies, "block_size": list(s.block),
                 "scramble": s.scramble,
                 "augment": asdict(s.augment) if s.augment is not None else None,
                 "test_augment": s.test_augment, "seed": self.seed, "limit": self.limit,
                 "image_size": self.image_size, "channels": self.channels,
                 "test_fraction": self.test_fraction, "skip_corrupt": self.skip_corrupt}
        if s.drop or s.transforms:  # files without defences keep their earlier identity
            fixed["defences"] = asdict(s.defences())
        return json.dumps(fixed, sort_keys=True, default=str)

    def source_options(self) -> dict:
        """Keyword arguments of ``open_source`` for this run."""
        opts = {"data_dir": self.data_dir, "download": self.download}
        folder = {"image_size": self.image_size, "channels": self.channels,
                  "test_fraction": self.test_fraction, "skip_corrupt": self.skip_corrupt}
        if self.test_fraction is not None:
            folder["split_seed"] = 0 if self.seed is None else self.seed
        return opts | {k: v for k, v in folder.items() if v not in (None, False, "rgb")}

    def describe(self) -> str:
        """The settings as one JSON line (no key material)."""
        return json.dumps(asdict(self), sort_keys=True, default=str)


def plan_units(n: int, batch_size: int, shard_size: int) -> list[tuple[int, int]]:
    """Batches [start, stop) covering range(n); none crosses a shard boundary."""
    units = []
    for shard_start in range(0, n, shard_size):
        shard_stop = min(shard_start + shard_size, n)
        for a in range(shard_start, shard_stop, batch_size):
            units.append((a, min(a + batch_size, shard_stop)))
    return units


def _splits(cfg: DatasetConfig, src) -> dict[str, tuple[object, int, int, AugmentConfig | None]]:
    """For every split of the source: (split source, images, copies, augmentation)."""
    out = {}
    setting = cfg.setting
    largest = max(sp.n for sp in src.splits.values())
    if cfg.limit is not None and cfg.limit > largest:
        sizes = ", ".join(f"{k} {sp.n:,}" for k, sp in src.splits.items())
        raise ValueError(f"--limit {cfg.limit:,} is more than the images of every split of "
                         f"{src.name!r} ({sizes}); give 1..{largest}, or leave it out for all")
    for name, sp in src.splits.items():
        if cfg.limit is not None:  # a folder's: stratified by label (sources/limit.py)
            sp = limit_split(src, name, cfg.limit, cfg.seed or 0)
        n = sp.n if cfg.limit is None else min(sp.n, cfg.limit)
        if n < (cfg.limit or 0):
            warnings.warn(f"split {name!r} has {n:,} images, fewer than --limit {cfg.limit:,}: "
                          f"all of them are used", stacklevel=3)
        if n == 0:
            raise ValueError(f"split {name!r} of source {src.name!r} has no images")
        train = name == "train"
        aug = setting.augment
        if aug is not None and not train:
            aug = aug.without_gridmask() if setting.test_augment else None
        out[name] = (sp, n, setting.n_copies if train else 1, aug)
    return out


@dataclass(frozen=True)
class _Plan:
    """A checked run: the resolved config, splits, source shape, augmentation, defences,
    batch size, storage and the plan line."""

    cfg: DatasetConfig
    splits: dict
    shape: tuple[int, int, int]
    augment: AugmentConfig | None
    defences: DefenceConfig | None
    batch: int
    store: object
    line: str
    size: int  # bytes of the output (uncompressed)

    @property
    def stored(self) -> tuple[int, int, int]:
        """The stored image shape (the kept blocks' grid with a border drop)."""
        d = self.defences
        return d.kept_image_shape() if d is not None else tuple(self.shape)

    @property
    def block(self) -> tuple[int, int]:
        """The stored block size."""
        d = self.defences
        return d.kept_block() if d is not None else self.cfg.setting.block


def build_dataset(
    cfg: DatasetConfig,
    key: bytes,
    open_source: Callable,
    progress: Callable[[int], Iterator] | None = None,
    report: Callable[[str], None] | None = None,
) -> Path:
    """Encrypt the source of ``cfg`` with master ``key`` into ``cfg.out``; return its path.

    ``progress(total)`` may return a context manager with ``update(n)`` (a progress bar);
    ``report(line)`` receives the settings and the size plan once they are checked, before
    any writing.
    Nothing appears at ``cfg.out`` unless the whole file was written.
    """
    out = Path(cfg.out).expanduser()
    check_folder_output(out, cfg.overwrite) if cfg.sharded else check_output(out, cfg.overwrite)
    parse_store(cfg.setting.store)
    src = open_source(cfg.source, **cfg.source_options())
    with _shown_if_valid():
        for note in src.notes:
            warnings.warn(note, stacklevel=2)
        plan = _check(cfg, src, out)
    cfg = plan.cfg
    if report is not None:  # the options are valid: say what will be done
        report(f"config {cfg.describe()}")
        aug = plan.augment
        report(f"{plan.line}; augment {describe_augment(aug.to_json() if aug else None)}")
    dataset_id = _dataset_id(cfg, src, key)
    layouts, work, specs, units = [], [], {}, {}
    for name, (sp, n, n_copies, aug) in plan.splits.items():
        spec = BatchSpec(split=name, n_copies=n_copies, block=cfg.setting.block, augment=aug,
                         scramble=cfg.setting.scramble, dataset_id=dataset_id,
                         defences=plan.defences)
        aug_json = spec.augment.to_json() if spec.augment is not None else "null"
        layouts.append(SplitLayout(name=name, labels=sp.labels[:n], n_copies=spec.n_copies,
                                   image_shape=plan.stored, shard_size=cfg.shard_size,
                                   augment_json=aug_json))
        specs[name], units[name] = spec, plan_units(n, plan.batch, cfg.shard_size)
        work += [(name, sp, a, b, spec) for a, b in units[name]]
    attrs = _attributes(plan, src, key, dataset_id)
    handled = [sig for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if sig]
    previous = {sig: signal.signal(sig, _raise_interrupt) for sig in handled}
    try:
        if cfg.sharded:
            tasks = shard_tasks(layouts, {k: v[0] for k, v in plan.splits.items()}, specs, units,
                                attrs, src.class_names, cfg.compression, plan.store)
            described = {lay.name: {"n_images": lay.n_images, "n_copies": lay.n_copies,
                                    "shard_size": lay.shard_size} for lay in layouts}
            return build_folder(out, tasks, key, described, attrs, src.class_names,
                                jobs=cfg.jobs, backend=resolve_backend(cfg.backend, cfg.jobs),
                                workers=cfg.workers, scheduler=cfg.scheduler,
                                timeout=cfg.connect_timeout, progress=progress)
        writer = ShardWriter(out, attrs, list(src.class_names), layouts, cfg.compression,
                             plan.store, threads=cfg.jobs)
        try:
            run_units(work, writer, key, cfg.jobs, resolve_backend(cfg.backend, cfg.jobs),
                      progress)
            return writer.commit(cfg.overwrite)
        except BaseException:
            writer.abort()
            raise
    except BaseException as e:  # a full disk: one line naming the output and its size
        if is_no_space(e):
            raise no_space(out, plan.size, upper=cfg.compression is not None) from None
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _dataset_id(cfg: DatasetConfig, src, key: bytes) -> bytes:
    """The public dataset id: random, or with ``--seed`` fixed by the key and the settings."""
    if cfg.seed is None:
        return secrets.token_bytes(16)
    description = json.dumps([src.name, cfg.identity()]).encode()
    return derive_dataset_id(key if cfg.setting.scramble else b"", description)


def _attributes(plan: _Plan, src, key: bytes, dataset_id: bytes) -> dict:
    """The file's public root attributes (no key material; the source's kind, not its name)."""
    cfg, augment, scrambled = plan.cfg, plan.augment, plan.cfg.setting.scramble
    attrs = {
        "tool_version": __version__,
        "created": created_stamp(cfg.seed is not None),
        "dataset_id": dataset_id.hex(),
        "key_fingerprint": fingerprint(key) if scrambled else "",
        "scrambled": scrambled,
        "block_size": list(plan.block),  # stored: the kept blocks and images
        "image_shape": list(plan.stored),
        "source": src.name.split(":", 1)[0],  # the kind only: a folder's name can be private
        "augment": augment.to_json() if augment is not None else "null",
        "preprocess": json.dumps(src.meta, sort_keys=True),
    }
    if plan.defences is not None:  # absent: none (files without defences are as before)
        attrs["defences"] = plan.defences.to_json()
    if plan.store.kind != "raw":
        attrs["store"] = json.dumps(plan.store.to_json(), sort_keys=True)
    return attrs


@contextlib.contextmanager
def _shown_if_valid() -> Iterator[None]:
    """Hold the warnings of the checks and show them once every check passed, so that a
    refusal is one line."""
    with warnings.catch_warnings(record=True) as held:
        warnings.simplefilter("always")
        yield
    for w in held:
        warnings.warn(w.message, stacklevel=3)


def _check(cfg: DatasetConfig, src, out: Path) -> _Plan:
    """Every check of the run's settings against its source, before any work; the setting is
    resolved for the source's image size."""
    splits = _splits(cfg, src)
    shape = tuple(next(iter(splits.values()))[0].image_shape)
    for name, (sp, *_) in splits.items():
        if tuple(sp.image_shape) != shape:
            raise ValueError(f"split {name!r} has images of {sp.image_shape}, others {shape}")
    setting = cfg.setting.resolve(shape)
    cfg = replace(cfg, setting=setting)  # checks the resolved block and border
    block_grid(shape[:2], setting.block)
    augment = setting.augment.resolve(shape) if setting.augment is not None else None
    if augment is not None and augment.crop:
        check_pad(augment.pad, tuple(shape[:2]))
    _check_gridmask(augment, setting.block)
    defences = setting.defences()
    defences = defences.resolve(setting.block, shape) if defences.active else None
    stored = defences.kept_image_shape() if defences is not None else shape
    splits = {k: (sp, n, c, a.resolve(shape) if a is not None else None)
              for k, (sp, n, c, a) in splits.items()}
    batch, line, size = _check_sizes(cfg, out, splits, shape, stored)
    store = parse_store(setting.store)
    block = defences.kept_block() if defences is not None else setting.block
    check_grid(tuple(block), tuple(stored[:2]), store)  # the stored blocks are JPEG's
    return _Plan(cfg, splits, shape, augment, defences, batch, store, line, size)


def _check_gridmask(augment: AugmentConfig | None, block: tuple[int, int]) -> None:
    """Warn when GridMask units are smaller than a block: then every block loses a piece."""
    if augment is None or not augment.gridmask:
        return
    d0, d1 = augment.gridmask_d
    if d0 < max(block):
        warnings.warn(
            f"GridMask units of {d0}-{d1} px are smaller than the {block[0]}x{block[1]} blocks: "
            f"holes fall inside blocks, the detail the scrambled model learns from; a d range "
            f"from at least {max(block)} px keeps them whole (leave --gridmask-d out to scale "
            f"it with the image size)", stacklevel=3)


def _check_sizes(cfg: DatasetConfig, out: Path, splits: dict, shape: tuple,
                 stored: tuple) -> tuple[int, str, int]:
    """The batch size of the run and a line describing the plan, after checking disk and
    memory (OSError when short), and the output's size; ``shape`` is the source image's,
    ``stored`` the file's."""
    image_bytes = int(shape[0]) * int(shape[1]) * int(shape[2])
    stored_bytes = int(stored[0]) * int(stored[1]) * int(stored[2])
    most = max(c for _, _, c, _ in splits.values())
    batch = effective_batch(cfg.batch_size, image_bytes, most)
    per_batch = batch_bytes(batch, image_bytes, most)
    in_flight = cfg.jobs if cfg.compression is None else 2 * cfg.jobs
    decode = max(sp.decode_bytes for sp, *_ in splits.values())  # large source files
    peak = BASE_MEMORY + in_flight * per_batch + cfg.jobs * decode
    size = output_bytes([(n, c, stored_bytes, cfg.shard_size) for _, n, c, _ in splits.values()])
    how = f"{cfg.jobs} worker(s), batches of {batch} image(s) x {most} copies"
    if decode:
        how += f", {human(decode)} a worker to decode the largest source file"
    for w in check_resources(out, size, peak, cfg.compression is not None, how, cfg.yes):
        warnings.warn(w, stacklevel=3)
    kind = "at most " if cfg.compression else ""
    return batch, f"plan: output {kind}{human(size)}, peak memory about {human(peak)} ({how})", size


def _raise_interrupt(signum, frame):  # SIGTERM, SIGHUP: unwind so the partial file is removed
    raise KeyboardInterrupt(f"terminated by signal {signum}")


def resolve_backend(backend: str, jobs: int) -> str:
    """``auto``: threads up to 4 jobs (no process start-up; NumPy and pwrite release the GIL),
    processes beyond (the GIL-bound key hashing would cap thread scaling)."""
    if backend == "auto":
        return "threads" if jobs <= 4 else "processes"
    return backend
