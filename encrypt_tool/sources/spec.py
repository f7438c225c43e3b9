"""Parse a source spec ("cifar10", "synthetic[:N[,M]]", "npz:PATH[,PATH]", "folder:PATH")."""

from __future__ import annotations

from typing import Any

from encrypt_tool.sources.base import Source, SourceError
from encrypt_tool.sources.cifar10 import open_cifar10
from encrypt_tool.sources.folder import open_folder
from encrypt_tool.sources.npz import open_npz
from encrypt_tool.sources.synthetic import open_synthetic

__all__ = ["SPEC_FORMS", "open_source"]

SPEC_FORMS = (
    "cifar10",
    "synthetic or synthetic:N_TRAIN[,N_TEST]",
    "npz:TRAIN.npz or npz:TRAIN.npz,TEST.npz",
    "folder:PATH",
)


def _allowed() -> str:
    return "; ".join(SPEC_FORMS)


def _synthetic(spec: str, arg: str | None) -> Source:
    if arg is None:
        return open_synthetic()
    parts = arg.split(",")
    try:
        counts = [int(p) for p in parts]
    except ValueError:
        counts = []
    if not 1 <= len(counts) <= 2:
        raise SourceError(
            f"bad synthetic source spec {spec!r}: want synthetic:N_TRAIN or "
            "synthetic:N_TRAIN,N_TEST with whole numbers"
        )
    return open_synthetic(*counts)


def open_source(
    spec: str, data_dir: str | None = None, download: bool = False, **folder: Any
) -> Source:
    """Open the image source named by ``spec``; ``data_dir`` and ``download`` apply to cifar10,
    the keyword arguments of ``open_folder`` (image_size, channels, ...) to folders only."""
    kind, sep, arg = spec.strip().partition(":")
    kind = kind.lower()
    given = {k: v for k, v in folder.items() if v not in (None, False, "rgb", 0)}
    if given and kind != "folder":
        opts = ", ".join("--" + k.replace("_", "-") for k in sorted(given))
        raise SourceError(f"{opts} applies to folder:PATH sources only, not {spec!r}")
    if kind == "cifar10" and not sep:
        return open_cifar10(data_dir, download)
    if kind == "synthetic":
        return _synthetic(spec, arg if sep else None)
    if kind in ("npz", "folder"):
        if not arg.strip():
            raise SourceError(f"source spec {spec!r} needs a path after '{kind}:'")
        if kind == "npz":
            return open_npz([p.strip() for p in arg.split(",")])
        return open_folder(arg.strip(), **folder)
    hint = ""
    if spec.endswith(".npz"):
        hint = f" (did you mean npz:{spec}?)"
    elif "/" in spec or "\\" in spec:
        hint = f" (did you mean folder:{spec}?)"
    raise SourceError(f"unknown source spec {spec!r}{hint}; allowed: {_allowed()}")
