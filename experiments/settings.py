"""The settings the experiments measure, as :class:`encrypt_tool.setting.Setting` values.

A setting names one way to encrypt: source blocks of ``block`` px, a border of ``drop`` px
dropped from each (kept blocks of ``block - 2 * drop``), and the keyed within-block transforms
that are on; augmentation and N are the presets' (crop, flip, GridMask scaled to the image,
N = 4). ``FRONTIER`` are the settings of the frontier on CIFAR-10 (32 px), ``PHOTO`` those on
224-px photos (16x16 blocks, and the private preset's 8x8), ``RECOGNITION`` those of the
recognition test.
"""

from __future__ import annotations

from encrypt_tool.setting import Setting, pick

__all__ = ["FRONTIER", "PHOTO", "RECOGNITION", "RECOGNITION_SMOKE", "Setting", "pick"]


def _one(name: str, block: int, drop: int = 0, **flags: bool) -> Setting:
    return Setting(name, block=block, drop=drop, **flags)


def _all(name: str, block: int, drop: int = 0) -> Setting:
    return Setting(name, block=block, drop=drop, rotate=True, negpos=True, channel_perm=True)


FRONTIER = (
    _one("8x8", 8),  # the paper's
    _one("4x4", 4),
    _one("8x8 drop 1", 8, 1),  # 6x6 kept
    _one("8x8 drop 2", 8, 2),  # 4x4 kept
    _one("4x4 drop 1", 4, 1),  # 2x2 kept, the smallest bs-encrypt allows
    _one("8x8 rotate", 8, rotate=True),
    _one("8x8 negpos", 8, negpos=True),
    _one("8x8 channel-perm", 8, channel_perm=True),
    _all("8x8 all transforms", 8),
    _all("8x8 drop 1 + all", 8, 1),
    _all("8x8 drop 2 + all", 8, 2),
    _all("4x4 + all", 4),
    _one("16x16", 16),
    Setting("plain", block=8, scramble=False),
)

PHOTO = (
    _one("16x16", 16),  # the paper's preset at photo size
    _one("16x16 drop 1", 16, 1),
    _one("16x16 drop 2", 16, 2),
    _one("16x16 drop 4", 16, 4),
    _one("16x16 rotate", 16, rotate=True),
    _one("16x16 negpos", 16, negpos=True),
    _one("16x16 channel-perm", 16, channel_perm=True),
    _all("16x16 all transforms", 16),
    _all("16x16 drop 2 + all", 16, 2),
    _all("16x16 drop 4 + all", 16, 4),  # --preset private-v1 at this size
    _one("8x8 drop 2 + rotate", 8, 2, rotate=True),  # --preset private at this size
)

RECOGNITION = (
    _one("paper: 8x8", 8),  # --preset paper
    _one("8x8 drop 2", 8, 2),  # 4x4 kept of each 8x8 block
    _all("private-v1: 8x8 drop 2 + all", 8, 2),  # --preset private-v1
    _one("private: 4x4 drop 1 + rotate", 4, 1, rotate=True),  # --preset private at 32 px
    _one("4x4", 4),
)
# --smoke: the paper's setting and one with a border drop and 8 orientation states (seconds)
RECOGNITION_SMOKE = (RECOGNITION[0], _one("8x8 drop 2 + rotate", 8, 2, rotate=True))
