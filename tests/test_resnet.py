"""ResNet (torch only): shapes, the residual block's identity, gradients, train/eval, bad arguments, training."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.data import load_digits
from course_lib.torch_impl.resnet import BasicBlock, ConvNorm, ResNet
from course_lib.torch_impl.solver import Solver


def _batch(model: ResNet, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((n, model.in_channels, *model.image_size), generator=g, dtype=torch.float64)
    return x, torch.randint(0, model.n_classes, (n,), generator=g)


@pytest.mark.parametrize("norm", ["batch", None])
@pytest.mark.parametrize("widths, blocks, size, maps", [((4, 8), 1, 8, (8, 4, 4)), ((3, 5, 6), 2, (9, 12), (6, 3, 3))])
def test_shapes_and_structure(norm, widths, blocks, size, maps):
    model = ResNet(2, size, 5, widths=widths, blocks_per_stage=blocks, norm=norm, rng=0)
    x, y = _batch(model, 3)
    assert tuple(model.features(x).shape) == (3, *maps)
    assert tuple(model.scores(x).shape) == (3, 5) and model.scores(x).dtype == torch.float64
    assert model.predict(x).shape == (3,)
    assert model.num_layers == 2 + 2 * blocks * len(widths)
    assert len(model.stages) == len(widths) and all(len(stage) == blocks for stage in model.stages)
    for s, stage in enumerate(model.stages):  # projection exactly where the shape changes
        assert (stage[0].shortcut is None) == (s == 0)  # the stem already gives widths[0] channels
        assert all(block.shortcut is None for block in stage[1:])
    names = [name for name, _ in model.named_parameters()]
    assert any(n.endswith(".gamma") for n in names) == (norm == "batch")
    assert any(n.endswith(".b") for n in names) == (norm is None)
    assert math.isfinite(float(model.loss(x, y).detach()))


def test_param_count():
    """Stem 1->4 (36 + BN 8), block 4->4 (2 x (144 + 8)), block 4->8 stride 2 (288 + 16 + 576 + 16,
    projection 32 + 16), readout 8*10 + 10; without norm every BN's 2C becomes a bias's C."""
    model = ResNet(1, 8, 10, widths=(4, 8), rng=0)
    assert model.num_params == (36 + 8) + 2 * (144 + 8) + (288 + 16 + 576 + 16 + 32 + 16) + 90
    plain = ResNet(1, 8, 10, widths=(4, 8), norm=None, rng=0)
    assert plain.num_params == (36 + 4) + 2 * (144 + 4) + (288 + 8 + 576 + 8 + 32 + 8) + 90


@pytest.mark.parametrize("norm", ["batch", None])
def test_block_with_zero_second_conv_is_identity_then_relu(norm):
    """F(x) = 0 when W2 = 0 (and b2 = 0, or BN's beta = 0): the block computes relu(x), in both modes."""
    gen = torch.Generator().manual_seed(0)
    block = BasicBlock(4, 4, 1, norm, gen, torch.device("cpu"), torch.float64)
    with torch.no_grad():
        block.conv2.W.zero_()
    x = torch.randn((3, 4, 5, 5), generator=gen, dtype=torch.float64)
    torch.testing.assert_close(block(x), torch.relu(x))
    block.eval()
    torch.testing.assert_close(block(x), torch.relu(x))


def test_projection_shortcut_halves_the_maps():
    gen = torch.Generator().manual_seed(0)
    block = BasicBlock(3, 6, 2, "batch", gen, torch.device("cpu"), torch.float64)
    assert block.shortcut is not None and tuple(block.shortcut.W.shape) == (6, 3, 1, 1)
    out = block(torch.randn((2, 3, 7, 8), generator=gen, dtype=torch.float64))
    assert tuple(out.shape) == (2, 6, 4, 4) and bool((out >= 0).all())


def test_conv_norm_matches_torch_builtin():
    """ConvNorm = F.conv2d + F.batch_norm: outputs and running statistics (training), outputs (eval)."""
    gen = torch.Generator().manual_seed(1)
    unit = ConvNorm(3, 5, 3, 2, "batch", gen, torch.device("cpu"), torch.float64)
    with torch.no_grad():
        unit.gamma.uniform_(0.5, 1.5, generator=gen)
        unit.beta.normal_(generator=gen)
    x = torch.randn((4, 3, 9, 9), generator=gen, dtype=torch.float64)
    mean, var = unit.running_mean.clone(), unit.running_var.clone()
    z = F.conv2d(x, unit.W, None, stride=2, padding=1)
    ref = F.batch_norm(z, mean, var, unit.gamma, unit.beta, training=True, momentum=0.1, eps=1e-5)
    torch.testing.assert_close(unit(x, update=True), ref)
    torch.testing.assert_close(unit.running_mean, mean)
    torch.testing.assert_close(unit.running_var, var)
    unit.eval()
    torch.testing.assert_close(unit(x), F.batch_norm(z, mean, var, unit.gamma, unit.beta, training=False, eps=1e-5))


@pytest.mark.parametrize("norm", ["batch", None])
def test_gradients_reach_every_parameter(norm):
    """One backward pass: every parameter gets a finite, non-zero gradient, the stem's included."""
    model = ResNet(1, 8, 4, widths=(3, 5), blocks_per_stage=2, norm=norm, reg=0.1, rng=0)
    x, y = _batch(model, 6)
    model.loss(x, y).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and bool(torch.isfinite(p.grad).all()), name
        assert float(p.grad.abs().max()) > 0, name


def test_loss_includes_l2_on_weights_only():
    model = ResNet(1, 8, 4, widths=(3, 5), reg=0.5, rng=0)
    x, y = _batch(model, 6)
    plain = ResNet(1, 8, 4, widths=(3, 5), rng=0)
    weights = sum(float((p * p).sum().detach()) for n, p in model.named_parameters() if n.split(".")[-1] == "W")
    expected = float(plain.loss(x, y).detach()) + 0.25 * weights
    assert float(model.loss(x, y).detach()) == pytest.approx(expected, rel=1e-12)


def test_train_and_eval_modes():
    """Training: batch statistics, loss() moves the running ones (forward() does not). Eval: per example."""
    model = ResNet(1, 8, 4, widths=(3, 5), rng=0)
    x, y = _batch(model, 6)
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    model(x)
    assert all(torch.equal(buffers[k], v) for k, v in model.named_buffers())
    model.loss(x, y)
    assert all(not torch.equal(buffers[k], v) for k, v in model.named_buffers() if k.endswith("running_mean"))
    assert not torch.allclose(model(x)[:2], model(x[:2]))
    model.eval()
    after = {k: v.clone() for k, v in model.named_buffers()}
    torch.testing.assert_close(model(x)[:2], model(x[:2]))
    model.loss(x, y)
    assert all(torch.equal(after[k], v) for k, v in model.named_buffers())


def test_flat_input_is_reshaped():
    model = ResNet(1, 8, 10, rng=0).eval()
    x = torch.rand((5, 64), dtype=torch.float64)
    torch.testing.assert_close(model(x), model(x.reshape(5, 1, 8, 8)))
    with pytest.raises(ValueError, match="x must have shape"):
        model(torch.zeros((5, 63), dtype=torch.float64))


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"in_channels": 0}, "in_channels"),
        ({"image_size": (8, 8, 8)}, "image_size"),
        ({"image_size": 1, "widths": (4, 8)}, "image_size"),  # one stride-2 stage needs 2 pixels a side
        ({"n_classes": 1}, "n_classes"),
        ({"widths": ()}, "widths"),
        ({"widths": 16}, "widths"),
        ({"widths": (4, 0)}, "widths"),
        ({"blocks_per_stage": 0}, "blocks_per_stage"),
        ({"norm": "layer"}, "norm"),
        ({"reg": -0.1}, "reg"),
        ({"rng": "seed"}, "rng"),
    ],
)
def test_bad_arguments_are_named(kwargs, word):
    args = {"in_channels": 1, "image_size": 8, "n_classes": 10, **kwargs}
    with pytest.raises((ValueError, TypeError), match=word):
        ResNet(**args)


def test_seeded():
    a, b = ResNet(1, 8, 10, rng=3), ResNet(1, 8, 10, rng=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.fixture
def one_torch_thread():
    """Tiny tensors: one torch thread is fastest, and on a busy machine several threads spin."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_solver_trains_it_on_digits(one_torch_thread):
    """A few epochs of SGD on 400 standardized digits (float32, about a second): far better than chance."""
    data = load_digits(seed=0, scale="standard")
    small = {"x_train": data.x_train[:400], "y_train": data.y_train[:400], "x_val": data.x_val,
             "y_val": data.y_val}
    model = ResNet(1, 8, 10, widths=(8, 16), rng=0, dtype=torch.float32)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = Solver(model, small, optimizer, batch_size=32, epochs=4, progress=False).train()
    assert np.mean(history.loss[:5]) > 1.5
    assert history.val_acc[-1] > 0.5  # chance is 0.1; seed 0 reaches about 0.75 here
