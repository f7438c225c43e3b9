"""The one exception the trainer raises for bad input (the CLI prints it without a traceback)."""

from __future__ import annotations

__all__ = ["TrainError"]


class TrainError(ValueError):
    """Bad input to the trainer: incompatible files, an empty split, a wrong resume, ..."""
