"""``bs-encrypt query``: new images -> the test treatment of a training file -> a query file.

Each image gets the test-split treatment of the ``--like`` file (its crop and flip, or none),
then the defences of that file (``defences``: the same border drop and keyed block transforms)
and a fresh per-image key: the query has its own random public ``dataset_id``, so its keys are
derived from the master key exactly as a dataset's, and never repeat the training file's. The
query file holds opaque ids (0, 1, ...) only; the id -> file table goes to a private manifest.
"""

from __future__ import annotations

import json
import secrets
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bsformat.files import H5_SUFFIXES, check_output
from bsformat.format import FileInfo, FormatError, created_stamp
from bsformat.manifest import query_manifest_path, write_query_manifest
from bsformat.reader import open_dataset
from bsformat.writer import ShardWriter, SplitLayout
from encrypt_tool import __version__
from encrypt_tool.augment import AugmentConfig
from encrypt_tool.decrypt import check_key
from encrypt_tool.defences import DefenceConfig
from encrypt_tool.encrypt import BatchSpec, encrypt_batch
from encrypt_tool.pipeline import plan_units
from encrypt_tool.query_input import QueryImages, find_inputs, load_query_images

__all__ = ["QUERY_SPLIT", "QueryConfig", "QueryResult", "build_query", "read_like"]

QUERY_SPLIT = "query"


@dataclass(frozen=True)
class QueryConfig:
    """Settings of one ``bs-encrypt query`` run."""

    inputs: tuple[str, ...]
    like: str
    out: str = "query.h5"
    manifest: str | None = None  # default: beside ``out`` (bsformat.manifest.query_manifest_path)
    test_augment: bool = True
    skip_bad: bool = False
    resize: bool = False  # scale + centre-crop to the training size (always if it was resized)
    overwrite: bool = False
    batch_size: int = 1000
    shard_size: int = 10000

    def __post_init__(self) -> None:
        if not self.inputs:
            raise ValueError("give at least one INPUT: image files, folders or an .npz")
        for name in ("batch_size", "shard_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} {getattr(self, name)} is not "
                                 f"valid; it must be at least 1")


@dataclass
class QueryResult:
    """What ``build_query`` wrote."""

    out: Path
    manifest: Path
    n_images: int
    dataset_id: str
    augment: AugmentConfig | None
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _augment(raw) -> AugmentConfig | None:
    if not raw:  # None (no augmentation) or {} (not recorded)
        return None
    try:
        cfg = AugmentConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()
                               if k != "gridmask"}, gridmask=False)  # a query gets none
    except TypeError as e:
        raise FormatError(f"augment settings {raw} are not understood: {e}") from None
    return cfg.without_gridmask()


def read_like(path: str) -> tuple[FileInfo, AugmentConfig | None, bool]:
    """The public settings of the training file ``path``, the test treatment its test split
    received (crop and flip, never GridMask; None where it had none), and whether its images
    were resized to their size (`dataset --image-size`), so that a query must be too."""
    with open_dataset(path) as ds:
        info = ds.info
    try:
        if "test" in info.splits:
            raw = info.splits["test"].augment
        else:  # no test split: the treatment `dataset` would have given one
            raw = json.loads(info.attrs.get("augment", "null") or "null")
        preprocess = json.loads(info.attrs.get("preprocess", "{}") or "{}")
        if not isinstance(preprocess, dict) or not isinstance(raw, dict | None):
            raise ValueError("not a JSON object")
    except (ValueError, TypeError) as e:
        raise FormatError(f"{path}: its augment or preprocess attribute is damaged ({e})") from None
    return info, _augment(raw), bool(preprocess.get("image_size"))


def _outputs(cfg: QueryConfig) -> tuple[Path, Path]:
    out = Path(cfg.out).expanduser()
    if out.suffix.lower() not in H5_SUFFIXES:
        raise ValueError(f"--out {cfg.out} is not valid; a query is one .h5 file (such as "
                         f"query.h5)")
    man = Path(cfg.manifest).expanduser() if cfg.manifest else query_manifest_path(out)
    if man.resolve() == out.resolve():
        raise ValueError(f"--manifest {man} must differ from --out {out}")
    check_output(out, cfg.overwrite)
    check_output(man, cfg.overwrite)
    return out, man


def build_query(cfg: QueryConfig, load_key: Callable[[], bytes]) -> QueryResult:
    """Encrypt the images of ``cfg.inputs`` like the test split of ``cfg.like``.

    ``load_key()`` is called only when the training file is scrambled; a key whose fingerprint
    differs from the file's is refused. Nothing appears at ``out`` or the manifest path unless
    both were written whole.
    """
    out, man = _outputs(cfg)
    created = created_stamp(seeded=False)  # $SOURCE_DATE_EPOCH when set, else now
    info, augment, resized = read_like(cfg.like)
    defences = _like_defences(info)
    if not cfg.test_augment:
        augment = None
    paths = find_inputs(list(cfg.inputs))  # a missing input is named before the key is read
    key = b""
    if info.scrambled:
        key = load_key()
        check_key(info, key)
    shape = defences.source_image_shape if defences.active else info.image_shape
    q = load_query_images(paths, shape, cfg.skip_bad, resize=cfg.resize or resized)
    for note in q.notes:  # images enlarged, labels left out
        warnings.warn(note, stacklevel=2)
    dataset_id = secrets.token_bytes(16)
    _write_query(out, q, info, augment, key, dataset_id, cfg, defences, created)
    try:
        write_query_manifest(_manifest(out, q, info, dataset_id, cfg, created), man)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return QueryResult(out, man, len(q.images), dataset_id.hex(), augment, q.skipped)


def _like_defences(info: FileInfo) -> DefenceConfig:
    """The defences of the training file (none when it records none)."""
    try:
        return DefenceConfig.from_dict(info.defences)
    except ValueError as e:
        raise FormatError(f"{info.path}: {e}") from None


def _write_query(out: Path, q: QueryImages, info: FileInfo, augment: AugmentConfig | None,
                 key: bytes, dataset_id: bytes, cfg: QueryConfig,
                 defences: DefenceConfig, created: str) -> None:
    n = len(q.images)
    labels = q.labels if q.labels is not None else np.full(n, -1, np.int64)
    aug_json = augment.to_json() if augment is not None else "null"
    attrs = {
        "tool_version": __version__,
        "created": created,
        "dataset_id": dataset_id.hex(),
        "key_fingerprint": info.key_fingerprint,
        "scrambled": info.scrambled,
        "block_size": list(info.block_size),
        "image_shape": list(info.image_shape),
        "source": "query",
        "augment": aug_json,
        "kind": "query",
        "has_labels": q.labels is not None,
    }
    if defences.active:  # the training file's, verbatim: the cloud checks they match
        attrs["defences"] = defences.to_json()
    layout = SplitLayout(name=QUERY_SPLIT, labels=labels, n_copies=1,
                         image_shape=tuple(info.image_shape), shard_size=cfg.shard_size,
                         augment_json=aug_json)
    block = defences.source_block_size if defences.active else tuple(info.block_size)
    spec = BatchSpec(split=QUERY_SPLIT, n_copies=1, block=tuple(block), augment=augment,
                     scramble=info.scrambled, dataset_id=dataset_id,
                     defences=defences if defences.active else None)
    ids = np.arange(n, dtype=np.int64)  # opaque ids: positions in the query
    writer = ShardWriter(out, attrs, list(info.class_names), [layout])
    try:
        for a, b in plan_units(n, cfg.batch_size, cfg.shard_size):
            enc = encrypt_batch(q.images[a:b], ids[a:b], spec, key)  # (B, 1, H', W', C) uint8
            writer.write(QUERY_SPLIT, a, enc)
        writer.commit(cfg.overwrite)
    except BaseException:
        writer.abort()
        raise


def _manifest(out: Path, q: QueryImages, info: FileInfo, dataset_id: bytes,
              cfg: QueryConfig, created: str) -> dict:
    return {
        "note": "private: keep this file on your machine; it names the images of the query",
        "query_file": str(out.resolve()),
        "dataset_id": dataset_id.hex(),
        "key_fingerprint": info.key_fingerprint,
        "like": str(Path(cfg.like).resolve()),
        "created": created,
        "n_images": len(q.origins),
        "images": [{"id": i, "path": p} for i, p in enumerate(q.origins)],
        "skipped": [{"path": p, "reason": r} for p, r in q.skipped],
    }
