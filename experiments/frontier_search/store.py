"""Results files of the search: one JSON object per line, appended as each row finishes.

A rerun reads the rows already there and skips them, so a search cut short goes on where it
stopped. A line cut short by a kill is ignored on reading and closed off before the next row.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["append", "done", "read"]


def read(path: Path) -> list[dict]:
    """The complete rows of ``path`` (none when it does not exist)."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a row cut short
    return rows


def done(path: Path, **match) -> set[str]:
    """Names of the settings whose rows in ``path`` agree with ``match`` on every field."""
    return {r["setting"] for r in read(path) if all(r.get(k) == v for k, v in match.items())}


def append(path: Path, row: dict) -> None:
    """Append ``row`` as one line (a line cut short by a crash is skipped on reading)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lead = ""
    if path.is_file() and path.stat().st_size:
        with open(path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            lead = "" if f.read(1) == b"\n" else "\n"
    with open(path, "a") as f:
        f.write(lead + json.dumps(row, sort_keys=False) + "\n")
        f.flush()
