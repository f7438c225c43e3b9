"""Per-image keys (format version 2): a shard task carries the keys of its own images and never
the master key; one shard's keys decrypt no image of another shard."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from bsformat.reader import open_dataset
from encrypt_tool import sharded
from encrypt_tool.decrypt import decrypt_images
from encrypt_tool.scramble import block_grid, unscramble
from keys.master import load_key
from keys.subkeys import ShardKeys, derive_image_keys, derive_permutations_v2

SMALL = ["dataset", "--source", "synthetic", "--limit", "10", "--n-keys", "2",
         "--shard-size", "4", "--seed", "2", "--quiet", "--jobs", "1"]


class _Future:
    def __init__(self, fn, payload: bytes, key: str) -> None:
        self.fn, self.payload, self.key = fn, payload, key

    def result(self):
        return self.fn(*pickle.loads(self.payload))  # what a worker would unpickle and run


class _Client:
    """Stands in for a Dask client: records each task's pickled arguments, runs it here."""

    loop = None

    def __init__(self) -> None:
        self.futures: list[_Future] = []

    def submit(self, fn, *args, key: str, pure: bool):
        f = _Future(fn, pickle.dumps(args), key)
        self.futures.append(f)
        return f

    def cancel(self, futures) -> None:
        pass


@pytest.fixture
def on_fake_dask(monkeypatch):
    client = _Client()
    monkeypatch.setattr(sharded, "open_client", lambda *a: (client, None))
    monkeypatch.setattr(sharded, "close_client", lambda *a: None)
    monkeypatch.setattr(sharded, "check_visible", lambda *a: None)
    import distributed

    monkeypatch.setattr(distributed, "as_completed", lambda futures, loop=None: iter(futures))
    import encrypt_tool.cluster as cluster

    monkeypatch.setattr(cluster, "_sees", lambda *a: None)
    return client


def test_dask_tasks_carry_no_master_key(tmp_path, run_cli, key_file, on_fake_dask):
    r = run_cli(*SMALL, "--key", key_file, "--out", f"{tmp_path}/enc/", "--workers", "2")
    assert r.exit_code == 0, r.output
    master = load_key(key_file)
    payloads = [f.payload for f in on_fake_dask.futures]
    assert len(payloads) == 6  # train: 3 shards of 4, 4, 2 images; test the same
    for p in payloads:
        assert master not in p and master.hex().encode() not in p
    # each payload holds the keys of its own shard's images, and of no other image
    with open_dataset(tmp_path / "enc") as ds:
        dsid = bytes.fromhex(ds.info.dataset_id)
    every = derive_image_keys(master, dsid, "train", np.arange(10))  # (10, 32)
    first = payloads[0]
    assert all(every[j].tobytes() in first for j in range(4))
    assert not any(every[j].tobytes() in first for j in range(4, 10))
    plain = run_cli("decrypt", tmp_path / "enc", "--key", key_file, "--out", tmp_path / "p.npz")
    assert plain.exit_code == 0, plain.output


def test_one_shards_keys_decrypt_no_other_shard(tmp_path, run_cli, key_file):
    r = run_cli(*SMALL, "--key", key_file, "--out", f"{tmp_path}/enc/")
    assert r.exit_code == 0, r.output
    master = load_key(key_file)
    with open_dataset(tmp_path / "enc") as ds:
        dsid = bytes.fromhex(ds.info.dataset_id)
        block, shape = ds.info.block_size, ds.info.image_shape
        truth, _ = decrypt_images(ds, master, "train", 0)  # (10, H, W, C)
        stored = ds.read("train", np.arange(4, 8), copy=0).images  # shard 1: images 4..7
    keys0 = ShardKeys.derive(master, dsid, "train", 0, 4)
    with pytest.raises(ValueError, match="outside the keys held"):
        keys0.lookup(dsid, "train", np.arange(4, 8))
    with pytest.raises(ValueError, match="another dataset or split"):
        keys0.lookup(dsid, "test", np.arange(0, 4))
    own = keys0.lookup(dsid, "train", np.arange(0, 4))  # shard 0's keys tried on shard 1
    grid = block_grid(shape[:2], block)
    guess = unscramble(stored, derive_permutations_v2(own, 0, grid), block)
    assert not any(np.array_equal(guess[i], truth[4 + i]) for i in range(4))
    assert master not in keys0.keys and "hidden" in repr(keys0)
    assert ShardKeys.derive(master, b"\0" * 16, "train", 0, 4).keys != keys0.keys


def test_a_shard_is_never_given_the_master_key(tmp_path, key_file):
    with pytest.raises(TypeError, match="never the master key"):
        sharded.run_shard(None, str(tmp_path), load_key(key_file))
