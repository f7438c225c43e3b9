"""The grid of the frontier search: block size, border drop, transforms, N, GridMask.

Every point is an :class:`~encrypt_tool.setting.Setting` named by its parts, for example
``8x8-d2-all-n4-gm`` (8x8 blocks, a 2-px border dropped, all three transforms, N = 4 copies,
GridMask on). Points that cannot be encrypted (a border that leaves less than a 2x2 block, a
quarter of the side that is another listed drop) are left out, not refused.
"""

from __future__ import annotations

from dataclasses import replace

from encrypt_tool.setting import SCALED_AUGMENT, Setting

__all__ = ["BLOCKS", "PRIORITY", "TRANSFORMS", "grid", "named", "order"]

# block sides per image side: 4 and 8 at 32 px; 8, 16 and 32 at 224 px
BLOCKS = {32: (4, 8), 224: (8, 16, 32)}
DROPS = (0, 1, 2, "quarter")
# name -> (rotate, negpos, channel_perm)
TRANSFORMS = {
    "none": (False, False, False),
    "rot": (True, False, False),
    "rot+neg": (True, True, False),
    "rot+ch": (True, False, True),
    "all": (True, True, True),
}
COPIES = (4, 1)
GRIDMASK = (True, False)
MIN_KEPT = 2  # the smallest kept block side bs-encrypt stores

# measured first (CIFAR-10): the current private preset, then the candidates its table points to
PRIORITY = {
    32: ("8x8-d2-all-n4-gm", "4x4-d1-none-n4-gm", "4x4-d1-rot-n4-gm", "8x8-d1-rot-n4-gm",
         "8x8-d2-rot-n4-gm", "4x4-d0-rot-n4-gm", "4x4-d1-rot-n1-gm", "4x4-d1-none-n1-gm"),
    224: ("16x16-d4-all-n4-gm", "16x16-d4-rot-n4-gm", "8x8-d2-rot-n4-gm", "16x16-d2-rot-n4-gm"),
}


def _name(block: int, drop: int, t: str, n: int, gm: bool) -> str:
    return f"{block}x{block}-d{drop}-{t}-n{n}-{'gm' if gm else 'nogm'}"


def grid(size: int) -> tuple[Setting, ...]:
    """Every valid point of the grid for square images of ``size`` px (32 or 224), in a fixed
    order. ValueError for another size."""
    if size not in BLOCKS:
        raise ValueError(f"image size {size} px has no grid; the search knows "
                         f"{', '.join(f'{s} px' for s in BLOCKS)}")
    out = []
    for block in BLOCKS[size]:
        drops = sorted({block // 4 if d == "quarter" else d for d in DROPS})
        for drop in (d for d in drops if block - 2 * d >= MIN_KEPT):
            for t, (rot, neg, ch) in TRANSFORMS.items():
                for n in COPIES:
                    for gm in GRIDMASK:
                        aug = SCALED_AUGMENT if gm else replace(SCALED_AUGMENT, gridmask=False)
                        out.append(Setting(_name(block, drop, t, n, gm), block=block, drop=drop,
                                           rotate=rot, negpos=neg, channel_perm=ch,
                                           augment=aug, n_copies=n))
    return tuple(out)


def named(size: int, names: list[str] | None) -> tuple[Setting, ...]:
    """The grid's settings named (in the order given), the whole grid in :func:`order` when
    ``names`` is empty. ValueError naming an unknown one and the form of a name."""
    settings = grid(size)
    if not names:
        return order(settings, size)
    known = {s.name: s for s in settings}
    bad = [n for n in names if n not in known]
    if bad:
        raise ValueError(f"--setting {bad[0]!r} is not in the {size}-px grid; a name is "
                         f"BxB-dD-T-nN-gm|nogm with T one of {', '.join(TRANSFORMS)}, for "
                         f"example {settings[0].name} or {PRIORITY[size][0]}")
    return tuple(known[n] for n in names)


def order(settings: tuple[Setting, ...], size: int) -> tuple[Setting, ...]:
    """The priority settings first (in their order), then the others as the grid lists them."""
    first = [n for n in PRIORITY.get(size, ()) if any(s.name == n for s in settings)]
    rank = {n: i for i, n in enumerate(first)}
    return tuple(sorted(settings, key=lambda s: rank.get(s.name, len(rank))))
