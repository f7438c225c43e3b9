"""A rough start-up estimate of a run's training time, to warn before days of CPU work.

The rates are training images/s at batch 128 on 32x32 images, measured by
``bench/bench_train.py`` on a 2-core AMD EPYC (no GPU; see the README's benchmark table). Other
machines differ; the estimate only has to tell minutes from days. Costs scale with the pixels
the network sees after its stem (large images get a stride-4 stem, small ones none).
"""

from __future__ import annotations

__all__ = ["LONG_RUN_S", "estimate_seconds", "long_run_warning"]

# images/s on 32x32 inputs, 2 CPU threads (bench/bench_train.py); the block-set models from
# their measured speed relative to resnet18-narrow (0.59x for blockset at 8x8 blocks, 0.51x for
# blockset-narrow at 4x4 blocks, its slowest common case)
CPU_RATE_2_THREADS = {"resnet18": 52.0, "resnet18-narrow": 594.0, "blockset": 350.0,
                      "blockset-narrow": 300.0}
# images/s on 32x32 inputs on one current data-centre GPU (the trainer's design target, not
# a measurement): only there to keep the GPU estimate on the right order of magnitude
GPU_RATE = {"resnet18": 21000.0, "resnet18-narrow": 60000.0, "blockset": 60000.0,
            "blockset-narrow": 60000.0}
LONG_RUN_S = 2 * 3600.0


def _pixel_factor(image_hw: tuple[int, int]) -> float:
    h, w = image_hw
    stem = 1 if max(h, w) <= 64 else 16  # the ImageNet stem divides the pixels by 16
    return h * w / (32 * 32) / stem


def estimate_seconds(model: str, device_type: str, n_images: int, epochs: int,
                     image_hw: tuple[int, int] = (32, 32), threads: int = 2) -> float:
    """Seconds of training for ``epochs`` epochs of ``n_images`` (evaluation not counted)."""
    if device_type == "cuda":
        rate = GPU_RATE[model]
    else:
        rate = CPU_RATE_2_THREADS[model] * min(max(threads, 1), 64) / 2
    return epochs * n_images * _pixel_factor(image_hw) / rate


def _duration(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 60:.0f} minutes"


def long_run_warning(model: str, device_type: str, n_images: int, epochs: int,
                     image_hw: tuple[int, int] = (32, 32), threads: int = 2) -> str | None:
    """One warning line when the run looks longer than ``LONG_RUN_S``, else None."""
    s = estimate_seconds(model, device_type, n_images, epochs, image_hw, threads)
    if s < LONG_RUN_S:
        return None
    where = "GPU" if device_type == "cuda" else f"CPU with {threads} thread{'s' * (threads != 1)}"
    hint = ""
    if device_type != "cuda":
        hint = "; for a CPU-sized run try --model resnet18-narrow --epochs 10" + (
            " --limit-train 10000" if n_images > 10000 else "")
    return (f"warning: {epochs} epoch{'' if epochs == 1 else 's'} of {model} on {n_images:,} "
            f"images may take about {_duration(s)} on this {where} (a rough estimate){hint}")
