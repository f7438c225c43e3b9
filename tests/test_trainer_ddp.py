"""Two processes with DDP on CPU (gloo): each rank trains on a disjoint part of every epoch, with
the copy choices of one process, and the ranks end with identical weights; the weight average
(``--ema``) follows the unwrapped model and evaluates the same on every rank."""

from __future__ import annotations

import json
import os
import socket

import numpy as np
import torch
import torch.multiprocessing as mp
from test_trainer_files import write_file

from trainer.plan import epoch_plan


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, data: str, out: str, log: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    import trainer.data
    from trainer.config import TrainConfig
    from trainer.train import train

    seen: list[list[int]] = []
    real_plan = trainer.data.MemoryLoader.plan

    def recording_plan(self, epoch):
        batches = real_plan(self, epoch)
        if self.shuffle:
            seen.append([int(i) for b in batches for i in b])
        return batches

    trainer.data.MemoryLoader.plan = recording_plan
    import trainer.ema

    averages = []
    real_init = trainer.ema.WeightAverage.__init__

    def recording_init(self, *a, **k):
        real_init(self, *a, **k)
        averages.append(self)

    trainer.ema.WeightAverage.__init__ = recording_init
    result = train(TrainConfig(data=data, out=out, epochs=1, batch_size=32, seed=3,
                               model="resnet18-narrow", device="cpu", progress=False,
                               limit_train=96, data_mode="memory", ema=0.9))
    state = torch.load(os.path.join(out, "last.pt"), weights_only=False) if rank == 0 else None
    weights = state["model"] if state is not None else None
    with open(f"{log}.{rank}", "w") as f:
        json.dump({"seen": seen[-1], "acc": result["final_test_acc"],
                   "updates": state["ema_updates"] if state is not None else None}, f)
    if weights is not None:
        torch.save(weights, f"{log}.weights")
    torch.save(averages[0].state_dict(), f"{log}.average.{rank}")


def test_two_process_ddp_run(tmp_path):
    data = write_file(tmp_path / "d.h5", n_train=96, n_test=32)
    log = str(tmp_path / "log")
    mp.spawn(_worker, args=(2, _free_port(), str(data), str(tmp_path / "run"), log), nprocs=2,
             join=True)
    seen = [json.load(open(f"{log}.{r}"))["seen"] for r in range(2)]
    assert set(seen[0]).isdisjoint(seen[1])
    order = epoch_plan(3, 0, 96, 4).order
    assert sorted(seen[0] + seen[1]) == sorted(order.tolist())
    # the global order, batch by batch, is one process's: rank r holds batch[r::2]
    merged = np.empty(96, np.int64)
    merged[0::2], merged[1::2] = seen[0], seen[1]
    assert np.array_equal(merged, order)
    assert (tmp_path / "run" / "metrics.csv").is_file()
    assert json.load(open(f"{log}.0"))["updates"] == 3  # one update per global batch of 32
    averages = [torch.load(f"{log}.average.{r}", weights_only=True) for r in range(2)]
    saved = torch.load(f"{log}.weights", weights_only=True)
    for k, v in saved.items():  # the same average on both ranks, and it is what was saved
        assert torch.equal(averages[0][k], v) and torch.equal(averages[1][k], v), k
