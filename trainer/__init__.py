"""The cloud side of bs-encrypt: train and evaluate a classifier on block-scrambled images.

It reads bs-encrypt files (docs/FORMAT.md) and never imports ``keys``: it cannot decrypt, by
construction. The public API (docs/TRAINING.md, "Your own training loop"):

- ``open_images(path, split)`` -> ``EncryptedImages``, an ``IterableDataset`` of normalised
  (C, H, W) float tensors and labels, a random copy of each image per epoch (``set_epoch``),
  DataLoader workers supported;
- ``build_model(name, ...)``, the model factory, and ``MODELS``, its registry;
- ``load_model(run)``, a trained model from its checkpoint; ``load_predictor(run).predict(x)``
  and ``predict_file`` classify encrypted images with flip TTA;
- what ``bs-train`` runs: ``trainer.train.train(trainer.config.TrainConfig(...))``.

(``predict`` and ``train`` name modules of this package, so they are not names of its API.)

Importing this package is cheap: each name imports its module (and torch) on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__all__ = ["MODELS", "EncryptedImages", "Predictor", "TrainedModel", "build_model",
           "load_model", "load_predictor", "open_images", "predict_file"]

_HOME = {
    "MODELS": "trainer.registry", "EncryptedImages": "trainer.images",
    "open_images": "trainer.images", "build_model": "trainer.model",
    "TrainedModel": "trainer.trained", "load_model": "trainer.trained",
    "Predictor": "trainer.predict", "load_predictor": "trainer.predict",
    "predict_file": "trainer.predict",
}

if TYPE_CHECKING:
    from trainer.images import EncryptedImages, open_images
    from trainer.model import build_model
    from trainer.predict import Predictor, load_predictor, predict_file
    from trainer.registry import MODELS
    from trainer.trained import TrainedModel, load_model


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'trainer' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
