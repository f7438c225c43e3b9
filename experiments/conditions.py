"""The four conditions of the paper's Fig. 3: plain or scrambled, with or without augmentation."""

from __future__ import annotations

from dataclasses import dataclass

from encrypt_tool.augment import AugmentConfig

__all__ = ["CONDITIONS", "Condition"]


@dataclass(frozen=True)
class Condition:
    """One training condition: how the client prepares the data, how the cloud evaluates."""

    name: str
    label: str
    scramble: bool
    augment: bool

    @property
    def n_keys(self) -> int:
        return 4 if self.augment else 1

    def augment_config(self) -> AugmentConfig | None:
        """Crop (padding 4, zeros), flip and GridMask with the defaults, or nothing."""
        return AugmentConfig() if self.augment else None


CONDITIONS = (
    Condition("plain", "plain, no augmentation", scramble=False, augment=False),
    Condition("encrypted", "encrypted, no augmentation", scramble=True, augment=False),
    Condition("plain_aug", "plain, augmentation (N=4)", scramble=False, augment=True),
    Condition("encrypted_aug", "encrypted, augmentation (N=4)", scramble=True, augment=True),
)
