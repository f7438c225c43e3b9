"""``bs-reproduce``: the paper's four conditions on CIFAR-10, from one command."""

from __future__ import annotations

import os
from pathlib import Path

import click

from bsformat.clitools import SEED, Command, version_option
from experiments.conditions import CONDITIONS
from trainer.registry import MODELS

__all__ = ["main"]

SMOKE = {"n_train": 300, "n_holdout": 100, "n_test": 100, "epochs": 1,
         "model": "resnet18-narrow", "recipe": "onecycle", "batch_size": 64, "device": "cpu"}


@click.command(cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@version_option("bs-reproduce")
@click.option("--out", type=click.Path(file_okay=False), default="runs/reproduce",
              show_default=True, help="Run folder for the table, charts and run.json.")
@click.option("--source", default="cifar10", show_default=True,
              help="cifar10, or synthetic[:N,M] to try the harness without CIFAR-10.")
@click.option("--data-dir", type=click.Path(), default=None, help="Where CIFAR-10 lives.")
@click.option("--download", is_flag=True, help="Download CIFAR-10 with torchvision if missing.")
@click.option("--epochs", type=int, default=None, help="[default: 250, the paper's]")
@click.option("--recipe", type=click.Choice(["paper", "onecycle"]), default=None,
              help="[default: paper, SGD with peak lr 0.0005]")
@click.option("--lr", type=float, default=None, help="Peak learning rate override.")
@click.option("--batch-size", type=int, default=None, help="[default: 128]")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Seeds training and encryption, and derives the run's master key (not "
                   "secret): the same command gives the same encrypted data and table.")
@click.option("--key", "key_file", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Use this master key file instead of the key derived from --seed.")
@click.option("--model", type=click.Choice([n for n, s in MODELS.items() if not s.block_set]),
              default=None,
              help="[default: resnet18]")
@click.option("--device", default=None, help="auto, cpu, cuda [default: auto]")
@click.option("--n-train", type=int, default=None,
              help="Training images [default: all but the held-out ones, 45,000].")
@click.option("--n-holdout", type=int, default=None, help="Held-out training images [5,000].")
@click.option("--n-test", type=int, default=None, help="Exact test images [all of them].")
@click.option("--condition", "conditions", multiple=True,
              type=click.Choice([c.name for c in CONDITIONS]),
              help="Run only these conditions (repeatable) [default: all four].")
@click.option("--smoke", is_flag=True,
              help="CPU smoke test: 300 training images, 1 epoch, narrow ResNet-18.")
@click.option("--jobs", type=int, default=None, help="Encryption processes [all cores].")
@click.option("--keep-data", is_flag=True, help="Keep the encrypted .h5 files of each condition.")
@click.option("--no-progress", is_flag=True)
@click.option("--overwrite", is_flag=True, help="Replace earlier results in --out.")
def main(**o) -> None:
    """Train ResNet-18 on plain and block-scrambled CIFAR-10, with and without augmentation
    (crop, flip, GridMask, N = 4 copies), and report accuracy with and without flip TTA.

    The run's master key is derived from --seed unless --key is given, so two runs of the same
    command encrypt the same way and give the same table on the same machine."""
    from experiments.reproduce import ReproduceConfig, run_reproduce

    base = dict(SMOKE) if o["smoke"] else {}
    chosen = {k: o[k] for k in ("epochs", "recipe", "lr", "batch_size", "model", "device",
                                "n_train", "n_holdout", "n_test") if o[k] is not None}
    cfg = ReproduceConfig(
        out=o["out"], source=o["source"], data_dir=o["data_dir"], download=o["download"],
        seed=o["seed"], conditions=tuple(o["conditions"]) or tuple(c.name for c in CONDITIONS),
        jobs=o["jobs"] if o["jobs"] is not None else os.cpu_count() or 1,
        progress=not o["no_progress"],
        keep_data=o["keep_data"], overwrite=o["overwrite"], key_file=o["key_file"],
        **{**base, **chosen},
    )
    record = run_reproduce(cfg, announce=lambda: click.echo(f"config {cfg}", err=True))
    click.echo(Path(cfg.out, "results.md").read_text())
    click.echo(f"device {record['device']}; wall time {record['wall_s']} s; -> {cfg.out}")


if __name__ == "__main__":
    main()
