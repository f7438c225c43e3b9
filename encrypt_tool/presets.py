"""Named settings for ``bs-encrypt dataset --preset``; options given explicitly win.

``paper``: Chuman & Kiya (2021): 8x8 blocks, zero-padded crop, flip, GridMask, N = 4.
``hardened``: what leaked least in our audit before the defences (docs/AUDIT.md): 4x4 blocks,
reflect padding, GridMask, N = 1. It still leaks about half of the true neighbour pairs.
``private``: the most accurate setting of the frontier search that meets the privacy goal on
CIFAR-10 under every attack of the audit, the learned ones included (docs/FRONTIER.md): small
blocks whose border is dropped, each block keyed-rotated and mirrored, the paper's
augmentation, N = 4. The block side follows the image size (4 px up to 63 px, so 4x4 on
CIFAR-10; 8 px above, the least leaking setting measured on 224-px photos), and a quarter of it
is dropped at each edge, so that each kept block is the central half of each side: 2x2 of 4x4,
4x4 of 8x8. Train it with a block-set model (``bs-train --model blockset``: the invariance
follows from the file). What it still leaks is measured, not assumed (on photos it misses the
goal): see docs/FRONTIER.md.
``private-v1``: the former ``private``: the paper's 8x8 blocks, a quarter of the side dropped,
and all three transforms (rotation, negative-positive, channel order); it costs more accuracy
and missed the goal on CIFAR-10 (6.5% of the images recognisable).
"""

from __future__ import annotations

from dataclasses import replace

from encrypt_tool.setting import SCALED_AUGMENT, Setting

__all__ = ["PRESETS", "preset"]

# (largest shorter side in px, block side) of --preset private, ascending
PRIVATE_BLOCKS = ((63, 4), (10**9, 8))

PRESETS: dict[str, Setting] = {
    s.name: s for s in (
        Setting("paper", block=8),
        Setting("hardened", block=4, augment=replace(SCALED_AUGMENT, pad_mode="reflect"),
                n_copies=1),
        Setting("private", block="auto", blocks=PRIVATE_BLOCKS, drop="quarter", rotate=True),
        Setting("private-v1", block=8, drop="quarter", rotate=True, negpos=True,
                channel_perm=True),
    )
}


def preset(name: str) -> Setting:
    """The named preset; ValueError naming the known ones."""
    if name not in PRESETS:
        raise ValueError(f"--preset {name!r} is not known; use one of: {', '.join(PRESETS)}")
    return PRESETS[name]
