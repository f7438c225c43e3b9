"""``python -m experiments.frontier_search``: one stage of the frontier search per call."""

from __future__ import annotations

import os
import platform
import shlex
import sys
from pathlib import Path

import click

from bsformat.clitools import SEED_MAX, Command
from experiments.frontier_search.accuracy import check_variant
from experiments.frontier_search.goal import BUDGETS, GOALS, STAGE_BUDGET, budget
from experiments.frontier_search.grid import named

__all__ = ["main"]

STAGES = ("a", "b", "c", "d", "report")
SAMPLES = {"cifar": 200, "photos": 9, "synthetic": 8}
POOL = {"cifar": 400, "photos": 21, "synthetic": 24}
SIZE = {"cifar": 32, "photos": 224, "synthetic": 32}


def _machine() -> str:
    from experiments.machine import cpu_model

    return f"{cpu_model()}, {os.cpu_count()} cores, {platform.system()}"


def _command() -> str:
    return "python -m experiments.frontier_search " + " ".join(map(shlex.quote, sys.argv[1:]))


def _seeds(text: str) -> tuple[int, ...]:
    """``--seeds 0,1`` -> (0, 1); ValueError naming the value and what is allowed."""
    try:
        out = tuple(dict.fromkeys(int(t) for t in text.split(",")))
    except ValueError:
        out = ()
    if not out or any(not 0 <= v <= SEED_MAX for v in out):
        raise ValueError(f"--seeds {text!r} is not valid; give whole numbers 0..{SEED_MAX}, "
                         f"comma-separated, e.g. 0,1")
    return out


def _note(text: str) -> None:
    click.echo(text, err=True)


@click.command(cls=Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--stage", type=click.Choice(STAGES), required=True,
              help="a: leakage of every setting; b: accuracy (quick budget) of those that meet "
                   "the goal and the references; c: the best three at the reference budget; "
                   "d: the winner and the references at the full budget; report: tables.")
@click.option("--out", type=click.Path(file_okay=False), default="runs/frontier-search",
              show_default=True, help="Run folder: results files, models, report.")
@click.option("--data", "kind", type=click.Choice(tuple(SAMPLES)), default="cifar",
              show_default=True, help="CIFAR-10 (32 px), 224-px photos, or the synthetic set.")
@click.option("--data-dir", type=click.Path(), default=None,
              help="The folder of cifar10_train.npz and cifar10_test.npz [../shared/data/"
                   "cifar10].")
@click.option("--setting", "settings", multiple=True,
              help="Only these settings (repeatable), e.g. 8x8-d2-all-n4-gm [stage a: the whole "
                   "grid, the likely candidates first; b-d: chosen from the earlier stage].")
@click.option("--samples", type=int, default=None,
              help="Images audited, the first of the training split [cifar 200, photos 9].")
@click.option("--pool", type=int, default=None,
              help="Further images the learned attacks train on [cifar 400, photos 21].")
@click.option("--attacks", default=None, help="Audit attacks, comma-separated [all].")
@click.option("--attack-steps", type=int, default=None,
              help="Stage a: training steps of the learned attacks [300]; other steps are "
                   "another row, their models cached apart (a stronger attacker's check).")
@click.option("--max-settings", type=int, default=None,
              help="Stop after this many new settings (stage a).")
@click.option("--budget", "budget_name", default=None,
              help=f"Training budget: {', '.join(BUDGETS)} [b: quick, c: reference, d: full].")
@click.option("--from-budget", default=None,
              help="Stages c and d: the budget whose results choose [c: quick, d: reference].")
@click.option("--best", type=int, default=3, show_default=True, help="Stage c: how many.")
@click.option("--threads", type=int, default=None, help="bs-train --threads.")
@click.option("--seeds", default="0", show_default=True,
              help="Stages b-d: bs-train --seed of each training, comma-separated (two seeds "
                   "for a comparison that decides something).")
@click.option("--variant", "variants", multiple=True,
              help="Stages b-d: model variants trained beside each other on the same command "
                   "(repeatable): base, orbit (pool over the 8 orientations), ema (weight "
                   "average) [base].")
def main(stage, out, kind, data_dir, settings, samples, pool, attacks, attack_steps,
         max_settings,
         budget_name, from_budget, best, threads, seeds, variants) -> None:
    """The frontier search over encryption settings, in stages; every stage is resumable (rows
    already in its results file are skipped)."""
    from experiments.frontier_search import stages

    size = SIZE[kind]
    samples = SAMPLES[kind] if samples is None else samples
    pool = POOL[kind] if pool is None else pool
    if samples < 1 or pool < 0:
        raise ValueError(f"--samples {samples} and --pool {pool} are not valid; give "
                         f"--samples 1 or more and --pool 0 or more")
    if max_settings is not None and max_settings < 1:
        raise ValueError(f"--max-settings {max_settings} is not valid; it must be at least 1")
    if best < 1:
        raise ValueError(f"--best {best} is not valid; it must be at least 1")
    if kind == "photos" and stage in ("b", "c", "d"):
        raise ValueError(f"--stage {stage} trains a classifier, and --data photos has no "
                         f"classes; run it on --data cifar (photos: stage a)")
    b = budget(budget_name or STAGE_BUDGET.get(stage, "quick"))
    prior = budget(from_budget or {"c": "quick", "d": "reference"}.get(stage, "quick"))
    seed_list = _seeds(seeds)
    variants = tuple(check_variant(v) for v in variants) or ("base",)
    chosen = stages.check_settings(size, list(settings))
    if stage == "a":
        named(size, chosen)  # the grid only
    atk = stages.check_attacks(attacks)
    if attack_steps is not None:
        from encrypt_tool.audit import AuditConfig

        AuditConfig(attack_steps=attack_steps)  # refused here, before any work
    ctx = stages.Run(out=Path(out), kind=kind, data_dir=data_dir, size=size, samples=samples,
                     pool=pool, attacks=atk, machine=_machine(), command=_command(),
                     goal=GOALS[kind], note=_note,
                     **({"attack_steps": attack_steps} if attack_steps is not None else {}))
    if stage == "a":
        stages.stage_a(ctx, chosen, max_settings)
    elif stage == "b":
        stages.stage_train(ctx, stages.pick_b(ctx, chosen), b, threads, seed_list, variants)
    elif stage == "c":
        stages.stage_train(ctx, stages.pick_best(ctx, chosen, prior, best), b, threads,
                           seed_list, variants)
    elif stage == "d":
        stages.stage_train(ctx, stages.pick_best(ctx, chosen, prior, 1, references=True), b,
                           threads, seed_list, variants)
    click.echo(stages.report(ctx).read_text())


if __name__ == "__main__":
    main()
