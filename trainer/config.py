"""The one typed configuration of a training run (``bs-train`` builds it from its options)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from trainer.errors import TrainError
from trainer.model import MODELS
from trainer.recipe import RECIPES

__all__ = ["RESULT_FIELDS", "TrainConfig", "format_config"]

# The fields that change the result: a resumed run must agree with its checkpoint on these.
RESULT_FIELDS = (
    "epochs", "batch_size", "recipe", "lr", "seed", "model", "limit_train", "normalize",
)


@dataclass
class TrainConfig:
    """Everything a run needs. ``data`` holds a ``train`` split (and ``test`` unless ``test``
    names another file); results go to the run directory ``out``."""

    data: str
    out: str
    test: str | None = None
    epochs: int = 250
    batch_size: int = 128
    recipe: str = "auto"  # auto: adamw for block-set models, onecycle otherwise
    lr: float | None = None  # None: the recipe's peak
    seed: int = 0
    model: str = "resnet18"
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    data_mode: str = "auto"  # auto | memory | stream
    workers: int = 0  # DataLoader worker processes for streaming
    normalize: str = "data"  # data: per-channel mean/std of the training data; fixed: 0.5/0.5
    limit_train: int | None = None  # use only the first K training images
    limit_test: int | None = None  # evaluate on the first K test images only
    checkpoint_every: int = 1  # epochs between saves of last.pt (and always the last epoch)
    resume: bool = False
    overwrite: bool = False
    progress: bool = True
    compile: bool = False  # torch.compile the model (CUDA)
    deterministic: bool = False  # torch.use_deterministic_algorithms, for exact replays

    def validate(self) -> None:
        """TrainError naming the first bad value and what is allowed."""
        checks = [
            (self.epochs >= 1, f"epochs {self.epochs} is not valid; it must be >= 1"),
            (self.batch_size >= 1, f"batch size {self.batch_size} is not valid; it must be >= 1"),
            (self.recipe in RECIPES, f"recipe {self.recipe!r} is not known; use {sorted(RECIPES)}"),
            (self.model in MODELS, f"model {self.model!r} is not known; use {sorted(MODELS)}"),
            (self.data_mode in ("auto", "memory", "stream"),
             f"data mode {self.data_mode!r} is not known; use auto, memory or stream"),
            (self.normalize in ("data", "fixed"),
             f"normalize {self.normalize!r} is not known; use data or fixed"),
            (self.checkpoint_every >= 1,
             f"checkpoint-every {self.checkpoint_every} is not valid; it must be >= 1"),
            (self.workers >= 0, f"workers {self.workers} is not valid; it must be >= 0"),
            (self.lr is None or self.lr > 0, f"learning rate {self.lr} must be > 0"),
            (self.limit_train is None or self.limit_train >= 1,
             f"limit-train {self.limit_train} must be >= 1"),
            (self.limit_test is None or self.limit_test >= 1,
             f"limit-test {self.limit_test} must be >= 1"),
            (not (self.resume and self.overwrite), "give --resume or --overwrite, not both"),
        ]
        for ok, message in checks:
            if not ok:
                raise TrainError(message)

    def results(self) -> dict:
        """The fields that must match for ``resume``."""
        return {k: getattr(self, k) for k in RESULT_FIELDS}

    def to_dict(self) -> dict:
        return asdict(self)


def format_config(config: TrainConfig) -> str:
    """``TrainConfig`` as aligned ``name = value`` lines, for printing at start-up."""
    names = [f.name for f in fields(config)]
    width = max(map(len, names))
    lines = [f"  {n:<{width}} = {getattr(config, n)!r}" for n in names]
    return "TrainConfig(\n" + "\n".join(lines) + "\n)"
