"""The block-set model: invariant to the order of blocks, in train and eval mode, with flip TTA."""

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from encrypt_tool.cli import main as encrypt_main
from encrypt_tool.scramble import scramble
from trainer.blockset import BLOCKSETS, BlockSet, BlockSetSpec, to_blocks
from trainer.errors import TrainError
from trainer.model import build_model
from trainer.recipe import build_optimizer, get_recipe, resolve_recipe
from trainer.source import describe, load_split
from trainer.train import predict

TINY = BlockSetSpec(stem=8, dim=16, depth=2, heads=2, mlp=2)


def shuffle_blocks(x: torch.Tensor, block: tuple[int, int], seed: int) -> torch.Tensor:
    """(B, C, H, W) with each image's blocks in its own random order (the scrambler's gather)."""
    B, C, H, W = x.shape
    n = (H // block[0]) * (W // block[1])
    rng = np.random.default_rng(seed)
    perm = np.stack([rng.permutation(n) for _ in range(B)])  # (B, n)
    y = scramble(x.permute(0, 2, 3, 1).numpy(), perm, block)  # (B, H, W, C)
    return torch.from_numpy(y).permute(0, 3, 1, 2).contiguous()


def tiny(block: tuple[int, int], shape=(32, 32, 3), token_drop: float = 0.0) -> BlockSet:
    torch.manual_seed(0)
    spec = BlockSetSpec(TINY.stem, TINY.dim, TINY.depth, TINY.heads, TINY.mlp, token_drop)
    return BlockSet(10, shape, block, spec)


CASES = [((4, 4), (32, 32, 3)), ((8, 8), (32, 32, 3)), ((16, 16), (32, 32, 3)),
         ((4, 8), (32, 32, 3)), ((16, 16), (224, 224, 3))]


@pytest.mark.parametrize("block,shape", CASES)
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_logits_do_not_depend_on_block_order(block, shape, mode):
    model = tiny(block, shape).train(mode == "train")
    B = 2 if shape[0] > 64 else 6
    x = torch.randn(B, shape[2], shape[0], shape[1])
    y = shuffle_blocks(x, block, seed=1)
    assert not torch.equal(x, y)
    with torch.no_grad():
        a, b = model(x), model(y)  # train mode: batch-norm statistics over all blocks
    assert a.shape == (B, 10)
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    if mode == "train":  # and the gradients agree as well
        ga = torch.autograd.grad(model(x).square().sum(), model.head.weight)[0]
        gb = torch.autograd.grad(model(y).square().sum(), model.head.weight)[0]
        torch.testing.assert_close(ga, gb, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(BLOCKSETS))
def test_shipped_models_are_invariant(name):
    torch.manual_seed(0)
    model = build_model(name, 10, (32, 32, 3), (8, 8)).eval()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(shuffle_blocks(x, (8, 8), 2)),
                                   rtol=1e-4, atol=1e-5)


def test_a_position_embedding_inside_the_block_is_kept():
    """Pixel order inside a block matters (scrambling keeps it): a block-internal change of
    pixel order must change the logits, or the model would be blind to what is allowed."""
    model = tiny((8, 8)).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(model(x), model(x.transpose(2, 3)), atol=1e-4)


def test_flip_tta_is_the_same_for_any_key():
    """A mirrored scrambled image is the set of mirrored blocks: TTA on it equals TTA on the
    plain image, whatever the permutation."""
    model = tiny((4, 4)).eval()
    x = torch.randn(4, 3, 32, 32)
    y = shuffle_blocks(x, (4, 4), seed=3)
    torch.testing.assert_close(predict(model, y, tta=True), predict(model, x, tta=True),
                               rtol=1e-4, atol=1e-6)
    assert not torch.allclose(predict(model, x), predict(model, x.flip(3)), atol=1e-6)


def test_token_dropout_keeps_a_share_of_blocks_in_training_only():
    model = tiny((4, 4), token_drop=0.25)
    t = model.tokens(torch.randn(2, 3, 32, 32))
    assert model._drop(t).shape == (2, 48, TINY.dim)
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(shuffle_blocks(x, (4, 4), 4)),
                                   rtol=1e-4, atol=1e-5)


def test_to_blocks_orders_blocks_row_major():
    x = torch.arange(2 * 1 * 8 * 8, dtype=torch.float32).reshape(2, 1, 8, 8)
    b = to_blocks(x, (4, 4))  # (2, 4, 1, 4, 4)
    assert b.shape == (2, 4, 1, 4, 4)
    torch.testing.assert_close(b[0, 1, 0], x[0, 0, :4, 4:])
    torch.testing.assert_close(b[1, 2, 0], x[1, 0, 4:, :4])


def test_bad_block_sizes_are_clear_errors():
    with pytest.raises(TrainError, match="does not tile"):
        BlockSet(10, (32, 32, 3), (5, 5), TINY)
    with pytest.raises(TrainError, match="needs the block size"):
        build_model("blockset", 10, (32, 32, 3))


def test_recipe_auto_and_adamw_groups():
    assert resolve_recipe("auto", "blockset-narrow") == "adamw"
    assert resolve_recipe("auto", "resnet18") == "onecycle"
    assert resolve_recipe("paper", "blockset") == "paper"
    model = tiny((8, 8))
    opt = build_optimizer(model, get_recipe("adamw"), torch.device("cpu"))
    assert isinstance(opt, torch.optim.AdamW)
    decayed = {id(p) for p in opt.param_groups[0]["params"]}
    assert id(model.head.weight) in decayed
    assert id(model.cls) not in decayed and id(model.pixel_pos) not in decayed
    assert id(model.head.bias) not in decayed


def _encrypt(tmp: Path, key: Path, name: str, *extra: str) -> Path:
    out = tmp / f"{name}.h5"
    args = ["dataset", "--source", "synthetic:64", "--limit", "16", "--key", str(key),
            "--n-keys", "1", "--no-test-augment", "--block-size", "8", "--seed", "0",
            "--out", str(out), "--quiet", *extra]
    result = CliRunner().invoke(encrypt_main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def test_two_keys_give_the_same_predictions(tmp_path):
    """The same test images encrypted under two master keys (different permutations) get the
    same class probabilities with flip TTA; a ResNet does not."""
    keys = []
    for k in ("a", "b"):
        path = tmp_path / f"{k}.key"
        assert CliRunner().invoke(encrypt_main, ["keygen", "--out", str(path)]).exit_code == 0
        keys.append(path)
    files = [_encrypt(tmp_path, k, k.stem) for k in keys]
    xs = []
    for f in files:
        images, _ = load_split(describe(f, "test"))  # (M, 1, H, W, C) uint8
        xs.append(torch.from_numpy(np.asarray(images)[:, 0]).permute(0, 3, 1, 2).float() / 255)
    assert not torch.equal(xs[0], xs[1])
    torch.manual_seed(0)
    model = build_model("blockset-narrow", 10, (32, 32, 3), (8, 8)).eval()
    torch.testing.assert_close(predict(model, xs[0], tta=True), predict(model, xs[1], tta=True),
                               rtol=1e-4, atol=1e-6)
    resnet = build_model("resnet18-narrow", 10, (32, 32, 3)).eval()
    assert not torch.allclose(predict(resnet, xs[0]), predict(resnet, xs[1]), atol=1e-4)
