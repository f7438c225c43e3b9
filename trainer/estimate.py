"""Start-up estimates of a run: its training time (to warn before days of CPU work) and its
peak memory (to refuse a run that cannot fit, before anything is loaded or written).

Time: the rates are each model's training images/s at batch 128 on 32x32 images, from the model
registry (``trainer.registry``: measured on a 2-core AMD EPYC for the CPU, a target for the
GPU). Other machines differ; the estimate only has to tell minutes from days. Costs scale with
the pixels the network sees after its stem (large images get a stride-4 stem, small ones none).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from trainer.errors import TrainError
from trainer.registry import get_model

__all__ = ["LONG_RUN_S", "MemoryEstimate", "available_memory", "check_memory",
           "estimate_seconds", "long_run_warning", "peak_memory", "resident_memory"]

LONG_RUN_S = 2 * 3600.0


def _pixel_factor(image_hw: tuple[int, int]) -> float:
    h, w = image_hw
    stem = 1 if max(h, w) <= 64 else 16  # the ImageNet stem divides the pixels by 16
    return h * w / (32 * 32) / stem


def estimate_seconds(model: str, device_type: str, n_images: int, epochs: int,
                     image_hw: tuple[int, int] = (32, 32), threads: int = 2) -> float:
    """Seconds of training for ``epochs`` epochs of ``n_images`` (evaluation not counted)."""
    spec = get_model(model)
    if device_type == "cuda":
        rate = spec.gpu_rate
    else:
        rate = spec.cpu_rate * min(max(threads, 1), 64) / 2
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


# --- peak memory ------------------------------------------------------------------------------
# Peak = the process as it is at start-up (interpreter, torch, h5py: its resident size then) +
# the data held in memory as uint8 + the model (weights, gradients, optimiser slots and the
# checkpoint's serialised copy) + ACTIVATION_FACTOR x the tensors autograd saves for one batch
# (``model.saved_bytes_per_image``) + WORKSPACE (the allocator, oneDNN scratch, evaluation).
# Calibrated with /usr/bin/time -v on bs-train, 1 epoch, CPU, 2 threads, torch 2.14 with its
# CUDA libraries (resident size at the estimate: 835 MiB), peak RSS measured vs estimated:
# resnet18-narrow 32 px, batch 8 / 128: 1026 / 1154 MiB vs 1076 / 1448 MiB; blockset-narrow
# 224 px, 16x16 blocks, batch 8 / 32 / 64 / 128: 1426 / 1600 / 2018 / 2803 MiB vs
# 1224 / 1629 / 2165 / 3277 MiB
# (from batch 32 to 64 the peak grew 15.8 MiB per image; the saved tensors count 16.8).
BASE_MEMORY = 1024 * 2**20  # when the resident size cannot be read
ACTIVATION_FACTOR = 1.0
WORKSPACE = 200 * 2**20
STREAM_CHUNK, STREAM_WINDOW = 512, 16  # trainer.stream.ShardStream's buffer
WARN_FRACTION = 0.8


def resident_memory() -> int:
    """This process's resident size now (``BASE_MEMORY`` where /proc cannot tell)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return BASE_MEMORY


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes at the peak of a training step, by part (``activations`` with the workspace)."""

    data: int
    model: int
    activations: int
    batch: int
    base: int = BASE_MEMORY  # the process before the run: interpreter, torch, ...

    @property
    def device(self) -> int:
        """What lives on the training device (all but the interpreter)."""
        return self.data + self.model + self.activations

    @property
    def total(self) -> int:
        return self.base + self.device


def human(n: float) -> str:
    """Bytes as a short string: 1.2 GiB, 340 MiB."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def peak_memory(splits: list[tuple[int, int, int, str]], params: int, optimizer_slots: int,
                batch: int, saved_per_image: int, workers: int = 0,
                base: int = BASE_MEMORY) -> MemoryEstimate:
    """The estimate for splits given as (images, copies, bytes per image, ``memory``|``stream``),
    a model of ``params`` float32 parameters with ``optimizer_slots`` per parameter (SGD
    momentum 1, AdamW 2), and batches of ``batch`` images."""
    data = 0
    for n, copies, image_bytes, mode in splits:
        if mode == "memory":
            data += n * copies * image_bytes
        else:  # the shuffle buffer and one chunk of all copies, per reading process
            buffer = min(n, STREAM_CHUNK * STREAM_WINDOW) + min(n, STREAM_CHUNK) * copies
            data += buffer * image_bytes * max(1, workers) + workers * BASE_MEMORY
    model = params * 4 * (3 + 2 * optimizer_slots)
    activations = int(batch * saved_per_image * ACTIVATION_FACTOR) + WORKSPACE
    return MemoryEstimate(data, model, activations, batch, base)


def available_memory() -> int | None:
    """Bytes this process may still use: MemAvailable, capped by a cgroup v2 limit (None when
    neither can be read)."""
    avail = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            room = int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text())
            avail = room if avail is None else min(avail, room)
    except (OSError, ValueError):
        pass
    return avail


def check_memory(est: MemoryEstimate, device_type: str = "cpu",
                 available: int | None = None) -> tuple[str, str | None]:
    """(the start-up line, a warning line or None); TrainError when the estimate exceeds the
    ``available`` bytes (of the GPU for ``cuda``, else of this machine; default: measured)."""
    gpu = device_type == "cuda"
    need = est.device if gpu else est.total
    where = "GPU memory" if gpu else "memory"
    if available is None and not gpu:
        available = available_memory()
    parts = (f"data {human(est.data)}, model {human(est.model)}, activations of a batch of "
             f"{est.batch} {human(est.activations)}" + ("" if gpu else
                                                        f", the process {human(est.base)}"))
    line = f"{where}: about {human(need)} at peak ({parts})"
    if available is None:
        return line, None
    line += f"; {human(available)} available"
    if need > available:
        raise TrainError(f"this run needs about {human(need)} of {where} at peak ({parts}), but "
                         f"{human(available)} is available; use a smaller --batch-size, "
                         f"--data stream, or --limit-train")
    if need > WARN_FRACTION * available:
        return line, (f"warning: the run may use about {human(need)} of the {human(available)} "
                      f"of {where} available; other programs may make it fail")
    return line, None
