"""The attack interface: what every attack of the audit takes, what it gives, what it needs.

An attack is a small record: a ``name`` (its key in the registry), what it ``needs`` of the
public side information, a one-line ``about``, ``run(ctx)``, which returns labelled candidate
answers, and ``skip(ctx)`` (why it cannot run on these images, or None). A :class:`Context`
holds one chunk of encrypted images and everything public about them, and computes what
several attacks share (pieces, padding prior, cross-copy votes, edge costs) once.

An :class:`Answer` is an arrangement of the stored pieces (``orders``), or images drawn by an
attack that turns and recolours pieces (``images``); ``render`` turns either into images, so
that every caller scores, pictures and classifies answers the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from encrypt_tool.audit.attack import SideInfo, base_costs, prepare
from encrypt_tool.audit.pieces import assemble
from encrypt_tool.audit.states import StateSpace
from encrypt_tool.scramble import block_grid

__all__ = ["NEEDS", "Answer", "Attack", "Context"]

# what an attack may need beyond the pieces of copy 0
NEEDS = {
    "copies": "the other copies of each image (N > 1)",
    "padding": "the zero or mirrored padding strips of the random crops",
    "states": "the within-block transforms the file records (rotate, negpos, channel-perm)",
    "gap": "the dropped border the file records (px between kept blocks)",
    "model": "a model trained on plain images of the same kind (torch)",
}


@dataclass(frozen=True)
class Answer:
    """One candidate per image: ``orders`` (M, P) stored piece per position, or ``images``
    (M, H, W, C) uint8 drawn by the attack (pieces turned or recoloured as it chose)."""

    orders: np.ndarray | None = None
    images: np.ndarray | None = None

    def render(self, pieces: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
        """The answer as images (M, H, W, C) uint8, pieces (M, n, bh, bw, C) as stored."""
        if self.images is not None:
            return self.images
        return assemble(pieces, self.orders, grid)


@dataclass
class Context:
    """One chunk of encrypted images and what is public about them.

    ``enc`` (m, N, H, W, C) uint8 holds every copy; copy 0 is attacked. ``block``: the stored
    block. ``defences``: the file's public attribute. ``models``: trained models by attack
    name (learned attacks). Derived values are computed on first use and shared.
    """

    enc: np.ndarray
    block: tuple[int, int]
    side: SideInfo
    defences: dict = field(default_factory=dict)
    beam: int = 64
    costs: tuple[str, ...] = ("mgc", "masked", "prediction", "ssd")
    models: dict = field(default_factory=dict)
    _bases: dict = field(default_factory=dict, repr=False)

    @cached_property
    def grid(self) -> tuple[int, int]:
        return block_grid(self.enc.shape[2:4], self.block)

    @cached_property
    def space(self) -> StateSpace:
        return StateSpace.of(self.defences)

    @property
    def gap(self) -> int:
        """Pixels missing between two kept neighbours: twice the dropped border."""
        return 2 * int(self.defences.get("drop_border", 0))

    @property
    def has_side(self) -> bool:
        """Whether there is side information beyond the edges (padding or other copies)."""
        return self.side.pad > 0 or self.enc.shape[1] > 1

    @cached_property
    def edges(self):
        """Copy 0 cut into pieces, no side information (an ``attack.Puzzle``)."""
        return prepare(self.enc[:, :1], self.block, None)

    @cached_property
    def with_side(self):
        """Copy 0 with the padding prior and the other copies' votes (an ``attack.Puzzle``)."""
        return prepare(self.enc, self.block, self.side)

    @property
    def pieces(self) -> np.ndarray:
        """Copy 0's pieces as stored: (m, n, bh, bw, C) uint8."""
        return self.edges.pieces

    def bases(self, gap: int) -> dict[str, np.ndarray]:
        """Normalized edge costs (m, n, n, 2) of every hand-made compatibility, extrapolating
        across ``gap`` px; computed once per gap."""
        if gap not in self._bases:
            self._bases[gap] = base_costs(self.edges, self.costs, gap)
        return self._bases[gap]


def _runs(ctx: Context) -> str | None:
    return None


def _always(ctx: Context) -> bool:
    return True


@dataclass(frozen=True)
class Attack:
    """One attack: its registry ``name``, what it ``needs`` (keys of NEEDS), a one-line
    ``about``, ``run(ctx)`` -> labelled candidates for every image of the chunk,
    ``applies(ctx)`` -> whether the file gives it anything to do (a solver of transforms on a
    file without them: no), and ``skip(ctx)`` -> why it cannot run although it applies
    (None: it runs)."""

    name: str
    about: str
    run: Callable[[Context], dict[str, Answer]]
    needs: tuple[str, ...] = ()
    applies: Callable[[Context], bool] = _always
    skip: Callable[[Context], str | None] = _runs
