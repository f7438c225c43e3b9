"""``bs-train``: train an image classifier on bs-encrypt files (the cloud side; no keys)."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from bsformat.clitools import SEED, Command, version_option
from trainer.config import (
    INVARIANCE_NAMES,
    MAX_DEFAULT_THREADS,
    MODEL_NAMES,
    RECIPE_NAMES,
    TrainConfig,
    default_threads,
    format_config,
    resume_config,
)

__all__ = ["main"]


@click.command(cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@version_option("bs-train")
@click.argument("data", type=click.Path(path_type=str), required=False)
@click.option("--test", "test", type=click.Path(path_type=str), default=None,
              help="A separate file whose 'test' split to evaluate on (default: DATA's).")
@click.option("--out", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Run directory (default: runs/<name of DATA>).")
@click.option("--epochs", type=int, default=250, show_default=True)
@click.option("--batch-size", type=int, default=128, show_default=True)
@click.option("--recipe", type=click.Choice(RECIPE_NAMES), default="auto", show_default=True,
              help="onecycle: SGD, peak lr 0.1; paper: peak lr 0.0005; adamw: AdamW, peak lr "
                   "2e-3, label smoothing 0.1; auto: adamw for blockset models, else onecycle.")
@click.option("--lr", type=float, default=None, help="Peak learning rate (overrides the recipe's).")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--ema", type=float, default=0.0, show_default=True, metavar="DECAY",
              help="Evaluate, select best.pt by and save an exponential moving average of "
                   "the weights (and BatchNorm statistics), updated every step with this "
                   "decay, e.g. 0.999 (warmed up as min(DECAY, (1+t)/(10+t))); 0: off.")
@click.option("--model", type=click.Choice(MODEL_NAMES), default="resnet18", show_default=True,
              help="resnet18-narrow: width 16 instead of 64, for CPUs; blockset(-narrow): a "
                   "set-of-blocks model, invariant to the block order.")
@click.option("--invariance", default="auto", show_default=True,
              help=f"Block-set models: the within-block transforms to be exactly invariant to "
                   f"(none, or a comma list of {', '.join(INVARIANCE_NAMES)}; NAME:MODE "
                   f"chooses how: rotate:orbit, negpos:orbit, channel_perm:set pool the first "
                   f"layer over the states instead of a canonical state); auto: those the "
                   f"training file's defences apply.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--data", "data_mode", type=click.Choice(["auto", "memory", "stream"]),
              default="auto", show_default=True,
              help="Hold the data in (GPU) memory or stream the shards; auto: memory if it fits.")
@click.option("--workers", type=int, default=0, show_default=True,
              help="Reader processes when streaming (0: a prefetch thread).")
@click.option("--normalize", type=click.Choice(["data", "fixed"]), default="data",
              show_default=True, help="Per-channel mean/std of the training data, or 0.5/0.5.")
@click.option("--limit-train", type=int, default=None,
              help="Use K training images, stratified by label and seeded by --seed.")
@click.option("--limit-test", type=int, default=None,
              help="Evaluate on K test images, stratified by label and seeded by --seed.")
@click.option("--subset", type=click.Choice(["stratified", "first"]), default="stratified",
              show_default=True,
              help="How --limit-train/--limit-test choose: stratified by label, or the first K "
                   "(CIFAR-10's first 1,000 test images are the exact ones of the offline copy).")
@click.option("--checkpoint-every", type=int, default=1, show_default=True,
              help="Epochs between saves of last.pt (the last epoch is always saved).")
@click.option("--threads", type=int, default=None,
              help=f"CPU threads for torch, 1 to the number of cores [default: the cores "
                   f"idle at start-up (measured over 0.25 s), at most {MAX_DEFAULT_THREADS}]. "
                   f"Fix it for runs that must replay exactly.")
@click.option("--resume", "resume_dir", is_flag=False, flag_value="", default=None,
              metavar="RUNDIR", help="Continue the run in RUNDIR (or --out) from its last.pt, "
                                     "with the options of its config.json (options given "
                                     "again must match).")
@click.option("--overwrite", is_flag=True, help="Replace the results in --out.")
@click.option("--no-progress", is_flag=True, help="No progress bar (summary lines only).")
@click.option("--compile", "compile_", is_flag=True, help="torch.compile the model.")
@click.option("--deterministic", is_flag=True, help="Deterministic algorithms (slower).")
def main(data: str | None, out: str | None, resume_dir: str | None, no_progress: bool,
         compile_: bool, **options) -> None:
    """Train ResNet-18 on the encrypted images in DATA (a bs-encrypt .h5 file) and evaluate it
    every epoch on the encrypted test images, with and without flip TTA.

    Continue an interrupted run with: bs-train --resume RUNDIR

    Several GPUs or machines: torchrun --nproc_per_node=K -m trainer.cli DATA ...
    """
    options.update(progress=not no_progress, compile=compile_)
    if resume_dir is not None:
        config = _resume(data, out, resume_dir, options)
    else:
        if data is None:
            raise click.UsageError("missing DATA (a bs-encrypt .h5 file), or --resume RUNDIR")
        out = out or str(Path("runs") / Path(data).stem)
        config = TrainConfig(data=data, out=out, **options)
    config.validate()  # before torch is imported: bad options fail in a fraction of a second
    from trainer.source import open_splits

    open_splits(config, int(os.environ.get("WORLD_SIZE", "1")))  # the files and limits, too
    if config.threads is None:
        config.threads = default_threads()
    if int(os.environ.get("RANK", "0")) == 0:
        click.echo(format_config(config))
    from trainer.train import train

    try:
        train(config)
    except KeyboardInterrupt:
        if int(os.environ.get("RANK", "0")) == 0:
            click.echo(_interrupted(config.out), err=True)
        sys.exit(130)


def _resume(data: str | None, out: str | None, resume_dir: str, options: dict) -> TrainConfig:
    """The run's own configuration, with the options given on this command line."""
    if resume_dir and out and Path(out) != Path(resume_dir):
        raise click.UsageError(f"--resume {resume_dir} and --out {out} name two runs; give one")
    run_dir = resume_dir or out or (str(Path("runs") / Path(data).stem) if data else None)
    if not run_dir:
        raise click.UsageError("--resume needs the run directory: bs-train --resume RUNDIR")
    if options.pop("overwrite"):
        raise click.UsageError("give --resume or --overwrite, not both")
    ctx = click.get_current_context()
    flags = {"progress": "no_progress", "compile": "compile_"}
    given = {k: v for k, v in options.items()
             if ctx.get_parameter_source(flags.get(k, k)) == ParameterSource.COMMANDLINE}
    if data is not None:
        given["data"] = data
    return resume_config(run_dir, given)


def _interrupted(run_dir: str) -> str:
    """The line for Ctrl-C: how to continue, or that there is nothing to continue."""
    if (Path(run_dir) / "config.json").is_file():
        return f"interrupted; continue with: bs-train --resume {shlex.quote(run_dir)}"
    return "interrupted before the run began; nothing was saved, so start it again"


if __name__ == "__main__":
    main()
