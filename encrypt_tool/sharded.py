"""A dataset as a folder of shard files: one task per shard, run here or on Dask distributed.

Every shard is written by :func:`run_shard`, the same function in one process and on a Dask
worker, into a temporary folder beside ``--out``; a task returns the shard's metadata (name,
split, range, size, SHA-256), never arrays. A task gets the keys of its own images
(``keys.subkeys.ShardKeys``), never the master key; the augmentation draws and the permutations
depend only on each image's key, so a retried task (a worker that died) writes the same bytes,
and so does any other layout. When every shard is in, ``manifest.json`` is written last and the
folder is renamed into place.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from bsformat.checksum import file_sha256
from bsformat.files import partial_name
from bsformat.manifest import Manifest, ShardEntry, shard_file_name, write_manifest
from bsformat.writer import ShardWriter, SplitLayout
from encrypt_tool.cluster import Secret, check_visible, close_client, open_client
from encrypt_tool.runner import run_units
from keys.subkeys import ShardKeys

__all__ = ["ShardTask", "build_folder", "check_folder_output", "run_shard", "shard_keys",
           "shard_tasks"]


class _Range:
    """Images [offset, offset + n) of a split, read by their ids (what ``encrypt_unit`` asks)."""

    def __init__(self, base, offset: int) -> None:
        self.base, self.offset = base, offset

    def read(self, start: int, stop: int):
        return self.base.read(start - self.offset, stop - self.offset)  # (B, H, W, C) uint8


def _slice(sp, start: int, stop: int) -> _Range:
    """The images [start, stop) of split source ``sp``, cheap to send to a worker: a photo
    folder's file list is cut to the shard; other sources hold paths only."""
    from encrypt_tool.sources.folder import FolderSplit

    if isinstance(sp, FolderSplit):
        part = FolderSplit(sp.root, sp.files[start:stop], sp.labels[start:stop],
                           sp.image_shape, sp.resize, sp.channels)
        return _Range(part, start)
    return _Range(sp, 0)


@dataclass(frozen=True)
class ShardTask:
    """Everything a worker needs to write one shard file, besides its keys."""

    name: str
    layout: SplitLayout  # the shard's images only: labels[start:stop], first_id=start
    source: _Range
    units: tuple[tuple[int, int], ...]  # batches [a, b) by image id
    spec: object  # encrypt.BatchSpec
    attrs: dict
    class_names: tuple[str, ...]
    compression: str | None
    store: object  # codec.StoreSpec

    @property
    def start(self) -> int:
        return self.layout.first_id

    @property
    def stop(self) -> int:
        return self.layout.first_id + self.layout.n_images


def shard_tasks(layouts: list[SplitLayout], sources: dict, specs: dict, units: dict,
                attrs: dict, class_names, compression, store) -> list[ShardTask]:
    """One task per shard of every split, in file order."""
    tasks = []
    for lay in layouts:
        for i in range(lay.n_shards):
            a = i * lay.shard_size
            b = min(a + lay.shard_size, lay.n_images)
            part = replace(lay, labels=lay.labels[a:b], shard_size=b - a, first_id=a)
            mine = tuple((x, y) for x, y in units[lay.name] if a <= x < b)
            tasks.append(ShardTask(shard_file_name(lay.name, i), part,
                                   _slice(sources[lay.name], a, b), mine, specs[lay.name],
                                   attrs, tuple(class_names), compression, store))
    return tasks


def run_shard(task: ShardTask, folder: str, key, token: str | None = None, jobs: int = 1,
              backend: str = "threads") -> dict:
    """Encrypt one shard into ``folder/task.name`` (atomically); its manifest entry as a dict.

    ``key`` is the shard's :class:`ShardKeys` (the keys of its images only, never the master
    key), or a :class:`Secret` holding them (Dask). ``token``: first check
    that ``folder`` holds the client's visibility marker (a worker that sees another folder
    refuses instead of writing where the client never looks).
    """
    from encrypt_tool.cluster import _sees

    if token is not None:
        why = _sees(folder, token)
        if why is not None:
            raise OSError(f"output folder {folder} is not visible here ({why})")
    secret = key.value if isinstance(key, Secret) else key
    if not isinstance(secret, ShardKeys):
        raise TypeError("a shard is encrypted with its ShardKeys, never the master key")
    out = Path(folder) / task.name
    writer = ShardWriter(out, task.attrs, list(task.class_names), [task.layout],
                         task.compression, task.store, threads=jobs)
    try:
        work = [(task.layout.name, task.source, a, b, task.spec) for a, b in task.units]
        run_units(work, writer, secret, jobs, backend, None)
        writer.commit(overwrite=True)  # a retried task replaces its own identical bytes
    except BaseException:
        writer.abort()
        raise
    return {"name": task.name, "split": task.layout.name, "start": task.start,
            "stop": task.stop, "count": task.stop - task.start, "bytes": out.stat().st_size,
            "sha256": file_sha256(out)}


def shard_keys(task: ShardTask, master: bytes) -> ShardKeys:
    """The keys of ``task``'s images, all a worker gets (from no key for an unscrambled
    dataset, whose draws need none)."""
    spec = task.spec
    return ShardKeys.derive(master if spec.scramble else b"", spec.dataset_id, task.layout.name,
                            task.start, task.stop)


def check_folder_output(out: Path, overwrite: bool) -> None:
    """Fail early when the folder ``out`` cannot or must not be written."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"output {out} is a file; a sharded dataset is a folder: give a "
                              f"new name ending in /, such as {out.with_suffix('')}/")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"output folder {out} is not empty; pass --overwrite to replace "
                              f"it")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"output directory {out.parent} does not exist; create it first")


def _place(tmp: Path, out: Path) -> None:
    """Move the finished folder ``tmp`` to ``out`` (an absent or replaceable folder)."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.{secrets.token_hex(4)}.old")
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build_folder(out: Path, tasks: list[ShardTask], key: bytes, splits: dict, attrs: dict,
                 class_names, *, jobs: int = 1, backend: str = "threads",
                 workers: int | None = None, scheduler: str | None = None,
                 timeout: float = 10.0, progress: Callable | None = None) -> Path:
    """Write every shard (here, or on Dask when ``workers`` or ``scheduler`` is given), then
    the manifest, then rename the folder to ``out``. Nothing at ``out`` unless all finished."""
    out = out.absolute()  # workers on other machines see the same absolute path, if any
    tmp = partial_name(out)
    tmp.mkdir()
    bar = progress(sum(t.stop - t.start for t in tasks)) if progress is not None else None
    try:
        if workers is None and scheduler is None:
            entries = []
            for t in tasks:
                entries.append(run_shard(t, str(tmp), shard_keys(t, key), None, jobs,
                                         backend))
                if bar is not None:
                    bar.update(t.stop - t.start)
        else:
            entries = _on_dask(tasks, tmp, key, workers, scheduler, timeout, bar)
        for p in tmp.iterdir():  # markers and partial files of killed attempts
            if p.name not in {e["name"] for e in entries}:
                p.unlink()
        write_manifest(tmp, Manifest(attrs, tuple(class_names), splits,
                                     tuple(ShardEntry(**e) for e in entries)))
        _place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if bar is not None:
            import sys

            bar.__exit__(*sys.exc_info())
    return out


def _on_dask(tasks, tmp: Path, key: bytes, workers, scheduler, timeout, bar) -> list[dict]:
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    client, cluster = open_client(workers, scheduler, timeout)
    interrupted = False
    try:
        token = secrets.token_hex(16)
        check_visible(client, tmp, token)
        futures = [client.submit(run_shard, t, str(tmp), Secret(shard_keys(t, key)), token,
                                 pure=False,
                                 key=f"bs-shard-{t.name}-{token[:8]}") for t in tasks]
        order = {f.key: i for i, f in enumerate(futures)}
        entries: list[dict | None] = [None] * len(tasks)
        try:
            for f in as_completed(futures, loop=client.loop):
                try:
                    entries[order[f.key]] = f.result()  # a failed task raises its error here
                except KilledWorker:
                    raise OSError(f"shard {tasks[order[f.key]].name}: the workers running it "
                                  f"died too often (Dask's distributed.scheduler."
                                  f"allowed-failures); see the workers' logs") from None
                if bar is not None:
                    bar.update(entries[order[f.key]]["count"])
        except BaseException as e:
            interrupted = isinstance(e, KeyboardInterrupt)
            client.cancel(futures)
            raise
        return entries
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        close_client(client, cluster, interrupted)
