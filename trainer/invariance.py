"""Invariance of the block encoder to the keyed within-block transforms of a file's defences.

The client may transform every kept block with its own keyed state (the file's ``defences``
attribute names which): an orientation (the 8 rotations and mirrorings of a square block), a
negative-positive bit (x -> 255 - x) and an order of the colour channels. The block-set model
gets exact invariance to each by *orbit pooling*: it embeds every state of a block and averages,
so any state of the block gives the same token.

- ``negpos`` and ``channel_perm`` are pooled after the first layer of the block encoder only
  (``inner_orbit``: 2 and 6 states, 12 together): the first convolution is cheap, and what comes
  after it sees pooled features only.
- ``rotate`` is pooled over the whole block encoder (``d4_orbit``: 8 states), since a
  convolution's features move with the block.

For the normalised input to transform as the pixels do, the per-channel mean and std must be the
same for every state: ``symmetric_stats`` averages them over the transforms (x -> 1 - x maps
z -> -z when the mean is 0.5; a channel order permutes z when all channels share mean and std).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping

import torch

from trainer.errors import TrainError

__all__ = ["INVARIANCES", "check_invariances", "d4_orbit", "from_defences", "inner_orbit",
           "parse_invariance", "symmetric_stats"]

# Model invariance -> the defence of the file (CONTRACTS.md section 2) that it answers.
INVARIANCES = ("rotate", "negpos", "channel_perm")


def from_defences(defences: Mapping | None) -> tuple[str, ...]:
    """The invariances that a file's ``defences`` dict calls for, in ``INVARIANCES`` order."""
    d = defences or {}
    return tuple(n for n in INVARIANCES if bool(d.get(n, False)))


def parse_invariance(text: str, defences: Mapping | None = None) -> tuple[str, ...]:
    """``auto`` (what ``defences`` calls for), ``none``, or a comma list of ``INVARIANCES``."""
    text = text.strip()
    if text == "auto":
        return from_defences(defences)
    if text == "none":
        return ()
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in INVARIANCES]
    if bad or not names:
        raise TrainError(f"--invariance {text!r} is not known; use auto, none or a comma list "
                         f"of {', '.join(INVARIANCES)}")
    return tuple(n for n in INVARIANCES if n in names)


def check_invariances(names: Iterable[str], block: tuple[int, int], channels: int) -> None:
    """TrainError when an invariance cannot apply to ``block`` (bh, bw) with ``channels``."""
    names = tuple(names)
    if "rotate" in names and block[0] != block[1]:
        raise TrainError(f"rotation invariance needs square blocks; these are "
                         f"{block[0]}x{block[1]}")
    if "channel_perm" in names and channels < 2:
        raise TrainError(f"channel-order invariance needs >= 2 channels; these images have "
                         f"{channels}")


def symmetric_stats(mean: list[float], std: list[float], names: Iterable[str]
                    ) -> tuple[list[float], list[float]]:
    """Per-channel mean and std (in [0, 1]) made equal for every state of the transforms: with
    ``channel_perm`` the channels' first and second moments are averaged; with ``negpos`` the
    mean is 0.5 and the std is taken about 0.5 (the same for x and 1 - x)."""
    names = tuple(names)
    m1 = [float(m) for m in mean]
    m2 = [float(s) ** 2 + float(m) ** 2 for m, s in zip(mean, std, strict=True)]
    if "channel_perm" in names:
        c = len(m1)
        m1, m2 = [sum(m1) / c] * c, [sum(m2) / c] * c
    if "negpos" in names:
        new_mean = [0.5] * len(m1)
        var = [b - a + 0.25 for a, b in zip(m1, m2, strict=True)]  # E[(x - 0.5)^2]
    elif "channel_perm" in names:
        new_mean = m1
        var = [b - a * a for a, b in zip(m1, m2, strict=True)]
    else:
        return list(mean), list(std)
    return new_mean, [max(math.sqrt(max(v, 0.0)), 1e-3) for v in var]


def inner_orbit(x: torch.Tensor, negpos: bool, channel_perm: bool) -> torch.Tensor:
    """(N, C, h, w) normalised blocks -> (G, N, C, h, w): every channel order (C! of them) and
    both signs, G = 1, 2, C! or 2 C!."""
    states = [x]
    if channel_perm:
        orders = itertools.permutations(range(x.shape[1]))
        states = [s[:, list(p)] for s in states for p in orders]
    if negpos:
        states = states + [-s for s in states]
    return torch.stack(states)


def d4_orbit(x: torch.Tensor) -> torch.Tensor:
    """(N, C, s, s) -> (8, N, C, s, s): orientation o = r + 4 f (mirror left-right when f = 1,
    then r quarter turns), the numbering of the client's transform."""
    states = []
    for f in (0, 1):
        y = x.flip(-1) if f else x
        states += [torch.rot90(y, r, dims=(-2, -1)) for r in range(4)]
    return torch.stack(states)
