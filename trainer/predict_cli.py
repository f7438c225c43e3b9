"""``bs-predict``: classify the encrypted images of a query (the cloud side; no keys)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from bsformat.clitools import Command, version_option

__all__ = ["main"]


def _check_out(out: Path, overwrite: bool) -> None:
    from trainer.errors import TrainError
    from trainer.predict_io import json_path

    if out.suffix.lower() == ".json":
        raise TrainError(f"--out {out} must not end in .json (the JSON goes beside the CSV)")
    for p in (out, json_path(out)):
        if p.is_dir():
            raise TrainError(f"output {p} is a directory; give a file name such as "
                             f"{p}/predictions.csv")
        if p.exists() and not overwrite:
            raise TrainError(f"output {p} already exists; pass --overwrite to replace it")
    if not out.parent.is_dir():
        raise TrainError(f"output directory {out.parent} does not exist; create it first")


@click.command(cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@version_option("bs-predict")
@click.argument("run", type=click.Path(path_type=str))
@click.argument("data", type=click.Path(dir_okay=False, path_type=str))
@click.option("--out", type=click.Path(dir_okay=False, path_type=str), default="predictions.csv",
              show_default=True, help="Predictions CSV; the model's identity goes beside it "
                                      "as JSON.")
@click.option("--checkpoint", "which", type=click.Choice(["best", "last"]), default="best",
              show_default=True, help="Which checkpoint of a run directory RUN.")
@click.option("--no-tta", is_flag=True, help="No flip TTA: the image alone.")
@click.option("--top-k", type=int, default=None,
              help="Classes listed per image [default: 3, or fewer if the model has fewer].")
@click.option("--batch-size", type=int, default=256, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out and its JSON.")
def main(run: str, data: str, out: str, which: str, no_tta: bool, top_k: int | None,
         batch_size: int, device: str, overwrite: bool) -> None:
    """Classify the encrypted images in DATA with the model of RUN.

    RUN is a bs-train run directory (its best.pt, or last.pt with --checkpoint last) or a
    checkpoint file. DATA is a query file of `bs-encrypt query`, or a bs-encrypt file whose test
    split is then classified (and scored where it has labels). Prediction uses flip TTA by
    default: the mean of the probabilities of the image and of its mirror, as in evaluation.
    """
    # bad input (TrainError, FormatError, OSError) becomes one line through Command
    _predict(run, data, Path(out), which, not no_tta, top_k, batch_size, device, overwrite)


def _predict(run: str, data: str, out: Path, which: str, tta: bool, top_k: int | None,
             batch_size: int, device: str, overwrite: bool) -> None:
    import numpy as np
    import torch

    from trainer.errors import TrainError
    from trainer.predict import load_predictor
    from trainer.predict_io import check_match, iter_batches, open_input, write_predictions

    if batch_size < 1:
        raise TrainError(f"--batch-size {batch_size} is not valid; it must be >= 1")
    if top_k is not None and top_k < 1:
        raise TrainError(f"--top-k {top_k} is not valid; it must be between 1 and the number "
                         f"of classes")
    _check_out(out, overwrite)
    inp = open_input(data)
    pred = load_predictor(run, device, which)
    info = pred.info
    if top_k is None:
        top_k = min(3, info.n_classes)
    if top_k > info.n_classes:
        raise TrainError(f"--top-k {top_k} is not valid; the model has {info.n_classes} "
                         f"classes, so use 1..{info.n_classes}")
    check_match(inp, info)
    if inp.class_names != info.class_names:
        click.echo(f"warning: the class names of {data} differ from the model's; the "
                   f"predictions use the model's", err=True)
    ids, probs, labels = [], [], []
    t0 = time.perf_counter()
    for x, j, y in iter_batches(inp, batch_size):
        probs.append(pred.predict_tensor(torch.from_numpy(x), tta).cpu().numpy())
        ids.append(j)
        labels.append(y)
    seconds = time.perf_counter() - t0
    p, j, y = np.concatenate(probs), np.concatenate(ids), np.concatenate(labels)
    scored = inp.has_labels and len(y) and y.min() >= 0 and y.max() < info.n_classes
    correct = int((p.argmax(1) == y).sum()) if scored else None
    meta = {
        "model": info.to_dict(),
        "query": {"dataset_id": inp.dataset_id, "split": inp.split, "kind": inp.kind,
                  "n_images": int(len(j))},
        "tta": tta, "top_k": top_k,
        "accuracy": correct / len(y) if scored else None,
        "device": str(pred.device), "images_per_s": len(j) / max(seconds, 1e-9),
    }
    csv_path, json_file = write_predictions(out, j, p, y if scored else None, info.class_names,
                                            top_k, meta)
    mode = "with flip TTA" if tta else "without TTA"
    click.echo(f"model {info.model_name} (epoch {info.epoch}, {info.checkpoint}), "
               f"{len(j)} images {mode} in {seconds:.2f} s on {pred.device}")
    if scored:
        click.echo(f"accuracy {100 * correct / len(y):.2f}% ({correct}/{len(y)}, {mode}) on "
                   f"the {inp.split} split of {data}")
    click.echo(f"wrote {csv_path} and {json_file}")


if __name__ == "__main__":
    main(sys.argv[1:])
