"""A set-of-blocks classifier: exactly invariant to the order of an image's blocks.

Each block is embedded on its own: convolutions run on the block alone (the batch holds blocks,
so no kernel ever crosses a block edge), stride 2 down to at most 4x4, plus a learned position
embedding of the pixels *inside* the block (scrambling keeps them in place). A linear layer on
the flattened block makes a token. A transformer with no position information *between* blocks
mixes the tokens, a class token pools them, and a linear layer classifies. Permuting the blocks
permutes the tokens, which the transformer and the pooling ignore: per-image keys cost this model
nothing. A mirrored scrambled image is the set of mirrored blocks, so flip TTA stays valid.

The block size comes from the data file's metadata; an image must be a whole number of blocks.
With a border drop the stored blocks are the kept interiors, smaller blocks of any size >= 2.
``invariances`` (trainer/invariance.py) make the token of a block exactly the same for every
state of the keyed within-block transforms: a canonical orientation (or orbit pooling over the
8), orbit pooling of the first layer over the sign, and a first layer shared by the channels.
"""

from __future__ import annotations

import torch
from torch import nn

from trainer.errors import TrainError
from trainer.invariance import (
    canonical_channels,
    canonical_orientation,
    canonical_sign,
    channel_set,
    check_invariances,
    d4_orbit,
    orientation_weight,
    sign_orbit,
    split_modes,
)
from trainer.registry import MODELS, ModelSpec

__all__ = ["BLOCKSETS", "BlockSet", "BlockSetSpec", "build_blockset", "to_blocks"]


class BlockSetSpec:
    """Widths of a block-set model: stem channels, token width, depth, heads, MLP ratio."""

    def __init__(self, stem: int, dim: int, depth: int, heads: int, mlp: int = 2,
                 token_drop: float = 0.0, orientation: str = "canonical") -> None:
        self.stem, self.dim, self.depth, self.heads = stem, dim, depth, heads
        self.mlp, self.token_drop = mlp, token_drop
        self.orientation = orientation  # rotation invariance: canonical | orbit


# the block-set models of the registry, by name
BLOCKSETS = {s.name: BlockSetSpec(**s.sizes) for s in MODELS.values() if s.block_set}


def to_blocks(x: torch.Tensor, block: tuple[int, int]) -> torch.Tensor:
    """(B, C, H, W) -> (B, T, C, bh, bw): the blocks of each image in row-major grid order."""
    B, C, H, W = x.shape
    bh, bw = block
    gh, gw = H // bh, W // bw
    x = x.reshape(B, C, gh, bh, gw, bw)  # (B, C, gh, bh, gw, bw)
    return x.permute(0, 2, 4, 1, 3, 5).reshape(B, gh * gw, C, bh, bw)


def _stem(channels: int, width: int, block: tuple[int, int]) -> tuple[nn.Sequential, int, int]:
    """Convolutions inside one block, stride 2 per axis while that side exceeds 4."""
    layers: list[nn.Module] = []
    h, w = block
    cin = channels
    for _ in range(2):
        sh, sw = (2 if h > 4 else 1), (2 if w > 4 else 1)
        layers += [nn.Conv2d(cin, width, 3, (sh, sw), 1, bias=False), nn.BatchNorm2d(width),
                   nn.GELU()]
        h, w = -(-h // sh), -(-w // sw)
        cin = width
    while h > 4 or w > 4:  # large blocks (e.g. 16x16 or 32x32): keep halving
        sh, sw = (2 if h > 4 else 1), (2 if w > 4 else 1)
        layers += [nn.Conv2d(cin, width, 3, (sh, sw), 1, bias=False), nn.BatchNorm2d(width),
                   nn.GELU()]
        h, w = -(-h // sh), -(-w // sw)
    return nn.Sequential(*layers), h, w


class BlockSet(nn.Module):
    """Input (B, C, H, W) float, H and W multiples of the block; output (B, n_classes)."""

    def __init__(self, n_classes: int, image_shape: tuple[int, int, int],
                 block: tuple[int, int], spec: BlockSetSpec,
                 invariances: tuple[str, ...] = ()) -> None:
        super().__init__()
        H, W, C = image_shape
        bh, bw = block
        if bh < 1 or bw < 1 or H % bh or W % bw:
            raise TrainError(f"block size {bh}x{bw} does not tile {H}x{W} images; "
                             "the block-set model needs whole blocks")
        if spec.orientation not in ("canonical", "orbit"):
            raise TrainError(f"orientation {spec.orientation!r} is not known; use canonical "
                             "or orbit")
        self.modes = split_modes(invariances, {"rotate": spec.orientation})
        check_invariances(tuple(self.modes), (bh, bw), C)
        self.block = (bh, bw)
        self.invariances = tuple(self.modes)
        self.token_drop = spec.token_drop
        self.orientation = self.modes.get("rotate", spec.orientation)
        if "rotate" in self.invariances:
            ramp, ties = orientation_weight(bh, C)
            self.register_buffer("orient_ramp", ramp, persistent=False)  # (s, s) float64
            self.register_buffer("orient_ties", ties, persistent=False)  # (C, s, s) float64
        cin = 2 if self.modes.get("channel_perm") == "set" else C  # [channel, mean] per channel
        self.pixel_pos = nn.Parameter(torch.zeros(1, cin, bh, bw))  # position inside a block
        self.stem, h, w = _stem(cin, spec.stem, self.block)
        self.embed = nn.Sequential(nn.Flatten(), nn.Linear(spec.stem * h * w, spec.dim))
        self.cls = nn.Parameter(torch.zeros(1, 1, spec.dim))
        layer = nn.TransformerEncoderLayer(
            spec.dim, spec.heads, spec.mlp * spec.dim, dropout=0.0, activation="gelu",
            batch_first=True, norm_first=True)
        self.mixer = nn.TransformerEncoder(layer, spec.depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(spec.dim)
        self.head = nn.Linear(spec.dim, n_classes)
        nn.init.trunc_normal_(self.cls, std=0.02)
        nn.init.trunc_normal_(self.pixel_pos, std=0.02)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, T, D) block tokens, in the image's block order."""
        blocks = to_blocks(x, self.block)  # (B, T, C, bh, bw)
        B, T = blocks.shape[:2]
        z = blocks.reshape(B * T, *blocks.shape[2:])  # (B*T, C, bh, bw)
        z = z.contiguous(memory_format=torch.contiguous_format)
        if not self.invariances:
            return self.embed(self.stem(z + self.pixel_pos)).reshape(B, T, -1)  # (B, T, D)
        m = self.modes
        orbit = m.get("rotate") == "orbit"
        if orbit:
            z = d4_orbit(z).flatten(0, 1)  # (8*B*T, C, s, s): every orientation of each block
        elif "rotate" in m:
            z = canonical_orientation(z, self.orient_ramp, self.orient_ties)  # (B*T, C, s, s)
        n, tie = len(z), None
        if m.get("negpos") == "canonical":
            z, tie = canonical_sign(z)  # (n, C, bh, bw), (n,): ties pool both signs below
            z = torch.cat([z, -z[tie]]) if bool(tie.any()) else z
            tie = tie if bool(tie.any()) else None
        h = self._first(z)  # (n + ties, S, h1, w1)
        if tie is not None:
            h0, h1 = h[:n], h[n:]
            h = h0.index_put((tie.nonzero()[:, 0],), (h0[tie] + h1) / 2)  # (n, S, h1, w1)
        h = self.stem[3:](h)  # (n, S, h, w)
        if orbit:
            h = h.reshape(8, B * T, *h.shape[1:]).mean(0)  # (B*T, S, h, w)
        return self.embed(h).reshape(B, T, -1)  # (B, T, D)

    def _first(self, z: torch.Tensor) -> torch.Tensor:
        """(n, C, bh, bw) -> (n, S, h1, w1): the first layer, pooled over the sign (negpos
        orbit) and over the channels (channel set), or on the canonical channel order."""
        n, K = len(z), 1
        if self.modes.get("negpos") == "orbit":
            z = sign_orbit(z).flatten(0, 1)  # (2n, C, bh, bw): the block and its negative
        cp = self.modes.get("channel_perm")
        if cp == "canonical":
            z = canonical_channels(z)  # (G*n, C, bh, bw), after the sign orbit
        elif cp == "set":
            K = z.shape[1]
            z = channel_set(z)  # (G*n*C, 2, bh, bw): each channel beside the channels' mean
        h = self.stem[:3](z + self.pixel_pos)  # (G*n*K, S, h1, w1)
        return h.reshape(-1, n, K, *h.shape[1:]).mean((0, 2))  # (n, S, h1, w1)

    def _drop(self, t: torch.Tensor) -> torch.Tensor:
        """Training only: keep a random subset of each image's tokens (block dropout)."""
        B, T, D = t.shape
        keep = max(1, round(T * (1.0 - self.token_drop)))
        idx = torch.rand(B, T, device=t.device).argsort(1)[:, :keep]  # (B, keep)
        return t.gather(1, idx[..., None].expand(B, keep, D))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.tokens(x)  # (B, T, D)
        if self.training and self.token_drop > 0:
            t = self._drop(t)
        t = torch.cat([self.cls.expand(len(t), -1, -1).to(t.dtype), t], 1)  # (B, 1+T, D)
        t = self.mixer(t)
        return self.head(self.norm(t[:, 0]))  # (B, n_classes)


def build_blockset(spec: ModelSpec, n_classes: int, image_shape: tuple[int, int, int],
                   block: tuple[int, int] | None, invariances: tuple[str, ...] = ()
                   ) -> BlockSet:
    """The block-set model of registry entry ``spec`` for (H, W, C) images cut into ``block``
    (bh, bw) blocks, invariant to the within-block transforms named in ``invariances``."""
    if block is None:
        raise TrainError(f"model {spec.name!r} needs the block size (from the data file's "
                         f"metadata)")
    return BlockSet(n_classes, image_shape, (int(block[0]), int(block[1])),
                    BlockSetSpec(**spec.sizes), tuple(invariances))
