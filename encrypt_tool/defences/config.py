"""Which defences a file has: the validated settings, recorded as the root attribute
``defences`` (JSON; absent or ``{}`` means none)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

from encrypt_tool.defences.border import check_border, kept_block

__all__ = ["DefenceConfig"]

_FLAGS = ("rotate", "negpos", "channel_perm")


@dataclass(frozen=True)
class DefenceConfig:
    """Border drop (px, 0 = off) and the keyed within-block transforms, each on or off.

    ``source_block_size`` and ``source_image_shape`` are the blocks and images before the
    border drop; ``resolve`` fills them in for a run.
    """

    drop_border: int = 0
    rotate: bool = False
    negpos: bool = False
    channel_perm: bool = False
    source_block_size: tuple[int, int] | None = None
    source_image_shape: tuple[int, int, int] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.drop_border, bool) or not isinstance(self.drop_border, int):
            raise ValueError(f"drop_border {self.drop_border!r} is not valid; it must be a whole "
                             f"number of px")
        if self.drop_border < 0:
            raise ValueError(f"--drop-border {self.drop_border} is not valid; it must be 0 or "
                             f"more px")
        for name in _FLAGS:
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"defence {name} {getattr(self, name)!r} must be true or false")
        if self.source_block_size is not None:
            self.check_block(self.source_block_size)

    @property
    def active(self) -> bool:
        """Whether any defence is on."""
        return self.drop_border > 0 or self.rotate or self.negpos or self.channel_perm

    @property
    def transforms(self) -> bool:
        """Whether any keyed within-block transform is on (they need per-block states)."""
        return self.rotate or self.negpos or self.channel_perm

    def check_block(self, block: tuple[int, int]) -> None:
        """ValueError when the defences cannot apply to (bh, bw) blocks."""
        check_border(block, self.drop_border)
        kh, kw = kept_block(block, self.drop_border)
        if self.rotate and kh != kw:
            kept = f" ({kh}x{kw} kept after --drop-border {self.drop_border})" \
                if self.drop_border else ""
            raise ValueError(f"--rotate needs square blocks; the {block[0]}x{block[1]} blocks"
                             f"{kept} are not square: use a block size like 8 or 16, or leave "
                             f"--rotate out")

    def check_channels(self, channels: int) -> None:
        """ValueError when the defences cannot apply to images of ``channels`` channels."""
        if self.channel_perm and channels != 3:
            raise ValueError(f"--channel-perm needs 3 colour channels; these images have "
                             f"{channels}: leave --channel-perm out (or use --channels rgb)")

    def resolve(self, block: tuple[int, int], image_shape: tuple[int, ...]) -> DefenceConfig:
        """These settings for a run on (H, W, C) images in (bh, bw) blocks, checked."""
        self.check_block(block)
        self.check_channels(int(image_shape[2]))
        return replace(self, source_block_size=(int(block[0]), int(block[1])),
                       source_image_shape=tuple(int(v) for v in image_shape))

    def kept_block(self, block: tuple[int, int] | None = None) -> tuple[int, int]:
        """The stored block size: (bh-2d, bw-2d)."""
        return kept_block(block or self._source("source_block_size"), self.drop_border)

    def kept_image_shape(self) -> tuple[int, int, int]:
        """The stored image shape: (gy*(bh-2d), gx*(bw-2d), C)."""
        h, w, c = self._source("source_image_shape")
        bh, bw = self._source("source_block_size")
        kh, kw = self.kept_block()
        return (h // bh) * kh, (w // bw) * kw, c

    def _source(self, name: str):
        value = getattr(self, name)
        if value is None:
            raise ValueError(f"defence settings lack {name}; resolve them for a run first")
        return value

    def to_json(self) -> str:
        """The ``defences`` attribute: ``{}`` when none is on."""
        if not self.active:
            return "{}"
        d = asdict(self)
        for name in ("source_block_size", "source_image_shape"):
            d[name] = list(self._source(name))
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes | None) -> DefenceConfig:
        """Settings from a ``defences`` attribute (absent, empty or ``{}``: none)."""
        if isinstance(text, bytes):
            text = text.decode()
        try:
            raw = json.loads(text) if text else {}
        except ValueError as e:
            raise ValueError(f"defences {text!r} are not understood: {e}") from None
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: dict | None) -> DefenceConfig:
        """Settings from a parsed ``defences`` attribute (``FileInfo.defences``)."""
        try:
            if raw is None:
                raw = {}
            if not isinstance(raw, dict):
                raise TypeError("not a JSON object")
            raw = dict(raw)
            for name in ("source_block_size", "source_image_shape"):
                if raw.get(name) is not None:
                    raw[name] = tuple(int(v) for v in raw[name])
            return cls(**raw)
        except (TypeError, ValueError) as e:
            raise ValueError(f"defences {raw!r} are not understood: {e}") from None

    def describe(self) -> str:
        """One line for people: ``none`` or what is on."""
        if not self.active:
            return "none"
        parts = []
        if self.drop_border:
            b = self.source_block_size
            kept = f" ({b[0]}x{b[1]} blocks keep {self.kept_block()[0]}x" \
                   f"{self.kept_block()[1]})" if b else ""
            parts.append(f"border drop {self.drop_border} px{kept}")
        names = {"rotate": "rotation and flip", "negpos": "negative-positive",
                 "channel_perm": "channel permutation"}
        parts += [names[k] for k in _FLAGS if getattr(self, k)]
        return ", ".join(parts) + "; keyed per block, image and copy"
