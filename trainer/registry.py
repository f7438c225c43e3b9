"""The models the trainer knows, in one table: name -> factory, kind, sizes and speed.

Everything that names a model reads this table: ``bs-train``'s option check (no torch needed:
this module imports none), ``trainer.model.build_model``, the recipe that ``--recipe auto``
picks, the invariance check and the start-up time estimate. Adding a model is one entry here
and its factory, a function ``f(spec, n_classes, image_shape, block_size, invariances)``.

Speed: ``cpu_rate`` is training images/s at batch 128 on 32x32 images with 2 CPU threads,
measured by ``bench/bench_train.py`` on a 2-core AMD EPYC (the README's benchmark table); the
block-set models' rates come from their measured speed relative to resnet18-narrow (0.59x for
blockset at 8x8 blocks, 0.51x for blockset-narrow at 4x4 blocks, its slowest common case).
``gpu_rate`` is the design target on one current data-centre GPU, not a measurement: it only
keeps the GPU estimate on the right order of magnitude.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from trainer.errors import TrainError

__all__ = ["MODELS", "MODEL_NAMES", "ModelSpec", "get_model"]


@dataclass(frozen=True)
class ModelSpec:
    """One model: how to build it, what kind it is, how fast it trains."""

    name: str
    factory: str  # "module:function", imported only when a model is built
    sizes: Mapping[str, int] = field(default_factory=dict)  # the factory's size parameters
    block_set: bool = False  # a set of blocks: needs the block size, may take invariances
    cpu_rate: float = 0.0  # training images/s, 32x32, batch 128, 2 CPU threads
    gpu_rate: float = 0.0  # training images/s, 32x32, one data-centre GPU (a target)
    summary: str = ""

    @property
    def recipe(self) -> str:
        """The recipe that ``--recipe auto`` picks for this model."""
        return "adamw" if self.block_set else "onecycle"

    def builder(self) -> Callable:
        """The factory function (this imports torch)."""
        module, _, name = self.factory.partition(":")
        return getattr(importlib.import_module(module), name)


def _table(*specs: ModelSpec) -> Mapping[str, ModelSpec]:
    return MappingProxyType({s.name: s for s in specs})


MODELS: Mapping[str, ModelSpec] = _table(
    ModelSpec("resnet18", "trainer.model:build_resnet", {"width": 64},
              cpu_rate=52.0, gpu_rate=21000.0, summary="ResNet-18 (He et al. 2016)"),
    ModelSpec("resnet18-narrow", "trainer.model:build_resnet", {"width": 16},
              cpu_rate=594.0, gpu_rate=60000.0, summary="ResNet-18 at width 16, for CPUs"),
    ModelSpec("blockset", "trainer.blockset:build_blockset",
              {"stem": 64, "dim": 256, "depth": 6, "heads": 8, "mlp": 2}, block_set=True,
              cpu_rate=350.0, gpu_rate=60000.0,
              summary="a set-of-blocks model, invariant to the block order"),
    ModelSpec("blockset-narrow", "trainer.blockset:build_blockset",
              {"stem": 32, "dim": 128, "depth": 4, "heads": 4, "mlp": 2}, block_set=True,
              cpu_rate=300.0, gpu_rate=60000.0, summary="the block-set model, narrower"),
)
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)


def get_model(name: str) -> ModelSpec:
    """The entry of model ``name``; TrainError naming the known models otherwise."""
    if name not in MODELS:
        raise TrainError(f"model {name!r} is not known; choose one of {', '.join(MODEL_NAMES)}")
    return MODELS[name]
