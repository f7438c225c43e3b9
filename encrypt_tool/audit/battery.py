"""Run the chosen attacks of the registry on the audited images, a chunk at a time, chunks in
parallel, and merge their answers in one place.

Each chunk of images becomes one :class:`~encrypt_tool.audit.attacks.Context` (its pieces,
side information and shared edge costs computed once); every attack that applies runs on it and
is timed. The attacker's own pick among the arrangements (``self_chosen``) needs no key.
Chunks are independent, so ``jobs`` worker processes take them in turn; the result does not
depend on ``jobs``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from encrypt_tool.audit.attack import COSTS, SideInfo, self_chosen
from encrypt_tool.audit.attacks import REGISTRY, Answer, Attack, Context
from encrypt_tool.scramble import block_grid

__all__ = ["Battery", "chunk_size", "run_battery"]


@dataclass
class Battery:
    """Every answer of a battery, merged over the chunks.

    ``pieces`` (M, n, bh, bw, C) of copy 0 as stored; ``answers``: label -> Answer over all M
    images, in registry order; ``by_attack``: attack name -> its labels; ``pick`` (M,): index
    into ``answers`` of the attacker's own choice; ``seconds``: attack name -> time spent;
    ``not_run``: attack name -> why it could not run; ``not_applicable``: attacks the file
    gives nothing to do.
    """

    pieces: np.ndarray
    grid: tuple[int, int]
    answers: dict[str, Answer] = field(default_factory=dict)
    by_attack: dict[str, list[str]] = field(default_factory=dict)
    pick: np.ndarray | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    not_run: dict[str, str] = field(default_factory=dict)
    not_applicable: list[str] = field(default_factory=list)

    def images(self) -> dict[str, np.ndarray]:
        """Every answer as images (M, H, W, C) uint8: the one place orders become images."""
        return {k: a.render(self.pieces, self.grid) for k, a in self.answers.items()}

    def chosen(self, outs: dict[str, np.ndarray]) -> np.ndarray:
        """The self-chosen answer of each image (M, H, W, C), from ``images()``'s output."""
        names = list(outs)
        return np.stack([outs[names[a]][i] for i, a in enumerate(self.pick)])


def _pick(ctx: Context, answers: dict[str, Answer]) -> np.ndarray:
    """The attacker's pick per image among every answer (M,): the cheapest arrangement under
    the judge cost; with no arrangement, the first answer."""
    labels = list(answers)
    orders = {k: a.orders for k, a in answers.items() if a.orders is not None}
    m = len(ctx.enc)
    if not orders:
        return np.zeros(m, dtype=np.int64)
    pz = ctx.with_side if ctx.has_side else ctx.edges
    best = self_chosen(pz, ctx.bases(ctx.gap), orders)  # (m,) into orders
    index = np.array([labels.index(k) for k in orders])
    return index[best]


def _chunk(e: np.ndarray, block, side: SideInfo, beam: int, costs, defences: dict,
           attacks: tuple[Attack, ...], models: dict):
    """Every attack on one chunk e (m, N, H, W, C): (pieces, answers, pick, seconds,
    not_run, not_applicable, by_attack)."""
    # a chunk's own copy: attacks cache per-chunk values in it (the learned pair costs)
    ctx = Context(e, tuple(block), side, defences, beam, tuple(costs), dict(models))
    answers, seconds, not_run, inapplicable, by_attack = {}, {}, {}, [], {}
    for a in attacks:
        if not a.applies(ctx):
            inapplicable.append(a.name)
            continue
        why = a.skip(ctx)
        if why is not None:
            not_run[a.name] = why
            continue
        t0 = time.perf_counter()
        found = a.run(ctx)
        seconds[a.name] = time.perf_counter() - t0
        by_attack[a.name] = list(found)
        answers.update(found)
    t0 = time.perf_counter()
    pick = _pick(ctx, answers)
    seconds["self-chosen pick"] = time.perf_counter() - t0
    return ctx.pieces, answers, pick, seconds, not_run, inapplicable, by_attack


def chunk_size(M: int, n: int, jobs: int, chunk: int | None = None) -> int:
    """Images per chunk: ``chunk``, or at most 4096 pieces' worth (256 CIFAR images of 16
    blocks, 20 photos of 196) and 2^21 piece pairs (the edge costs shared by the attacks:
    3 photos of 784 blocks); with ``jobs`` > 1, evened out so that every round keeps every
    worker busy."""
    step = chunk if chunk is not None else max(1, min(2**12 // n, 2**21 // (n * n)))
    if step < 1:
        raise ValueError(f"chunk {step} is not valid; it must be >= 1")
    if chunk is None and jobs > 1:  # equal rounds: no last round with one worker idle
        rounds = -(-M // (jobs * step))
        step = max(1, -(-M // (jobs * rounds)))
    return step


def run_battery(
    enc: np.ndarray,
    block: tuple[int, int],
    side: SideInfo,
    defences: dict | None = None,
    attacks: tuple[Attack, ...] | None = None,
    beam: int = 64,
    costs: tuple[str, ...] = COSTS,
    models: dict | None = None,
    progress=None,
    jobs: int = 1,
    chunk: int | None = None,
) -> Battery:
    """Run ``attacks`` (default: the whole registry) on copy 0 of enc (M, N, H, W, C) uint8.

    ``models``: trained models by attack name, for the learned attacks. ``progress.update(k)``
    is called after each chunk of k images.
    """
    if jobs < 1:
        raise ValueError(f"jobs {jobs} is not valid; it must be >= 1")
    attacks = tuple(REGISTRY.values()) if attacks is None else tuple(attacks)
    M = enc.shape[0]
    grid = block_grid(enc.shape[2:4], block)
    step = chunk_size(M, grid[0] * grid[1], jobs, chunk)
    args = (block, side, beam, costs, dict(defences or {}), attacks, dict(models or {}))
    chunks = [enc[lo : lo + step] for lo in range(0, M, step)]
    if jobs == 1 or len(chunks) == 1:
        results = (_chunk(e, *args) for e in chunks)
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=jobs, return_as="generator")(
            delayed(_chunk)(e, *args) for e in chunks)
    pieces, parts, picks = [], {}, []
    out = Battery(np.empty(0), grid)
    if progress is not None:
        progress.start()
    for e, (p, answers, pick, seconds, not_run, inapplicable, by_attack) in zip(
            chunks, results, strict=True):
        pieces.append(p)
        picks.append(pick)
        for k, a in answers.items():
            parts.setdefault(k, []).append(a)
        for k, s in seconds.items():
            out.seconds[k] = out.seconds.get(k, 0.0) + s
        out.not_run.update(not_run)
        out.not_applicable = sorted(set(out.not_applicable) | set(inapplicable))
        out.by_attack.update(by_attack)
        if progress is not None:
            progress.update(len(e))
    out.pieces = np.concatenate(pieces)
    out.pick = np.concatenate(picks)
    for k, a in parts.items():
        if all(x.orders is not None for x in a):
            out.answers[k] = Answer(orders=np.concatenate([x.orders for x in a]))
        else:
            out.answers[k] = Answer(images=np.concatenate([x.render(p, grid) for x, p in
                                                           zip(a, pieces, strict=True)]))
    return out
