"""SimpleCNN: shapes, gradient check, parity with the torch twin, parameter count, training on the digits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_lib.data import load_digits
from course_lib.gradcheck import numerical_grad
from course_lib.scratch.cnn import SimpleCNN
from course_lib.scratch.conv import conv_param_count
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import Solver
from course_lib.torch_impl.cnn import SimpleCNN as TwinCNN
from course_lib.torch_impl.solver import Solver as TwinSolver

# float64 sums of a few hundred O(1) products: rounding is ~1e-14, these bounds leave room for any BLAS
RTOL, ATOL = 1e-10, 1e-12

# (in_channels, image_size, n_classes, channels, hidden) -> expected feature maps (C_K, H_K, W_K)
CONFIGS = [
    ((1, 8, 10, (8, 16), None), (16, 2, 2)),
    ((3, 7, 4, (5,), 6), (5, 3, 3)),  # odd size: 7 -> 3 (pooling floors)
    ((2, (8, 12), 3, (3, 4), None), (4, 2, 3)),  # not square
    ((1, 9, 5, (2, 3, 4), 7), (4, 1, 1)),  # 9 -> 4 -> 2 -> 1
]


def _batch(model: SimpleCNN, n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = model.spec
    return rng.standard_normal((n, s.in_channels, *s.image_size)), rng.integers(0, s.n_classes, n)


def _twin_of(model: SimpleCNN) -> TwinCNN:
    s = model.spec
    twin = TwinCNN(s.in_channels, s.image_size, s.n_classes, s.channels, s.hidden, reg=s.reg, rng=0)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in model.params.items()})
    return twin


# ----- shapes ------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, maps", CONFIGS)
def test_shapes(args, maps):
    c_in, size, n_classes, channels, hidden = args
    model = SimpleCNN(*args, rng=0)
    widths = [c_in, *channels]
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:]), start=1):
        assert model.params[f"W{i}"].shape == (b, a, 3, 3) and model.params[f"b{i}"].shape == (b,)
    k = len(channels)
    dims = [math.prod(maps)] + ([hidden] if hidden else []) + [n_classes]
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:]), start=k + 1):
        assert model.params[f"W{i}"].shape == (a, b) and model.params[f"b{i}"].shape == (b,)
    assert len(model.params) == 2 * (k + len(dims) - 1)
    assert all(p.dtype == np.float64 for p in model.params.values())
    x, y = _batch(model, 5)
    assert model.scores(x).shape == (5, n_classes)
    assert model.predict(x).shape == (5,)
    loss, grads = model.loss(x, y)
    assert np.isfinite(loss)
    assert list(grads) == list(model.params)
    assert all(grads[k].shape == p.shape for k, p in model.params.items())


def test_flat_input_is_reshaped():
    """The digits come flat, (N, 64): the same numbers as the (N, 1, 8, 8) images."""
    model = SimpleCNN(1, 8, 10, rng=0)
    x = np.random.default_rng(0).random((6, 64))
    np.testing.assert_array_equal(model.scores(x), model.scores(x.reshape(6, 1, 8, 8)))
    twin = _twin_of(model)
    torch.testing.assert_close(twin(torch.from_numpy(x)), twin(torch.from_numpy(x.reshape(6, 1, 8, 8))))


def test_he_init_scale():
    """Conv weights: std sqrt(2 / (C_in * 9)) (layout="conv"); Linear weights: sqrt(2 / fan_in); biases 0."""
    model = SimpleCNN(8, 4, 3, channels=(64,), hidden=256, rng=0)
    w1, w2 = model.params["W1"], model.params["W2"]
    assert w1.std() == pytest.approx(math.sqrt(2 / (8 * 9)), rel=0.05)  # 4608 draws: ~1% noise
    assert w2.std() == pytest.approx(math.sqrt(2 / (64 * 2 * 2)), rel=0.05)  # 65536 draws
    assert all(not p.any() for k, p in model.params.items() if k.startswith("b"))
    twin = TwinCNN(8, 4, 3, channels=(64,), hidden=256, rng=0)
    assert float(twin.W1.detach().std()) == pytest.approx(math.sqrt(2 / (8 * 9)), rel=0.05)


def test_seeded():
    a, b = SimpleCNN(1, 8, 10, rng=3), SimpleCNN(1, 8, 10, rng=3)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)


@pytest.mark.parametrize("cls", [SimpleCNN, TwinCNN])
@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"in_channels": 0}, "in_channels"),
        ({"image_size": 3}, "image_size"),  # two 2x2 poolings need 4 pixels a side
        ({"image_size": (8, 8, 8)}, "image_size"),
        ({"n_classes": 1}, "n_classes"),
        ({"channels": (8, 0)}, "channels"),
        ({"channels": 8}, "channels"),
        ({"hidden": 0}, "hidden"),
        ({"reg": -1.0}, "reg"),
    ],
)
def test_bad_arguments_are_named(cls, kwargs, word):
    args = {"in_channels": 1, "image_size": 8, "n_classes": 10, **kwargs}
    with pytest.raises(ValueError, match=word):
        cls(**args)


@pytest.mark.parametrize("shape", [(2, 1, 8, 7), (2, 3, 8, 8), (2, 63), (2, 8, 8)])
def test_bad_input_shape(shape):
    model = SimpleCNN(1, 8, 10, rng=0)
    with pytest.raises(ValueError, match="x must have shape"):
        model.scores(np.zeros(shape))
    with pytest.raises(ValueError, match="x must have shape"):
        _twin_of(model)(torch.zeros(shape, dtype=torch.float64))


# ----- parameter count ---------------------------------------------------------------------------
@pytest.mark.parametrize("args, maps", CONFIGS)
def test_param_count(args, maps):
    c_in, _, n_classes, channels, hidden = args
    model = SimpleCNN(*args, rng=0)
    conv = sum(conv_param_count(a, b, 3) for a, b in zip((c_in, *channels), channels))
    dims = [math.prod(maps)] + ([hidden] if hidden else []) + [n_classes]
    dense = sum(a * b + b for a, b in zip(dims[:-1], dims[1:]))
    assert model.num_params == conv + dense
    assert _twin_of(model).num_params == conv + dense


def test_param_count_of_the_digits_model():
    """1x8x8 -> 8x4x4 -> 16x2x2 -> 10: 80 + 1168 conv parameters, 64*10 + 10 in the readout."""
    assert SimpleCNN(1, 8, 10).num_params == 80 + 1168 + 650


# ----- gradient check ----------------------------------------------------------------------------
@pytest.mark.parametrize("hidden, reg", [(None, 0.0), (5, 0.1)])
@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_check(hidden, reg, seed):
    """Central differences (h = 1e-5) on every parameter of a small model, float64.

    Their error is ~h^2 (truncation) + eps * |J| / h (rounding), about 1e-10 here; it is measured
    against the gradient's norm, as single entries can be near zero. The biases are moved off
    their initial 0: an example whose flattened maps are all 0 would otherwise put the hidden
    ReLU exactly at its kink, where the two one-sided derivatives differ.
    """
    model = SimpleCNN(2, 6, 3, channels=(3, 4), hidden=hidden, reg=reg, rng=seed)
    rng = np.random.default_rng(seed + 20)
    for name in [k for k in model.params if k.startswith("b")]:
        model.params[name] = rng.normal(0.0, 0.1, model.params[name].shape)
    x, y = _batch(model, 4, seed=seed + 10)
    _, grads = model.loss(x, y)
    for name, p in model.params.items():
        num = numerical_grad(lambda _: model.loss(x, y)[0], p, 1.0, h=1e-5)
        err = np.linalg.norm(num - grads[name]) / max(np.linalg.norm(grads[name]), 1e-3)
        assert err < 1e-8, f"{name}: relative error {err:.2e}"


# ----- parity with the torch twin ----------------------------------------------------------------
@pytest.mark.parametrize("args, maps", CONFIGS)
@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_twin_parity(args, maps, reg):
    """Same parameters -> the same scores, loss and gradients, to rounding."""
    model = SimpleCNN(*args, reg=reg, rng=0)
    twin = _twin_of(model)
    assert [(k, tuple(p.shape)) for k, p in twin.named_parameters()] == [(k, p.shape) for k, p in model.params.items()]
    x, y = _batch(model, 6)
    loss, grads = model.loss(x, y)
    t_loss = twin.loss(torch.from_numpy(x), torch.from_numpy(y))
    t_loss.backward()
    torch.testing.assert_close(twin.scores(torch.from_numpy(x)).detach(), torch.from_numpy(model.scores(x)),
                               rtol=RTOL, atol=ATOL)
    assert t_loss.dtype == torch.float64
    assert float(t_loss.detach()) == pytest.approx(loss, rel=RTOL, abs=ATOL)
    for name, param in twin.named_parameters():
        torch.testing.assert_close(param.grad, torch.from_numpy(grads[name]), rtol=RTOL, atol=ATOL)


# ----- training with the Solver ------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


def test_solver_trains_on_digits(digits):
    """Five epochs of SGD with momentum (a fraction of a second): the loss drops far below ln 10."""
    model = SimpleCNN(1, 8, 10, rng=0)
    history = Solver(model, digits, SGD(lr=0.1, momentum=0.9), batch_size=64, epochs=5, progress=False).train()
    per_epoch = np.reshape(history.loss, (5, history.steps_per_epoch)).mean(axis=1)
    assert per_epoch[0] > 0.5 * math.log(10)  # chance level at the start (ln 10 = 2.30)
    assert per_epoch[-1] < 0.15 * math.log(10)  # seeds 0-4 end at 0.08 - 0.21
    assert history.val_acc[-1] > 0.8  # seeds 0-4: 0.88 - 0.97
    x_val, y_val = digits.x_val, digits.y_val
    assert model.error(x_val, y_val) == pytest.approx(1 - history.val_acc[-1])
    assert _twin_of(model).accuracy(torch.from_numpy(x_val), torch.from_numpy(y_val)) == history.val_acc[-1]


def test_twin_solver_follows_the_same_curve(digits):
    """Same start, same batches, SGD == torch.optim.SGD: the two loss curves agree to rounding."""
    model = SimpleCNN(1, 8, 10, rng=0)
    twin = _twin_of(model)
    scratch = Solver(model, digits, SGD(lr=0.1, momentum=0.9), epochs=1, progress=False).train()
    optimizer = torch.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9)
    torch_side = TwinSolver(twin, digits, optimizer, epochs=1, progress=False).train()
    np.testing.assert_allclose(torch_side.loss, scratch.loss, rtol=1e-9)
    for name, param in twin.named_parameters():
        np.testing.assert_allclose(param.detach().numpy(), model.params[name], rtol=1e-8, atol=1e-10)


# ----- batch norm, the deeper CNN, bias=False ------------------------------------------------------
# (convs_per_block, norm, norm_position, bias): every option, each in a small model
VARIANTS = [
    (2, None, "before", True),
    (1, "batch", "before", True),
    (1, "batch", "after", True),
    (2, "batch", "before", False),
    (2, "batch", "after", True),
]


def _variant(variant, hidden=None, reg=0.0, seed=0, **kw) -> SimpleCNN:
    n, norm, position, bias = variant
    return SimpleCNN(2, 6, 3, channels=(3, 4), hidden=hidden, reg=reg, rng=seed, convs_per_block=n, norm=norm,
                     norm_position=position, bias=bias, **kw)


def _twin_with_state(model: SimpleCNN) -> TwinCNN:
    s = model.spec
    twin = TwinCNN(s.in_channels, s.image_size, s.n_classes, s.channels, s.hidden, reg=s.reg, rng=0,
                   convs_per_block=s.convs_per_block, norm=s.norm, norm_position=s.norm_position, bias=s.bias)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in {**model.params, **model.running}.items()})
    twin.train(model.training)
    return twin


def _perturb(model: SimpleCNN, seed: int) -> None:
    """Biases, betas off 0, gammas off 1, running statistics off (0, 1): nothing sits at a special value."""
    rng = np.random.default_rng(seed + 20)
    for name, p in model.params.items():
        if name.startswith(("b", "beta")):
            model.params[name] = rng.normal(0.0, 0.1, p.shape)
        elif name.startswith("gamma"):
            model.params[name] = rng.uniform(0.5, 1.5, p.shape)
    for name, r in model.running.items():
        model.running[name] = rng.normal(0.0, 0.3, r.shape) if "mean" in name else rng.uniform(0.5, 2.0, r.shape)


def test_names_and_shapes_of_the_options():
    """Convolutions are numbered across blocks; gamma_i, beta_i follow b_i; bias=False drops b_i of the convs."""
    model = SimpleCNN(1, 8, 10, channels=(4, 6), convs_per_block=2, norm="batch", bias=False, rng=0)
    assert list(model.params) == [
        "W1", "gamma1", "beta1", "W2", "gamma2", "beta2", "W3", "gamma3", "beta3", "W4", "gamma4", "beta4", "W5", "b5"]
    assert [model.params[f"W{i}"].shape for i in range(1, 5)] == [(4, 1, 3, 3), (4, 4, 3, 3), (6, 4, 3, 3),
                                                                  (6, 6, 3, 3)]
    assert model.params["W5"].shape == (6 * 2 * 2, 10)
    assert list(model.running) == [f"running_{s}{i}" for i in range(1, 5) for s in ("mean", "var")]
    assert model.num_conv == 4 and model.num_blocks == 2 and model.num_layers == 5
    conv = sum(conv_param_count(a, b, 3, bias=False) + 2 * b for a, b in [(1, 4), (4, 4), (4, 6), (6, 6)])
    assert model.num_params == conv + 24 * 10 + 10
    twin = _twin_with_state(model)
    assert [k for k, _ in twin.named_parameters()] == list(model.params)
    assert [k for k, _ in twin.named_buffers()] == list(model.running)
    assert twin.num_params == model.num_params
    assert "convs_per_block=2" in repr(model) and "norm='batch'" in repr(model) and "bias=False" in repr(model)


def test_default_names_are_unchanged():
    """Without the new options the parameters are those of the plain CNN, and there is no running state."""
    model = SimpleCNN(1, 8, 10, rng=0)
    assert list(model.params) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert model.running == {} and list(_twin_of(model).buffers()) == []


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("training", [True, False])
def test_gradient_check_with_options(variant, training):
    """Central differences on every parameter, in training mode (batch statistics, differentiated through)
    and in eval mode (running statistics, constants)."""
    model = _variant(variant, hidden=5, reg=0.1)
    _perturb(model, 0)
    model.train(training)
    x, y = _batch(model, 4, seed=11)
    _, grads = model.loss(x, y)
    for name, p in model.params.items():
        num = numerical_grad(lambda _: model.loss(x, y)[0], p, 1.0, h=1e-5)
        # a conv bias before BN has an exact zero gradient: the floor 0.1 keeps the differences' rounding
        # (~1e-11 per entry) from counting as a relative error
        err = np.linalg.norm(num - grads[name]) / max(np.linalg.norm(grads[name]), 1e-1)
        assert err < 1e-8, f"{name}: relative error {err:.2e}"


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("training", [True, False])
def test_twin_parity_with_options(variant, training):
    """Same parameters and running statistics -> same scores, loss, gradients (float64), both modes."""
    model = _variant(variant, hidden=5, reg=0.2)
    _perturb(model, 1)
    model.train(training)
    twin = _twin_with_state(model)
    x, y = _batch(model, 6)
    loss, grads = model.loss(x, y)
    t_loss = twin.loss(torch.from_numpy(x), torch.from_numpy(y))
    t_loss.backward()
    assert float(t_loss.detach()) == pytest.approx(loss, rel=RTOL, abs=ATOL)
    torch.testing.assert_close(twin.scores(torch.from_numpy(x)).detach(), torch.from_numpy(model.scores(x)),
                               rtol=RTOL, atol=ATOL)
    for name, param in twin.named_parameters():
        torch.testing.assert_close(param.grad, torch.from_numpy(grads[name]), rtol=RTOL, atol=ATOL)
    for name, buf in twin.named_buffers():  # updated by loss() in training mode only
        torch.testing.assert_close(buf, torch.from_numpy(model.running[name]), rtol=RTOL, atol=ATOL)


@pytest.fixture
def one_torch_thread():
    """Tiny float64 tensors: one torch thread is fastest, and on a busy machine several threads spin for
    seconds per step. The numbers are the same to rounding (the assertions allow for it)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.mark.parametrize("position", ["before", "after"])
def test_twin_solver_with_batch_norm_follows_the_same_curve(digits, position, one_torch_thread):
    """Sixteen SGD steps of the deeper CNN with BN: same losses, parameters and running statistics."""
    small = {k: getattr(digits, k)[:128] for k in ("x_train", "y_train", "x_val", "y_val")}
    model = SimpleCNN(1, 8, 10, channels=(4, 8), convs_per_block=2, norm="batch", norm_position=position, rng=0)
    twin = _twin_with_state(model)
    scratch = Solver(model, small, SGD(lr=0.05, momentum=0.9), batch_size=16, epochs=2, progress=False).train()
    optimizer = torch.optim.SGD(twin.parameters(), lr=0.05, momentum=0.9)
    torch_side = TwinSolver(twin, small, optimizer, batch_size=16, epochs=2, progress=False).train()
    np.testing.assert_allclose(torch_side.loss, scratch.loss, rtol=1e-9)
    assert torch_side.val_acc == scratch.val_acc
    for name, param in twin.named_parameters():
        np.testing.assert_allclose(param.detach().numpy(), model.params[name], rtol=1e-8, atol=1e-10)
    for name, buf in twin.named_buffers():
        np.testing.assert_allclose(buf.numpy(), model.running[name], rtol=1e-8, atol=1e-10)
    assert not np.allclose(model.running["running_var1"], 1.0)  # the statistics did move


def test_running_statistics_match_torch_builtin():
    """After one training-mode loss: running_mean1 and running_var1 are what ``F.batch_norm`` keeps
    (momentum 0.1 on the new batch, UNBIASED variance), for the first conv's output."""
    model = SimpleCNN(2, 6, 3, channels=(3, 4), norm="batch", rng=0)
    _perturb(model, 2)
    start = {k: v.copy() for k, v in model.running.items()}
    x, y = _batch(model, 5)
    model.loss(x, y)
    z = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(model.params["W1"]),
                                   torch.from_numpy(model.params["b1"]), padding=1)
    mean, var = torch.from_numpy(start["running_mean1"]), torch.from_numpy(start["running_var1"])
    torch.nn.functional.batch_norm(z, mean, var, training=True, momentum=0.1, eps=1e-5)
    np.testing.assert_allclose(model.running["running_mean1"], mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(model.running["running_var1"], var.numpy(), rtol=1e-12)


def test_eval_mode_is_per_example_and_frozen():
    """Eval mode: each example's scores do not depend on the rest of the batch, and loss() keeps ``running``."""
    model = _variant((2, "batch", "after", True))
    _perturb(model, 3)
    x, y = _batch(model, 6)
    model.eval()
    before = {k: v.copy() for k, v in model.running.items()}
    np.testing.assert_allclose(model.scores(x)[:2], model.scores(x[:2]), rtol=1e-12, atol=1e-14)
    model.loss(x, y)
    assert all(np.array_equal(before[k], model.running[k]) for k in before)
    model.train()
    assert not np.allclose(model.scores(x)[:2], model.scores(x[:2]))  # batch statistics: they do depend


def test_bias_before_batch_norm_gets_no_gradient():
    """The pitfall: before BN the conv bias is removed with the batch mean, so dJ/db = 0 (to rounding)."""
    before = _variant((1, "batch", "before", True), hidden=5)
    after = _variant((1, "batch", "after", True), hidden=5)
    for model in (before, after):
        _perturb(model, 4)
    x, y = _batch(before, 6)
    g_before, g_after = before.loss(x, y)[1], after.loss(x, y)[1]
    assert np.abs(g_before["b1"]).max() < 1e-12 and np.abs(g_before["b2"]).max() < 1e-12
    assert np.abs(g_after["b1"]).max() > 1e-6


@pytest.mark.parametrize("cls", [SimpleCNN, TwinCNN])
@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"convs_per_block": 0}, "convs_per_block"),
        ({"convs_per_block": 1.5}, "convs_per_block"),
        ({"norm": "layer"}, "norm"),
        ({"norm": "batch", "norm_position": "middle"}, "norm_position"),
        ({"bias": 0.1}, "bias"),
        ({"channels": ()}, "channels"),
    ],
)
def test_bad_options_are_named(cls, kwargs, word):
    with pytest.raises(ValueError, match=word):
        cls(1, 8, 10, **kwargs)


# ----- dropout -----------------------------------------------------------------------------------
DROPOUT_VARIANTS = [dict(dropout=0.5), dict(block_dropout=0.3), dict(dropout=0.4, block_dropout=0.2, norm="batch")]


def _dropout_model(kwargs: dict) -> SimpleCNN:
    model = SimpleCNN(1, 8, 10, channels=(3, 4), hidden=5, reg=0.1, rng=0, **kwargs)
    _perturb(model, 3)
    return model


@pytest.mark.parametrize("kwargs", DROPOUT_VARIANTS)
def test_gradient_check_with_dropout(kwargs):
    """With fixed masks the loss is a smooth function of the parameters: central differences agree,
    and the dropped units pass no gradient back."""
    model = _dropout_model(kwargs)
    x, y = _batch(model, 4, seed=12)
    masks = model.sample_masks(np.random.default_rng(5), 4)
    assert any(m is not None and not m.all() for m in masks)
    _, grads = model.loss(x, y, masks=masks)
    for name, p in model.params.items():
        num = numerical_grad(lambda _: model.loss(x, y, masks=masks)[0], p, 1.0, h=1e-5)
        err = np.linalg.norm(num - grads[name]) / max(np.linalg.norm(grads[name]), 1e-1)
        assert err < 1e-8, f"{name}: relative error {err:.2e}"


@pytest.mark.parametrize("kwargs", DROPOUT_VARIANTS)
def test_twin_parity_with_dropout(kwargs):
    """The same masks on both sides -> the same scores, loss and gradients (float64)."""
    model = _dropout_model(kwargs)
    s = model.spec
    twin = TwinCNN(s.in_channels, s.image_size, s.n_classes, s.channels, s.hidden, reg=s.reg, rng=0,
                   norm=s.norm, dropout=s.dropout or None, block_dropout=s.block_dropout or None)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in {**model.params, **model.running}.items()})
    x, y = _batch(model, 6)
    masks = model.sample_masks(np.random.default_rng(6), 6)
    t_masks = tuple(None if m is None else torch.from_numpy(m) for m in masks)
    loss, grads = model.loss(x, y, masks=masks)
    t_loss = twin.loss(torch.from_numpy(x), torch.from_numpy(y), masks=t_masks)
    t_loss.backward()
    assert float(t_loss.detach()) == pytest.approx(loss, rel=RTOL, abs=ATOL)
    for name, param in twin.named_parameters():
        torch.testing.assert_close(param.grad, torch.from_numpy(grads[name]), rtol=RTOL, atol=ATOL)
    model.eval()
    twin.eval()  # eval mode: no dropout on either side, the same deterministic scores
    torch.testing.assert_close(twin.scores(torch.from_numpy(x)).detach(), torch.from_numpy(model.scores(x)),
                               rtol=RTOL, atol=ATOL)
    assert [None if m is None else tuple(m.shape) for m in twin.sample_masks(0, 6)] == [
        None if m is None else m.shape for m in masks]


def test_dropout_masks_are_fresh_in_training_and_absent_in_eval():
    """Training mode: two calls draw two masks (different losses); eval mode: the plain network."""
    model = SimpleCNN(1, 8, 10, channels=(3, 4), rng=0, dropout=0.5)
    x, y = _batch(model, 8)
    assert model.loss(x, y)[0] != model.loss(x, y)[0]
    model.eval()
    np.testing.assert_array_equal(model.scores(x), model.scores(x))
    plain = SimpleCNN(1, 8, 10, channels=(3, 4), rng=0)
    np.testing.assert_allclose(model.scores(x), plain.scores(x), rtol=1e-12)  # same weights: masks never shift them
    assert "dropout=0.5" in repr(model) and "dropout" not in repr(plain)


@pytest.mark.parametrize("cls", [SimpleCNN, TwinCNN])
@pytest.mark.parametrize("kwargs", [{"dropout": 1.0}, {"dropout": -0.1}, {"block_dropout": 2}])
def test_bad_dropout_is_named(cls, kwargs):
    with pytest.raises(ValueError, match="dropout"):
        cls(1, 8, 10, **kwargs)
