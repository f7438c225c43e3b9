"""``bs-predict``: classify the encrypted images of a query (the cloud side; no keys)."""

from __future__ import annotations

import sys

import click

from bsformat.clitools import Command, version_option

__all__ = ["main"]


@click.command(cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@version_option("bs-predict")
@click.argument("run", type=click.Path(path_type=str))
@click.argument("data", type=click.Path(path_type=str))
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
    from trainer.predict import predict_file

    r = predict_file(run, data, out, which, not no_tta, top_k, batch_size, device, overwrite)
    mode = "with flip TTA" if r.tta else "without TTA"
    click.echo(f"model {r.info.model_name} (epoch {r.info.epoch}, {r.info.checkpoint}), "
               f"{r.n_images} images {mode} in {r.seconds:.2f} s on {r.device}")
    if r.correct is not None:
        click.echo(f"accuracy {100 * r.correct / r.n_images:.2f}% ({r.correct}/{r.n_images}, "
                   f"{mode}) on the {r.split} split of {data}")
    click.echo(f"wrote {r.csv} and {r.json}")


if __name__ == "__main__":
    main(sys.argv[1:])
