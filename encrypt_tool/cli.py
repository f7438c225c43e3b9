"""The ``bs-encrypt`` command line: parses options and calls the library."""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import sys
from pathlib import Path

import click

from bsformat.clitools import SEED, Group, version_option
from encrypt_tool.sizing import LARGE_OUTPUT

__all__ = ["GRID_MAX", "main"]

GRID_MAX = 32  # images in an inspect grid: one row, at most ~7,200 px wide at 224 px


def _load_key(path: str | None, create: bool = False) -> bytes:
    from keys.master import (
        default_key_path,
        fingerprint,
        generate_key,
        load_key,
        resolve_key_path,
        write_key,
    )

    where = resolve_key_path(path)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:  # for a wrong-key error: which file was used
        ctx.meta["bs_key_file"] = f"key file {where}" + (
            "" if path is not None else ", the default; give the file's key with --key")
    if path is None and create and not default_key_path().exists():
        key = generate_key()
        where = write_key(key, default_key_path())
        click.echo(
            f"created master key {where} (fingerprint {fingerprint(key)}); keep it safe and "
            f"private: it is needed to decrypt",
            err=True,
        )
        return key
    return load_key(where)


def _names_key_file(fn):
    """A wrong-key error also names the key file that was used (often the default one)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from encrypt_tool.decrypt import WrongKeyError

        try:
            return fn(*args, **kwargs)
        except WrongKeyError as e:
            used = click.get_current_context().meta.get("bs_key_file")
            if used is None:
                raise
            raise WrongKeyError(f"{e} ({used})") from None

    return wrapper


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@version_option("bs-encrypt")
def main() -> None:
    """Encrypt image datasets by block scrambling for privacy-preserving deep learning."""


@main.command()
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Key file [default: $BS_ENCRYPT_KEY or ~/.bs-encrypt/master.key].")
@click.option("--overwrite", is_flag=True, help="Replace an existing key file (old data is lost).")
def keygen(out: str | None, overwrite: bool) -> None:
    """Create a 256-bit master key (file mode 0600); prints only its fingerprint."""
    from keys.master import fingerprint, generate_key, resolve_key_path, write_key

    if out is not None and not Path(out).expanduser().parent.is_dir():
        raise FileNotFoundError(f"--out {out}: directory {Path(out).expanduser().parent} does "
                                f"not exist; create it first")
    key = generate_key()
    path = write_key(key, resolve_key_path(out), overwrite=overwrite)
    click.echo(f"wrote master key {path}")
    click.echo(f"fingerprint {fingerprint(key)}")



@main.command()
@click.option("--source", default="cifar10", show_default=True,
              help="cifar10 | synthetic[:N] | npz:PATH[,TEST_PATH] | folder:PATH")
@click.option("--data-dir", type=click.Path(), default=None, help="Where cifar10 lives.")
@click.option("--download", is_flag=True, help="Download cifar10 with torchvision if missing.")
@click.option("--out", type=click.Path(), default="enc.h5", show_default=True,
              help="One .h5 file, or a folder of shard files + manifest.json when it ends in / "
                   "or is an empty folder (always with --workers or --scheduler).")
@click.option("--key", type=click.Path(dir_okay=False), default=None,
              help="Master key file [default: $BS_ENCRYPT_KEY or ~/.bs-encrypt/master.key, "
                   "created on first use].")
@click.option("--store", default=None,
              help="raw pixels, or jpeg[:Q[:444|420]] (default Q 90, 4:4:4): lossy, blocks must "
                   "be multiples of 8 (16 with 420). [default: raw]")
@click.option("--workers", type=int, default=None,
              help="Encrypt one shard per task on a local Dask cluster of this many processes "
                   "(127.0.0.1, no dashboard); output is a shard folder.")
@click.option("--scheduler", default=None,
              help="Encrypt on an existing Dask cluster: tcp://127.0.0.1:PORT, or tls://HOST:PORT "
                   "with Dask's TLS settings for another machine; output is a shard folder that "
                   "every worker must see.")
@click.option("--connect-timeout", type=float, default=10.0, show_default=True,
              help="Seconds to wait for --scheduler to answer.")
@click.option("--preset", default="paper",
              show_default=True,
              help="paper: 8x8 blocks, zero padding, GridMask, N=4 (the audit reassembles its "
                   "images). hardened: 4x4 blocks, reflect padding, GridMask, N=1. private: "
                   "the paper's augmentation and N with small blocks by image size (4x4 up "
                   "to 63 px, 8x8 above), --drop-border a quarter of the block side and "
                   "--rotate; train with a block-set model; what still leaks: "
                   "docs/FRONTIER.md. private-v1: the former private (8x8, a quarter dropped, "
                   "--rotate --negpos --channel-perm). Options given explicitly override the "
                   "preset.")
@click.option("--n-keys", type=int, default=None,
              help="Encrypted copies N per training image, each with its own key [default: the "
                   "preset's, 4 (hardened: 1)].")
@click.option("--block-size", default=None,
              help="Block side, or HxW [default: the preset's, 8 (hardened: 4; private: 4 up "
                   "to 63 px, else 8)].")
@click.option("--seed", type=SEED, default=None,
              help="With the same key, the same seed gives byte-identical output.")
@click.option("--jobs", type=int, default=None, help="Parallel workers [default: all cores].")
@click.option("--backend", type=click.Choice(["auto", "threads", "processes"]), default="auto",
              show_default=True,
              help="Workers as joblib threads or processes; auto: threads up to 4 jobs.")
@click.option("--batch-size", type=int, default=1000, show_default=True)
@click.option("--shard-size", type=int, default=10000, show_default=True)
@click.option("--limit", type=int, default=None,
              help="Only LIMIT images of each split: of a folder source (stored class by "
                   "class) a choice stratified by label, seeded by --seed (as bs-train "
                   "--limit-train); of other sources the first LIMIT.")
@click.option("--no-scramble", is_flag=True, help="Same pipeline without scrambling (baseline).")
@click.option("--no-augment", is_flag=True, help="No crop, flip or GridMask.")
@click.option("--no-test-augment", is_flag=True, help="Test images get no crop/flip.")
@click.option("--pad-mode", type=click.Choice(["zero", "reflect"]), default=None,
              help="Padding of the random crop [default: the preset's, zero (hardened: "
                   "reflect)].")
@click.option("--pad", type=int, default=None,
              help="Crop padding in pixels [default: 4 per 32 px of the shorter side: 4 at 32, "
                   "28 at 224].")
@click.option("--no-gridmask", is_flag=True, help="Crop and flip only.")
@click.option("--gridmask-d", default=None,
              help="GridMask unit size range d_min-d_max in pixels [default: 14-32 at 32 px, "
                   "scaled with the shorter side: 98-224 at 224].")
@click.option("--gridmask-ratio", type=float, default=None,
              help="GridMask r: kept share of a unit's edge; the hole takes (1-r)^2 of each "
                   "unit, so 0.3 <= r < 1 (at most 49% erased). [default: 0.6]")
@click.option("--gridmask-prob", type=float, default=None,
              help="Share of images that get a GridMask. [default: 0.8]")
@click.option("--drop-border", type=int, default=None, metavar="PX",
              help="Defence: keep only each block's interior, dropping PX pixels at its edges, "
                   "so that neighbouring blocks share no edge; the file stores the smaller "
                   "blocks, and decrypt gives 0 in the dropped pixels. [default: the "
                   "preset's, 0 (private: a quarter of the block side)]")
@click.option("--rotate", is_flag=True,
              help="Defence: turn and mirror every block by its own key (8 states; square "
                   "blocks only).")
@click.option("--negpos", is_flag=True,
              help="Defence: invert every block (x -> 255 - x) or not, by its own key.")
@click.option("--channel-perm", is_flag=True,
              help="Defence: reorder the colour channels of every block by its own key (3 "
                   "channels only).")
@click.option("--image-size", default=None,
              help="folder: resize the shorter side and centre-crop to S or HxW (as torchvision "
                   "Resize + CenterCrop, bilinear, antialiased). Without it all images must have "
                   "one size.")
@click.option("--channels", type=click.Choice(["rgb", "l"]), default="rgb", show_default=True,
              help="folder: rgb (grayscale copied to 3 channels) or l (one luma channel); "
                   "transparency is composited on white.")
@click.option("--test-fraction", type=float, default=None,
              help="folder without test/: put this share of every class in a test split "
                   "(seeded by --seed, default 0; recorded in the file).")
@click.option("--skip-corrupt", is_flag=True,
              help="folder: leave out files that are not readable images (named in a warning).")
@click.option("--clean-partial", is_flag=True,
              help="Delete partial files left beside --out by an interrupted run, without asking.")
@click.option("--compression", type=click.Choice(["gzip", "lzf"]), default=None)
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option("--yes", is_flag=True,
              help=f"Write an output larger than {LARGE_OUTPUT // 2**30} GiB (refused "
                   f"without it; the planned size is printed before writing).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def dataset(**o) -> None:
    """Encrypt a dataset: N scrambled, augmented copies per training image, one per test image."""
    from bsformat.files import check_output
    from encrypt_tool.dataset_options import dataset_config
    from encrypt_tool.pipeline import build_dataset
    from encrypt_tool.sharded import check_folder_output
    from encrypt_tool.sources import open_source

    cfg = dataset_config(o)
    check = check_folder_output if cfg.sharded else check_output
    check(Path(cfg.out).expanduser(), cfg.overwrite)  # before any output
    _stale_partials(Path(cfg.out).expanduser(), o["clean_partial"])
    key = _load_key(o["key"], create=True) if cfg.setting.scramble else b""

    def progress(total: int):
        if o["quiet"]:
            return None
        from tqdm import tqdm  # the one progress convention: a bar on a terminal, else none

        return tqdm(total=total, desc="encrypting", unit="image", file=sys.stderr, disable=None)

    path = build_dataset(cfg, key, open_source, progress,
                         report=None if o["quiet"] else lambda line: click.echo(line, err=True))
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    size = sum(p.stat().st_size for p in files) / 2**20
    shards = f", {len(files) - 1} shard files + manifest.json" if path.is_dir() else ""
    click.echo(f"wrote {path} ({size:.1f} MiB{shards})")


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def _stale_partials(out: Path, clean: bool) -> None:
    """Name partial files a killed run left beside ``out``; delete them when asked to."""
    from bsformat.writer import stale_partials
    from encrypt_tool.sizing import human

    stale = stale_partials(out)
    if not stale:
        return
    total = sum(size for _, size in stale)
    listing = ", ".join(f"{p} ({human(size)})" for p, size in stale)
    what = f"{len(stale)} partial file(s) left by an interrupted run: {listing}"
    if not clean and _interactive():
        clean = click.confirm(f"found {what}; delete them ({human(total)})?", default=True,
                              err=True)
    if clean:
        for p, _ in stale:
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        click.echo(f"deleted {what}", err=True)
    else:
        click.echo(f"warning: kept {what}; pass --clean-partial to delete them", err=True)


@main.command()
@_names_key_file
@click.argument("file", type=click.Path())
@click.option("--key", type=click.Path(dir_okay=False), default=None)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Output .npz file.")
@click.option("--split", default=None, help="train or test [default: train if present].")
@click.option("--copy", type=int, default=0, show_default=True, help="Which copy s to decrypt.")
@click.option("--overwrite", is_flag=True)
def decrypt(file: str, key: str | None, out: str, split: str | None, copy: int,
            overwrite: bool) -> None:
    """Decrypt one copy of a split into an npz with ``images`` and ``labels``."""
    from encrypt_tool.decrypt import decrypt_file

    if Path(out).suffix.lower() != ".npz":
        raise ValueError(f"--out {out} must end in .npz: decrypt writes an npz archive with "
                         f"'images' and 'labels'")
    path, n = decrypt_file(file, _load_key(key), out, split, copy, overwrite)
    click.echo(f"wrote {path} ({n} images)")


@main.command()
@_names_key_file
@click.argument("file", type=click.Path())
@click.option("--key", type=click.Path(dir_okay=False), default=None,
              help="With the key, the grid also shows the decrypted images.")
@click.option("--grid", type=click.Path(dir_okay=False), default=None,
              help="Save a picture (.png, .jpg, .pdf or .svg) of encrypted samples (and their "
                   "plain versions with --key).")
@click.option("--samples", type=int, default=8, show_default=True,
              help=f"Images in the grid, 1..{GRID_MAX}.")
@click.option("--split", default=None, help="Split shown in the grid [default: test].")
@click.option("--overwrite", is_flag=True, help="Replace an existing grid picture.")
@click.option("--verify", is_flag=True,
              help="Check every shard's images against the SHA-256 stored when it was written.")
def inspect(file: str, key: str | None, grid: str | None, samples: int, split: str | None,
            overwrite: bool, verify: bool) -> None:
    """Print a file's public metadata."""
    from bsformat.reader import open_dataset
    from encrypt_tool.figures import MISSING, charts_available, check_picture_path
    from encrypt_tool.inspect import describe, sample_grid

    if grid is not None:
        check_picture_path("--grid", grid)  # before anything is printed
        if not charts_available():  # the picture is what --grid asks for: refuse before work
            raise ValueError(f"--grid {grid} cannot be written: {MISSING}")
        if not 1 <= samples <= GRID_MAX:
            raise ValueError(f"--samples {samples} is not valid for --grid; give 1..{GRID_MAX} "
                             f"(one row of images)")
        if Path(grid).exists() and not overwrite:
            raise FileExistsError(f"{grid} already exists; pass --overwrite to replace it")
        if not Path(grid).parent.is_dir():
            raise FileNotFoundError(f"directory {Path(grid).parent} does not exist")
    with open_dataset(file) as ds:
        if grid is not None:
            samples = _check_grid_samples(ds.info, file, split, samples)
        checked = ds.verify() if verify else None  # a damaged shard stops here, in one line
        click.echo(describe(ds.info))
        if checked == 0:
            click.echo(f"checksums       none stored ({file} was written before they existed); "
                       f"nothing verified")
        elif checked:
            click.echo(f"checksums       all {checked} shards match their SHA-256")
        if grid is not None:
            k = _load_key(key) if key is not None else None
            path, shown = sample_grid(ds, grid, key=k, n=samples, split=split)
            if path is not None:
                click.echo(f"wrote {path} ({shown})")


def _check_grid_samples(info, file: str, split: str | None, samples: int) -> int:
    """A given --samples above the split's size is refused; the default shrinks, saying so."""
    from click.core import ParameterSource

    if not info.splits:
        return samples  # sample_grid says there are no images to show
    name = split or ("test" if "test" in info.splits else next(iter(info.splits)))
    if name not in info.splits:  # before the metadata is printed
        raise ValueError(f"--split {name!r} is not in {file}; it has "
                         f"{', '.join(sorted(info.splits))}")
    n = info.splits[name].n_images
    if samples <= n:
        return samples
    if click.get_current_context().get_parameter_source("samples") is ParameterSource.COMMANDLINE:
        raise ValueError(f"--samples {samples} is more than the {n:,} images of split {name!r} "
                         f"in {file}; give 1..{n}")
    click.echo(f"showing all {n:,} images of split {name!r} (the default --samples is "
               f"{samples})", err=True)
    return n


@main.command()
@_names_key_file
@click.argument("file", type=click.Path())
@click.option("--key", type=click.Path(dir_okay=False), default=None,
              help="The master key: it scores the attacks (the attacks never see it).")
@click.option("--samples", type=int, default=200, show_default=True,
              help="Encrypted images to attack: a sample stratified by label (seed 0), or the "
                   "images from --start.")
@click.option("--start", type=int, default=None,
              help="Attack --samples consecutive images from this position instead of a "
                   "stratified sample.")
@click.option("--indices", default=None,
              help="Attack these images instead, e.g. 0-99,250,300-309 (replaces --samples).")
@click.option("--split", default="test", show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Report folder [default: FILE's name + '-audit'].")
@click.option("--overwrite", is_flag=True, help="Replace an earlier report in --out.")
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
@click.option("--jobs", type=int, default=1, show_default=True,
              help="Worker processes for the attacks (chunks of images in parallel).")
@click.option("--attacks", default=None,
              help="Run only these attacks, comma-separated (see --list-attacks) [default: "
                   "all].")
@click.option("--list-attacks", is_flag=True, is_eager=True, expose_value=False,
              callback=lambda ctx, _p, v: _list_attacks(ctx) if v else None,
              help="Name every attack, what it does and what it uses, and exit.")
@click.option("--attack-train", type=click.Path(), default=None, metavar="FOLDER",
              help="Train the learned attacks on the images of this folder instead of the "
                   "file's images that are not audited (the owner's own images of the same "
                   "kind).")
@click.option("--retrain-attacks", is_flag=True,
              help="Train the learned attacks again instead of using the models cached in "
                   "--out/models.")
@click.option("--attack-steps", type=int, default=None,
              help="Training steps of the learned attacks (more: a stronger attacker, longer "
                   "training; a cached model trained for other steps is trained again) "
                   "[default: 300].")
def audit(file: str, key: str | None, samples: int, start: int | None, indices: str | None,
          split: str, out: str | None, overwrite: bool, quiet: bool, jobs: int,
          attacks: str | None, attack_train: str | None, retrain_attacks: bool,
          attack_steps: int) -> None:
    """Attack the encrypted images without the key and report what leaks."""
    from encrypt_tool.audit import AuditConfig, run_audit
    from encrypt_tool.audit.attacks import choose
    from encrypt_tool.audit.learn import require_torch
    from encrypt_tool.audit.learn.obtain import LEARNED
    from encrypt_tool.audit.select import parse_indices

    out_dir = Path(out) if out is not None else Path(file).with_name(Path(file).stem + "-audit")
    _check_report_folder(out_dir, overwrite)
    if indices is not None and start is not None:
        raise ValueError("--start and --indices exclude each other; give one of them")
    chosen = choose(attacks) if attacks is not None else None
    for a in chosen or ():  # asked for by name: refused when it cannot run at all
        if a.name in LEARNED:
            require_torch(f"--attacks {a.name}")
    if attack_train is not None and not Path(attack_train).is_dir():
        raise ValueError(f"--attack-train {attack_train} is not a folder of images")
    cfg = AuditConfig(split=split, samples=samples, start=start, jobs=jobs,
                      indices=tuple(parse_indices(indices)) if indices is not None else None,
                      attacks=tuple(a.name for a in chosen) if chosen else None,
                      progress=not quiet, train=attack_train, retrain=retrain_attacks,
                      **({"attack_steps": attack_steps} if attack_steps is not None else {}))
    if indices is None:
        cfg = dataclasses.replace(cfg, samples=_check_samples(file, split, samples, start))
    summary = run_audit(file, _load_key(key), out_dir, cfg)
    click.echo((out_dir / "audit.md").read_text())
    click.echo(f"wrote {out_dir}/" + ", ".join(Path(p).name for p in summary["outputs"].values()))


def _list_attacks(ctx: click.Context) -> None:
    from encrypt_tool.audit.attacks import listing

    click.echo(listing())
    ctx.exit(0)


def _check_report_folder(out_dir: Path, overwrite: bool) -> None:
    """Refuse, before any work, a report folder that cannot or must not be written."""
    if out_dir.exists() and not out_dir.is_dir():
        raise FileExistsError(f"--out {out_dir} is a file; give a folder for the report")
    if (out_dir / "audit.json").exists() and not overwrite:
        raise FileExistsError(f"{out_dir} already holds a report; pass --overwrite to replace it")
    parent = out_dir if out_dir.exists() else out_dir.parent
    if not parent.is_dir():
        raise FileNotFoundError(f"--out {out_dir}: directory {parent} does not exist; create "
                                f"it first")
    if not os.access(parent, os.W_OK):
        raise PermissionError(f"--out {out_dir}: directory {parent} is not writable")


def _check_samples(file: str, split: str, samples: int, start: int | None = None) -> int:
    """Refuse a --start past the split's end and a given --samples that runs past it; the
    default --samples shrinks to what is left, saying so."""
    from click.core import ParameterSource

    from bsformat.reader import open_dataset

    with open_dataset(file) as ds:
        splits = ds.info.splits
    if split not in splits:
        return samples
    n = splits[split].n_images
    if start is None:  # a stratified sample of the whole split
        start = 0
    elif start >= n:
        raise ValueError(f"--start {start} is past the end of split {split!r} in {file} "
                         f"({n:,} images); give 0..{n - 1}")
    room = n - start
    if samples <= room:
        return samples
    ctx = click.get_current_context()
    if ctx.get_parameter_source("samples") is ParameterSource.COMMANDLINE:
        if start == 0:
            raise ValueError(f"--samples {samples} is more than the {n:,} images of split "
                             f"{split!r} in {file}; give 1..{n}")
        raise ValueError(f"--samples {samples} from --start {start} runs past the {n:,} images "
                         f"of split {split!r} in {file}; give --samples 1..{room} or an "
                         f"earlier --start")
    where = f"all {n:,} images" if start == 0 else f"the {room:,} images from --start {start}"
    click.echo(f"auditing {where} of split {split!r} (the default --samples is {samples})",
               err=True)
    return room


@main.command()
@_names_key_file
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("--like", required=True, type=click.Path(),
              help="The training file: its size, channels, blocks, padding and test treatment.")
@click.option("--key", type=click.Path(dir_okay=False), default=None,
              help="Master key [default: $BS_ENCRYPT_KEY or ~/.bs-encrypt/master.key].")
@click.option("--out", type=click.Path(dir_okay=False), default="query.h5", show_default=True,
              help="The query file to send to the cloud (opaque ids only).")
@click.option("--manifest", type=click.Path(dir_okay=False), default=None,
              help="The private id -> file table [default: OUT's name + "
                   "'.private-manifest.json']; it stays with you.")
@click.option("--no-test-augment", is_flag=True,
              help="No crop or flip, whatever the training file's test split had.")
@click.option("--skip-bad", is_flag=True,
              help="Leave out unreadable images or images of another size (counted).")
@click.option("--resize", is_flag=True,
              help="Scale and centre-crop every image file to the training file's size (as "
                   "`dataset --image-size`; automatic when that file was made so).")
@click.option("--overwrite", is_flag=True, help="Replace an existing query file and manifest.")
def query(inputs: tuple[str, ...], like: str, key: str | None, out: str, manifest: str | None,
          no_test_augment: bool, skip_bad: bool, resize: bool, overwrite: bool) -> None:
    """Encrypt new images (files, folders, or an .npz) for the cloud to classify."""
    from encrypt_tool.query import QueryConfig, build_query

    cfg = QueryConfig(inputs=inputs, like=like, out=out, manifest=manifest,
                      test_augment=not no_test_augment, skip_bad=skip_bad, resize=resize,
                      overwrite=overwrite)
    r = build_query(cfg, lambda: _load_key(key))
    treatment = "crop and flip" if r.augment is not None else "no crop or flip"
    skipped = f", {len(r.skipped)} skipped as bad" if r.skipped else ""
    click.echo(f"wrote {r.out} ({r.n_images} images, {treatment}, a fresh key per image"
               f"{skipped}); send it to the cloud")
    for _path, reason in r.skipped:
        click.echo(f"skipped: {reason}", err=True)
    click.echo(f"private manifest {r.manifest} (which file is which id): keep it on this "
               f"machine, never send it")


@main.command()
@click.argument("predictions", type=click.Path(dir_okay=False))
@click.option("--manifest", required=True, type=click.Path(dir_okay=False),
              help="The private manifest that `query` wrote.")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Also write the table as CSV (mode 0600).")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out.")
def results(predictions: str, manifest: str, out: str | None, overwrite: bool) -> None:
    """Show the cloud's predictions by file: path, class, probability."""
    from bsformat.files import check_output
    from encrypt_tool.results import format_table, load, write_table

    if out is not None:
        check_output(Path(out), overwrite)
    table = load(predictions, manifest)
    click.echo(format_table(table))
    if out is not None:
        click.echo(f"wrote {write_table(table, out, overwrite)}")


if __name__ == "__main__":
    main()
