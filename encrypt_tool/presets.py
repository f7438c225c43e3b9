"""Named settings for ``bs-encrypt dataset --preset``; options given explicitly win.

``paper``: Chuman & Kiya (2021): 8x8 blocks, zero-padded crop, flip, GridMask, N = 4.
``hardened``: what leaked least in our audit before the defences (docs/AUDIT.md): 4x4 blocks,
reflect padding, GridMask, N = 1. It still leaks about half of the true neighbour pairs.
``private``: the best point of the privacy-accuracy frontier (docs/FRONTIER.md): the paper's
8x8 blocks and augmentation, N = 4, with every defence: a border of a quarter of the block side
dropped from each block, so that the central half of each side is kept (2 px: 4x4 kept of 8x8;
4 px: 8x8 kept of 16x16 with ``--block-size 16``), and each block keyed-rotated and mirrored,
inverted (negative-positive) and its colour channels reordered. Train it with a block-set model
(``bs-train --model blockset``: the invariances follow from the file). What it still leaks is
measured, not assumed: see docs/FRONTIER.md.
"""

from __future__ import annotations

from dataclasses import replace

from encrypt_tool.setting import SCALED_AUGMENT, Setting

__all__ = ["PRESETS", "preset"]

PRESETS: dict[str, Setting] = {
    s.name: s for s in (
        Setting("paper", block=8),
        Setting("hardened", block=4, augment=replace(SCALED_AUGMENT, pad_mode="reflect"),
                n_copies=1),
        Setting("private", block=8, drop="quarter", rotate=True, negpos=True,
                channel_perm=True),
    )
}


def preset(name: str) -> Setting:
    """The named preset; ValueError naming the known ones."""
    if name not in PRESETS:
        raise ValueError(f"--preset {name!r} is not known; use one of: {', '.join(PRESETS)}")
    return PRESETS[name]
