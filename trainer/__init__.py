"""The cloud side of bs-encrypt: train and evaluate a classifier on block-scrambled images.

It reads bs-encrypt files (docs/FORMAT.md) and never imports ``keys``: it cannot decrypt, by
construction. Entry points: ``trainer.train.train(TrainConfig)`` and the ``bs-train`` command.
Importing this package is cheap; the submodules import torch where they are used.
"""

__all__: list[str] = []
