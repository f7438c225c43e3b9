"""The four conditions of the paper's Fig. 3, as settings: plain or scrambled, with or without
augmentation (crop with 4 px of zero padding, flip, GridMask; N = 4 copies with it, 1 without)."""

from __future__ import annotations

from encrypt_tool.augment import AugmentConfig
from encrypt_tool.setting import Setting

__all__ = ["CONDITIONS", "condition"]

CONDITIONS = (
    Setting("plain", scramble=False, augment=None, test_augment=False, n_copies=1,
            label="plain, no augmentation"),
    Setting("encrypted", augment=None, test_augment=False, n_copies=1,
            label="encrypted, no augmentation"),
    Setting("plain_aug", scramble=False, augment=AugmentConfig(),
            label="plain, augmentation (N=4)"),
    Setting("encrypted_aug", augment=AugmentConfig(), label="encrypted, augmentation (N=4)"),
)


def condition(name: str) -> Setting:
    """The named condition; ValueError naming the known ones."""
    known = {c.name: c for c in CONDITIONS}
    if name not in known:
        raise ValueError(f"--condition {name!r} is not known; use one of: {', '.join(known)}")
    return known[name]
