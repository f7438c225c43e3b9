"""``bs-encrypt results``: join the cloud's predictions (by opaque id) to the private manifest."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from bsformat.files import atomic_write
from bsformat.manifest import read_query_manifest

__all__ = ["ResultsError", "check_query_id", "format_table", "join_results", "load",
           "read_predictions", "write_table"]

TABLE_COLUMNS = ("path", "class", "probability")


class ResultsError(ValueError):
    """Predictions that cannot be read or do not belong to the manifest's query."""


def read_predictions(path: str | os.PathLike) -> list[dict]:
    """Rows of a ``bs-predict`` CSV (columns id, query_id, class, probability, ...)."""
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"predictions file {path} does not exist")
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ResultsError(f"cannot read predictions {path}: {e}") from None
    if not rows or not {"id", "class", "probability"} <= set(rows[0]):
        raise ResultsError(f"{path} is not a bs-predict CSV (need columns id, class, probability)")
    return rows


def check_query_id(rows: list[dict], manifest: dict, source: str = "the predictions") -> None:
    """ResultsError unless every row's ``query_id`` is the manifest's query id.

    The id travels in the CSV itself, so the check never depends on a side file that may be
    missing or belong to another query; predictions without it are refused, not trusted.
    """
    want = manifest["dataset_id"]
    ids = {r.get("query_id") or "" for r in rows}
    if ids == {want}:
        return
    if "" in ids:
        raise ResultsError(f"{source} carry no query id (no query_id column, or an empty "
                           f"one), so they cannot be checked against the manifest of query "
                           f"{want}; classify the query again with a current bs-predict")
    got = ", ".join(sorted(ids))
    raise ResultsError(f"{source} are for query {got}, the manifest for query {want}; use the "
                       f"manifest of that query")


def join_results(rows: list[dict], manifest: dict, source: str = "the predictions"
                 ) -> list[dict]:
    """One row per image of the manifest: path, class, probability (and the other columns)."""
    check_query_id(rows, manifest, source)
    paths = {int(e["id"]): e["path"] for e in manifest["images"]}
    try:
        by_id = {int(r["id"]): r for r in rows}
    except ValueError:
        raise ResultsError("the predictions hold an id that is not an integer") from None
    if set(by_id) != set(paths):
        missing, extra = len(set(paths) - set(by_id)), len(set(by_id) - set(paths))
        raise ResultsError(f"the predictions do not match the manifest ({missing} of its "
                           f"{len(paths)} images lack a prediction, {extra} unknown ids)")
    out = []
    for i in sorted(paths):
        r = by_id[i]
        extra = {k: v for k, v in r.items()
                 if k not in ("id", "query_id", "class", "probability")}
        out.append({"path": paths[i], "class": r["class"], "probability": r["probability"],
                    **extra})
    return out


def format_table(table: list[dict], max_rows: int | None = None) -> str:
    """Aligned text: path, class, probability."""
    shown = table if max_rows is None else table[:max_rows]
    cells = [TABLE_COLUMNS] + [(r["path"], r["class"], r["probability"]) for r in shown]
    widths = [max(len(str(c[k])) for c in cells) for k in range(2)]
    lines = [f"{c[0]:<{widths[0]}}  {c[1]:<{widths[1]}}  {c[2]}" for c in cells]
    if len(shown) < len(table):
        lines.append(f"... {len(table) - len(shown)} more rows")
    return "\n".join(lines)


def write_table(table: list[dict], out: str | os.PathLike, overwrite: bool = False) -> Path:
    """The joined table as CSV, mode 0600 (it names the client's files)."""
    out = Path(out)
    with atomic_write(out, "w", newline="", private=True, overwrite=overwrite) as f:
        w = csv.DictWriter(f, fieldnames=list(table[0]))
        w.writeheader()
        w.writerows(table)
    return out


def load(predictions: str | os.PathLike, manifest: str | os.PathLike) -> list[dict]:
    """Read both files and join them."""
    rows = read_predictions(predictions)
    return join_results(rows, read_query_manifest(manifest), f"the predictions {predictions}")
