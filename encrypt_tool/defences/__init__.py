"""Defences at the client, beyond block scrambling: each one is keyed per block, image and copy.

- border drop (``border``): every block keeps its (bh-2d, bw-2d) interior;
- orientation (``orientation``): 8 states of mirror and quarter turns, square blocks only;
- negative-positive and channel permutation (``colour``).

The ``apply_*`` functions are pure and vectorized on (B, n, bh, bw, C) uint8 blocks, each with
its inverse; ``defend``/``undefend`` apply or invert them all at once on images, with the block
permutation. The states come from the master key (``keys.derive.derive_block_states``); the
settings are recorded in the file's ``defences`` attribute (``DefenceConfig``).
"""

from encrypt_tool.defences.blocks import from_blocks, take_blocks, to_blocks
from encrypt_tool.defences.border import drop_border, kept_block, restore_border
from encrypt_tool.defences.colour import (
    CHANNEL_PERMS,
    apply_channel_perm,
    apply_negpos,
    invert_channel_perm,
    invert_negpos,
)
from encrypt_tool.defences.config import DefenceConfig
from encrypt_tool.defences.orientation import (
    N_ORIENTATIONS,
    apply_orientation,
    invert_orientation,
)
from encrypt_tool.defences.transform import defend, undefend

__all__ = [
    "CHANNEL_PERMS",
    "N_ORIENTATIONS",
    "DefenceConfig",
    "apply_channel_perm",
    "apply_negpos",
    "apply_orientation",
    "defend",
    "drop_border",
    "from_blocks",
    "invert_channel_perm",
    "invert_negpos",
    "invert_orientation",
    "kept_block",
    "restore_border",
    "take_blocks",
    "to_blocks",
    "undefend",
]
