"""The evaluation splits of the reproduction: train, exact test, held-out train, full test."""

from __future__ import annotations

import numpy as np

from encrypt_tool.sources import Source, SourceError, open_source
from encrypt_tool.sources.subset import SubsetSplit

__all__ = ["SPLIT_ROLES", "reproduce_source"]

SPLIT_ROLES = {
    "test": "exact test images (headline)",
    "holdout": "held-out exact training images (not trained on)",
    "test_all": "test images including the JPEG approximations (secondary)",
}


def reproduce_source(
    spec: str,
    data_dir: str | None = None,
    download: bool = False,
    n_train: int | None = None,
    n_holdout: int = 5000,
    n_test: int | None = None,
) -> Source:
    """Split ``spec`` (cifar10 or synthetic[:N,M]) for the reproduction.

    ``train`` is the first ``n_train`` training images (default: all but the held-out part),
    ``holdout`` the last ``n_holdout`` ones, ``test`` the exact test images (the first ``n_test``
    of them), and ``test_all`` every test image where some are inexact (an even spread of ten
    times the exact ones when ``n_test`` limits them).
    """
    src = open_source(spec, data_dir=data_dir, download=download)
    if "test" not in src.splits:
        raise SourceError(f"source {spec!r} has no test split")
    train, test = src.splits["train"], src.splits["test"]
    if n_holdout < 1 or n_holdout >= train.n:
        raise SourceError(f"held-out size {n_holdout} (--n-holdout) is not valid; "
                          f"need 1..{train.n - 1}")
    n_fit = train.n - n_holdout if n_train is None else n_train
    if not 1 <= n_fit <= train.n - n_holdout:
        raise SourceError(f"training size {n_fit} (--n-train) is not valid; the source has "
                          f"{train.n:,} training images, {n_holdout:,} held out: need "
                          f"1..{train.n - n_holdout}")
    exact = np.ones(test.n, bool) if test.exact is None else np.asarray(test.exact, bool)
    exact_idx = np.flatnonzero(exact)
    if n_test is not None and not 1 <= n_test <= len(exact_idx):
        raise SourceError(f"--n-test {n_test} is not valid; the source has {len(exact_idx):,} "
                          f"exact test images: give 1..{len(exact_idx)}")
    exact_idx = exact_idx[:n_test]
    splits = {
        "train": SubsetSplit(train, np.arange(n_fit)),
        "test": SubsetSplit(test, exact_idx),
        "holdout": SubsetSplit(train, np.arange(train.n - n_holdout, train.n)),
    }
    if not exact.all():
        k = test.n if n_test is None else min(test.n, 10 * len(exact_idx))
        all_idx = np.unique(np.linspace(0, test.n - 1, k).astype(np.int64))  # evenly spread
        splits["test_all"] = SubsetSplit(test, all_idx)
    return Source(name=src.name, class_names=src.class_names, splits=splits)
