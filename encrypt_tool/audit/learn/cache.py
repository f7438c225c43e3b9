"""Trained attack models cached beside the report: ``<report>/models/<attack>.pt``.

A model is tied to what it was trained for (:class:`ModelFor`: kind, kept block, gap,
transforms, channels); a cached one for anything else is refused in one line rather than used.
The cache holds weights and figures only, never an image or key material.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["ModelFor", "load", "save"]


@dataclass(frozen=True)
class ModelFor:
    """What a learned model was trained for."""

    kind: str  # pairs | states
    block: int  # kept block side
    gap: int  # px between kept neighbours
    rotate: bool
    negpos: bool
    channel_perm: bool
    channels: int

    def describe(self) -> str:
        t = [n for n in ("rotate", "negpos", "channel_perm") if getattr(self, n)] or ["none"]
        return (f"{self.kind} model for {self.block}x{self.block} kept blocks, a {self.gap}-px "
                f"gap, transforms {'+'.join(t)}, {self.channels} channel(s)")


def load(path: Path, want: ModelFor, build):
    """The model cached at ``path`` (None when there is none): ``build(meta)`` makes the empty
    network. ValueError when it was trained for something else."""
    if not path.is_file():
        return None
    import torch

    blob = torch.load(path, map_location="cpu", weights_only=True)
    meta = json.loads(blob["meta"])
    have = ModelFor(**meta["for"])
    if have != want:
        raise ValueError(f"the cached {path} is a {have.describe()}, but this file needs a "
                         f"{want.describe()}; give another --out or --retrain-attacks")
    model = build(meta)
    model.load_state_dict(blob["state"])
    model.eval()
    return model, meta["figures"]


def save(path: Path, model, want: ModelFor, figures: dict) -> Path:
    """Cache ``model`` at ``path`` (atomically: a reader sees the whole file or none)."""
    import torch

    from bsformat.files import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    meta = json.dumps({"for": asdict(want), "figures": figures})
    with atomic_write(path) as f:
        torch.save({"state": model.state_dict(), "meta": meta}, f)
    return path
