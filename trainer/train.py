"""The training loop: data, model, recipe, per-epoch evaluation, checkpoints, resume, DDP.

``train(TrainConfig)`` is the library entry; ``bs-train`` only parses options and calls it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch
from torch import nn

from trainer import checkpoint as ckpt
from trainer import ddp
from trainer.config import TrainConfig
from trainer.data import MemoryLoader, fits_in_memory, to_input
from trainer.errors import TrainError
from trainer.estimate import long_run_warning
from trainer.evaluate import evaluate, summarise
from trainer.model import build_model
from trainer.progress import ProgressBar, epoch_line
from trainer.recipe import build_optimizer, build_schedule, get_recipe, resolve_recipe
from trainer.source import Split, channel_stats, check_pair, describe
from trainer.stream import StreamLoader

__all__ = ["train"]


def _log(d: ddp.Dist, text: str) -> None:
    if d.main:
        print(text, flush=True)


def _splits(config: TrainConfig) -> tuple[Split, Split]:
    train_split = describe(config.data, "train", config.limit_train)
    test_split = describe(config.test or config.data, "test", config.limit_test)
    check_pair(train_split, test_split)
    if config.batch_size > train_split.n_images:
        raise TrainError(
            f"batch size {config.batch_size} is larger than the training set "
            f"({train_split.n_images} images); use --batch-size <= {train_split.n_images}"
        )
    return train_split, test_split


def _loader(split: Split, config: TrainConfig, d: ddp.Dist, shuffle: bool, budget: float):
    mode = config.data_mode
    if mode == "auto":
        mode = "memory" if fits_in_memory(split.nbytes, d.device, budget) else "stream"
    kw = dict(batch_size=config.batch_size, seed=config.seed, shuffle=shuffle, rank=d.rank,
              world=d.world)
    if mode == "memory":
        return MemoryLoader(split, d.device, **kw), mode
    return StreamLoader(split, d.device, workers=config.workers, **kw), mode


def _identity(train_split: Split, test_split: Split, config: TrainConfig) -> dict:
    return {
        **config.results(),
        "train_data": f"{train_split.dataset_id}:{train_split.n_images}x{train_split.n_copies}",
        "test_data": f"{test_split.dataset_id}:{test_split.n_images}",
    }


def train(config: TrainConfig) -> dict:
    """Train and evaluate as ``config`` says; returns the final and best test metrics."""
    config.validate()
    d = ddp.setup(config.device)
    threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    try:
        if config.deterministic:  # exact replays; on CUDA a few ops only warn
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=d.device.type == "cuda")
        return _train(config, d)
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
        torch.set_num_threads(threads)
        ddp.teardown(d)


def _train(config: TrainConfig, d: ddp.Dist) -> dict:
    train_split, test_split = _splits(config)
    if config.batch_size % d.world:
        raise TrainError(f"batch size {config.batch_size} must be a multiple of the "
                         f"{d.world} processes")
    run_dir = ckpt.prepare_run_dir(config.out, config.resume, config.overwrite, d.main)
    ddp.barrier(d)  # every rank has checked the run directory before rank 0 writes to it
    identity = _identity(train_split, test_split, config)
    cuda = d.device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = not config.deterministic
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True

    state = ckpt.load(run_dir / "last.pt") if config.resume else None
    if state is not None:
        ckpt.check_resume(state["identity"], identity)
        mean, std = state["mean"], state["std"]
    elif config.normalize == "data":
        mean, std = channel_stats(train_split)
    else:
        mean, std = [0.5] * train_split.image_shape[2], [0.5] * train_split.image_shape[2]

    torch.manual_seed(config.seed)
    core = build_model(config.model, train_split.n_classes, train_split.image_shape,
                       train_split.block_size)
    core = core.to(d.device, memory_format=torch.channels_last if cuda else torch.preserve_format)
    recipe = get_recipe(resolve_recipe(config.recipe, config.model), config.lr)
    train_loader, mode = _loader(train_split, config, d, True, 0.5)
    test_loader, test_mode = _loader(test_split, config, d, False, 0.25)
    steps = len(train_loader.plan(0)) if mode == "memory" else -(-train_split.n_images //
                                                                   config.batch_size)
    optimizer = build_optimizer(core, recipe, d.device)
    schedule = build_schedule(optimizer, recipe, steps * config.epochs)
    rows: list[dict] = []
    best: dict | None = None
    start = 0
    if state is not None:
        core.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        rows, best, start = state["metrics"], state["best"], state["epoch"]
        torch.set_rng_state(state["rng"])
        _log(d, f"resuming {run_dir} after epoch {start}")
    elif d.main:
        ckpt.write_json({"config": config.to_dict(), "identity": identity, "mean": mean,
                         "std": std, "class_names": list(train_split.class_names),
                         "defences": train_split.defences},
                        run_dir / "config.json")

    net: nn.Module = core
    if d.world > 1:
        net = nn.parallel.DistributedDataParallel(core, device_ids=[d.device] if cuda else None)
    eval_net: nn.Module = core
    if config.compile:
        net, eval_net = torch.compile(net), torch.compile(core)
    mean_t = torch.tensor(mean, device=d.device)
    std_t = torch.tensor(std, device=d.device)

    def prepare(x: torch.Tensor) -> torch.Tensor:
        return to_input(x, mean_t, std_t, channels_last=cuda)

    _log(d, f"data: train {train_split.n_images} images x {train_split.n_copies} copies "
            f"({mode}), test {test_split.n_images} ({test_mode}), "
            f"{train_split.image_shape[0]}x{train_split.image_shape[1]}, "
            f"{_blocks(train_split)}, "
            f"{train_split.n_classes} classes; device {d.device}, {d.world} process(es); "
            f"recipe {recipe.name}, peak lr {recipe.peak_lr}")
    warning = long_run_warning(config.model, d.device.type, train_split.n_images,
                               config.epochs - start, train_split.image_shape[:2],
                               torch.get_num_threads())
    if warning:
        _log(d, warning)
    for epoch in range(start, config.epochs):
        t0 = time.perf_counter()
        sums, n_seen = _train_epoch(net, optimizer, schedule, train_loader, prepare, epoch,
                                    config, d, steps, recipe.label_smoothing)
        train_s = time.perf_counter() - t0
        test_sums = evaluate(eval_net, test_loader.batches(0), prepare, autocast=cuda)
        test = summarise(ddp.all_reduce_sum(test_sums.to(d.device), d))
        row = {
            "epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"],
            "train_loss": sums[0] / max(sums[2], 1), "train_acc": sums[1] / max(sums[2], 1),
            "test_loss": test["loss"], "test_acc": test["acc"],
            "test_loss_tta": test["loss_tta"], "test_acc_tta": test["acc_tta"],
            "images_per_s": n_seen / max(train_s, 1e-9), "epoch_s": time.perf_counter() - t0,
        }
        rows.append(row)
        is_best = best is None or row["test_acc_tta"] > best["test_acc_tta"]
        if is_best:
            best = dict(row)
        _log(d, epoch_line(row, config.epochs))
        if d.main:
            last = (epoch + 1) % config.checkpoint_every == 0 or epoch + 1 == config.epochs
            _save(run_dir, core, optimizer, schedule, epoch + 1, rows, best, identity, mean,
                  std, train_split, is_best, last)
    return _finish(d, run_dir, rows, best, test_split.scrambled)


def _blocks(split: Split) -> str:
    if not split.scrambled:
        return "plain (not scrambled)"
    return f"scrambled in {split.block_size[0]}x{split.block_size[1]} blocks"


def _train_epoch(net, optimizer, schedule, loader, prepare, epoch, config, d, steps,
                 smoothing=0.0):
    """One epoch; returns ([summed loss, correct, count] over all ranks, images seen)."""
    cuda = d.device.type == "cuda"
    net.train()
    acc = torch.zeros(2, dtype=torch.float64, device=d.device)  # summed loss, correct
    count = 0
    bar = ProgressBar(steps, f"epoch {epoch + 1}/{config.epochs}", config.progress and d.main)
    for xb, yb in loader.batches(epoch):
        x = prepare(xb)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            out = net(x)
            loss = nn.functional.cross_entropy(out.float(), yb, label_smoothing=smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        acc += torch.stack([loss.detach() * len(yb), (out.argmax(1) == yb).sum()]).double()
        count += len(yb)
        if bar.update(1):
            bar.draw(f"loss {float(acc[0]) / count:.4f}")
    bar.close()
    total = torch.cat([acc, torch.tensor([count], dtype=torch.float64, device=d.device)])
    total = ddp.all_reduce_sum(total, d).tolist()
    return [total[0], total[1], total[2]], int(total[2])


def _save(run_dir: Path, core, optimizer, schedule, epoch, rows, best, identity, mean, std,
          split: Split, is_best: bool, last: bool) -> None:
    model = {k: v.detach().cpu() for k, v in core.state_dict().items()}
    common = {"identity": identity, "mean": mean, "std": std, "model_name": identity["model"],
              "class_names": list(split.class_names), "image_shape": list(split.image_shape),
              "block_size": list(split.block_size), "scrambled": split.scrambled,
              "defences": split.defences}
    if last:
        ckpt.save({**common, "model": model, "optimizer": optimizer.state_dict(),
                   "schedule": schedule.state_dict(), "epoch": epoch, "metrics": rows,
                   "best": best, "rng": torch.get_rng_state()}, run_dir / "last.pt")
    if is_best:
        ckpt.save({**common, "model": model, "epoch": epoch, "metrics": best},
                  run_dir / "best.pt")
    ckpt.write_metrics(rows, run_dir / "metrics.csv")


def _finish(
    d: ddp.Dist, run_dir: Path, rows: list[dict], best: dict | None, scrambled: bool
) -> dict:
    last = rows[-1] if rows else {}
    result = {
        "run_dir": str(run_dir), "epochs": len(rows),
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
                f"with flip TTA {100 * best['test_acc_tta']:.2f}%   -> {run_dir}")
    return result
