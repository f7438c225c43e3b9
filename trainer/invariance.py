"""Invariance of the block encoder to the keyed within-block transforms of a file's defences.

The client may transform every kept block with its own keyed state (the file's ``defences``
attribute names which): an orientation (the 8 rotations and mirrorings of a square block), a
negative-positive bit (x -> 255 - x) and an order of the colour channels. The block-set model
is made exactly invariant to each, cheaply, before or in its first layer. Each has two modes
(``MODES``; a model's invariance ``"name:mode"``, a bare name meaning the first mode):

- ``rotate``: ``canonical`` turns each block to a canonical orientation first
  (``canonical_orientation``: of its 8 orientations, the one whose brightness deviation leans
  most to a fixed direction); ``orbit`` runs the whole block encoder on all 8 and averages
  (``d4_orbit``; exact and smooth, about 5x the cost);
- ``negpos``: ``orbit`` runs the first layer on the block and on its negative (``sign_orbit``;
  z -> -z once normalised) and averages the two; ``canonical`` takes the one of the two whose
  pixel sum is positive (``canonical_sign``), so the first layer keeps its linear features
  (a block whose values are their own negative, a true tie, is pooled as in ``orbit``);
- ``channel_perm``: ``set`` gives the first convolution one channel at a time beside the mean
  of all channels, ``[z_c, mean(z)]`` (``channel_set``), with the same weights for every
  channel, and averages its features over the channels; ``canonical`` sorts each block's
  channels by their sums (``canonical_channels``), the first layer seeing all of them.

The canonical keys are sums of float32 values taken in float64, exact for normalised uint8
pixels, so every state of a block gives bit-identical keys and the same choice; ties are broken
by further exact keys. ``PREFERRED`` names the modes that ``--invariance auto`` uses.

For the normalised input to transform as the pixels do, the per-channel mean and std must be the
same for every state: ``symmetric_stats`` averages them over the transforms (x -> 1 - x maps
z -> -z when the mean is 0.5; a channel order permutes z when all channels share mean and std).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import torch

from trainer.errors import TrainError

__all__ = ["INVARIANCES", "MODES", "PREFERRED", "canonical_channels", "canonical_orientation",
           "canonical_sign", "channel_set", "check_invariances", "d4_orbit", "from_defences",
           "orientation_weight", "parse_invariance", "sign_orbit", "split_modes",
           "symmetric_stats"]

# Model invariance -> the defence of the file (CONTRACTS.md section 2) that it answers.
INVARIANCES = ("rotate", "negpos", "channel_perm")
# How each is made: its modes. A bare name in a model's invariances (and in a checkpoint
# written before modes existed) means the first; "name:mode" chooses another.
MODES = {"rotate": ("canonical", "orbit"), "negpos": ("orbit", "canonical"),
         "channel_perm": ("set", "canonical")}
# The mode that --invariance auto, or a bare name on the command line, chooses.
PREFERRED = {"rotate": "canonical", "negpos": "canonical", "channel_perm": "canonical"}


def from_defences(defences: Mapping | None) -> tuple[str, ...]:
    """The invariances that a file's ``defences`` dict calls for, in ``INVARIANCES`` order."""
    d = defences or {}
    return tuple(n for n in INVARIANCES if bool(d.get(n, False)))


def parse_invariance(text: str, defences: Mapping | None = None) -> tuple[str, ...]:
    """``auto`` (what ``defences`` calls for), ``none``, or a comma list of ``INVARIANCES``,
    each optionally ``name:mode``; a bare name takes its ``PREFERRED`` mode. The names come
    back as a model takes them (``name:mode`` unless the mode is the first of ``MODES``)."""
    text = text.strip()
    if text == "auto":
        return _qualified(split_modes(from_defences(defences), PREFERRED))
    if text == "none":
        return ()
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n.partition(":")[0] not in INVARIANCES
           or n.partition(":")[2] not in ("", *MODES.get(n.partition(":")[0], ()))]
    if bad or not names:
        raise TrainError(f"--invariance {text!r} is not known; use auto, none or a comma list "
                         f"of {', '.join(INVARIANCES)}")
    return _qualified(split_modes(names, PREFERRED))


def _qualified(modes: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(n if m == MODES[n][0] else f"{n}:{m}" for n, m in modes.items())


def split_modes(names: Iterable[str], defaults: Mapping[str, str] | None = None
                ) -> dict[str, str]:
    """``("negpos:canonical", "rotate")`` -> ``{"rotate": "canonical", "negpos": "canonical"}``
    in ``INVARIANCES`` order; a bare name takes ``defaults`` or the first of its ``MODES``."""
    modes = {}
    for text in names:
        name, _, mode = str(text).partition(":")
        if name not in MODES:
            raise TrainError(f"invariance {name!r} is not known; use {', '.join(INVARIANCES)}")
        mode = mode or (defaults or {}).get(name) or MODES[name][0]
        if mode not in MODES[name]:
            raise TrainError(f"invariance mode {text!r} is not known; {name} takes "
                             f"{' or '.join(MODES[name])}")
        modes[name] = mode
    return {n: modes[n] for n in INVARIANCES if n in modes}


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
    mean is 0.5 and the std is taken about 0.5 (the same for x and 1 - x). Any mode."""
    names = tuple(str(n).partition(":")[0] for n in names)
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


def channel_set(z: torch.Tensor) -> torch.Tensor:
    """(N, C, h, w) -> (N*C, 2, h, w): each channel beside the mean of all channels, the same
    set of rows (in another order) for any order of the channels."""
    N, C = z.shape[:2]
    m = z.mean(1, keepdim=True).expand_as(z)  # (N, C, h, w)
    return torch.stack([z, m], 2).reshape(N * C, 2, *z.shape[2:])


def sign_orbit(z: torch.Tensor) -> torch.Tensor:
    """(N, ...) -> (2, N, ...): the input and its negative."""
    return torch.stack([z, -z])


def orientation_weight(side: int, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The scores' weights: a ramp a*i + b*j about the centre (side, side) whose 8 orientations
    all differ, and fixed generic weights (channels, side, side) that break its ties; float64."""
    c = (side - 1) / 2
    i = torch.arange(side, dtype=torch.float64) - c
    g = torch.Generator().manual_seed(0)
    return (i[:, None] + 0.381966 * i[None, :],
            torch.rand(channels, side, side, dtype=torch.float64, generator=g) + 0.5)


def canonical_orientation(z: torch.Tensor, ramp: torch.Tensor, ties: torch.Tensor
                          ) -> torch.Tensor:
    """(N, C, s, s) -> (N, C, s, s): each block in the orientation (of its 8) whose largest
    absolute channel value leans most along ``ramp`` (s, s); ties go to the highest score of its
    absolute values sorted over the channels, weighted by ``ties`` (C, s, s). Both scores ignore
    sign and channel order, and every orientation of a block has the same 8 scores (computed in
    float64 on identical arrays), so all 8 give the same output unless two different
    orientations tie on both."""
    orbit = d4_orbit(z)  # (8, N, C, s, s)
    a = orbit.detach().abs().double()  # (8, N, C, s, s)
    first = (a.amax(2) * ramp).sum((-2, -1))  # (8, N)
    second = (a.sort(2).values * ties).sum((-3, -2, -1))  # (8, N)
    second = second.masked_fill(first < first.amax(0, keepdim=True), -torch.inf)
    k = second.argmax(0)  # (N,)
    return orbit[k, torch.arange(len(z), device=z.device)]


def canonical_sign(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, C, h, w) -> (the block or its negative, (N,) bool ties): the one whose sum is
    positive; a zero sum goes to the sign of the first nonzero a_i + a_(m-1-i) of its sorted
    values a. Both keys ignore orientation and channel order and flip exactly with the sign
    (float32 values summed in float64, exactly for normalised uint8 pixels). A tie (a set of
    values that is its own negative) keeps the block as it is: the caller pools both signs."""
    flat = z.detach().flatten(1).double()  # (N, m)
    total = flat.sum(1)  # (N,)
    a = flat.sort(1).values
    pair = a + a.flip(1)  # (N, m): the negative's pairs are -pair
    nz = pair != 0
    first = pair.gather(1, nz.to(torch.uint8).argmax(1, keepdim=True))[:, 0]  # (N,)
    key = torch.where(total != 0, total, first)
    sign = torch.where(key < 0, -1.0, 1.0).to(z.dtype)  # (N,)
    return z * sign[:, None, None, None], key == 0


def canonical_channels(z: torch.Tensor) -> torch.Tensor:
    """(N, C, h, w) -> (N, C, h, w): each block's channels in ascending order of their sums
    (exact in float64), equal sums in lexicographic order of their values; identical channels
    may come in any order, which changes nothing. The same output for every channel order."""
    flat = z.detach().flatten(2).double()  # (N, C, m)
    key = flat.sum(2)  # (N, C)
    order = key.argsort(1)  # (N, C)
    f = flat.gather(1, order[..., None].expand_as(flat))  # (N, C, m) in key order
    k = key.gather(1, order)
    clash = ((k[:, 1:] == k[:, :-1]) & (f[:, 1:] != f[:, :-1]).any(2)).any(1)  # (N,)
    for i in clash.nonzero()[:, 0].tolist():  # rare: equal sums, different channels
        rows = [(key[i, c].item(), flat[i, c].tolist(), c) for c in range(z.shape[1])]
        order[i] = torch.tensor([c for *_, c in sorted(rows)], device=z.device)
    return z.gather(1, order[:, :, None, None].expand_as(z))


def d4_orbit(x: torch.Tensor) -> torch.Tensor:
    """(N, C, s, s) -> (8, N, C, s, s): orientation o = r + 4 f (mirror left-right when f = 1,
    then r quarter turns), the numbering of the client's transform."""
    states = []
    for f in (0, 1):
        y = x.flip(-1) if f else x
        states += [torch.rot90(y, r, dims=(-2, -1)) for r in range(4)]
    return torch.stack(states)
