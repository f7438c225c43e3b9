"""Results files of the search: one JSON object per line, appended as each row finishes.

A rerun reads the rows already there and skips them, so a search cut short goes on where it
stopped. A line cut short by a kill is ignored on reading and closed off before the next row.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["append", "done", "read", "strongest"]


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


def done(path: Path, defaults: dict | None = None, **match) -> set[str]:
    """Names of the settings whose rows in ``path`` agree with ``match`` on every field (a
    field a row lacks, written before it was recorded, reads as in ``defaults``)."""
    d = defaults or {}
    return {r["setting"] for r in read(path)
            if all(r.get(k, d.get(k)) == v for k, v in match.items())}


def strongest(rows: list[dict]) -> dict[str, dict]:
    """Setting -> its row, and where a setting has several (the learned attacks trained longer,
    say), the most it leaked under any of them: the largest share of each figure."""
    out: dict[str, dict] = {}
    for r in rows:
        have = out.get(r["setting"])
        out[r["setting"]] = r if have is None else {
            **have, **{k: max(have.get(k) or 0.0, r.get(k) or 0.0)
                       for k in ("perfect", "neighbour", "recognisable")}}
    return out


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
