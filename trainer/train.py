"""The training loop, in one place: data, model, recipe, the epochs, evaluation with flip TTA,
progress, checkpoints, resume, DDP.

``train(TrainConfig)`` is the library entry; ``bs-train`` only parses options and calls it. The
run's state from epoch to epoch is one ``checkpoint.Run``; the time and memory estimates printed
at start-up come from ``estimate`` (pure arithmetic on measured rates).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from bsformat.files import is_partial
from trainer import checkpoint as ckpt
from trainer import ddp
from trainer.config import TrainConfig
from trainer.data import choose_mode, make_loader, open_splits, to_input
from trainer.ema import WeightAverage
from trainer.errors import TrainError
from trainer.estimate import check_memory, long_run_warning, peak_memory, resident_memory
from trainer.invariance import parse_invariance, symmetric_stats
from trainer.model import build_model, saved_bytes_per_image
from trainer.recipe import build_optimizer, build_schedule, get_recipe, resolve_recipe
from trainer.registry import get_model
from trainer.source import Split, channel_stats

__all__ = ["epoch_line", "evaluate", "predict", "summarise", "train"]


def train(config: TrainConfig) -> dict:
    """Train and evaluate as ``config`` says; returns the final and best test metrics."""
    config.validate()
    d = ddp.setup(config.device)
    threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    fresh = not Path(config.out).exists()
    try:
        if config.deterministic:  # exact replays; on CUDA a few ops only warn
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=d.device.type == "cuda")
        return _train(config, d)
    except BaseException as e:
        if fresh and d.main:
            _remove_unused(Path(config.out), keep_config=isinstance(e, KeyboardInterrupt))
        raise
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
        torch.set_num_threads(threads)
        ddp.teardown(d)


def _train(config: TrainConfig, d: ddp.Dist) -> dict:
    train_split, test_split = open_splits(config, d.world)
    cuda = d.device.type == "cuda"
    modes = [choose_mode(config.data_mode, s, d.device, f)
             for s, f in ((train_split, 0.5), (test_split, 0.25))]
    _check_memory(config, d, train_split, test_split, modes)  # before anything is written
    run_dir = ckpt.prepare_run_dir(config.out, config.resume, config.overwrite, d.main)
    ddp.barrier(d)  # every rank has checked the run directory before rank 0 writes to it
    identity = {
        **config.results(),
        "train_data": f"{train_split.dataset_id}:{train_split.n_images}x{train_split.n_copies}",
        "test_data": f"{test_split.dataset_id}:{test_split.n_images}",
    }
    if cuda:
        torch.backends.cudnn.benchmark = not config.deterministic
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True

    invariances = (parse_invariance(config.invariance, train_split.defences)
                   if get_model(config.model).block_set else ())
    state, mean, std = _begin(config, d, run_dir, train_split, identity, invariances)

    torch.manual_seed(config.seed)
    core = build_model(config.model, train_split.n_classes, train_split.image_shape,
                       train_split.block_size, invariances)
    core = core.to(d.device, memory_format=torch.channels_last if cuda else torch.preserve_format)
    recipe = get_recipe(resolve_recipe(config.recipe, config.model), config.lr)
    train_loader = make_loader(train_split, modes[0], config, d, shuffle=True)
    test_loader = make_loader(test_split, modes[1], config, d, shuffle=False)
    steps = len(train_loader.plan(0)) if modes[0] == "memory" else -(-train_split.n_images //
                                                                       config.batch_size)
    optimizer = build_optimizer(core, recipe, d.device)
    meta = {"identity": identity, "mean": mean, "std": std, "model_name": config.model,
            "class_names": list(train_split.class_names),
            "image_shape": list(train_split.image_shape),
            "block_size": list(train_split.block_size), "scrambled": train_split.scrambled,
            "defences": train_split.defences, "invariances": list(invariances),
            "key_fingerprint": train_split.key_fingerprint}
    average = WeightAverage(core, config.ema) if config.ema else None  # of the unwrapped core
    run = ckpt.Run(run_dir, core, optimizer,
                   build_schedule(optimizer, recipe, steps * config.epochs), meta,
                   average=average)
    if state is not None:
        run.restore(state)
        _log(d, f"resuming {run_dir} after epoch {run.epoch}")
    elif config.resume:
        _log(d, f"resuming {run_dir}: no epoch was saved there yet, so it starts from epoch 1")

    net: nn.Module = core
    if d.world > 1:
        net = nn.parallel.DistributedDataParallel(core, device_ids=[d.device] if cuda else None)
    evaluated: nn.Module = average.module if average is not None else core
    eval_net = evaluated
    if config.compile:
        net, eval_net = torch.compile(net), torch.compile(eval_net)
    mean_t, std_t = torch.tensor(mean, device=d.device), torch.tensor(std, device=d.device)

    def prepare(x: torch.Tensor) -> torch.Tensor:
        return to_input(x, mean_t, std_t, channels_last=cuda)

    _log(d, f"data: train {train_split.n_images} images x {train_split.n_copies} copies "
            f"({modes[0]}), test {test_split.n_images} ({modes[1]}), "
            f"{train_split.image_shape[0]}x{train_split.image_shape[1]}, "
            f"{_blocks(train_split)}, "
            f"{_defended(train_split.defences, invariances)}"
            f"{train_split.n_classes} classes; device {d.device}, {d.world} process(es); "
            f"recipe {recipe.name}, peak lr {recipe.peak_lr}"
            + (f"; evaluating the weight average (EMA decay {config.ema})" if average else ""))
    warning = long_run_warning(config.model, d.device.type, train_split.n_images,
                               config.epochs - run.epoch, train_split.image_shape[:2],
                               torch.get_num_threads())
    if warning:
        _log(d, warning)
    for sp in (train_split, test_split):  # --limit-train/--limit-test: which images
        if sp.subset:
            _log(d, f"{sp.name} subset: {sp.subset}")

    for epoch in range(run.epoch, config.epochs):
        t0 = time.perf_counter()
        sums = _train_epoch(net, run, train_loader.batches(epoch), prepare, epoch, config, d,
                            steps, recipe.label_smoothing)
        train_s = time.perf_counter() - t0
        ddp.broadcast_buffers(evaluated, d)  # every rank evaluates the model rank 0 saves
        test = summarise(ddp.all_reduce_sum(
            evaluate(eval_net, test_loader.batches(0), prepare, autocast=cuda).to(d.device), d))
        row = {
            "epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"],
            "train_loss": sums[0] / max(sums[2], 1), "train_acc": sums[1] / max(sums[2], 1),
            "test_loss": test["loss"], "test_acc": test["acc"],
            "test_loss_tta": test["loss_tta"], "test_acc_tta": test["acc_tta"],
            "images_per_s": sums[2] / max(train_s, 1e-9), "epoch_s": time.perf_counter() - t0,
        }
        is_best = run.record(row)
        _log(d, epoch_line(row, config.epochs))
        if d.main:
            run.save(last=(epoch + 1) % config.checkpoint_every == 0 or epoch + 1 == config.epochs,
                     best=is_best)
    return _finish(d, run, test_split.scrambled)


def _remove_unused(run_dir: Path, keep_config: bool) -> None:
    """Remove the run directory this run created when it failed before saving any result (it
    holds at most config.json and partial files); ``keep_config``: keep one holding config.json,
    which ``--resume`` continues (Ctrl-C)."""
    if not run_dir.is_dir():
        return
    names = {p.name for p in run_dir.iterdir()}
    unused = all(n == "config.json" or is_partial(n) for n in names)
    if unused and not (keep_config and "config.json" in names):
        shutil.rmtree(run_dir, ignore_errors=True)


def _begin(config: TrainConfig, d: ddp.Dist, run_dir: Path, split: Split, identity: dict,
           invariances: tuple[str, ...] = ()) -> tuple[dict | None, list[float], list[float]]:
    """(the last.pt state to continue from or None, normalisation mean, std); a new run (or one
    resumed before its first checkpoint) computes them and writes config.json. With
    invariances the statistics are the same for every state of the transforms."""
    if config.resume and (run_dir / "last.pt").is_file():
        state = ckpt.load(run_dir / "last.pt")
        ckpt.check_resume(state["identity"], identity)
        if tuple(state.get("invariances", ())) != invariances:
            raise TrainError(f"--resume: the checkpoint's model is invariant to "
                             f"{list(state.get('invariances', ()))}, this run's to "
                             f"{list(invariances)}")
        return state, state["mean"], state["std"]
    if config.resume:  # interrupted before its first checkpoint: start it again
        ckpt.check_resume(ckpt.read_json(run_dir / "config.json")["identity"], identity)
    if config.normalize == "data":
        mean, std = channel_stats(split)
    else:
        mean, std = [0.5] * split.image_shape[2], [0.5] * split.image_shape[2]
    mean, std = symmetric_stats(mean, std, invariances)
    if d.main:
        ckpt.write_json({"config": config.saved(), "identity": identity, "mean": mean,
                         "std": std, "class_names": list(split.class_names),
                         "defences": split.defences, "invariances": list(invariances),
                         "key_fingerprint": split.key_fingerprint},
                        run_dir / "config.json")
    return None, mean, std


def _defended(defences: dict, invariances: tuple[str, ...]) -> str:
    on = [k for k, v in defences.items() if k in ("drop_border", "rotate", "negpos",
                                                   "channel_perm") and v]
    if not on and not invariances:
        return ""
    return (f"defences {', '.join(on) or 'none'}, model invariant to "
            f"{', '.join(invariances) or 'none'}; ")


def _train_epoch(net: nn.Module, run: ckpt.Run, batches: Iterable, prepare: Callable, epoch: int,
                 config: TrainConfig, d: ddp.Dist, steps: int, smoothing: float = 0.0
                 ) -> list[float]:
    """One epoch; returns [summed loss, correct, count] over all ranks."""
    cuda = d.device.type == "cuda"
    net.train()
    acc = torch.zeros(2, dtype=torch.float64, device=d.device)  # summed loss, correct
    count = 0
    show = config.progress and d.main and sys.stderr.isatty()
    bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{config.epochs}", unit="batch",
               file=sys.stderr, disable=not show, leave=False, dynamic_ncols=True)
    for xb, yb in batches:
        x = prepare(xb)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            out = net(x)
            loss = nn.functional.cross_entropy(out.float(), yb, label_smoothing=smoothing)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        run.schedule.step()
        if run.average is not None:
            run.average.update(run.model)
        acc += torch.stack([loss.detach() * len(yb), (out.argmax(1) == yb).sum()]).double()
        count += len(yb)
        if bar.update(1):  # True when tqdm redrew: only then read the loss (a device sync)
            bar.set_postfix_str(f"loss {float(acc[0]) / count:.4f}")
    bar.close()
    total = torch.cat([acc, torch.tensor([count], dtype=torch.float64, device=d.device)])
    return ddp.all_reduce_sum(total, d).tolist()


# --- evaluation, with and without flip TTA ---------------------------------------------------
# TTA at the cloud flips the *encrypted* image (the paper's protocol): its prediction is the
# mean of the class probabilities for the image and for its mirror.


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, tta: bool = False) -> torch.Tensor:
    """Class probabilities (B, K) for a normalised (B, C, H, W) batch; with ``tta`` the mean of
    the probabilities for x and for x flipped left-right."""
    p = model(x).float().softmax(1)
    if tta:
        p = (p + model(x.flip(3)).float().softmax(1)) / 2
    return p


@torch.no_grad()
def evaluate(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    prepare: Callable[[torch.Tensor], torch.Tensor] = lambda x: x,
    autocast: bool = False,
) -> torch.Tensor:
    """Sums over ``batches`` of (images, labels) as a float64 tensor on the batches' device:
    [count, loss, correct, loss with TTA, correct with TTA] (``summarise`` makes rates of them;
    DDP ranks all-reduce it first).

    ``prepare`` turns a batch into model input (e.g. ``data.to_input``); ``autocast`` runs the
    model in bf16 on CUDA. The model is put in eval mode and given back in its previous mode.
    """
    was_training = model.training
    model.eval()
    sums = None
    for xb, yb in batches:
        x = prepare(xb)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            logits = model(x).float()
            logits_flip = model(x.flip(3)).float()
        p = logits.softmax(1)
        p_tta = (p + logits_flip.softmax(1)) / 2
        row = torch.stack([
            torch.tensor(float(len(yb)), device=yb.device),
            nn.functional.cross_entropy(logits, yb, reduction="sum"),
            (p.argmax(1) == yb).sum(),
            nn.functional.nll_loss(p_tta.clamp_min(1e-12).log(), yb, reduction="sum"),
            (p_tta.argmax(1) == yb).sum(),
        ]).double()
        sums = row if sums is None else sums + row
    model.train(was_training)
    return sums if sums is not None else torch.zeros(5, dtype=torch.float64)


def summarise(sums: torch.Tensor) -> dict[str, float]:
    """Mean loss and top-1 accuracy (in [0, 1]) without and with TTA from ``evaluate``'s sums."""
    n, loss, correct, loss_tta, correct_tta = (float(v) for v in sums.cpu())
    n = max(n, 1.0)
    return {"loss": loss / n, "acc": correct / n,
            "loss_tta": loss_tta / n, "acc_tta": correct_tta / n}


# --- set-up and reporting ------------------------------------------------------------------


def _log(d: ddp.Dist, text: str) -> None:
    if d.main:
        print(text, flush=True)


def _check_memory(config: TrainConfig, d: ddp.Dist, train_split: Split, test_split: Split,
                  modes: list[str]) -> None:
    """Print the peak-memory estimate; TrainError when it exceeds the memory available."""
    saved, params = saved_bytes_per_image(config.model, train_split.n_classes,
                                          train_split.image_shape, train_split.block_size)
    slots = 2 if resolve_recipe(config.recipe, config.model) == "adamw" else 1
    slots += 1 if config.ema else 0  # the weight average: one more copy of the weights
    splits = [(s.n_images, s.n_copies, s.nbytes // max(s.n_images * s.n_copies, 1), m)
              for s, m in zip((train_split, test_split), modes, strict=True)]
    est = peak_memory(splits, params, slots, config.batch_size // d.world, saved, config.workers,
                      base=resident_memory())
    free = torch.cuda.mem_get_info(d.device)[0] if d.device.type == "cuda" else None
    line, warning = check_memory(est, d.device.type, free)
    _log(d, line)
    if warning:
        _log(d, warning)


def _blocks(split: Split) -> str:
    if not split.scrambled:
        return "plain (not scrambled)"
    return f"scrambled in {split.block_size[0]}x{split.block_size[1]} blocks"


def epoch_line(row: dict, epochs: int) -> str:
    """``epoch  3/250  loss 1.234  train 55.1%  test 60.2%  tta 61.0%  4,512 img/s  11.1 s``."""
    w = len(str(epochs))
    return (
        f"epoch {row['epoch']:>{w}}/{epochs}  loss {row['train_loss']:.4f}"
        f"  train {100 * row['train_acc']:5.1f}%  test {100 * row['test_acc']:5.1f}%"
        f"  tta {100 * row['test_acc_tta']:5.1f}%  test loss {row['test_loss']:.4f}"
        f"  {row['images_per_s']:,.0f} img/s  {row['epoch_s']:.1f} s"
    )


def _finish(d: ddp.Dist, run: ckpt.Run, scrambled: bool) -> dict:
    rows, best = run.rows, run.best
    last = rows[-1] if rows else {}
    result = {
        "run_dir": str(run.dir), "epochs": len(rows),
        **{f"final_{k}": last.get(k) for k in ("test_acc", "test_acc_tta", "test_loss",
                                                "test_loss_tta", "train_loss")},
        "best_epoch": best["epoch"] if best else None,
        "best_test_acc": best["test_acc"] if best else None,
        "best_test_acc_tta": best["test_acc_tta"] if best else None,
    }
    if rows:
        _log(d, f"final (epoch {last['epoch']}): test accuracy {100 * last['test_acc']:.2f}%, "
                f"with flip TTA {100 * last['test_acc_tta']:.2f}% "
                f"({'encrypted' if scrambled else 'plain'} test images)")
        _log(d, f"best  (epoch {best['epoch']}): test accuracy {100 * best['test_acc']:.2f}%, "
                f"with flip TTA {100 * best['test_acc_tta']:.2f}%   -> {run.dir}")
    return result
