"""Learned attacks: networks trained on plain images of the same kind as the audited ones.

The attacker is given plain images like the owner's (a disjoint part of the owner's own images,
the standard worst case, or a public folder), encrypts them itself with the file's public
settings, and learns what the hand-made costs guess: which piece continues which across the
dropped border, in which relative state (:mod:`.pairs`), and which state a block was stored in
(:mod:`.states`). Everything here needs PyTorch (the ``learned`` extra); :func:`require_torch`
says so in one line. Models are cached beside the report (:mod:`.cache`), never in a data file.
"""

from __future__ import annotations

__all__ = ["EXTRA", "require_torch", "torch_available"]

EXTRA = "pip install 'bs-encrypt[learned]'"


def torch_available() -> bool:
    """Whether PyTorch can be imported (without importing it)."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def require_torch(what: str) -> None:
    """ValueError naming what needs PyTorch and how to install it, when it is missing."""
    if not torch_available():
        raise ValueError(f"{what} needs PyTorch, which is not installed: {EXTRA} (or leave "
                         f"the learned attacks out with --attacks)")
