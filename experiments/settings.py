"""The settings of the privacy-accuracy frontier: block size, border drop, within-block transforms.

A setting names one way to encrypt: source blocks of ``block`` px, a border of ``drop`` px
dropped from each (kept blocks of ``block - 2 * drop``), and the keyed within-block transforms
that are on. ``SETTINGS`` are those measured on CIFAR-10 (32 px); ``PHOTO_SETTINGS`` those on
224-px photos with 16x16 blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

from encrypt_tool.defences.config import DefenceConfig

__all__ = ["PHOTO_SETTINGS", "SETTINGS", "Setting", "pick"]


@dataclass(frozen=True)
class Setting:
    """One encryption setting (``scramble=False``: the plain reference)."""

    name: str
    block: int
    drop: int = 0
    rotate: bool = False
    negpos: bool = False
    channel_perm: bool = False
    scramble: bool = True

    def defences(self) -> DefenceConfig:
        """The defences of this setting, as ``bs-encrypt dataset`` takes them."""
        return DefenceConfig(drop_border=self.drop, rotate=self.rotate, negpos=self.negpos,
                             channel_perm=self.channel_perm)

    @property
    def transforms(self) -> bool:
        """Whether a keyed within-block transform is on (a CNN cannot be invariant to it)."""
        return self.rotate or self.negpos or self.channel_perm

    @property
    def kept(self) -> int:
        """The side of the stored (kept) blocks."""
        return self.block - 2 * self.drop

    @property
    def pixels_kept(self) -> float:
        """The share of the image's pixels the file stores."""
        return (self.kept / self.block) ** 2

    def as_setting(self):
        """The same setting as :class:`encrypt_tool.setting.Setting`."""
        from encrypt_tool.setting import Setting

        return Setting(self.name, block=self.block, drop=self.drop, rotate=self.rotate,
                       negpos=self.negpos, channel_perm=self.channel_perm,
                       scramble=self.scramble)

    def options(self) -> str:
        """The ``bs-encrypt dataset`` options of this setting."""
        if not self.scramble:
            return "--no-scramble"
        opts = [f"--block-size {self.block}"]
        opts += [f"--drop-border {self.drop}"] if self.drop else []
        opts += [f"--{n.replace('_', '-')}" for n in ("rotate", "negpos", "channel_perm")
                 if getattr(self, n)]
        return " ".join(opts)


def _all(name: str, block: int, drop: int = 0) -> Setting:
    return Setting(name, block, drop, rotate=True, negpos=True, channel_perm=True)


SETTINGS = (
    Setting("8x8", 8),  # the paper's
    Setting("4x4", 4),
    Setting("8x8 drop 1", 8, 1),  # 6x6 kept
    Setting("8x8 drop 2", 8, 2),  # 4x4 kept
    Setting("4x4 drop 1", 4, 1),  # 2x2 kept, the smallest bs-encrypt allows
    Setting("8x8 rotate", 8, rotate=True),
    Setting("8x8 negpos", 8, negpos=True),
    Setting("8x8 channel-perm", 8, channel_perm=True),
    _all("8x8 all transforms", 8),
    _all("8x8 drop 1 + all", 8, 1),
    _all("8x8 drop 2 + all", 8, 2),
    _all("4x4 + all", 4),
    Setting("16x16", 16),
    Setting("plain", 8, scramble=False),
)

PHOTO_SETTINGS = (
    Setting("16x16", 16),  # the paper's preset at photo size
    Setting("16x16 drop 1", 16, 1),
    Setting("16x16 drop 2", 16, 2),
    Setting("16x16 drop 4", 16, 4),
    Setting("16x16 rotate", 16, rotate=True),
    Setting("16x16 negpos", 16, negpos=True),
    Setting("16x16 channel-perm", 16, channel_perm=True),
    _all("16x16 all transforms", 16),
    _all("16x16 drop 2 + all", 16, 2),
    _all("16x16 drop 4 + all", 16, 4),
)


def pick(settings: tuple[Setting, ...], names: list[str] | None) -> tuple[Setting, ...]:
    """The settings named (in the order given), all when ``names`` is None; ValueError naming
    an unknown one and the known ones."""
    if not names:
        return settings
    known = {s.name: s for s in settings}
    bad = [n for n in names if n not in known]
    if bad:
        raise ValueError(f"setting {bad[0]!r} is not known; use one of: "
                         f"{', '.join(known)}")
    return tuple(known[n] for n in names)
