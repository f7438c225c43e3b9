"""All defences of one copy at once: cut, drop borders, transform every block, permute.

``defend`` equals the composition of the pure functions on a batch with plain-order states
``(orientation, negpos, channel_perm)``, each (B, n):

    blocks = drop_border(to_blocks(x, block), d)          # (B, n, bh-2d, bw-2d, C)
    blocks = apply_orientation(blocks, o)                 # when rotate
    blocks = apply_negpos(blocks, g)                      # when negpos
    blocks = apply_channel_perm(blocks, p)                # when channel_perm
    stored = from_blocks(take_blocks(blocks, perm), grid) # block k is plain block perm[b, k]

but moves the data fewer times: orientation and channel order are one byte map per block,
applied in runs of equal state: one gather takes the kept rows of every block in order of state,
one ``np.take`` per state maps them, and one gather puts the block rows in their stored places,
permutation included. Without orientation or channel order, the interiors are scrambled
with one row gather and negated in place.
"""

from __future__ import annotations

import numpy as np

from encrypt_tool.defences.blocks import from_blocks, interiors, take_rows, to_blocks
from encrypt_tool.defences.colour import CHANNEL_PERMS
from encrypt_tool.defences.config import DefenceConfig
from encrypt_tool.defences.maps import apply_maps, block_maps, invert_maps
from encrypt_tool.defences.orientation import orient
from encrypt_tool.scramble import invert_permutations, scramble

__all__ = ["defend", "undefend"]


def _maps(cfg: DefenceConfig, shape: tuple[int, int, int]) -> tuple[np.ndarray, int]:
    """Byte maps of every (orientation, channel order) in use, indexed o + n_o * p."""
    n_o = 8 if cfg.rotate else 1
    perms = CHANNEL_PERMS if cfg.channel_perm else [np.arange(shape[2])]
    fns = [lambda a, o=o, q=q: orient(a, o)[..., q] for q in perms for o in range(n_o)]
    return block_maps(shape, fns), n_o


def _state(cfg: DefenceConfig, states, n_o: int) -> np.ndarray:
    """(B, n) map index of every plain block."""
    o, _, p = states
    key = np.zeros(np.shape(o), dtype=np.int64)
    if cfg.rotate:
        key += np.asarray(o, dtype=np.int64)
    if cfg.channel_perm:
        key += n_o * np.asarray(p, dtype=np.int64)
    return key


def _negate(cfg: DefenceConfig, states) -> np.ndarray | None:
    return np.asarray(states[1], dtype=bool) if cfg.negpos else None


def defend(x: np.ndarray, perm: np.ndarray, states, cfg: DefenceConfig) -> np.ndarray:
    """Encrypt one copy: x (B, H, W, C) uint8 at the source size -> (B, H', W', C) stored.

    perm (B, n): stored block k is plain block perm[b, k]; ``states`` (o, g, p) each (B, n),
    indexed by plain block (None when no transform is on); ``cfg`` resolved for x's size.
    """
    B, H, W, C = x.shape
    block, d = cfg.source_block_size, cfg.drop_border
    gy, gx = H // block[0], W // block[1]
    kh, kw = cfg.kept_block()
    if not (cfg.rotate or cfg.channel_perm):
        kept = interiors(x, block, d)  # (B, gy*kh, gx*kw, C)
        out = scramble(kept, perm, (kh, kw))
        if cfg.negpos:
            g = np.take_along_axis(_negate(cfg, states), perm, axis=1)  # (B, n) stored order
            mask = (g.astype(np.uint8) * np.uint8(255)).reshape(B, gy, 1, gx, 1, 1)
            out6 = out.reshape(B, gy, kh, gx, kw, C)
            np.bitwise_xor(out6, mask, out=out6)
        return out
    return _defend_mapped(x, perm, states, cfg)


def _defend_mapped(x: np.ndarray, perm: np.ndarray, states, cfg: DefenceConfig) -> np.ndarray:
    """``defend`` with orientation or channel order, in three passes over the data: gather the
    kept rows of every block in order of state, map each run of equal state with one
    ``np.take``, gather the block rows into their stored places."""
    B, H, W, C = x.shape
    (bh, bw), d = cfg.source_block_size, cfg.drop_border
    gy, gx = H // bh, W // bw
    n, M = gy * gx, B * gy * gx
    kh, kw = cfg.kept_block()
    maps, n_o = _maps(cfg, (kh, kw, C))  # (S, kh*kw*C) byte offsets in the kept block
    row, rest = np.divmod(maps, kw * C)
    maps = row * (bw * C) + d * C + rest  # the same bytes in kh full rows of a source block
    S = len(maps)
    key = _state(cfg, states, n_o).reshape(-1)  # (M,) plain order
    negate = _negate(cfg, states)
    if negate is not None:
        key = key + S * negate.reshape(-1)
    order = np.argsort(key, kind="stable")  # (M,) plain blocks grouped by state
    bounds = np.searchsorted(key[order], np.arange(2 * S + 1))
    b, i = np.divmod(order, n)
    py, px = np.divmod(i, gx)
    rows = ((b * H + py * bh + d)[:, None] + np.arange(kh)[None, :]) * gx + px[:, None]
    src = take_rows(x.reshape(B * H * gx, bw * C), rows).reshape(M, kh * bw * C)
    done = np.empty((M, kh * kw * C), dtype=np.uint8)  # (M, kh*kw*C) sorted by state
    for k in range(2 * S):
        a, z = bounds[k], bounds[k + 1]
        if a < z:
            np.take(src[a:z], maps[k % S], axis=1, out=done[a:z])
            if k >= S:
                np.bitwise_xor(done[a:z], 255, out=done[a:z])
    pos = np.empty(M, dtype=np.int64)
    pos[order] = np.arange(M)  # sorted place of every plain block
    at = pos[np.arange(B, dtype=np.int64)[:, None] * n + perm]  # (B, n) of each stored block
    idx = at.reshape(B, gy, 1, gx) * kh + np.arange(kh).reshape(1, 1, kh, 1)  # (B, gy, kh, gx)
    out = take_rows(done.reshape(M * kh, kw * C), idx)  # (B*gy*kh*gx, kw*C)
    return out.reshape(B, gy * kh, gx * kw, C)


def undefend(y: np.ndarray, perm: np.ndarray, states, cfg: DefenceConfig) -> np.ndarray:
    """The inverse of :func:`defend`: y (B, H', W', C) stored -> (B, H, W, C) at the source
    size, with the dropped border pixels at 0."""
    B, _, _, C = y.shape
    block, d = cfg.source_block_size, cfg.drop_border
    H, W = cfg.source_image_shape[:2]
    gy, gx = H // block[0], W // block[1]
    kh, kw = cfg.kept_block()
    rows = to_blocks(y, (kh, kw)).reshape(B * gy * gx, -1)  # (B*n, kh*kw*C) stored order
    inv = invert_permutations(perm)  # plain block i is stored block inv[b, i]
    place = np.arange(B, dtype=np.int64)[:, None] * (gy * gx) + inv  # (B, n)
    negate = _negate(cfg, states)
    if negate is not None:
        negate = np.take_along_axis(negate, perm, axis=1).reshape(-1)  # stored order
    if cfg.rotate or cfg.channel_perm:
        maps, n_o = _maps(cfg, (kh, kw, C))
        key = np.take_along_axis(_state(cfg, states, n_o), perm, axis=1)  # stored order
        plain = apply_maps(rows, key.reshape(-1), invert_maps(maps), negate, place)
    else:
        if negate is not None:
            rows = np.bitwise_xor(rows, (negate.astype(np.uint8) * np.uint8(255))[:, None])
        plain = take_rows(rows, place)
    return from_blocks(plain.reshape(B, gy * gx, kh, kw, C), (gy, gx), border=d)
