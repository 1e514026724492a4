"""Batch norm beyond the parity registry: running statistics vs nn.BatchNorm1d/2d, test-time output,
folding into a Linear layer, properties of the normalized output (also with hypothesis), layer norm
and group norm without a batch, and argument checks.

Tolerances: every comparison is float64 and a handful of roundings deep, so results agree to
~1e-15 relative; ``torch.testing.assert_close``'s float64 defaults (rtol 1e-7, atol 1e-7) leave a wide
margin, while every convention slip checked here (biased running variance, momentum on the old
value, a missed n/(n-1) for maps) moves the numbers by more than 1e-3.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
import torch.nn.functional as F
from torch.nn.utils.fusion import fuse_conv_bn_weights, fuse_linear_bn_weights

from course_lib.scratch import batchnorm as bn
from course_lib.scratch.conv import Conv2d
from course_lib.torch_impl import batchnorm as tbn


def close(a, b) -> None:
    torch.testing.assert_close(torch.as_tensor(np.asarray(a)), torch.as_tensor(np.asarray(b)))


def batches(rng: np.random.Generator, sizes, tail: tuple[int, ...], c: int) -> list[np.ndarray]:
    """Batches of different sizes whose per-channel mean and spread drift from batch to batch."""
    out = []
    for k, n in enumerate(sizes):
        loc = (k + 1) * rng.standard_normal((1, c) + (1,) * len(tail))
        out.append(loc + (1.0 + k) * rng.standard_normal((n, c) + tail))
    return out


# ----- running statistics: K steps against torch's module -------------------------------------------
@pytest.mark.parametrize("momentum", [0.1, 0.3])
def test_running_stats_match_batchnorm1d(momentum: float) -> None:
    rng = np.random.default_rng(0)
    c, eps = 4, 1e-3
    gamma, beta = 1.0 + 0.5 * rng.standard_normal(c), rng.standard_normal(c)
    module = torch.nn.BatchNorm1d(c, eps=eps, momentum=momentum, dtype=torch.float64)
    with torch.no_grad():
        module.weight.copy_(torch.as_tensor(gamma))
        module.bias.copy_(torch.as_tensor(beta))
    module.train()
    running_mean, running_var = np.zeros(c), np.ones(c)  # torch's starting values
    for x in batches(rng, [3, 5, 2, 8, 4], (), c):  # small batches: n/(n-1) matters
        out, cache = bn.BatchNorm.forward(x, gamma, beta, eps=eps)
        running_mean, running_var = bn.update_running(running_mean, running_var, cache.mean, cache.var, cache.n,
                                                      momentum=momentum)
        close(out, module(torch.as_tensor(x)).detach())
    close(running_mean, module.running_mean)
    close(running_var, module.running_var)

    module.eval()
    x_test = 3.0 * rng.standard_normal((7, c))
    expected = module(torch.as_tensor(x_test)).detach()
    close(bn.inference(x_test, running_mean, running_var, gamma, beta, eps=eps), expected)


def test_running_stats_match_batchnorm2d() -> None:
    """For maps the count is n = N*H*W, both in the biased variance and in the n/(n-1) correction."""
    rng = np.random.default_rng(1)
    c, eps, momentum = 3, 1e-5, 0.2
    gamma, beta = 1.0 + 0.5 * rng.standard_normal(c), rng.standard_normal(c)
    module = torch.nn.BatchNorm2d(c, eps=eps, momentum=momentum, dtype=torch.float64)
    with torch.no_grad():
        module.weight.copy_(torch.as_tensor(gamma))
        module.bias.copy_(torch.as_tensor(beta))
    running_mean, running_var = np.zeros(c), np.ones(c)
    for x in batches(rng, [2, 1, 3], (2, 2), c):
        out, cache = bn.SpatialBatchNorm.forward(x, gamma, beta, eps=eps)
        assert cache.n == x.shape[0] * x.shape[2] * x.shape[3]
        running_mean, running_var = bn.update_running(running_mean, running_var, cache.mean, cache.var, cache.n,
                                                      momentum=momentum)
        close(out, module(torch.as_tensor(x)).detach())
    close(running_mean, module.running_mean)
    close(running_var, module.running_var)
    module.eval()
    x_test = rng.standard_normal((2, c, 3, 2))
    expected = module(torch.as_tensor(x_test)).detach()
    close(bn.inference(x_test, running_mean, running_var, gamma, beta, eps=eps), expected)


def test_the_running_variance_is_the_unbiased_one() -> None:
    """One step from (0, 1) with momentum 1 leaves exactly the batch's unbiased variance."""
    x = np.array([[1.0], [2.0], [6.0]])
    _, cache = bn.BatchNorm.forward(x, np.ones(1), np.zeros(1))
    close(cache.var, [np.var(x)])  # the forward normalizes with the biased variance (ddof = 0)
    mean, var = bn.update_running(np.zeros(1), np.ones(1), cache.mean, cache.var, cache.n, momentum=1.0)
    close(mean, [3.0])
    close(var, [np.var(x, ddof=1)])  # 7, where the biased variance is 14/3
    # momentum weights the NEW batch
    mean, var = bn.update_running(np.zeros(1), np.ones(1), cache.mean, cache.var, cache.n, momentum=0.25)
    close(mean, [0.75])
    close(var, [0.75 + 0.25 * 7.0])


def test_update_running_returns_new_arrays_and_keeps_its_inputs() -> None:
    rm, rv, m, v = np.zeros(3), np.ones(3), np.arange(3.0), np.full(3, 2.0)
    before = [a.copy() for a in (rm, rv, m, v)]
    new_mean, new_var = bn.update_running(rm, rv, m, v, 4)
    assert new_mean is not rm and new_var is not rv
    for a, b in zip((rm, rv, m, v), before):
        np.testing.assert_array_equal(a, b)


def test_torch_twins_of_the_running_statistics_agree() -> None:
    rng = np.random.default_rng(2)
    args = [rng.standard_normal(4), rng.random(4) + 0.5, rng.standard_normal(4), rng.random(4) + 0.5]
    ours = bn.update_running(*args, 6, momentum=0.3)
    twins = tbn.update_running(*(torch.as_tensor(a) for a in args), 6, momentum=0.3)
    for a, b in zip(ours, twins):
        close(a, b)
    x, gamma, beta = rng.standard_normal((5, 4)), rng.standard_normal(4), rng.standard_normal(4)
    t = [torch.as_tensor(a) for a in (x, *ours, gamma, beta)]
    close(bn.inference(x, *ours, gamma, beta, eps=0.1), tbn.inference(*t, eps=0.1))
    close(tbn.inference(*t, eps=0.1), F.batch_norm(t[0], t[1], t[2], t[3], t[4], training=False, eps=0.1))


# ----- folding into the Linear layer ---------------------------------------------------------------
def _fold_args(rng: np.random.Generator, d_in: int = 5, d_out: int = 3):
    w, b = rng.standard_normal((d_in, d_out)), rng.standard_normal(d_out)
    mean, var = rng.standard_normal(d_out), rng.random(d_out) + 0.1
    gamma, beta = 1.0 + 0.5 * rng.standard_normal(d_out), rng.standard_normal(d_out)
    return w, b, mean, var, gamma, beta


def test_fold_into_linear_equals_linear_then_inference() -> None:
    rng = np.random.default_rng(3)
    w, b, mean, var, gamma, beta = _fold_args(rng)
    x = rng.standard_normal((8, 5))
    w2, b2 = bn.fold_into_linear(w, b, mean, var, gamma, beta, eps=1e-2)
    assert w2.shape == w.shape and b2.shape == b.shape
    close(x @ w2 + b2, bn.inference(x @ w + b, mean, var, gamma, beta, eps=1e-2))


def test_fold_into_linear_agrees_with_torch_fusion_and_the_twin() -> None:
    rng = np.random.default_rng(4)
    args = _fold_args(rng)
    w, b, mean, var, gamma, beta = (torch.as_tensor(a) for a in args)
    w_ref, b_ref = fuse_linear_bn_weights(w.T, b, mean, var, 1e-3, gamma, beta)  # torch's (D_out, D_in) weight
    w2, b2 = bn.fold_into_linear(*args, eps=1e-3)
    close(w2, w_ref.detach().T)
    close(b2, b_ref.detach())
    tw, tb = tbn.fold_into_linear(w, b, mean, var, gamma, beta, eps=1e-3)
    close(w2, tw)
    close(b2, tb)


# ----- folding into the convolution ----------------------------------------------------------------
def _fold_conv_args(rng: np.random.Generator, f: int = 4, c: int = 3, k: int = 3):
    w, b = rng.standard_normal((f, c, k, k)), rng.standard_normal(f)
    mean, var = rng.standard_normal(f), rng.random(f) + 0.1
    gamma, beta = 1.0 + 0.5 * rng.standard_normal(f), rng.standard_normal(f)
    return w, b, mean, var, gamma, beta


def test_fold_into_conv_equals_conv_then_inference() -> None:
    rng = np.random.default_rng(14)
    w, b, mean, var, gamma, beta = _fold_conv_args(rng)
    x = rng.standard_normal((2, 3, 6, 5))
    w2, b2 = bn.fold_into_conv(w, b, mean, var, gamma, beta, eps=1e-2)
    assert w2.shape == w.shape and b2.shape == b.shape
    folded, _ = Conv2d.forward(x, w2, b2, stride=1, padding=1)
    conv, _ = Conv2d.forward(x, w, b, stride=1, padding=1)
    close(folded, bn.inference(conv, mean, var, gamma, beta, eps=1e-2))
    # folding the bias but not the weights is a slip the comparison above would catch
    unscaled, _ = Conv2d.forward(x, w, b2, stride=1, padding=1)
    assert not np.allclose(unscaled, folded, rtol=1e-3)


def test_fold_into_conv_agrees_with_torch_fusion_and_the_twin() -> None:
    rng = np.random.default_rng(15)
    args = _fold_conv_args(rng)
    w, b, mean, var, gamma, beta = (torch.as_tensor(a) for a in args)
    w_ref, b_ref = fuse_conv_bn_weights(w, b, mean, var, 1e-3, gamma, beta)
    w2, b2 = bn.fold_into_conv(*args, eps=1e-3)
    close(w2, w_ref.detach())
    close(b2, b_ref.detach())
    tw, tb = tbn.fold_into_conv(w, b, mean, var, gamma, beta, eps=1e-3)
    close(tw, w_ref.detach())
    close(tb, b_ref.detach())


# ----- gamma and beta can undo the normalization ------------------------------------------------------
def test_gamma_and_beta_can_recover_the_identity() -> None:
    """gamma = sqrt(Var[x] + eps), beta = E[x] give back x (Ioffe & Szegedy 2015, Section 3);
    gamma = Var[x], a slip seen on slides, does not."""
    rng = np.random.default_rng(16)
    x = np.array([3.0, -1.0, 0.5]) + np.array([2.0, 0.3, 5.0]) * rng.standard_normal((20, 3))
    eps = 1e-3
    var, mean = x.var(axis=0), x.mean(axis=0)  # biased: the variance the forward pass normalizes with
    out, _ = bn.BatchNorm.forward(x, np.sqrt(var + eps), mean, eps=eps)
    close(out, x)
    maps = 1.0 + 2.0 * rng.standard_normal((3, 2, 4, 4))
    var, mean = maps.var(axis=(0, 2, 3)), maps.mean(axis=(0, 2, 3))
    out, _ = bn.SpatialBatchNorm.forward(maps, np.sqrt(var + eps), mean, eps=eps)
    close(out, maps)
    slip, _ = bn.BatchNorm.forward(x, x.var(axis=0), x.mean(axis=0), eps=eps)
    assert not np.allclose(slip, x, rtol=1e-3)


# ----- properties of the forward pass --------------------------------------------------------------
def test_output_has_mean_beta_and_std_gamma_per_feature() -> None:
    rng = np.random.default_rng(5)
    x = 5.0 + 10.0 * rng.standard_normal((50, 4))
    gamma, beta = np.array([1.0, 2.0, 0.5, 3.0]), np.array([0.0, -1.0, 4.0, 2.0])
    out, cache = bn.BatchNorm.forward(x, gamma, beta, eps=0.0)
    close(out.mean(axis=0), beta)
    close(out.std(axis=0), gamma)  # biased std: the one the forward normalized with
    close(cache.xhat.mean(axis=0), np.zeros(4))


def test_spatial_batch_norm_is_batch_norm_on_one_row_per_pixel() -> None:
    rng = np.random.default_rng(6)
    x, gamma, beta = 2.0 + rng.standard_normal((2, 3, 4, 5)), rng.standard_normal(3), rng.standard_normal(3)
    out, cache = bn.SpatialBatchNorm.forward(x, gamma, beta)
    rows = x.transpose(0, 2, 3, 1).reshape(-1, 3)
    out_rows, cache_rows = bn.BatchNorm.forward(rows, gamma, beta)
    close(out, out_rows.reshape(2, 4, 5, 3).transpose(0, 3, 1, 2))
    close(cache.mean, x.mean(axis=(0, 2, 3)))
    close(cache.var, x.var(axis=(0, 2, 3)))
    dout = rng.standard_normal(x.shape)
    dx, dgamma, dbeta = bn.SpatialBatchNorm.backward(dout, cache)
    dx_rows, dgamma_rows, dbeta_rows = bn.BatchNorm.backward(dout.transpose(0, 2, 3, 1).reshape(-1, 3), cache_rows)
    close(dx, dx_rows.reshape(2, 4, 5, 3).transpose(0, 3, 1, 2))
    close(dgamma, dgamma_rows)
    close(dbeta, dbeta_rows)


def test_the_gradient_with_respect_to_x_sums_to_zero_per_feature() -> None:
    """Shifting a whole feature by a constant leaves the output unchanged, so sum_n dx_n = 0."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((10, 3))
    _, cache = bn.BatchNorm.forward(x, rng.standard_normal(3), rng.standard_normal(3))
    dx, _, _ = bn.BatchNorm.backward(rng.standard_normal((10, 3)), cache)
    np.testing.assert_allclose(dx.sum(axis=0), 0.0, atol=1e-12 * np.abs(dx).sum())


def test_ops_never_write_into_their_inputs() -> None:
    rng = np.random.default_rng(8)
    for op, shape in ((bn.BatchNorm, (6, 3)), (bn.SpatialBatchNorm, (2, 3, 2, 2))):
        x = rng.standard_normal(shape)
        gamma, beta, dout = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(x.shape)
        before = [a.copy() for a in (x, gamma, beta, dout)]
        _, cache = op.forward(x, gamma, beta)
        op.backward(dout, cache)
        for a, b in zip((x, gamma, beta, dout), before):
            np.testing.assert_array_equal(a, b, err_msg=op.__name__)


def test_a_one_percent_error_in_dx_fails_the_gradient_check() -> None:
    """Negative control: the registry's gradient check would catch a slightly wrong backward."""
    from course_lib.gradcheck import check_op

    class Off(bn.BatchNorm):
        @staticmethod
        def backward(dout, cache):
            dx, dgamma, dbeta = bn.BatchNorm.backward(dout, cache)
            return 1.01 * dx, dgamma, dbeta

    rng = np.random.default_rng(9)
    args = (rng.standard_normal((5, 3)), rng.standard_normal(3), rng.standard_normal(3))
    assert check_op(bn.BatchNorm, *args).passed
    assert not check_op(Off, *args).passed


# ----- argument checks ----------------------------------------------------------------------------
def test_a_batch_of_one_raises_like_torch() -> None:
    x, g, b = np.ones((1, 3)), np.ones(3), np.zeros(3)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        bn.BatchNorm.forward(x, g, b)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        F.batch_norm(torch.as_tensor(x), None, None, training=True)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        bn.SpatialBatchNorm.forward(np.ones((1, 3, 1, 1)), g, b)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        tbn.batch_norm(torch.as_tensor(x), torch.as_tensor(g), torch.as_tensor(b))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: bn.BatchNorm.forward(np.ones((4, 3, 1)), np.ones(3), np.zeros(3)), "x must have shape"),
        (lambda: bn.BatchNorm.forward(np.ones((4, 3)), np.ones(2), np.zeros(3)), "gamma must have shape"),
        (lambda: bn.BatchNorm.forward(np.ones((4, 3)), np.ones(3), np.zeros((3, 1))), "beta must have shape"),
        (lambda: bn.BatchNorm.forward(np.ones((4, 3)), np.ones(3), np.zeros(3), eps=-1.0), "eps must be"),
        (lambda: bn.SpatialBatchNorm.forward(np.ones((4, 3)), np.ones(3), np.zeros(3)), "x must have shape"),
        (lambda: bn.update_running(np.zeros(2), np.ones(2), np.zeros(2), np.ones(2), 1), "n must be"),
        (lambda: bn.update_running(np.zeros(2), np.ones(2), np.zeros(2), np.ones(2), 4, momentum=1.5), "momentum"),
        (lambda: bn.update_running(np.zeros(2), np.ones(3), np.zeros(2), np.ones(2), 4), "running_var must"),
        (lambda: bn.inference(np.ones((4, 3)), np.zeros(3), np.ones(2), np.ones(3), np.zeros(3)), "running_var"),
        (lambda: bn.inference(np.ones((4, 3, 2)), np.zeros(3), np.ones(3), np.ones(3), np.zeros(3)), "x must have"),
        (lambda: bn.fold_into_linear(np.ones((4, 3)), np.ones(2), *[np.ones(3)] * 4), "b must have shape"),
        (lambda: bn.fold_into_conv(np.ones((4, 3)), np.ones(4), *[np.ones(4)] * 4), "w must have shape"),
        (lambda: bn.fold_into_conv(np.ones((4, 3, 2, 2)), np.ones(4), *[np.ones(3)] * 4), "running_mean must"),
    ],
)
def test_bad_arguments_are_named(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# ----- layer norm and group norm ----------------------------------------------------------------------
def test_layer_and_group_norm_need_no_batch() -> None:
    """One example is enough, and it is normalized the same whatever else is in the batch."""
    rng = np.random.default_rng(10)
    x, g, b = rng.standard_normal((4, 6)), rng.standard_normal(6), rng.standard_normal(6)
    alone, _ = bn.LayerNorm.forward(x[:1], g, b)
    together, _ = bn.LayerNorm.forward(x, g, b)
    close(alone, together[:1])
    maps = rng.standard_normal((3, 6, 2, 2))
    alone, _ = bn.GroupNorm.forward(maps[:1], g, b, 3)
    together, _ = bn.GroupNorm.forward(maps, g, b, 3)
    close(alone, together[:1])


def test_group_norm_extremes_are_layer_norm_and_instance_norm() -> None:
    rng = np.random.default_rng(11)
    x = 1.0 + 2.0 * rng.standard_normal((2, 4, 3, 3))
    ones, zeros = np.ones(4), np.zeros(4)
    one_group, _ = bn.GroupNorm.forward(x, ones, zeros, 1)
    flat, _ = bn.LayerNorm.forward(x.reshape(2, -1), np.ones(36), np.zeros(36))
    close(one_group, flat.reshape(x.shape))
    per_channel, _ = bn.GroupNorm.forward(x, ones, zeros, 4)  # instance norm
    close(per_channel, (x - x.mean(axis=(2, 3), keepdims=True)) / np.sqrt(x.var(axis=(2, 3), keepdims=True) + 1e-5))
    close(per_channel, F.instance_norm(torch.as_tensor(x)))


def test_group_norm_groups_consecutive_channels() -> None:
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 6, 5))
    out, _ = bn.GroupNorm.forward(x, np.ones(6), np.zeros(6), 2, eps=0.0)
    groups = out.reshape(2, 2, -1)  # channels 0-2 and 3-5
    close(groups.mean(axis=2), np.zeros((2, 2)))
    close(groups.var(axis=2), np.ones((2, 2)))


def test_layer_and_group_norm_never_write_into_their_inputs() -> None:
    rng = np.random.default_rng(13)
    cases = [(bn.LayerNorm, rng.standard_normal((3, 4)), ()), (bn.GroupNorm, rng.standard_normal((2, 4, 3)), (2,))]
    for op, x, hyper in cases:
        gamma, beta, dout = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(x.shape)
        before = [a.copy() for a in (x, gamma, beta, dout)]
        _, cache = op.forward(x, gamma, beta, *hyper)
        op.backward(dout, cache)
        for a, b in zip((x, gamma, beta, dout), before):
            np.testing.assert_array_equal(a, b, err_msg=op.__name__)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: bn.LayerNorm.forward(np.ones((2, 3)), np.ones(2), np.zeros(3)), "gamma must have shape"),
        (lambda: bn.LayerNorm.forward(np.ones((2, 3)), np.ones(3), np.zeros(3), eps=float("nan")), "eps must be"),
        (lambda: bn.GroupNorm.forward(np.ones((2, 6, 2)), np.ones(6), np.zeros(6), 4), "num_groups must divide"),
        (lambda: bn.GroupNorm.forward(np.ones((2, 6, 2)), np.ones(6), np.zeros(6), 0), "num_groups must be"),
        (lambda: bn.GroupNorm.forward(np.ones((2, 6, 2)), np.ones(6), np.zeros(6), 2.0), "num_groups must be"),
        (lambda: bn.GroupNorm.forward(np.ones(6), np.ones(6), np.zeros(6), 2), "x must have shape"),
        (lambda: bn.GroupNorm.forward(np.ones((2, 6, 2)), np.ones(6), np.zeros(3), 2), "beta must have shape"),
    ],
)
def test_bad_arguments_of_layer_and_group_norm_are_named(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# ----- property: whatever the batch, each feature comes out with mean 0 and (biased) std 1 --------------
@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 12).flatmap(lambda n: arrays(np.float64, (n, 3), elements=st.floats(-1e3, 1e3))),
    st.floats(-50.0, 50.0),
    st.floats(0.01, 100.0),
)
def test_batch_norm_output_has_mean_0_and_std_1(x: np.ndarray, shift: float, scale: float) -> None:
    x = shift + scale * x
    spread = x.std(axis=0)
    x = x[:, spread > 1e-3 * (1.0 + np.abs(x).max(axis=0))]  # a (near-)constant feature has no std to restore
    if x.shape[1] == 0:
        return
    out, _ = bn.BatchNorm.forward(x, np.ones(x.shape[1]), np.zeros(x.shape[1]), eps=0.0)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(out.std(axis=0), 1.0, rtol=1e-9)
