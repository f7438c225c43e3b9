"""``bs-encrypt dataset``'s options -> one run config: the preset's setting with the encryption
options given on the command line put over it, and the run's own options beside it.

Every encryption option defaults to None (or off, for a flag), so "given" means "not None":
an option given explicitly always wins over the preset. The values are checked once, where
they land (``Setting``, ``AugmentConfig``, ``DatasetConfig``).
"""

from __future__ import annotations

import os
from dataclasses import replace

from encrypt_tool.augment import AugmentConfig
from encrypt_tool.pipeline import DatasetConfig
from encrypt_tool.presets import preset
from encrypt_tool.scramble import parse_block_size
from encrypt_tool.setting import SCALED_AUGMENT, Setting
from encrypt_tool.sources.imagefile import parse_image_size

__all__ = ["RUN_OPTIONS", "dataset_config", "setting_from_options"]

# options of the run, passed to DatasetConfig under the same name
RUN_OPTIONS = ("source", "data_dir", "download", "out", "seed", "backend", "batch_size",
               "shard_size", "limit", "compression", "overwrite", "channels", "test_fraction",
               "skip_corrupt", "workers", "scheduler", "connect_timeout", "yes")


def _gridmask_d(text: str) -> tuple[int, int]:
    try:
        d0, d1 = (int(v) for v in text.split("-"))
    except ValueError:
        raise ValueError(f"--gridmask-d {text!r} is not valid; use MIN-MAX such as 14-32") \
            from None
    return d0, d1


def _augment(base: AugmentConfig | None, o: dict) -> AugmentConfig | None:
    """The preset's augmentation with the given augmentation options over it."""
    if o["no_augment"]:
        return None
    aug = base if base is not None else SCALED_AUGMENT
    given = {"pad": o["pad"], "pad_mode": o["pad_mode"], "gridmask_ratio": o["gridmask_ratio"],
             "gridmask_prob": o["gridmask_prob"],
             "gridmask_d": _gridmask_d(o["gridmask_d"]) if o["gridmask_d"] else None}
    if o["no_gridmask"]:
        given["gridmask"] = False
    return replace(aug, **{k: v for k, v in given.items() if v is not None})


def setting_from_options(o: dict) -> Setting:
    """The setting of ``--preset`` with every encryption option given in ``o`` put over it."""
    s = preset(o["preset"])
    given = {
        "block": parse_block_size(o["block_size"]) if o["block_size"] is not None else None,
        "drop": o["drop_border"],
        "n_copies": o["n_keys"],
        "store": o["store"],
        "rotate": o["rotate"] or None,
        "negpos": o["negpos"] or None,
        "channel_perm": o["channel_perm"] or None,
        "scramble": False if o["no_scramble"] else None,
        "test_augment": False if o["no_test_augment"] else None,
    }
    return replace(s, **{k: v for k, v in given.items() if v is not None},
                   augment=_augment(s.augment, o))


def dataset_config(o: dict) -> DatasetConfig:
    """The run config of the ``dataset`` command's options ``o`` (click's parameter dict)."""
    run = {k: o[k] for k in RUN_OPTIONS}
    run["jobs"] = o["jobs"] if o["jobs"] is not None else os.cpu_count() or 1
    run["image_size"] = parse_image_size(o["image_size"]) if o["image_size"] else None
    return DatasetConfig(setting=setting_from_options(o), **run)
