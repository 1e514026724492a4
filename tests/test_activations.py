"""Properties and conventions of the activations (scratch ops and torch twins).

The generic parity and gradient checks over the op registry are in ``tests/test_parity.py``;
here: algebraic identities (hypothesis), the behaviour at the kinks and at ties, the PyTorch
conventions, stability for huge inputs, bad input, and the registry used by ``MLP``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from course_lib.scratch import activations as A
from course_lib.scratch.model import MLP
from course_lib.torch_impl import activations as T
from course_lib.torch_impl.model import MLP as TorchMLP

SETTINGS = settings(max_examples=60, deadline=None)
moderate = st.floats(-30, 30, allow_nan=False)
any_array = arrays(np.float64, array_shapes(min_dims=1, max_dims=3, max_side=5), elements=moderate)
slopes = st.floats(-2.0, 2.0, allow_nan=False)


def fwd_bwd(op, x, dout=None, **hyper):
    out, cache = op.forward(x, **hyper)
    grads = op.backward(np.ones_like(out) if dout is None else dout, cache)
    return out, grads[0]


# ----- identities ------------------------------------------------------------------------------
@SETTINGS
@given(any_array)
def test_tanh_is_odd_and_a_rescaled_sigmoid(x):
    t, dt = fwd_bwd(A.Tanh, x)
    t_neg, dt_neg = fwd_bwd(A.Tanh, -x)
    np.testing.assert_array_equal(t_neg, -t)
    np.testing.assert_array_equal(dt_neg, dt)  # derivative is even
    s, _ = A.Sigmoid.forward(2.0 * x)
    np.testing.assert_allclose(t, 2.0 * s - 1.0, rtol=0, atol=1e-15)
    assert np.all(np.abs(t) <= 1.0) and np.all((dt >= 0) & (dt <= 1.0))


@SETTINGS
@given(any_array)
def test_lecun_tanh_is_a_scaled_tanh(x):
    f, df = fwd_bwd(A.LeCunTanh, x)
    t, dt = fwd_bwd(A.Tanh, 2.0 * x / 3.0)
    np.testing.assert_allclose(f, 1.7159 * t, rtol=1e-15, atol=1e-15)
    # 1 - tanh^2 loses relative accuracy where tanh is near +-1 (cancellation), so the
    # derivative is compared to a few ulps of its scale (at most 1.14), not relative to itself.
    np.testing.assert_allclose(df, 1.7159 * 2.0 / 3.0 * dt, rtol=1e-13, atol=8e-16)


def test_lecun_tanh_constants():
    f, df = fwd_bwd(A.LeCunTanh, np.array([-1.0, 0.0, 1.0]))
    np.testing.assert_allclose(f, [-1.0, 0.0, 1.0], atol=3e-6)  # f(+-1) = +-1 to 5 digits
    assert df[1] == pytest.approx(1.7159 * 2.0 / 3.0, rel=1e-15)


@SETTINGS
@given(any_array, slopes)
def test_leaky_relu_is_linear_on_each_side(x, slope):
    out, dx = fwd_bwd(A.LeakyReLU, x, negative_slope=slope)
    pos = x > 0
    np.testing.assert_array_equal(out[pos], x[pos])
    np.testing.assert_allclose(out[~pos], slope * x[~pos], rtol=1e-15)
    np.testing.assert_array_equal(dx, np.where(pos, 1.0, slope))


@SETTINGS
@given(any_array)
def test_leaky_relu_limits(x):
    relu, drelu = fwd_bwd(A.ReLU, x)
    zero, dzero = fwd_bwd(A.LeakyReLU, x, negative_slope=0.0)
    np.testing.assert_array_equal(zero, relu)
    np.testing.assert_array_equal(dzero, drelu)
    ident, dident = fwd_bwd(A.LeakyReLU, x, negative_slope=1.0)
    np.testing.assert_array_equal(ident, x)
    np.testing.assert_array_equal(dident, np.ones_like(x))
    small, _ = fwd_bwd(A.LeakyReLU, x, negative_slope=0.3)  # max(a x, x) for 0 <= a <= 1
    np.testing.assert_allclose(small, np.maximum(0.3 * x, x), rtol=1e-15)


@SETTINGS
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3)), elements=moderate))
def test_prelu_limits_and_leaky_equivalence(x):
    c = x.shape[1]
    relu, drelu = fwd_bwd(A.ReLU, x)
    out, cache = A.PReLU.forward(x, np.zeros(c))
    np.testing.assert_array_equal(out, relu)
    np.testing.assert_array_equal(A.PReLU.backward(np.ones_like(x), cache)[0], drelu)
    out, cache = A.PReLU.forward(x, np.ones(1))
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(A.PReLU.backward(np.ones_like(x), cache)[0], np.ones_like(x))
    leaky, dleaky = fwd_bwd(A.LeakyReLU, x, negative_slope=0.2)
    out, cache = A.PReLU.forward(x, np.array([0.2]))
    np.testing.assert_array_equal(out, leaky)
    np.testing.assert_array_equal(A.PReLU.backward(np.ones_like(x), cache)[0], dleaky)


@SETTINGS
@given(arrays(np.float64, (3, 4, 2), elements=moderate), arrays(np.float64, (3, 4, 2), elements=st.floats(-2, 2)))
def test_prelu_slope_gradient(x, dout):
    """da_c = sum over channel c of dout * min(x, 0); a shared slope gets the sum over channels."""
    a = np.array([0.1, 0.2, 0.3, 0.4])
    _, cache = A.PReLU.forward(x, a)
    _, da = A.PReLU.backward(dout, cache)
    expected = np.sum(dout * np.minimum(x, 0.0), axis=(0, 2))
    np.testing.assert_allclose(da, expected, rtol=1e-12, atol=1e-12)
    _, cache = A.PReLU.forward(x, np.array([0.25]))
    _, da_shared = A.PReLU.backward(dout, cache)
    assert da_shared.shape == (1,)
    np.testing.assert_allclose(da_shared, [expected.sum()], rtol=1e-12, atol=1e-12)


@SETTINGS
@given(st.floats(0.1, 3.0))
def test_elu_continuity_and_limit(alpha):
    eps = 1e-9
    out, dx = fwd_bwd(A.ELU, np.array([-eps, 0.0, eps, -1000.0, 1000.0]), alpha=alpha)
    assert abs(out[0]) < 2 * alpha * eps and out[1] == 0.0 and out[2] == eps  # continuous at 0
    assert out[3] == -alpha and out[4] == 1000.0  # saturates at -alpha, no overflow for large x
    assert dx[1] == alpha and dx[2] == 1.0  # torch: alpha at 0 (the x <= 0 branch)
    assert dx[3] == 0.0 and np.isfinite(dx).all()
    assert dx[0] == pytest.approx(alpha, rel=1e-8)  # the derivative jumps at 0 unless alpha = 1


@SETTINGS
@given(any_array, st.floats(0.1, 3.0))
def test_elu_derivative_is_output_plus_alpha_on_the_left(x, alpha):
    out, dx = fwd_bwd(A.ELU, x, alpha=alpha)
    neg = x <= 0
    np.testing.assert_allclose(dx[neg], out[neg] + alpha, rtol=1e-12, atol=1e-15)
    assert np.all(out > -alpha - 1e-15) and np.all(dx[~neg] == 1.0)


@st.composite
def maxout_inputs(draw):
    n, d, k, m = (draw(st.integers(1, 4)) for _ in range(4))
    el = st.floats(-3, 3)
    return (draw(arrays(np.float64, (n, d), elements=el)), draw(arrays(np.float64, (k, d, m), elements=el)),
            draw(arrays(np.float64, (k, m), elements=el)), draw(arrays(np.float64, (n, m), elements=el)))


@SETTINGS
@given(maxout_inputs())
def test_maxout_is_the_max_of_its_pieces(inputs):
    x, w, b, dout = inputs
    out, cache = A.Maxout.forward(x, w, b)
    pieces = np.stack([x @ w[j] + b[j] for j in range(w.shape[0])])
    np.testing.assert_allclose(out, pieces.max(axis=0), rtol=1e-12, atol=1e-12)
    dx, dw, db = A.Maxout.backward(dout, cache)
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape
    np.testing.assert_allclose(db.sum(axis=0), dout.sum(axis=0), rtol=1e-12, atol=1e-12)  # one winner per entry
    first = np.argmax(pieces, axis=0)
    for j in range(w.shape[0]):
        delta = np.where(first == j, dout, 0.0)
        np.testing.assert_allclose(dw[j], x.T @ delta, rtol=1e-12, atol=1e-12)


def test_maxout_with_a_zero_piece_is_relu_and_k1_is_linear():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((6, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    out, _ = A.Maxout.forward(x, np.stack([w, np.zeros_like(w)]), np.stack([b, np.zeros_like(b)]))
    np.testing.assert_array_equal(out, np.maximum(x @ w + b, 0.0))
    out, _ = A.Maxout.forward(x, w[None], b[None])
    np.testing.assert_allclose(out, x @ w + b, rtol=1e-15)


def test_maxout_ties_go_to_the_first_piece_like_torch_max():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    w = np.stack([np.eye(2), np.eye(2), 0.5 * np.eye(2)])
    b = np.zeros((3, 2))
    dout = np.array([[1.0, 2.0], [3.0, 4.0]])
    out, cache = A.Maxout.forward(x, w, b)
    dx, dw, db = A.Maxout.backward(dout, cache)
    assert np.all(db[1] == 0) and np.all(dw[1] == 0)  # the tied second piece gets nothing
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    T.maxout(xt, wt, bt).backward(torch.tensor(dout))
    for ours, theirs in zip((dx, dw, db), (xt.grad, wt.grad, bt.grad)):
        np.testing.assert_array_equal(ours, theirs.numpy())
    # torch.amax splits the gradient evenly between the tied pieces instead
    bt.grad = None
    torch.amax(torch.matmul(xt, wt) + bt[:, None, :], dim=0).backward(torch.tensor(dout))
    split = bt.grad.numpy()
    np.testing.assert_array_equal(split[0], split[1])
    np.testing.assert_array_equal(split[0] + split[1], db[0])
    assert np.any(split[1] != 0)


# ----- conventions at x = 0 (PyTorch) ------------------------------------------------------------
@pytest.mark.parametrize(
    "op, hyper, twin, expected",
    [
        (A.ReLU, {}, F.relu, 0.0),
        (A.LeakyReLU, {}, F.leaky_relu, 0.01),
        (A.LeakyReLU, {"negative_slope": 0.1}, lambda x: F.leaky_relu(x, 0.1), 0.1),
        (A.ELU, {}, F.elu, 1.0),
        (A.ELU, {"alpha": 0.5}, lambda x: F.elu(x, alpha=0.5), 0.5),
        (A.Sigmoid, {}, torch.sigmoid, 0.25),
        (A.Tanh, {}, torch.tanh, 1.0),
    ],
)
def test_derivative_at_zero_matches_torch(op, hyper, twin, expected):
    _, dx = fwd_bwd(op, np.zeros(3), **hyper)
    x = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    twin(x).sum().backward()
    np.testing.assert_array_equal(dx, np.full(3, expected))
    np.testing.assert_array_equal(x.grad.numpy(), dx)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "tanh", "sigmoid", "lecun_tanh"])
def test_twins_derivative_at_zero_matches_scratch(name):
    x = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    T.ACTIVATIONS[name](x).sum().backward()
    _, dx = fwd_bwd(A.ACTIVATIONS[name], np.zeros(2))
    np.testing.assert_array_equal(x.grad.numpy(), dx)


def test_prelu_at_zero_matches_torch():
    x = torch.tensor([0.0, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    a = torch.tensor([0.3], dtype=torch.float64, requires_grad=True)
    F.prelu(x, a).backward(torch.ones(3, dtype=torch.float64))
    out, cache = A.PReLU.forward(x.detach().numpy(), a.detach().numpy())
    dx, da = A.PReLU.backward(np.ones(3), cache)
    np.testing.assert_array_equal(dx, x.grad.numpy())
    np.testing.assert_array_equal(da, a.grad.numpy())


# ----- stability ---------------------------------------------------------------------------------
def test_huge_inputs_stay_finite():
    x = np.array([-1e300, -1000.0, -40.0, 0.0, 40.0, 1000.0, 1e300])
    with np.errstate(all="raise"):
        for op in (A.Tanh, A.LeCunTanh, A.LeakyReLU, A.ELU):
            out, dx = fwd_bwd(op, x)
            assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx)), op.__name__
    xt = torch.tensor(x)
    for f in (T.tanh, T.lecun_tanh, T.elu, T.leaky_relu):
        assert torch.isfinite(f(xt)).all()
    torch.testing.assert_close(T.tanh(xt), torch.tanh(xt))


def test_twin_tanh_is_accurate_near_zero():
    x = torch.tensor([1e-300, 1e-12, -1e-8, 3e-4], dtype=torch.float64)
    torch.testing.assert_close(T.tanh(x), torch.tanh(x), rtol=1e-15, atol=0)


@SETTINGS
@given(any_array)
def test_backward_does_not_modify_its_inputs(x):
    for op, hyper in ((A.Tanh, {}), (A.LeCunTanh, {}), (A.LeakyReLU, {}), (A.ELU, {"alpha": 0.7})):
        x0 = x.copy()
        out, cache = op.forward(x, **hyper)
        dout = np.ones_like(out)
        op.backward(dout, cache)
        np.testing.assert_array_equal(x, x0)
        assert np.all(dout == 1.0)


# ----- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: A.LeakyReLU.forward(np.ones(2), negative_slope=float("nan")), "negative_slope"),
        (lambda: A.LeakyReLU.forward(np.ones(2), negative_slope="steep"), "negative_slope"),
        (lambda: A.ELU.forward(np.ones(2), alpha=float("inf")), "alpha"),
        (lambda: A.PReLU.forward(np.ones((2, 3)), np.ones(2)), "channels"),
        (lambda: A.PReLU.forward(np.ones((2, 3)), np.ones((3, 1))), "1-D"),
        (lambda: A.PReLU.forward(np.ones(3), np.ones(3)), "channels"),
        (lambda: A.PReLU.forward(np.float64(1.0), np.ones(1)), "scalar"),
        (lambda: A.Maxout.forward(np.ones(3), np.ones((2, 3, 2)), np.ones((2, 2))), "x must have shape"),
        (lambda: A.Maxout.forward(np.ones((1, 3)), np.ones((3, 2)), np.ones((2, 2))), "w must have shape"),
        (lambda: A.Maxout.forward(np.ones((1, 3)), np.ones((2, 4, 2)), np.ones((2, 2))), "w must have shape"),
        (lambda: A.Maxout.forward(np.ones((1, 3)), np.ones((2, 3, 2)), np.ones(2)), "b must have shape"),
        (lambda: T.prelu(torch.ones(2, 3), torch.ones(2)), "slopes"),
    ],
)
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ----- the registry used by MLP -------------------------------------------------------------------
NEW = ["tanh", "lecun_tanh", "leaky_relu", "elu"]


def test_registries_agree():
    assert set(A.ACTIVATIONS) == set(T.ACTIVATIONS) == {"sigmoid", "tanh", "lecun_tanh", "relu", "leaky_relu", "elu"}
    assert A.get_activation("TANH") is A.Tanh
    with pytest.raises(ValueError, match="unknown activation"):
        A.get_activation("prelu")


@pytest.mark.parametrize("name", NEW)
def test_mlp_with_each_new_activation_matches_its_twin(name):
    model = MLP([5, 7, 6, 3], activation=name, weight_scale=0.5, reg=0.1, rng=3)
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((8, 5)), rng.integers(0, 3, 8)
    loss, grads = model.loss(x, y)
    twin = TorchMLP(model.dims, activation=name, reg=model.reg)
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.params.items()})
    t_loss = twin.loss(x, y)
    t_loss.backward()
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    for k, g in grads.items():
        np.testing.assert_allclose(g, getattr(twin, k).grad.numpy(), rtol=1e-9, atol=1e-12)
