"""What ``bs-predict`` reads and writes: the encrypted images of a query (or of a dataset's test
split), through ``bsformat.reader``, and the predictions CSV with its JSON beside it.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bsformat.files import write_atomic
from bsformat.reader import open_dataset
from trainer.errors import TrainError
from trainer.source import check_same_key
from trainer.trained import ModelInfo

__all__ = ["PredictInput", "check_match", "iter_batches", "json_path", "open_input",
           "write_predictions"]


@dataclass(frozen=True)
class PredictInput:
    """The split that ``bs-predict`` classifies: ``query`` of a query file, else ``test``."""

    path: str
    split: str
    kind: str  # "query" or "dataset"
    n_images: int
    image_shape: tuple[int, int, int]
    block_size: tuple[int, int]
    scrambled: bool
    class_names: tuple[str, ...]
    dataset_id: str
    has_labels: bool
    shards: tuple[str, ...]
    defences: dict = field(default_factory=dict)  # the file's ``defences`` attribute
    key_fingerprint: str = ""  # the public fingerprint of its master key ("" when plain)


def open_input(path: str) -> PredictInput:
    """Describe the images of a query file or the test split of a bs-encrypt file."""
    with open_dataset(path) as ds:
        info = ds.info
    split = "query" if "query" in info.splits else "test" if "test" in info.splits else None
    if split is None:
        raise TrainError(f"{path} has neither a query nor a test split (it has "
                         f"{sorted(info.splits)}); make a query with `bs-encrypt query`")
    query = split == "query"
    has_labels = bool(info.attrs.get("has_labels", True)) if query else True
    sp = info.splits[split]
    return PredictInput(
        path=str(path), split=split, kind="query" if query else "dataset",
        n_images=sp.n_images, image_shape=tuple(info.image_shape),
        block_size=tuple(info.block_size), scrambled=info.scrambled,
        class_names=info.class_names, dataset_id=info.dataset_id, has_labels=has_labels,
        shards=sp.shards, defences=dict(info.defences), key_fingerprint=info.key_fingerprint,
    )


def _describe(shape, block, scrambled) -> str:
    h, w, c = shape
    kind = "plain" if scrambled is False else "scrambled" if scrambled else "unknown"
    return f"{w}x{h} images, {c} channels, {block[0]}x{block[1]} blocks, {kind}"


def _defences(d: dict) -> str:
    """``none`` or ``(border drop 2 px, rotation, ...)`` from a ``defences`` attribute."""
    if not d:
        return "none"
    on = [f"border drop {d['drop_border']} px"] if d.get("drop_border") else []
    on += [name for k, name in (("rotate", "rotation"), ("negpos", "negative-positive"),
                                ("channel_perm", "channel permutation")) if d.get(k)]
    return "(" + ", ".join(on or ["?"]) + ")"


def check_match(inp: PredictInput, model: ModelInfo) -> None:
    """TrainError naming what differs when the input is not what the model was trained on."""
    diffs = []
    (h, w, c), (mh, mw, mc) = inp.image_shape, model.image_shape
    if (h, w) != (mh, mw):
        diffs.append(f"image size {w}x{h} vs the model's {mw}x{mh}")
    if c != mc:
        diffs.append(f"channels {c} vs the model's {mc}")
    if tuple(inp.block_size) != tuple(model.block_size):
        diffs.append(f"block size {inp.block_size[0]}x{inp.block_size[1]} vs the model's "
                     f"{model.block_size[0]}x{model.block_size[1]}")
    if model.scrambled is not None and inp.scrambled != model.scrambled:
        diffs.append(f"{'scrambled' if inp.scrambled else 'plain'} images vs a model trained "
                     f"on {'scrambled' if model.scrambled else 'plain'} ones")
    trained = model.defences or {}  # a checkpoint from before defences was trained on none
    if inp.defences != trained:
        diffs.append(f"defences {_defences(inp.defences)} vs the model's {_defences(trained)}")
    if diffs:
        raise TrainError(
            f"{inp.path} does not match the model ({'; '.join(diffs)}): the model was trained "
            f"on {_describe(model.image_shape, model.block_size, model.scrambled)}; encrypt "
            f"the query with --like the model's training file"
        )
    if model.scrambled and model.key_fingerprint is not None:  # older checkpoints lack it
        check_same_key("the model's training data and the images to classify",
                       (model.key_fingerprint, f"the training data of {model.checkpoint}"),
                       (inp.key_fingerprint, inp.path),
                       "encrypt the query with the training file's key: bs-encrypt query "
                       "--like TRAIN.h5 --key KEY")


def iter_batches(inp: PredictInput, batch_size: int
                 ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Batches of (B, H, W, C) uint8 images, (B,) ids and (B,) labels, in file order."""
    with open_dataset(inp.path) as ds:
        for b in ds.iter_batches(inp.split, batch_size, copy=0):
            yield b.images, b.ids, b.labels


def json_path(out: str | os.PathLike) -> Path:
    """The JSON written beside the CSV ``out`` (``predictions.csv`` -> ``predictions.json``)."""
    return Path(out).with_suffix(".json")


def _rows(ids, probs, labels, class_names, top_k, query_id) -> Iterator[list]:
    order = np.argsort(-probs, axis=1, kind="stable")[:, :top_k]  # (n, k)
    for i in range(len(ids)):
        row = [int(ids[i]), query_id]
        for rank, k in enumerate(order[i]):
            row += [class_names[k], f"{probs[i, k]:.6f}"]
            if rank == 0 and labels is not None:
                row.append(class_names[labels[i]] if 0 <= labels[i] < len(class_names) else "")
        yield row


def write_predictions(out: str | os.PathLike, ids: np.ndarray, probs: np.ndarray,
                      labels: np.ndarray | None, class_names: tuple[str, ...], top_k: int,
                      meta: dict) -> tuple[Path, Path]:
    """One CSV row per image: id, query_id, class, probability, [label,] class_2, ...;
    and ``meta`` as JSON beside it. Both appear only when both were written whole.

    ``query_id`` (``meta["query"]["dataset_id"]``, the public id of the file classified) is a
    column of every row rather than a ``#`` header comment: the id then travels with the
    predictions without any side file (``bs-encrypt results`` checks it against the manifest),
    and the CSV stays plain, readable by any CSV tool without a comment option.
    """
    out, jout = Path(out), json_path(out)
    query_id = str(meta["query"]["dataset_id"])
    header = ["id", "query_id", "class", "probability"] + (["label"] if labels is not None else [])
    for k in range(2, top_k + 1):
        header += [f"class_{k}", f"probability_{k}"]
    text = io.StringIO(newline="")
    w = csv.writer(text)
    w.writerow(header)
    w.writerows(_rows(ids, probs, labels, class_names, top_k, query_id))
    write_atomic(jout, json.dumps(meta, indent=2) + "\n")
    try:
        write_atomic(out, text.getvalue())  # last: the CSV appears after its JSON
    except BaseException:
        jout.unlink(missing_ok=True)
        raise
    return out, jout
