"""A learned prior over the state each block was stored in: orientation, sign, channel order.

Natural images are not symmetric: skies are above, shadows below, colours have typical
orders. A small CNN sees one stored block and gives a probability to each of the file's
orientations, signs and channel orders (one head each; a state's probability is their
product). Trained on plain kept blocks of images of the same kind, each put in a random state.

``state_probs`` gives P (n, S) per block; ``relative_prior`` turns it into the cost the
cluster solver adds: for piece j in state t beside piece i as stored, ``-log P(t | i, j)``,
where P(t | i, j) sums P_i(a) P_j(b) over the absolute states with t = a b^-1.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from encrypt_tool.audit.group import group_of
from encrypt_tool.audit.learn.fit import fit
from encrypt_tool.audit.pieces import to_pieces
from encrypt_tool.audit.states import StateSpace, _apply

__all__ = ["StateNet", "relative_prior", "state_probs", "train_states"]

SCALE = 64.0


class StateNet(nn.Module):
    """(B, k, k, C) uint8 blocks -> logits of orientation (n_o), sign (n_g), channel order
    (n_p)."""

    def __init__(self, k: int, channels: int, space: StateSpace, width: int = 48) -> None:
        super().__init__()
        self.k, self.channels = k, channels
        self.sizes = (space.n_o, space.n_g, space.n_p)
        pool = min(k, 4)
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.GELU(),
            nn.Conv2d(width, width, 3, padding=1, stride=2 if k > 8 else 1), nn.GELU(),
            nn.Conv2d(width, width, 3, padding=1), nn.GELU(),
            nn.AdaptiveAvgPool2d(pool), nn.Flatten(),
            nn.Linear(width * pool * pool, 128), nn.GELU())
        self.head = nn.Linear(128, sum(self.sizes))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        z = (x.float() - 127.5) / SCALE  # (B, k, k, C)
        out = self.head(self.body(z.permute(0, 3, 1, 2)))
        return list(torch.split(out, self.sizes, dim=1))


def _sample(pieces: np.ndarray, rng: np.random.Generator, space: StateSpace):
    """Pieces (B, k, k, C) each in a random state: (B, k, k, C) and labels (B, 3)."""
    labels = np.stack([rng.integers(s, size=len(pieces)) for s in
                       (space.n_o, space.n_g, space.n_p)], axis=1)
    out = np.stack([_apply(p, int(o), int(g), int(q), (0, 1))
                    for p, (o, g, q) in zip(pieces, labels, strict=True)])
    return out, labels


def _loss(model: StateNet, x: np.ndarray, y: np.ndarray) -> torch.Tensor:
    heads = model(torch.from_numpy(x))
    t = torch.from_numpy(y)
    return sum(nn.functional.cross_entropy(h, t[:, i]) for i, h in enumerate(heads)
               if h.shape[1] > 1)


def train_states(x: np.ndarray, k: int, space: StateSpace, steps: int = 300, batch: int = 256,
                 seed: int = 0, log=None) -> tuple[StateNet, dict]:
    """Train a :class:`StateNet` on the k x k kept blocks of plain images x (M, H, W, C) uint8.

    Returns the model and its figures: held-out accuracy of each head, steps, seconds."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    pieces = to_pieces(x, (k, k)).reshape(-1, k, k, x.shape[3])  # (M*n, k, k, C)
    flat = (pieces == pieces[:, :1, :1]).all(axis=(1, 2, 3))
    pieces = pieces[~flat]  # one-colour blocks show no state
    order = rng.permutation(len(pieces))
    held, train = order[: max(1, len(order) // 10)], order[max(1, len(order) // 10):]
    model = StateNet(k, x.shape[3], space)

    def loss_at(step: int) -> torch.Tensor:
        return _loss(model, *_sample(pieces[rng.choice(train, size=min(batch, len(train)))],
                                     rng, space))

    seconds = fit(model, steps, loss_at, "learned-states", log)
    xb, yb = _sample(pieces[held[:2048]], rng, space)
    with torch.no_grad():
        heads = model(torch.from_numpy(xb))
    acc = {name: float((h.argmax(1).numpy() == yb[:, i]).mean())
           for i, (name, h) in enumerate(zip(("orientation", "sign", "channel_order"), heads,
                                             strict=True)) if h.shape[1] > 1}
    return model, {"steps": steps, "seconds": seconds, "held_out": acc,
                   "blocks": len(train)}


@torch.no_grad()
def state_probs(model: StateNet, pieces: np.ndarray, space: StateSpace) -> np.ndarray:
    """P (n, S) of each stored piece (n, k, k, C) having been stored in state s (index of
    ``space.states()``)."""
    po, pg, pp = (torch.softmax(h, 1).double().numpy() for h in
                  model(torch.from_numpy(np.ascontiguousarray(pieces))))
    P = (po[:, None, None, :] * pg[:, None, :, None] * pp[:, :, None, None])  # (n, p, g, o)
    return P.reshape(len(pieces), -1)


def relative_prior(P: np.ndarray, space: StateSpace, floor: float = 1e-4) -> np.ndarray:
    """``-log P(t | i, j)`` (n, n, S) float32: the cost of piece j in relative state t beside
    piece i, from the absolute-state probabilities P (n, S) of every piece."""
    G = group_of(space)
    n, S = P.shape
    out = np.empty((n, n, S), dtype=np.float32)
    for t in range(S):
        perm = G.compose[G.inverse[t]]  # a -> the state of j that t brings to a: t^-1 a
        out[:, :, t] = -np.log(np.maximum(P @ P[:, perm].T, floor))  # sum_a P_i(a) P_j(t^-1 a)
    return out
