"""``bs-encrypt dataset``: source -> augment -> scramble -> HDF5 shards, in parallel."""

from __future__ import annotations

import json
import secrets
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from encrypt_tool import __version__
from encrypt_tool.augment import AugmentConfig
from encrypt_tool.augment.crop import check_pad
from encrypt_tool.encrypt import BatchSpec, encrypt_unit
from encrypt_tool.format import created_stamp
from encrypt_tool.scramble import block_grid
from encrypt_tool.writer import ShardWriter, SplitLayout, check_output
from keys.derive import derive_dataset_id
from keys.master import fingerprint

__all__ = ["DatasetConfig", "build_dataset", "plan_units", "resolve_backend"]


@dataclass(frozen=True)
class DatasetConfig:
    """Settings of one ``bs-encrypt dataset`` run."""

    out: str
    source: str = "cifar10"
    data_dir: str | None = None
    download: bool = False
    n_keys: int = 4
    block_size: tuple[int, int] = (8, 8)
    scramble: bool = True
    augment: AugmentConfig | None = field(default_factory=AugmentConfig)
    test_augment: bool = True
    seed: int | None = None
    jobs: int = 1
    backend: str = "auto"
    batch_size: int = 1000
    shard_size: int = 10000
    limit: int | None = None
    compression: str | None = None
    overwrite: bool = False

    def __post_init__(self) -> None:
        if self.n_keys < 1:
            raise ValueError(f"--n-keys {self.n_keys} is not valid; it must be at least 1")
        for name in ("jobs", "batch_size", "shard_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} {getattr(self, name)} is not valid; "
                                 f"it must be at least 1")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"--limit {self.limit} is not valid; it must be at least 1")
        if self.backend not in ("auto", "threads", "processes"):
            raise ValueError(f"--backend {self.backend!r} is not valid; use auto, threads or "
                             f"processes")
        if self.compression not in (None, "gzip", "lzf"):
            raise ValueError(f"--compression {self.compression!r} is not valid; use gzip or lzf")

    def identity(self) -> str:
        """The settings that fix the output bytes (not where or how fast it is written)."""
        fixed = {k: v for k, v in asdict(self).items()
                 if k not in ("out", "data_dir", "download", "jobs", "backend", "compression",
                              "overwrite")}
        return json.dumps(fixed, sort_keys=True, default=str)

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
    for name, sp in src.splits.items():
        n = sp.n if cfg.limit is None else min(sp.n, cfg.limit)
        if n == 0:
            raise ValueError(f"split {name!r} of source {src.name!r} has no images")
        train = name == "train"
        aug = cfg.augment
        if aug is not None and not train:
            aug = aug.without_gridmask() if cfg.test_augment else None
        out[name] = (sp, n, cfg.n_keys if train else 1, aug)
    return out


def build_dataset(
    cfg: DatasetConfig,
    key: bytes,
    open_source: Callable,
    progress: Callable[[int], Iterator] | None = None,
) -> Path:
    """Encrypt the source of ``cfg`` with master ``key`` into ``cfg.out``; return its path.

    ``progress(total)`` may return a context manager with ``update(n)`` (a progress bar).
    Nothing appears at ``cfg.out`` unless the whole file was written.
    """
    out = Path(cfg.out).expanduser()
    check_output(out, cfg.overwrite)
    src = open_source(cfg.source, data_dir=cfg.data_dir, download=cfg.download)
    splits = _splits(cfg, src)
    shape = next(iter(splits.values()))[0].image_shape
    for name, (sp, *_) in splits.items():
        if tuple(sp.image_shape) != tuple(shape):
            raise ValueError(f"split {name!r} has images of {sp.image_shape}, others {shape}")
    block_grid(shape[:2], cfg.block_size)
    if cfg.augment is not None and cfg.augment.crop:
        check_pad(cfg.augment.pad, tuple(shape[:2]))
    secret = key if cfg.scramble else b""
    if cfg.seed is None:
        dataset_id = secrets.token_bytes(16)
    else:
        description = json.dumps([src.name, cfg.identity()]).encode()
        dataset_id = derive_dataset_id(secret, description)
    layouts, work = [], []
    for name, (sp, n, n_copies, aug) in splits.items():
        spec = BatchSpec(split=name, n_copies=n_copies, block=cfg.block_size, augment=aug,
                         scramble=cfg.scramble, dataset_id=dataset_id)
        aug_json = spec.augment.to_json() if spec.augment is not None else "null"
        layouts.append(SplitLayout(name=name, labels=sp.labels[:n], n_copies=spec.n_copies,
                                   image_shape=tuple(shape), shard_size=cfg.shard_size,
                                   augment_json=aug_json))
        work += [(name, sp, a, b, spec) for a, b in plan_units(n, cfg.batch_size, cfg.shard_size)]
    attrs = {
        "tool_version": __version__,
        "created": created_stamp(cfg.seed is not None),
        "dataset_id": dataset_id.hex(),
        "key_fingerprint": fingerprint(key) if cfg.scramble else "",
        "scrambled": cfg.scramble,
        "block_size": list(cfg.block_size),
        "image_shape": list(shape),
        "source": src.name,
        "augment": cfg.augment.to_json() if cfg.augment is not None else "null",
    }
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        writer = ShardWriter(out, attrs, list(src.class_names), layouts, cfg.compression)
        try:
            _run(work, writer, key, cfg.jobs, resolve_backend(cfg.backend, cfg.jobs), progress)
            return writer.commit(cfg.overwrite)
        except BaseException:
            writer.abort()
            raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum, frame):  # SIGTERM: unwind so the partial file is removed
    raise KeyboardInterrupt(f"terminated by signal {signum}")


def resolve_backend(backend: str, jobs: int) -> str:
    """``auto``: threads up to 4 jobs (no process start-up; NumPy and pwrite release the GIL),
    processes beyond (the GIL-bound key hashing would cap thread scaling)."""
    if backend == "auto":
        return "threads" if jobs <= 4 else "processes"
    return backend


def _run(work, writer: ShardWriter, key: bytes, jobs: int, backend: str, progress) -> None:
    total = sum(b - a for _, _, a, b, _ in work)
    bar = progress(total) if progress is not None else None
    calls = [(sp, a, b, spec, key, writer.target(name, a)) for name, sp, a, b, spec in work]
    if jobs == 1 or len(calls) == 1:
        results = (encrypt_unit(*c) for c in calls)
    else:
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=jobs, return_as="generator", max_nbytes=None,
                            prefer=backend)
        results = parallel(delayed(encrypt_unit)(*c) for c in calls)
    try:
        for (name, _, a, b, _), res in zip(work, results, strict=True):
            if res is not None:
                writer.write(name, a, res)
            if bar is not None:
                bar.update(b - a)
    finally:
        if bar is not None:
            bar.__exit__(*sys.exc_info())
