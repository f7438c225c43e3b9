"""The stages of the search over one run folder: what each measures, in which order, and what
it skips because an earlier call already measured it.

Run folder: ``leakage-<data>.jsonl`` (stage a), ``accuracy-<data>.jsonl`` (b-d), ``models/``
(the learned attacks, per setting), ``runs/`` (trainings), ``search.md`` with its charts, and
``search.key`` (mode 0600: the key the run's files are encrypted with; the owner's, like any
master key, and never in a results file).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from encrypt_tool.audit.config import ATTACK_STEPS
from encrypt_tool.setting import Setting
from experiments.frontier_search import store
from experiments.frontier_search.accuracy import REFERENCES, applies, models_for, train_setting
from experiments.frontier_search.data import open_data
from experiments.frontier_search.goal import Budget, Goal
from experiments.frontier_search.grid import grid, named, order
from experiments.frontier_search.leakage import measure
from experiments.frontier_search.report import write_report

__all__ = ["PRIVATE", "PRIVATE_V1", "Run", "check_attacks", "check_settings", "model_folder",
           "pick_b", "pick_best", "report", "stage_a", "stage_train"]

# --preset private's setting at each size, and the former one's (--preset private-v1)
PRIVATE = {32: "4x4-d1-rot-n4-gm", 224: "8x8-d2-rot-n4-gm"}
PRIVATE_V1 = {32: "8x8-d2-all-n4-gm", 224: "16x16-d4-all-n4-gm"}


@dataclass(frozen=True)
class Run:
    """One call of the search: where, on what, how, and where its notes go."""

    out: Path
    kind: str
    data_dir: str | None
    size: int
    samples: int
    pool: int
    attacks: tuple[str, ...] | None
    machine: str
    command: str
    goal: Goal
    note: Callable[[str], None] = print
    attack_steps: int = ATTACK_STEPS

    @property
    def leakage(self) -> Path:
        return self.out / f"leakage-{self.kind}.jsonl"

    @property
    def accuracy(self) -> Path:
        return self.out / f"accuracy-{self.kind}.jsonl"


def _known(size: int) -> dict[str, Setting]:
    return {s.name: s for s in (*grid(size), *REFERENCES)}


def check_settings(size: int, names: list[str]) -> list[str]:
    """``names`` when each is a setting of the grid or a reference; ValueError otherwise."""
    known = _known(size)
    bad = [n for n in names if n not in known]
    if bad:
        named(size, bad)  # raises, naming the form of a grid name
    return names


def check_attacks(names: str | None) -> tuple[str, ...] | None:
    """The audit attacks named (None: all); ValueError for an unknown one, or for a learned
    attack without PyTorch."""
    from encrypt_tool.audit.attacks import choose
    from encrypt_tool.audit.learn import require_torch
    from encrypt_tool.audit.learn.obtain import LEARNED

    chosen = tuple(a.name for a in choose(names))
    if names is not None and any(n in LEARNED for n in chosen):
        require_torch("--attacks " + ",".join(n for n in chosen if n in LEARNED))
    return chosen if names is not None else None


def _key(out: Path) -> tuple[bytes, Path]:
    from keys.master import generate_key, load_key, write_key

    path = out / "search.key"
    if not path.is_file():
        write_key(generate_key(), path)
    return load_key(path), path


def model_folder(name: str) -> str:
    """The learned attacks' cache of a grid setting: shared by its N = 1 and N = 4 versions
    (the models depend on the blocks, the gap, the transforms and the augmentation; their
    training images, the file's images that are not audited, are the same images)."""
    return "-".join(p for p in name.split("-") if not (p[:1] == "n" and p[1:].isdigit()))


def stage_a(run: Run, names: list[str], max_settings: int | None = None) -> int:
    """Leakage of the settings named (the grid in priority order when none), skipping those
    already in the results file. Returns how many rows were added."""
    settings = named(run.size, names)
    chosen = list(run.attacks) if run.attacks is not None else None
    done = store.done(run.leakage, {"attack_steps": ATTACK_STEPS}, samples=run.samples,
                      attacks_chosen=chosen, attack_steps=run.attack_steps)
    todo = [s for s in settings if s.name not in done]
    if max_settings is not None:
        todo = todo[:max_settings]
    data = open_data(run.kind, run.out / "work", run.data_dir, run.samples, run.pool)
    run.note(f"stage a: {len(todo)} settings to measure, {len(done)} already in "
             f"{run.leakage}")
    run.out.mkdir(parents=True, exist_ok=True)
    key, _ = _key(run.out)
    for i, s in enumerate(todo, 1):
        models = run.out / "models" / run.kind / model_folder(s.name)
        steps = "" if run.attack_steps == ATTACK_STEPS else f" --attack-steps {run.attack_steps}"
        if steps:  # a stronger attacker's models beside, not over, the usual ones
            models = models.with_name(f"{models.name}-steps{run.attack_steps}")
        row = measure(s, data, key, run.out / "work", run.samples, run.attacks, models,
                      run.attack_steps)
        row.update(attacks_chosen=chosen, machine=run.machine, attack_steps=run.attack_steps,
                   command=f"python -m experiments.frontier_search --stage a --data {run.kind} "
                           f"--samples {run.samples} --setting {s.name}{steps} --out {run.out}")
        store.append(run.leakage, row)
        run.note(f"[{i}/{len(todo)}] {s.name}: exact {row['perfect']:.1%}, neighbours "
                 f"{row['neighbour']:.1%}, recognisable {row['recognisable']:.1%}; "
                 f"{row['wall_s']:.0f} s, load {row['load'][0]:.1f}")
        report(run)
    return len(todo)


def pick_b(run: Run, names: list[str]) -> list[Setting]:
    """Stage (b)'s settings: those named, or those of stage (a) that meet the goal, the
    private preset's setting and the plain references."""
    known = _known(run.size)
    if names:
        return [known[n] for n in names]
    rows = store.read(run.leakage)
    if not rows:
        raise ValueError(f"stage b chooses from stage a's results, and {run.leakage} holds "
                         f"none: run --stage a first (or name --setting)")
    met = [n for n, r in store.strongest(rows).items() if run.goal.met(r) and n in known]
    ranked = [s for s in order(tuple(known[n] for n in dict.fromkeys(met)), run.size)]
    extra = [known[n] for n in dict.fromkeys((PRIVATE.get(run.size), PRIVATE_V1.get(run.size)))
             if n in known and n not in met]
    run.note(f"stage b: {len(ranked)} settings meet the goal ({run.goal.describe()})")
    return [*ranked, *extra, *REFERENCES[:1]]


def pick_best(run: Run, names: list[str], prior: Budget, k: int,
              references: bool = False) -> list[Setting]:
    """Stages (c)/(d): those named, or the ``k`` most accurate settings at budget ``prior``
    that meet the goal (the base model, mean over seeds), with the plain references for (d)."""
    known = _known(run.size)
    if names:
        return [known[n] for n in names]
    leak = store.strongest(store.read(run.leakage))
    acc: dict[str, list[float]] = {}
    for r in store.read(run.accuracy):
        if (r["budget"] == prior.name and r.get("variant", "base") == "base"
                and run.goal.met(leak.get(r["setting"], {}))):
            acc.setdefault(r["setting"], []).append(r["acc_tta"])
    if not acc:
        raise ValueError(f"this stage chooses from settings that meet the goal, trained at "
                         f"the {prior.name} budget, and {run.accuracy} holds none: run the "
                         f"stage before (or name --setting)")
    best = sorted(acc, key=lambda n: -sum(acc[n]) / len(acc[n]))[:k]
    run.note(f"chosen at the {prior.name} budget: {', '.join(best)}")
    return [known[n] for n in best] + (list(REFERENCES[:1]) if references else [])


def stage_train(run: Run, settings: list[Setting], b: Budget, threads: int | None,
                seeds: tuple[int, ...] = (0,), variants: tuple[str, ...] = ("base",)) -> int:
    """Train each setting at budget ``b``, once per seed and model variant, unless its rows
    are there. Returns rows added."""
    have = {_row_key(r) for r in store.read(run.accuracy) if r["budget"] == b.name}
    data = open_data(run.kind, run.out / "work", run.data_dir, 0, max(b.n_train, b.n_test))
    run.out.mkdir(parents=True, exist_ok=True)
    _, key_file = _key(run.out)
    added = 0
    for s in settings:
        for variant in variants:
            models = [m for m in models_for(s) if applies(variant, s, m)]
            if not models:
                run.note(f"{s.name}: variant {variant} does not apply (skipped)")
            for seed in seeds:
                if not models or all((s.name, m, seed, variant) in have for m in models):
                    continue
                for row in train_setting(s, data, b, key_file, run.out, threads, seed, variant):
                    if _row_key(row) in have:
                        continue
                    row.update(machine=run.machine, command=run.command)
                    store.append(run.accuracy, row)
                    added += 1
                    run.note(f"{s.name} {row['model']} {variant} seed {seed} ({b.name}): "
                             f"{row['acc_tta']:.1%} with TTA, {row['train_s']:.0f} s, "
                             f"load {row['load'][0]:.1f}")
                report(run)
    return added


def _row_key(r: dict) -> tuple[str, str, int, str]:
    """(setting, model, seed, variant) of an accuracy row; rows before seeds and variants were
    recorded are seed 0 of the base variant."""
    return r["setting"], r["model"], int(r.get("seed", 0)), r.get("variant", "base")


def report(run: Run) -> Path:
    """search.md (and its charts) from the run's results files."""
    run.out.mkdir(parents=True, exist_ok=True)
    return write_report(store.read(run.leakage), store.read(run.accuracy), run.out)
