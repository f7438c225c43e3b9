"""Run the encryption units of one file: here, or in a pool of threads or processes.

Both ways of writing a dataset use it: ``pipeline`` for one file, ``sharded`` for each shard file
of a folder (in one process or on a Dask worker).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bsformat.writer import ShardWriter
from encrypt_tool.encrypt import encrypt_unit

__all__ = ["run_units"]


def run_units(work: list, writer: ShardWriter, key: bytes, jobs: int, backend: str,
              progress: Callable | None) -> None:
    """Encrypt every unit of ``work`` ((split, source, start, stop, spec) tuples) with
    ``jobs`` workers (``backend``: threads or processes) and hand each batch to ``writer``
    (workers write uncompressed batches straight to their byte offsets themselves)."""
    total = sum(b - a for _, _, a, b, _ in work)
    bar = progress(total) if progress is not None else None
    calls = [(sp, a, b, spec, key, writer.target(name, a)) for name, sp, a, b, spec in work]
    if jobs == 1 or len(calls) == 1:
        results = (encrypt_unit(*c) for c in calls)
    else:
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=jobs, return_as="generator", max_nbytes=None,
                            prefer=backend)
        results = parallel(delayed(encrypt_unit)(*c) for c in calls)
    try:
        for (name, _, a, b, _), res in zip(work, results, strict=True):
            if res is not None:
                writer.write(name, a, res)
            if bar is not None:
                bar.update(b - a)
    finally:
        if bar is not None:
            bar.__exit__(*sys.exc_info())
