"""A learned pairwise compatibility: does B continue A to the right, across the dropped border?

Two small encoders read the w columns at a piece's edge: ``phi`` A's right strip, ``psi`` B's
left strip. Each predicts the other side's facing column (the linear extrapolation across the
gap, plus a learned correction) and gives a free embedding; the score of a pair is minus the
two squared prediction errors plus the product of the free embeddings. All of it is one dot
product of two embeddings, so every piece is encoded once per side and state and all
(n, 4, n, S) pairs cost one matrix product per direction.

Training (``train_pairs``): plain kept images of the same kind, each turned or mirrored as a
whole by a random dihedral transform (8 with rotation, else the 4 quarter turns that bring each
direction to the right) and recoloured by a random colour state of the file's transforms; the
positive of each piece is its right neighbour, the candidates are every piece of the same image
in random states (InfoNCE). ``pair_costs`` gives the costs the solvers take:
``-log softmax`` over the candidates of each side, both ways, averaged.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from encrypt_tool.audit.learn.fit import fit
from encrypt_tool.audit.learn.views import (
    full_space,
    left_strips,
    relation_index,
    right_strips,
    strip_width,
)
from encrypt_tool.audit.pieces import to_pieces
from encrypt_tool.audit.states import StateSpace, _apply

__all__ = ["PairNet", "pair_costs", "train_pairs"]

SCALE = 64.0  # pixels are fed as (x - 127.5) / SCALE
PIECES = 1600  # pieces of the images of one training step, at most


class _Strip(nn.Module):
    """(B, k, w, C) uint8 strip, its outer column at ``outer`` (-1 for a right strip, 0 for a
    left one) -> (prediction of the neighbour's facing column (B, k*C), its own outer column
    (B, k*C), a free embedding (B, dim)).

    The prediction starts as the linear extrapolation across the gap (``1 + gap`` px: as
    the hand-made prediction cost) and the network learns a correction to it, initialised
    at zero, so the model starts where the hand-made cost is and learns from there."""

    def __init__(self, k: int, w: int, channels: int, dim: int, gap: int, outer: int) -> None:
        super().__init__()
        self.reach, self.outer = 1.0 + gap, outer
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, (3, w), padding=(1, 0)), nn.GELU(),
            nn.Conv2d(32, 64, (3, 1), padding=(1, 0)), nn.GELU(),
            nn.Conv2d(64, 64, (3, 1), padding=(1, 0)), nn.GELU(), nn.Flatten())
        self.correct = nn.Linear(64 * k, k * channels)
        self.free = nn.Linear(64 * k, dim)
        nn.init.zeros_(self.correct.weight)
        nn.init.zeros_(self.correct.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z = (x.float() - 127.5) / SCALE  # (B, k, w, C)
        second = -2 if self.outer == -1 else 1
        edge, inner = z[:, :, self.outer], z[:, :, second]  # (B, k, C)
        h = self.body(z.permute(0, 3, 1, 2))  # (B, 64k)
        pred = (edge + self.reach * (edge - inner)).flatten(1) + self.correct(h)
        return pred, edge.flatten(1), self.free(h)


class PairNet(nn.Module):
    """Edge embeddings of right strips (``phi``) and left strips (``psi``) of k x k pieces.

    The score of B right of A is ``-scale * (|P_A - b|^2 + |Q_B - a|^2) + f_A . g_B``: each
    side's prediction of the other's outer column against it, plus a learned free term;
    written as one dot product of ``embed_right(A)`` and ``embed_left(B)``."""

    def __init__(self, k: int, channels: int, gap: int = 0, dim: int = 32) -> None:
        super().__init__()
        self.k, self.w, self.channels, self.gap, self.dim = k, strip_width(k), channels, gap, dim
        self.phi = _Strip(k, self.w, channels, dim, gap, -1)
        self.psi = _Strip(k, self.w, channels, dim, gap, 0)
        self.log_scale = nn.Parameter(torch.tensor(0.0))

    def embed_right(self, a: torch.Tensor) -> torch.Tensor:
        """Right strips (A, k, w, C) -> (A, E)."""
        p, e, f = self.phi(a)
        s = self.log_scale.exp()
        c = -(p.square().sum(1, keepdim=True) + e.square().sum(1, keepdim=True))
        return torch.cat([2 * s * p, 2 * s * e, s * c, torch.ones_like(c), f], 1)

    def embed_left(self, b: torch.Tensor) -> torch.Tensor:
        """Left strips (B, k, w, C) -> (B, E)."""
        q, e, g = self.psi(b)
        c = -(q.square().sum(1, keepdim=True) + e.square().sum(1, keepdim=True))
        s = self.log_scale.exp()
        return torch.cat([e, q, torch.ones_like(c), s * c, g], 1)

    def logits(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Scores (A, B) of right strips a (A, k, w, C) against left strips b (B, k, w, C)."""
        return self.embed_right(a) @ self.embed_left(b).T


def _views(x: np.ndarray, rng: np.random.Generator, space: StateSpace) -> np.ndarray:
    """Each image of x (B, H, W, C) turned or mirrored as a whole and recoloured at random."""
    n_o = 8 if space.n_o > 1 else 4
    out = []
    for img in x:
        o = int(rng.integers(n_o))
        g = int(rng.integers(space.n_g))
        p = int(rng.integers(space.n_p))
        out.append(_apply(img, o, g, p, (0, 1)))
    return np.stack(out)


def _batch(x: np.ndarray, k: int, rng: np.random.Generator, space: StateSpace, states: int):
    """One training batch from plain kept images x (B, H, W, C) in k x k blocks: right strips
    of the anchors (A, k, w, C), left strips of the candidates (B*n*states, k, w, C), and the
    index of each anchor's right neighbour among the candidates (A,)."""
    w = strip_width(k)
    v = _views(x, rng, space)  # (B, H', W', C): all square grids, turned as a whole
    B, H, W, C = v.shape
    gy, gx = H // k, W // k
    pieces = to_pieces(v, (k, k))  # (B, n, k, k, C)
    n = gy * gx
    full = full_space(space)
    S8 = full.size
    picks = np.concatenate([np.zeros((B, 1), np.int64),  # state 0: the view itself
                            rng.integers(1, S8, (B, states - 1))], axis=1)  # (B, states)
    cands = []
    for b in range(B):
        strips = left_strips(pieces[b], space, w, picks[b])  # (n, states, k, w, C)
        cands.append(strips.reshape(n * states, k, w, C))
    cand = np.concatenate(cands)  # (B*n*states, k, w, C)
    grid = np.arange(n).reshape(gy, gx)
    left, right = grid[:, :-1].ravel(), grid[:, 1:].ravel()  # anchors and their neighbours
    anchors = pieces[:, left, :, -w:].reshape(-1, k, w, C)  # (B*len(left), k, w, C)
    img = np.repeat(np.arange(B), len(left))
    target = img * n * states + np.tile(right, B) * states  # state 0 of the right neighbour
    return anchors, cand, target, img, n * states


def train_pairs(x: np.ndarray, k: int, space: StateSpace, gap: int = 0, steps: int = 300,
                batch: int = 8, states: int = 8, seed: int = 0, log=None
                ) -> tuple[PairNet, dict]:
    """Train a :class:`PairNet` on plain kept images x (M, H, W, C) uint8 in k x k blocks.

    Each step takes ``batch`` images (fewer when they hold more than ``PIECES`` pieces
    together: 8 photos of 196 blocks, 2 of 784, so that a step's logits stay ~20 M whatever
    the size) and, per image, every piece in ``states`` random states
    as candidates. Returns the model and its figures: held-out top-1 rate of the true right
    neighbour among the candidates of its image, steps, seconds.
    """
    if x.shape[1] % k or x.shape[2] % k:
        raise ValueError(f"images of {x.shape[1]}x{x.shape[2]} px are not a grid of {k}x{k} "
                         f"blocks")
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    order = rng.permutation(len(x))
    held = order[: max(1, len(x) // 10)]
    train = order[len(held):] if len(x) > 1 else order
    batch = max(1, min(batch, PIECES // ((x.shape[1] // k) * (x.shape[2] // k))))
    model = PairNet(k, x.shape[3], gap)

    def loss_at(step: int) -> torch.Tensor:
        idx = rng.choice(train, size=min(batch, len(train)), replace=False)
        return _loss(model, *_batch(x[idx], k, rng, space, states))

    seconds = fit(model, steps, loss_at, "learned-pairs", log)
    with torch.no_grad():
        a, c, target, img, per = _batch(x[held[:batch * 4]], k, rng, space, states)
        top1 = float((_masked_logits(model, a, c, img, per).argmax(1).numpy() == target).mean())
    return model, {"steps": steps, "seconds": seconds, "held_out_top1": top1,
                   "candidates": per, "images": len(train)}


def _masked_logits(model: PairNet, a, c, img, per) -> torch.Tensor:
    """Logits (A, B*per) of every anchor against the candidates of its own image only."""
    logits = model.logits(torch.from_numpy(a), torch.from_numpy(c))
    own = torch.from_numpy(np.arange(logits.shape[1])[None] // per == img[:, None])
    return logits.masked_fill(~own, float("-inf"))


def _loss(model: PairNet, a, c, target, img, per) -> torch.Tensor:
    logits = _masked_logits(model, a, c, img, per)
    return nn.functional.cross_entropy(logits, torch.from_numpy(target))


@torch.no_grad()
def pair_costs(model: PairNet, pieces: np.ndarray, space: StateSpace) -> np.ndarray:
    """Costs T (n, 4, n, S) float32 of piece j in state t in direction d of piece i, as
    stored, for pieces (n, k, k, C) uint8 of one image (as :func:`~encrypt_tool.audit.
    relcost.relative_costs` gives them); a piece never neighbours itself (inf)."""
    n, k = pieces.shape[:2]
    w = model.w
    a = model.embed_right(torch.from_numpy(np.ascontiguousarray(
        right_strips(pieces, w).reshape(n * 4, k, w, -1)))).reshape(n, 4, -1)  # (n, 4, E)
    strips = left_strips(pieces, space, w)  # (n, S8, k, w, C)
    b = model.embed_left(torch.from_numpy(np.ascontiguousarray(
        strips.reshape(-1, k, w, strips.shape[-1])))).reshape(n, strips.shape[1], -1)
    rel = torch.from_numpy(relation_index(space))  # (4, S)
    S = space.size
    out = np.empty((n, 4, n, S), dtype=np.float32)
    for d in range(4):
        L = (a[:, d] @ b[:, rel[d]].reshape(n * S, -1).T).reshape(n, n, S)
        L[torch.arange(n), torch.arange(n)] = float("-inf")
        row = torch.logsumexp(L.reshape(n, -1), dim=1)  # (n,)
        col = torch.logsumexp(L, dim=0)  # (n, S): i as the partner of (j, t)
        # 0.5 * (-log softmax over a row - log softmax over a column), in place
        L.neg_().add_(0.5 * row[:, None, None]).add_(0.5 * col[None])
        out[:, d] = L.numpy()
    out[np.arange(n), :, np.arange(n)] = np.inf
    return out
