"""One encryption setting: block size, border drop, within-block transforms, augmentation, N,
storage. The one type behind the presets, ``bs-encrypt dataset``'s options and every experiment.

A setting may leave two choices to the image size: ``block="auto"`` takes the block side of
``blocks`` for the images' shorter side, and ``drop="quarter"`` drops a quarter of the block
side. ``resolve(image_shape)`` makes both concrete (and says which sizes work when none does);
everything that encrypts works on resolved settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from encrypt_tool.augment import AugmentConfig
from encrypt_tool.defences import DefenceConfig
from encrypt_tool.pipeline import DatasetConfig

__all__ = ["SCALED_AUGMENT", "Setting", "pick"]

SCALED_AUGMENT = AugmentConfig(pad=None, gridmask_d=None)  # crop, flip, GridMask, sizes scaled
_FLAGS = ("rotate", "negpos", "channel_perm")


def _block(value) -> tuple[int, int] | Literal["auto"]:
    if value == "auto":
        return "auto"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value), int(value)
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return value
    raise ValueError(f"block {value!r} is not valid; give a side in px, (height, width) or "
                     f"'auto'")


@dataclass(frozen=True)
class Setting:
    """How to encrypt: the parts of ``bs-encrypt dataset`` that decide what the cloud sees.

    ``blocks``: for ``block="auto"``, (largest shorter side, block side) pairs in ascending
    order; the first pair whose side is at least the image's shorter side applies.
    ``augment`` None: no crop, flip or GridMask; ``n_copies``: N encrypted copies per training
    image; ``scramble`` False: the same pipeline without scrambling (a plain reference).
    """

    name: str = "custom"
    block: tuple[int, int] | Literal["auto"] = (8, 8)
    blocks: tuple[tuple[int, int], ...] = ()
    drop: int | Literal["quarter"] = 0
    rotate: bool = False
    negpos: bool = False
    channel_perm: bool = False
    augment: AugmentConfig | None = field(default=SCALED_AUGMENT)
    test_augment: bool = True
    n_copies: int = 4
    store: str = "raw"
    scramble: bool = True
    label: str = ""  # a caption for tables and charts; the name when empty

    def __post_init__(self) -> None:
        object.__setattr__(self, "block", _block(self.block))
        if self.block == "auto" and not self.blocks:
            raise ValueError(f"setting {self.name!r}: block 'auto' needs the blocks per image "
                             f"size")
        if self.drop != "quarter" and (isinstance(self.drop, bool)
                                       or not isinstance(self.drop, int) or self.drop < 0):
            raise ValueError(f"--drop-border {self.drop} is not valid; it must be 0 or more px "
                             f"(or a quarter of the block side, as --preset private drops)")
        for name in _FLAGS:
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} {getattr(self, name)!r} must be true or false")
        if self.n_copies < 1:
            raise ValueError(f"--n-keys {self.n_copies} is not valid; it must be at least 1")
        if (self.transforms or self.drop) and not self.scramble:
            raise ValueError("--drop-border, --rotate, --negpos and --channel-perm are keyed "
                             "like the scrambling; leave out --no-scramble to use them")

    # -- what it is -------------------------------------------------------------------------

    @property
    def caption(self) -> str:
        """The label, or the name when there is none."""
        return self.label or self.name

    @property
    def transforms(self) -> bool:
        """Whether a keyed within-block transform is on (a CNN cannot be invariant to it)."""
        return self.rotate or self.negpos or self.channel_perm

    @property
    def resolved(self) -> bool:
        """Whether block and border are in pixels."""
        return self.block != "auto" and self.drop != "quarter"

    @property
    def kept(self) -> tuple[int, int]:
        """The stored block (bh - 2d, bw - 2d) of a resolved setting."""
        bh, bw = self._concrete().block
        d = self._concrete().drop
        return bh - 2 * d, bw - 2 * d

    @property
    def pixels_kept(self) -> float:
        """The share of the image's pixels the file stores (resolved settings)."""
        (kh, kw), (bh, bw) = self.kept, self._concrete().block
        return kh * kw / (bh * bw)

    def _concrete(self) -> Setting:
        if not self.resolved:
            raise ValueError(f"setting {self.name!r} chooses its block or border by image size; "
                             f"resolve it for an image size first")
        return self

    def sizes(self) -> str:
        """In words, the image sizes an 'auto' block fits."""
        out, low = [], 1
        for side, b in self.blocks:
            top = "" if side >= 10**6 else f" up to {side} px"
            out.append(f"multiples of {b} px{top}" if low == 1 else
                       f"multiples of {b} px from {low} px{top}")
            low = side + 1
        return "; ".join(out)

    def resolve(self, image_shape: tuple[int, ...]) -> Setting:
        """This setting for (H, W, ...) images: block and border in pixels. ValueError naming
        the sizes that work when no block of an 'auto' setting divides the images."""
        H, W = int(image_shape[0]), int(image_shape[1])
        block = self.block
        if block == "auto":
            side = min(H, W)
            b = next((b for top, b in self.blocks if side <= top), self.blocks[-1][1])
            if H % b or W % b:
                raise ValueError(f"--preset {self.name} has no block size for {H}x{W} images; "
                                 f"it takes {self.sizes()}")
            block = (b, b)
        drop = min(block) // 4 if self.drop == "quarter" else self.drop
        if self.drop == "quarter" and drop < 1:
            raise ValueError(f"--preset {self.name} drops a quarter of each block side; blocks "
                             f"of {block[0]}x{block[1]} leave no border to drop: use "
                             f"--block-size 4 or more")
        return replace(self, block=block, drop=drop)

    def defences(self) -> DefenceConfig:
        """The defences of a resolved setting, as ``bs-encrypt dataset`` takes them."""
        c = self._concrete()
        return DefenceConfig(drop_border=c.drop, rotate=c.rotate, negpos=c.negpos,
                             channel_perm=c.channel_perm)

    # -- how to produce it -------------------------------------------------------------------

    def options(self) -> str:
        """The ``bs-encrypt dataset`` options that give this setting (beside the defaults)."""
        if not self.scramble:
            opts = ["--no-scramble"]
        elif self.block == "auto":
            opts = [f"--preset {self.name}"]
            return " ".join(opts + self._common_options())
        else:
            bh, bw = self.block
            opts = [f"--block-size {bh}" if bh == bw else f"--block-size {bh}x{bw}"]
            if self.drop:
                opts.append(f"--drop-border {self.drop}")
            opts += [f"--{n.replace('_', '-')}" for n in _FLAGS if getattr(self, n)]
        return " ".join(opts + self._common_options())

    def _common_options(self) -> list[str]:
        opts = []
        a, d = self.augment, SCALED_AUGMENT
        if a is None:
            opts.append("--no-augment")
        else:
            if a.pad_mode != d.pad_mode:
                opts.append(f"--pad-mode {a.pad_mode}")
            if a.pad != d.pad:
                opts.append(f"--pad {a.pad}")
            if not a.gridmask:
                opts.append("--no-gridmask")
            if a.gridmask_d != d.gridmask_d and a.gridmask:
                opts.append(f"--gridmask-d {a.gridmask_d[0]}-{a.gridmask_d[1]}")
            if a.gridmask_ratio != d.gridmask_ratio and a.gridmask:
                opts.append(f"--gridmask-ratio {a.gridmask_ratio}")
            if a.gridmask_prob != d.gridmask_prob and a.gridmask:
                opts.append(f"--gridmask-prob {a.gridmask_prob}")
        if not self.test_augment:
            opts.append("--no-test-augment")
        if self.n_copies != 4:
            opts.append(f"--n-keys {self.n_copies}")
        if self.store != "raw":
            opts.append(f"--store {self.store}")
        return opts

    def dataset_config(self, out: str, source: str, **run) -> DatasetConfig:
        """The ``bs-encrypt dataset`` run of this setting on ``source`` into ``out``; ``run``:
        the other fields of :class:`~encrypt_tool.pipeline.DatasetConfig` (seed, jobs, ...)."""
        return DatasetConfig(out=out, setting=self, source=source, **run)

    # -- in memory, with the truth -----------------------------------------------------------

    def simulate(self, images: np.ndarray, seed: int = 0
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Encrypt ``images`` (M, H, W, C) uint8 into N training copies each, in memory, with
        random permutations and block states from a seeded generator (no key).

        Returns (plain, enc, perms): plain (M, N, H', W', C) the augmented copies cut down to
        the stored blocks in plain order, enc (M, N, H', W', C) as a file stores them and
        perms (M, N, n) int64 (stored block k is plain block perms[m, s, k]).
        """
        from encrypt_tool.augment import apply_augment, sample_augment
        from encrypt_tool.defences import defend
        from encrypt_tool.defences.blocks import interiors
        from encrypt_tool.scramble import block_grid, scramble

        if images.ndim != 4 or images.dtype != np.uint8:
            raise ValueError(f"images must be (M, H, W, C) uint8, got {images.shape} "
                             f"{images.dtype}")
        s = self.resolve(images.shape[1:])
        rng = np.random.default_rng(seed)
        M = len(images)
        gy, gx = block_grid(images.shape[1:3], s.block)
        aug = s.augment.resolve(images.shape[1:]) if s.augment is not None else None
        defences = s.defences().resolve(s.block, images.shape[1:])
        plain, enc, perms = [], [], []
        for _ in range(s.n_copies):
            x = images if aug is None else apply_augment(images, sample_augment(rng, M, aug), aug)
            perm = rng.permuted(np.tile(np.arange(gy * gx), (M, 1)), axis=1)  # (M, n)
            if defences.active:
                states = (rng.integers(0, 8, (M, gy * gx)), rng.integers(0, 2, (M, gy * gx)),
                          rng.integers(0, 6, (M, gy * gx)))
                enc.append(defend(x, perm, states, defences))
            else:
                enc.append(scramble(x, perm, s.block))
            plain.append(interiors(x, s.block, s.drop))
            perms.append(perm)
        return np.stack(plain, 1), np.stack(enc, 1), np.stack(perms, 1)


def pick(settings: tuple[Setting, ...], names: list[str] | None) -> tuple[Setting, ...]:
    """The settings named (in the order given), all when ``names`` is empty; ValueError naming
    an unknown one and the known ones."""
    if not names:
        return tuple(settings)
    known = {s.name: s for s in settings}
    bad = [n for n in names if n not in known]
    if bad:
        raise ValueError(f"setting {bad[0]!r} is not known; use one of: {', '.join(known)}")
    return tuple(known[n] for n in names)
