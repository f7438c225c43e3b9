"""ResNet-18 (He et al. 2016) built from torchvision's BasicBlock, with a width multiplier.

Small images (<= 64 px) get the CIFAR stem: one 3x3 conv, stride 1, no max-pool. Larger images
(e.g. 224 px with 16x16 blocks) get the standard ImageNet stem: 7x7 conv, stride 2, max-pool.
At width 64 this is exactly torchvision's resnet18 (with the stem adapted for small inputs);
``resnet18-narrow`` is the same network at width 16 (about 16x fewer FLOPs) for CPU demos.
``blockset`` and ``blockset-narrow`` (trainer/blockset.py) treat an image as a set of blocks and
need the block size of the data file, and may be made invariant to the within-block transforms
of a file's defences (``invariances``, trainer/invariance.py); a ResNet has none. Which names
exist, and which factory builds each, is the table of ``trainer.registry``.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock

from trainer.errors import TrainError
from trainer.registry import ModelSpec, get_model

__all__ = ["SMALL_IMAGE_MAX", "build_model", "build_resnet", "saved_bytes_per_image"]

SMALL_IMAGE_MAX = 64


def _stage(cin: int, cout: int, stride: int) -> nn.Sequential:
    down = None
    if stride != 1 or cin != cout:
        down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
    return nn.Sequential(BasicBlock(cin, cout, stride, down), BasicBlock(cout, cout))


def _stem(width: int, channels: int, image_size: int) -> list[nn.Module]:
    if image_size <= SMALL_IMAGE_MAX:
        conv = nn.Conv2d(channels, width, 3, 1, 1, bias=False)  # CIFAR stem
        return [conv, nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
    conv = nn.Conv2d(channels, width, 7, 2, 3, bias=False)  # ImageNet stem
    return [conv, nn.BatchNorm2d(width), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]


def build_model(
    name: str, n_classes: int, image_shape: tuple[int, int, int],
    block_size: tuple[int, int] | None = None, invariances: tuple[str, ...] = (),
) -> nn.Module:
    """The model ``name`` of ``trainer.registry`` for (H, W, C) images and ``n_classes``
    outputs; input (B, C, H, W) float. ``block_size`` (bh, bw), from the data file, is needed
    by the block-set models; ``invariances`` (block-set models only) names the within-block
    transforms to ignore."""
    spec = get_model(name)
    if invariances and not spec.block_set:
        raise TrainError(f"model {name!r} has no within-block invariances (asked for "
                         f"{', '.join(invariances)}); use a block-set model or --invariance none")
    return spec.builder()(spec, n_classes, tuple(image_shape), block_size, tuple(invariances))


def build_resnet(spec: ModelSpec, n_classes: int, image_shape: tuple[int, int, int],
                 block_size: tuple[int, int] | None = None, invariances: tuple[str, ...] = ()
                 ) -> nn.Sequential:
    """ResNet-18 at the base width ``spec.sizes["width"]`` (the block size plays no part)."""
    width = int(spec.sizes["width"])
    h, w, c = image_shape
    widths = [width, 2 * width, 4 * width, 8 * width]
    layers = _stem(width, c, min(h, w))
    cin = width
    for i, cout in enumerate(widths):
        layers.append(_stage(cin, cout, 1 if i == 0 else 2))
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, n_classes)]
    model = nn.Sequential(*layers)
    for m in model.modules():  # torchvision's initialisation
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def saved_bytes_per_image(
    name: str, n_classes: int, image_shape: tuple[int, int, int],
    block_size: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """(bytes that autograd keeps for the backward pass per training image, parameter count) of
    the named model in float32, from a forward pass on the meta device (no memory, no compute)."""
    with torch.device("meta"):
        model = build_model(name, n_classes, image_shape, block_size)
        x = torch.empty(2, image_shape[2], image_shape[0], image_shape[1])  # (2, C, H, W)
    saved: list[int] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved.append(t.numel() * t.element_size())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    return sum(saved) // 2, sum(p.numel() for p in model.parameters())
