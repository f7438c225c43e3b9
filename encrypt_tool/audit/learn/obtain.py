"""Get the learned attacks' models before the battery runs: from the cache beside the report,
or trained on the training images, then cached. What cannot be had is a reason, not an error:
the report names it (an explicit request for a learned attack without PyTorch is refused
earlier, by the command)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from encrypt_tool.audit.learn import EXTRA, torch_available
from encrypt_tool.audit.learn.cache import ModelFor, load, save
from encrypt_tool.audit.learn.pool import MIN_PAIRS
from encrypt_tool.audit.states import StateSpace

__all__ = ["LEARNED", "learned_models"]

LEARNED = {"learned-pairs": "pairs", "learned-states": "states"}


def _build(kind: str, k: int, channels: int, space: StateSpace, gap: int):
    """``build(meta)``: the empty network of a cached model (imports torch only when called)."""

    def build(meta):
        if kind == "pairs":
            from encrypt_tool.audit.learn.pairs import PairNet

            return PairNet(k, channels, gap)
        from encrypt_tool.audit.learn.states import StateNet

        return StateNet(k, channels, space)

    return build


def _train(kind: str, x: np.ndarray, k: int, space: StateSpace, gap: int, log, steps: int):
    if kind == "pairs":
        from encrypt_tool.audit.learn.pairs import train_pairs

        return train_pairs(x, k, space, gap, steps=steps, log=log)
    from encrypt_tool.audit.learn.states import train_states

    return train_states(x, k, space, steps=steps, log=log)


def learned_models(
    names: list[str],
    block: tuple[int, int],
    channels: int,
    defences: dict,
    images: Callable[[], np.ndarray],
    cache: Path | None = None,
    retrain: bool = False,
    log: Callable[[str], None] | None = None,
    steps: int = 300,
) -> tuple[dict, dict]:
    """Models of the learned attacks ``names`` for a file of kept ``block``s and ``defences``.

    ``images()`` gives the plain training images (M, H', W', C) kept pixels (called at most
    once, only when a model must be trained). A model is trained for ``steps`` steps; a cached
    one trained for other steps is trained again (and replaces it in the cache). Returns
    (models, figures): attack name -> model or the reason it is missing; attack name ->
    training figures (and where it came from).
    """
    space = StateSpace.of(defences)
    gap = 2 * int(defences.get("drop_border", 0))
    models, figures = {}, {}
    wanted = [n for n in names if n in LEARNED]
    if not wanted:
        return models, figures
    if not torch_available():
        return {n: f"needs PyTorch: {EXTRA}" for n in wanted}, figures
    if block[0] != block[1]:
        return {n: f"needs square kept blocks, not {block[0]}x{block[1]}" for n in wanted}, {}
    k = int(block[0])
    pool = None
    for name in wanted:
        kind = LEARNED[name]
        if kind == "states" and space.size == 1:
            continue  # it does not apply: no state to learn
        want = ModelFor(kind, k, gap, space.n_o > 1, space.n_g > 1, space.n_p > 1, channels)
        path = cache / f"{name}.pt" if cache is not None else None
        got = None if retrain or path is None else load(path, want,
                                                            _build(kind, k, channels, space, gap))
        if got is not None and got[1].get("steps") == steps:
            models[name], figures[name] = got[0], {**got[1], "from": str(path)}
            continue
        if pool is None:
            if log is not None:
                log(f"{name}: reading the plain images to train on")
            pool = images()
        grid = (pool.shape[1] // k, pool.shape[2] // k) if len(pool) else (1, 1)
        pairs = len(pool) * grid[0] * max(0, grid[1] - 1)
        if pairs < MIN_PAIRS:
            models[name] = (f"{len(pool)} plain image(s) to train on hold {pairs} neighbour "
                            f"pairs, fewer than {MIN_PAIRS}; audit fewer images or give "
                            f"--attack-train FOLDER")
            continue
        if log is not None:
            log(f"{name}: training on {len(pool)} plain images, {steps} steps")
        model, fig = _train(kind, pool, k, space, gap, log, steps)
        models[name], figures[name] = model, {**fig, "from": "trained"}
        if path is not None:
            save(path, model, want, fig)
    return models, figures
