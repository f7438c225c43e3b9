"""The client's private manifest of a query: which file each opaque image id stands for.

File names can be private (``patient_0412.png``), so they never enter the query file; this
table stays on the client's machine (mode 0600) and joins the cloud's predictions back to them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from bsformat.files import write_private

__all__ = ["MANIFEST_FORMAT", "ManifestError", "manifest_path", "read_manifest",
           "write_manifest"]

MANIFEST_FORMAT = "bs-encrypt-query-manifest"
_SUFFIX = ".private-manifest.json"


class ManifestError(ValueError):
    """A manifest that is missing, damaged or of another query."""


def manifest_path(query_out: str | os.PathLike) -> Path:
    """Where the manifest of ``query.h5`` goes by default: ``query.private-manifest.json``."""
    out = Path(query_out)
    return out.with_name(out.stem + _SUFFIX)


def write_manifest(data: dict, path: str | os.PathLike) -> Path:
    """Write ``data`` as JSON with mode 0600, under a temporary name renamed into place."""
    body = json.dumps({"format": MANIFEST_FORMAT, "version": 1, **data}, indent=1) + "\n"
    return write_private(path, body)


def read_manifest(path: str | os.PathLike) -> dict:
    """A manifest written by ``write_manifest``; ManifestError for anything else."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"manifest {path} does not exist")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ManifestError(f"manifest {path} cannot be read: {e}") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise ManifestError(f"{path} is not a bs-encrypt query manifest")
    if not isinstance(data.get("images"), list) or "dataset_id" not in data:
        raise ManifestError(f"manifest {path} is damaged (no image table or dataset id)")
    return data
