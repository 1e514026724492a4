"""Dropout: masks, the two conventions (inverted and the slides' scaled form), their twins against
``F.dropout``, the MLP with dropout (gradients with fixed masks, parity with the torch MLP),
Monte-Carlo prediction and the max-norm constraint.

The generic gradient and parity checks of ``Dropout`` and ``ScaledDropout`` run from the registry
(``tests/cases.py``); this file holds what is special to dropout.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.gradcheck import numerical_grad, rel_error
from course_lib.scratch import dropout as D
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import Solver
from course_lib.torch_impl import dropout as T
from course_lib.torch_impl.model import MLP as TorchMLP
from course_lib.torch_impl.solver import Solver as TorchSolver

SETTINGS = settings(max_examples=30, deadline=None)
probabilities = st.floats(min_value=0.0, max_value=0.9, allow_nan=False)


def torch_mask(shape: tuple[int, ...], p: float, seed: int) -> torch.Tensor:
    """The keep mask F.dropout draws under ``seed``: drop out a tensor of ones."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return F.dropout(torch.ones(shape, dtype=torch.float64), p, training=True) != 0


def builtin_dropout(x: torch.Tensor, p: float, seed: int, training: bool = True) -> torch.Tensor:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return F.dropout(x, p, training=training)


# ----- masks -------------------------------------------------------------------------------------
def test_sample_mask_is_a_bool_keep_mask_with_one_entry_per_example_and_unit() -> None:
    mask = D.sample_mask(np.random.default_rng(0), (64, 32), 0.5)
    assert mask.dtype == np.bool_ and mask.shape == (64, 32)
    assert len({row.tobytes() for row in mask}) == 64  # each example draws its own mask
    assert len({col.tobytes() for col in mask.T}) == 32
    assert D.sample_mask(np.random.default_rng(0), (3, 4), 0.0).all()  # p = 0 keeps everything
    assert D.sample_mask(np.random.default_rng(0), 5, 0.3).shape == (5,)
    np.testing.assert_array_equal(D.sample_mask(np.random.default_rng(7), (4, 4), 0.5),
                                  D.sample_mask(np.random.default_rng(7), (4, 4), 0.5))


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, float("nan"), "0.5", True, None])
def test_p_outside_the_unit_interval_is_a_clear_error(p) -> None:
    x = np.ones((2, 3))
    mask = np.ones((2, 3), dtype=bool)
    calls = [
        lambda: D.sample_mask(np.random.default_rng(0), (2, 3), p),
        lambda: D.Dropout.forward(x, mask, p),
        lambda: D.ScaledDropout.forward(x, mask, p),
        lambda: D.scale_weights(x, p),
        lambda: T.sample_mask(0, (2, 3), p),
        lambda: T.dropout(torch.ones(2, 3), mask, p),
        lambda: T.scaled_dropout(torch.ones(2, 3), mask, p),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=r"p must be a drop probability in \[0, 1\)"):
            call()


def test_bad_masks_and_generators_are_clear_errors() -> None:
    x = np.ones((4, 3))
    for op, twin in [(D.Dropout, T.dropout), (D.ScaledDropout, T.scaled_dropout)]:
        with pytest.raises(ValueError, match="mask must have the input's shape"):
            op.forward(x, np.ones(3, dtype=bool), 0.5)  # one mask for the whole batch: refused
        with pytest.raises(ValueError, match="mask must have the input's shape"):
            twin(torch.ones(4, 3), torch.ones(3, dtype=torch.bool), 0.5)
        with pytest.raises(ValueError, match="only 0 and 1"):
            op.forward(x, np.full((4, 3), 2.0), 0.5)  # a scaled mask is not a keep mask
        with pytest.raises(ValueError, match="only 0 and 1"):
            twin(torch.ones(4, 3), torch.full((4, 3), 2.0), 0.5)
        with pytest.raises(ValueError, match="training mode needs a mask"):
            op.forward(x, None, 0.5)
        with pytest.raises(ValueError, match="training mode needs a mask"):
            twin(torch.ones(4, 3), None, 0.5)
        with pytest.raises(ValueError, match="training must be True or False"):
            op.forward(x, None, 0.5, training="no")
    with pytest.raises(TypeError, match="numpy Generator"):
        D.sample_mask(0, (2, 2), 0.5)
    with pytest.raises(ValueError, match="shape"):
        D.sample_mask(np.random.default_rng(0), (2, -1), 0.5)
    # a 0/1 mask of another dtype is accepted and means the same as the bool mask
    mask = D.sample_mask(np.random.default_rng(1), (4, 3), 0.5)
    np.testing.assert_array_equal(D.Dropout.forward(x, mask.astype(np.int64), 0.5)[0],
                                  D.Dropout.forward(x, mask, 0.5)[0])
    torch.testing.assert_close(T.dropout(torch.ones(4, 3), torch.as_tensor(mask).double(), 0.5),
                               T.dropout(torch.ones(4, 3), torch.as_tensor(mask), 0.5))


def test_inverted_dropout_formula_test_mode_and_p_zero() -> None:
    rng = np.random.default_rng(0)
    x, dout = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    mask = D.sample_mask(rng, x.shape, 0.25)
    out, cache = D.Dropout.forward(x, mask, 0.25)
    np.testing.assert_array_equal(out, np.where(mask, x * (1 / 0.75), 0.0))  # torch's x * (1 / (1 - p))
    np.testing.assert_array_equal(D.Dropout.backward(dout, cache)[0], np.where(mask, dout * (1 / 0.75), 0.0))
    for args in [(x, None, 0.25, False), (x, mask, 0.25, False), (x, None, 0.0, True)]:
        out, cache = D.Dropout.forward(*args)
        np.testing.assert_array_equal(out, x)  # test time and p = 0: the identity
        assert out is not x
        np.testing.assert_array_equal(D.Dropout.backward(dout, cache)[0], dout)
    out, cache = D.ScaledDropout.forward(x, mask, 0.25)
    np.testing.assert_array_equal(out, np.where(mask, x, 0.0))
    out, cache = D.ScaledDropout.forward(x, None, 0.25, training=False)
    np.testing.assert_array_equal(out, 0.75 * x)
    np.testing.assert_array_equal(D.ScaledDropout.backward(dout, cache)[0], 0.75 * dout)


# ----- properties (hypothesis) --------------------------------------------------------------------
@SETTINGS
@given(p=probabilities, seed=st.integers(0, 2**32 - 1))
def test_keep_rate_is_one_minus_p_within_a_few_sigma(p: float, seed: int) -> None:
    n = 20_000
    mask = D.sample_mask(np.random.default_rng(seed), (100, n // 100), p)
    sigma = np.sqrt(p * (1 - p) / n)
    assert abs(mask.mean() - (1 - p)) <= 5 * sigma + 1e-12
    t_mask = T.sample_mask(seed, (100, n // 100), p)
    assert t_mask.dtype == torch.bool and abs(float(t_mask.double().mean()) - (1 - p)) <= 5 * sigma + 1e-12


@SETTINGS
@given(p=st.floats(0.05, 0.9), seed=st.integers(0, 2**32 - 1))
def test_expected_output_is_x_inverted_and_one_minus_p_times_x_scaled(p: float, seed: int) -> None:
    """E_m[Dropout(x)] = x and E_m[ScaledDropout(x)] = (1 - p) x, each within 5 standard errors."""
    rng = np.random.default_rng(seed)
    k, x = 4000, rng.standard_normal(6) + np.sign(rng.standard_normal(6))
    masks = D.sample_mask(rng, (k, 6), p)
    inverted, _ = D.Dropout.forward(np.broadcast_to(x, (k, 6)), masks, p)
    scaled, _ = D.ScaledDropout.forward(np.broadcast_to(x, (k, 6)), masks, p)
    sem = np.abs(x) * np.sqrt(p / (1 - p)) / np.sqrt(k)  # std of x m / (1 - p) is |x| sqrt(p / (1 - p))
    assert np.all(np.abs(inverted.mean(axis=0) - x) <= 5 * sem)
    assert np.all(np.abs(scaled.mean(axis=0) - (1 - p) * x) <= 5 * (1 - p) * sem)
    test_scaled, _ = D.ScaledDropout.forward(x, None, p, training=False)
    np.testing.assert_allclose(test_scaled, (1 - p) * x, rtol=1e-15)


# ----- the two conventions ---------------------------------------------------------------------------
def _all_masks(d: int, p: float):
    """Every keep mask of d units with its probability: the exact expectation over dropout."""
    for bits in itertools.product([False, True], repeat=d):
        mask = np.array(bits)
        yield mask, (1 - p) ** mask.sum() * p ** (d - mask.sum())


def test_conventions_agree_in_expectation_before_a_linear_layer() -> None:
    """Exactly, by enumerating all 2^d masks: E[dropout(x) W + b] is the test-time output, in both forms."""
    rng = np.random.default_rng(0)
    d, p = 6, 0.3
    x, w, b = rng.standard_normal((2, d)), rng.standard_normal((d, 3)), rng.standard_normal(3)
    inverted = scaled = 0.0
    for mask, prob in _all_masks(d, p):
        masks = np.broadcast_to(mask, x.shape)
        inverted = inverted + prob * (D.Dropout.forward(x, masks, p)[0] @ w + b)
        scaled = scaled + prob * (D.ScaledDropout.forward(x, masks, p)[0] @ w + b)
    np.testing.assert_allclose(inverted, x @ w + b, rtol=1e-12, atol=1e-12)  # inverted: the plain net at test
    np.testing.assert_allclose(scaled, x @ D.scale_weights(w, p) + b, rtol=1e-12, atol=1e-12)  # slides' rule
    scaled_test = D.ScaledDropout.forward(x, None, p, training=False)[0] @ w + b  # activations scaled instead
    np.testing.assert_allclose(scaled_test, x @ D.scale_weights(w, p) + b, rtol=1e-13)


def test_conventions_compute_the_same_network_when_the_weights_are_rescaled() -> None:
    """Inverted dropout with W equals scaled dropout with W / (1 - p): in every training pass and at test."""
    rng = np.random.default_rng(1)
    p, x = 0.5, rng.standard_normal((8, 5))
    w1, b1, w2 = rng.standard_normal((5, 7)), rng.standard_normal(7), rng.standard_normal((7, 3))

    def net(op, w, mask, training):
        h = np.maximum(op.forward(x, mask, p, training)[0] @ w + b1, 0.0)
        return h @ w2

    for _ in range(3):
        mask = D.sample_mask(rng, x.shape, p)
        np.testing.assert_allclose(net(D.Dropout, w1, mask, True), net(D.ScaledDropout, w1 / (1 - p), mask, True),
                                   rtol=1e-12, atol=1e-12)
        # with the SAME weights a single training pass differs by the factor 1 / (1 - p) at the dropout layer
        out_inv, _ = D.Dropout.forward(x, mask, p)
        np.testing.assert_allclose(out_inv * (1 - p), D.ScaledDropout.forward(x, mask, p)[0], rtol=1e-15)
    np.testing.assert_allclose(net(D.Dropout, w1, None, False), net(D.ScaledDropout, w1 / (1 - p), None, False),
                               rtol=1e-12, atol=1e-12)


def test_where_they_differ_a_single_pass_and_a_nonlinearity_after_the_dropout() -> None:
    """relu((x1 m1 - x2 m2) / (1 - p)) at x = (1, 1): the test-time pass gives relu(0) = 0, the ensemble 1/2."""
    x, w, p = np.array([[1.0, 1.0]]), np.array([[1.0], [-1.0]]), 0.5
    test_time = np.maximum(D.Dropout.forward(x, None, p, training=False)[0] @ w, 0.0)
    ensemble = sum(prob * np.maximum(D.Dropout.forward(x, mask[None], p)[0] @ w, 0.0)
                   for mask, prob in _all_masks(2, p))
    assert test_time.item() == 0.0 and ensemble.item() == pytest.approx(0.5)
    single = np.maximum(D.Dropout.forward(x, np.array([[True, False]]), p)[0] @ w, 0.0)
    assert single.item() == 2.0  # one stochastic pass is neither
    # Monte-Carlo averaging estimates the ensemble, not the weight-scaled pass

    def scores(xx, mask):  # two classes: the unit above, and a constant 0
        return np.hstack([np.maximum(D.Dropout.forward(xx, mask, p)[0] @ w, 0.0), np.zeros((xx.shape[0], 1))])

    k = 4000
    probs = D.mc_predict(lambda xx, r: scores(xx, D.sample_mask(r, xx.shape, p)), x, k, np.random.default_rng(0))
    exact = sum(prob * D.softmax(scores(x, mask[None])) for mask, prob in _all_masks(2, p))
    sem = 0.5 / np.sqrt(k)  # a probability's standard deviation is at most 1/2
    assert abs(probs[0, 0] - exact[0, 0]) < 5 * sem
    assert abs(exact[0, 0] - D.softmax(np.hstack([test_time, [[0.0]]]))[0, 0]) > 10 * sem  # 0.5952 vs 0.5


# ----- the twins against F.dropout --------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(64, 32), (4, 3, 5, 5)])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_twin_equals_f_dropout_with_the_recovered_mask(shape, p) -> None:
    rng = np.random.default_rng(3)
    x_np, dout = rng.standard_normal(shape), torch.as_tensor(rng.standard_normal(shape))
    for seed in (0, 1):
        mask = torch_mask(shape, p, seed)
        assert mask.shape == shape and 0 < float(mask.double().mean()) < 1
        x, x_ref = (torch.tensor(x_np, requires_grad=True) for _ in range(2))
        out, ref = T.dropout(x, mask, p), builtin_dropout(x_ref, p, seed)
        assert torch.equal(out, ref)  # bitwise: the same x * (mask / (1 - p))
        out.backward(dout)
        ref.backward(dout)
        assert torch.equal(x.grad, x_ref.grad)
        scratch, cache = D.Dropout.forward(x_np, mask.numpy(), p)
        np.testing.assert_array_equal(scratch, ref.detach().numpy())
        np.testing.assert_array_equal(D.Dropout.backward(dout.numpy(), cache)[0], x_ref.grad.numpy())
    x = torch.as_tensor(x_np)
    assert torch.equal(T.dropout(x, None, p, training=False), F.dropout(x, p, training=False))
    torch.testing.assert_close(T.scaled_dropout(x, None, p, training=False), (1 - p) * x)


def test_twin_sample_mask_uses_its_generator_only() -> None:
    state = torch.get_rng_state()
    a = T.sample_mask(torch.Generator().manual_seed(5), (3, 4), 0.5)
    b = T.sample_mask(5, (3, 4), 0.5)
    assert torch.equal(a, b) and a.dtype == torch.bool
    assert torch.equal(torch.get_rng_state(), state)  # torch's global generator untouched


# ----- max-norm -----------------------------------------------------------------------------------------
def test_max_norm_projects_each_units_incoming_weights_onto_the_ball() -> None:
    rng = np.random.default_rng(0)
    w = rng.standard_normal((20, 6)) * np.array([0.1, 0.2, 1.0, 2.0, 0.05, 3.0])  # (in, out): columns are units
    c = 2.0
    out = D.max_norm(w, c)
    norms, new = np.linalg.norm(w, axis=0), np.linalg.norm(out, axis=0)
    inside = norms <= c
    assert inside.any() and (~inside).any()
    np.testing.assert_array_equal(out[:, inside], w[:, inside])  # inside the ball: untouched
    np.testing.assert_allclose(new[~inside], c, rtol=1e-14)  # outside: on the sphere
    np.testing.assert_allclose(out[:, ~inside] / new[~inside], w[:, ~inside] / norms[~inside], rtol=1e-14)
    np.testing.assert_array_equal(D.max_norm(out, c), out)  # a projection: applying it twice changes nothing
    wt = torch.as_tensor(w)
    torch.testing.assert_close(T.max_norm(wt, c), torch.as_tensor(out), rtol=1e-15, atol=0)
    # torch.renorm on the nn.Linear layout (out, in) does the same, up to its 1e-7 in the denominator
    torch.testing.assert_close(torch.renorm(wt.T, 2, 0, c).T, torch.as_tensor(out), rtol=1e-6, atol=0)
    # maxout weights (k, in, out): axis=1
    wk = rng.standard_normal((3, 10, 4))
    outk = D.max_norm(wk, 1.5, axis=1)
    assert np.all(np.linalg.norm(outk, axis=1) <= 1.5 * (1 + 1e-14))
    torch.testing.assert_close(T.max_norm(torch.as_tensor(wk), 1.5, axis=1), torch.as_tensor(outk))
    for bad in [dict(c=0.0), dict(c=-1.0), dict(c=1.0, axis=2), dict(c=1.0, axis=())]:
        with pytest.raises(ValueError, match="max_norm"):
            D.max_norm(w, **bad)
        with pytest.raises(ValueError, match="max_norm"):
            T.max_norm(wt, **bad)


# ----- the MLP with dropout ---------------------------------------------------------------------------------
DROP_NETS = [
    dict(dims=[5, 7, 6, 3], activation="relu", loss="softmax", reg=0.1, dropout=0.5),
    dict(dims=[5, 7, 3], activation="tanh", loss="svm", dropout=(0.2, 0.4)),
    dict(dims=[5, 6, 4, 3], activation="maxout", pieces=2, loss="softmax", dropout=(0.3, 0.5)),
    dict(dims=[5, 7, 6, 3], activation="relu", norm="batch", norm_position="after", dropout=0.3),
    dict(dims=[5, 3], loss="softmax", dropout=(0.25, 0.5)),
]
DROP_IDS = ["relu_p0.5", "tanh_svm_input_and_hidden", "maxout", "bn_after", "linear_input_dropout"]


def _batch(seed: int = 0, n: int = 8, d: int = 5, c: int = 3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, c, size=n)


def copy_to_torch(model: MLP) -> TorchMLP:
    twin = TorchMLP(model.dims, activation=model.activation, loss=model.loss_name, reg=model.reg,
                    pieces=model.pieces, norm=model.norm, norm_position=model.norm_position, dropout=model.dropout)
    state = {**model.params, **model.running}
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
    return twin


@pytest.mark.parametrize("net", DROP_NETS, ids=DROP_IDS)
def test_mlp_dropout_gradients_match_central_differences_with_a_fixed_mask(net: dict) -> None:
    model = MLP(weight_scale=0.5, rng=1, bias=0.1, **net)
    x, y = _batch()
    masks = model.sample_masks(np.random.default_rng(2), x.shape[0])
    assert sum(m is not None and not m.all() for m in masks) >= 1
    _, grads = model.loss(x, y, masks=masks)
    for name, w in model.params.items():
        numeric = numerical_grad(lambda _w: model.loss(x, y, masks=masks)[0], w, 1.0)
        if np.abs(numeric).max() < 1e-7 and np.abs(grads[name]).max() < 1e-12:
            continue  # e.g. a weight row of an input that the mask drops for every example
        assert rel_error(grads[name], numeric) < 1e-6, name


@pytest.mark.parametrize("net", DROP_NETS, ids=DROP_IDS)
def test_scratch_and_torch_mlp_with_dropout_agree_for_the_same_masks(net: dict) -> None:
    model = MLP(weight_scale=0.5, rng=2, **net)
    twin = copy_to_torch(model)
    x, y = _batch(3)
    masks = model.sample_masks(np.random.default_rng(4), x.shape[0])
    loss, grads = model.loss(x, y, masks=masks)
    t_loss = twin.loss(torch.as_tensor(x), torch.as_tensor(y), masks=masks)  # numpy masks are accepted
    t_loss.backward()
    torch.testing.assert_close(torch.tensor(loss, dtype=torch.float64), t_loss.detach())
    for name, p in twin.named_parameters():
        torch.testing.assert_close(torch.as_tensor(grads[name]), p.grad)
    t_masks = tuple(None if m is None else torch.as_tensor(m) for m in masks)
    torch.testing.assert_close(torch.as_tensor(model.scores(x, masks)), twin.scores(x, masks=t_masks).detach())
    model.eval()
    twin.eval()
    torch.testing.assert_close(torch.as_tensor(model.scores(x)), twin.scores(x).detach())


def test_mlp_dropout_modes_and_rngs() -> None:
    x, y = _batch(n=16)
    plain, model = MLP([5, 7, 3], rng=0), MLP([5, 7, 3], rng=0, dropout=0.5)
    for name in plain.params:  # the masks are drawn after the weights: dropout does not change them
        np.testing.assert_array_equal(plain.params[name], model.params[name])
    assert model.dropout_p == (0.0, 0.5) and model.dropout == (0.0, 0.5) and "dropout=(0.0, 0.5)" in repr(model)
    assert MLP([5, 7, 6, 3], dropout=(0.2, 0.5)).dropout_p == (0.2, 0.5, 0.5)
    assert not np.array_equal(model.scores(x), model.scores(x))  # training mode: fresh masks every call
    a = model.loss(x, y, rng=np.random.default_rng(1))
    b = model.loss(x, y, rng=np.random.default_rng(1))
    assert a[0] == b[0] and all(np.array_equal(a[1][k], b[1][k]) for k in a[1])
    masks = model.sample_masks(np.random.default_rng(1), 16)
    assert model.loss(x, y, masks=masks)[0] == a[0]  # rng and masks: the same draws
    assert masks[0] is None and masks[1].shape == (16, 7) and masks[1].dtype == np.bool_
    model.eval()  # eval mode: no dropout at all (the rng is not used)
    np.testing.assert_array_equal(model.scores(x), plain.scores(x))
    assert model.loss(x, y, rng=np.random.default_rng(5))[0] == plain.loss(x, y)[0]
    # masks given in eval mode are applied (Monte-Carlo dropout)
    assert not np.array_equal(model.scores(x, masks), plain.scores(x))
    # the same seed gives the same training run (the model's own generator)
    runs = [MLP([5, 7, 3], rng=3, dropout=0.5).loss(x, y)[0] for _ in range(2)]
    assert runs[0] == runs[1]
    t_runs = [TorchMLP([5, 7, 3], rng=3, dropout=0.5).loss(x, y).item() for _ in range(2)]
    assert t_runs[0] == t_runs[1]
    twin = TorchMLP([5, 7, 3], rng=3, dropout=0.5)
    assert twin.loss(x, y, rng=11).item() == twin.loss(x, y, rng=torch.Generator().manual_seed(11)).item()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(dropout=1.0), "dropout p must be a drop probability"),
        (dict(dropout=-0.5), "dropout p must be a drop probability"),
        (dict(dropout=(0.2,)), r"dropout must be None, p or \(p_input, p_hidden\)"),
        (dict(dropout=(0.2, 1.0)), "dropout p_hidden must be"),
        (dict(dropout=(1.2, 0.5)), "dropout p_input must be"),
        (dict(dropout="0.5"), "dropout p must be"),
    ],
)
def test_mlp_bad_dropout_arguments(kwargs: dict, match: str) -> None:
    for cls in (MLP, TorchMLP):
        with pytest.raises(ValueError, match=match):
            cls([4, 6, 3], **kwargs)


def test_mlp_bad_masks() -> None:
    x, y = _batch(d=4)
    for model in (MLP([4, 6, 3], dropout=0.5, rng=0), TorchMLP([4, 6, 3], dropout=0.5, rng=0)):
        good = model.sample_masks(0 if isinstance(model, TorchMLP) else np.random.default_rng(0), 8)
        with pytest.raises(ValueError, match="masks must be a tuple of 2"):
            model.loss(x, y, masks=good[:1])
        with pytest.raises(ValueError, match=r"masks\[1\] must be a mask"):
            model.loss(x, y, masks=(None, None))
        with pytest.raises(ValueError, match=r"masks\[0\] must be None"):
            model.loss(x, y, masks=(np.ones((8, 4), dtype=bool), good[1]))
        with pytest.raises(ValueError, match="mask must have the input's shape"):
            model.loss(x, y, masks=(None, np.ones((8, 5), dtype=bool)))
        with pytest.raises(ValueError, match="masks or rng, not both"):
            model.loss(x, y, masks=good, rng=0 if isinstance(model, TorchMLP) else np.random.default_rng(0))
    with pytest.raises(TypeError, match="numpy Generator"):
        MLP([4, 6, 3], dropout=0.5).loss(x, y, rng=0)


def test_solvers_train_dropout_mlps_reproducibly() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((90, 2)) + np.repeat(np.array([[0, 3], [3, -2], [-3, -2]]), 30, axis=0)
    y = np.repeat(np.arange(3), 30)
    data = dict(x_train=x, y_train=y, x_val=x, y_val=y)
    settings_ = dict(batch_size=16, epochs=3, seed=1, progress=False)
    runs = [Solver(MLP([2, 16, 3], rng=0, dropout=0.3, weight_scale=0.3), data, SGD(lr=0.1), **settings_).train()
            for _ in range(2)]
    assert runs[0].loss == runs[1].loss and runs[0].val_acc[-1] > 0.9
    twin = TorchMLP([2, 16, 3], rng=0, dropout=0.3, weight_scale=0.3)
    history = TorchSolver(twin, data, torch.optim.SGD(twin.parameters(), lr=0.1), **settings_).train()
    assert history.val_acc[-1] > 0.9


# ----- Monte-Carlo dropout ------------------------------------------------------------------------------------
def test_mc_predict_averages_k_stochastic_passes_in_eval_mode() -> None:
    model = MLP([5, 8, 3], rng=0, weight_scale=0.5, dropout=0.5, norm="batch")
    x, y = _batch(n=6)
    model.loss(x, y)  # give batch norm running statistics
    probs = D.mc_predict(model, x, 5, np.random.default_rng(9))
    assert probs.shape == (6, 3) and model.training  # the mode is restored
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-14)
    rng = np.random.default_rng(9)
    model.eval()
    by_hand = sum(D.softmax(model.scores(x, model.sample_masks(rng, 6))) for _ in range(5)) / 5
    np.testing.assert_allclose(probs, by_hand, rtol=1e-14)
    assert not np.allclose(probs, D.softmax(model.scores(x)))  # not the weight-scaled (plain eval) pass
    # the torch twin, with the same masks, averages the same passes
    twin = copy_to_torch(model.train())
    rng = np.random.default_rng(9)
    drawn = iter([model.sample_masks(rng, 6) for _ in range(5)])
    twin.eval()
    t_probs = T.mc_predict(lambda xx, g: twin.scores(xx, masks=next(drawn)), torch.as_tensor(x), 5, 0)
    torch.testing.assert_close(t_probs, torch.as_tensor(probs))
    twin.train()
    t_probs = T.mc_predict(twin, x, 5, 3)
    assert twin.training and t_probs.shape == (6, 3) and not t_probs.requires_grad
    torch.testing.assert_close(t_probs, T.mc_predict(twin, x, 5, torch.Generator().manual_seed(3)))
    with pytest.raises(ValueError, match="k must be"):
        D.mc_predict(model, x, 0, np.random.default_rng(0))
    with pytest.raises(TypeError, match="mc_predict"):
        D.mc_predict("model", x, 2, np.random.default_rng(0))


def test_with_max_norm_keeps_every_weight_in_the_ball_and_matches_the_torch_twin() -> None:
    """Dropout's companion in Srivastava et al. 2014: a step, then each unit's weights back to norm <= c."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 2)) + np.repeat(np.array([[0, 3], [3, -2], [-3, -2]]), 20, axis=0)
    y = np.repeat(np.arange(3), 20)
    data = dict(x_train=x, y_train=y, x_val=x, y_val=y)
    c, settings_ = 0.8, dict(batch_size=10, epochs=3, seed=2, progress=False)
    model = MLP([2, 12, 3], rng=1, weight_scale=1.0)
    twin = copy_to_torch(model)
    optimizer = D.with_max_norm(SGD(lr=0.5, momentum=0.9), c)
    assert optimizer.lr == 0.5 and "c=0.8" in repr(optimizer)
    history = Solver(model, data, optimizer, **settings_).train()
    t_history = TorchSolver(twin, data, T.with_max_norm(torch.optim.SGD(twin.parameters(), lr=0.5, momentum=0.9), c),
                            **settings_).train()
    np.testing.assert_allclose(t_history.loss, history.loss, rtol=1e-10, atol=1e-12)
    for name, w in model.params.items():
        if name.startswith("W"):
            norms = np.linalg.norm(w, axis=0)
            assert np.all(norms <= c * (1 + 1e-12)) and np.any(norms > c * (1 - 1e-9)), name  # binding
            torch.testing.assert_close(getattr(twin, name).detach(), torch.as_tensor(w))
    with pytest.raises(TypeError, match="scratch optimizer"):
        D.with_max_norm(object(), 1.0)
    with pytest.raises(TypeError, match="torch.optim.Optimizer"):
        T.with_max_norm(SGD(lr=0.1), 1.0)
    with pytest.raises(ValueError, match="c must be"):
        D.with_max_norm(SGD(lr=0.1), 0.0)


def test_torch_mc_predict_through_an_nn_module_with_dropout_layers() -> None:
    """Any nn.Module: eval mode except its dropout layers; torch's global stream untouched; reproducible."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.BatchNorm1d(16),
                              torch.nn.Dropout(0.5), torch.nn.Linear(16, 3)).double()
    x = torch.randn(6, 4, dtype=torch.float64)
    net.train()
    net(torch.randn(32, 4, dtype=torch.float64))  # running statistics away from their start
    state = torch.get_rng_state()
    probs = T.mc_predict(net, x, 20, 7)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(m.training for m in net.modules())  # modes restored
    torch.testing.assert_close(probs, T.mc_predict(net, x.numpy(), 20, torch.Generator().manual_seed(7)))
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(6, dtype=torch.float64))
    net.eval()
    plain = torch.softmax(net(x), dim=1)
    assert not torch.allclose(probs, plain)  # dropout was on
    net[3].p = 0.0
    torch.testing.assert_close(T.mc_predict(net, x, 3, 7), plain)  # ... and batch norm in eval mode
    assert not net.training and not net[3].training
    with pytest.raises(ValueError, match="no dropout layer"):
        T.mc_predict(torch.nn.Linear(4, 3), x, 2, 0)
