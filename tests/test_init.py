"""Weight initializers (scratch and torch twins), fans and gains, LSUV, and the MLP's ``init=`` / ``trace``.

Targets (std, bound, gain, fans) are compared with ``torch.nn.init``'s own formulas on the
TRANSPOSED (out, in) weight; the twins are compared number for number with ``torch.nn.init``
for the same generator state; the scratch samples are checked statistically.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.scratch import init as S
from course_lib.scratch.model import MLP, Trace
from course_lib.torch_impl import init as T
from course_lib.torch_impl.model import MLP as TorchMLP

TI = torch.nn.init
FANS = [(64, 128), (128, 10), (300, 300), (7, 513)]
CONV_SHAPES = [(16, 3, 3, 3), (8, 32, 5, 5), (4, 6, 3), (10, 2, 3, 3, 3)]
NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
                  "sigmoid", "tanh", "relu", "leaky_relu", "selu"]


def torch_fans(fan_in: int, fan_out: int) -> tuple[int, int]:
    """torch's fans of the (out, in) nn.Linear weight of a layer with these fans."""
    return TI._calculate_fan_in_and_fan_out(torch.empty(fan_out, fan_in))


# ----- fans and gains ------------------------------------------------------------------------
@pytest.mark.parametrize("fan_in, fan_out", FANS)
def test_fans_of_our_layout_equal_torch_on_the_transpose(fan_in, fan_out):
    w = torch.empty(fan_in, fan_out)  # our (in, out) layout
    assert S.fans(w.shape) == T.fans(w) == TI._calculate_fan_in_and_fan_out(w.T) == (fan_in, fan_out)
    # torch's rule applied to OUR layout without the transpose swaps the two: the classic slip
    assert TI._calculate_fan_in_and_fan_out(w) == (fan_out, fan_in)


@pytest.mark.parametrize("shape", CONV_SHAPES)
def test_fans_of_conv_weights_equal_torch(shape):
    torch_fans_ = TI._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert S.fans(shape, layout="conv") == T.fans(torch.empty(shape), layout="conv") == torch_fans_
    assert S.fans((16, 3, 3, 3)) == (27, 144)


@pytest.mark.parametrize("shape", [s for s in CONV_SHAPES if len(s) in (4, 5)])
def test_fans_read_4d_and_5d_weights_as_conv_by_default(shape):
    assert S.fans(shape) == S.fans(shape, layout="conv") == T.fans(torch.empty(shape))
    assert S.fans(shape) == TI._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_fans_of_a_conv1d_weight_with_layout_conv_equal_torch():
    w = torch.nn.Conv1d(6, 4, kernel_size=3).weight  # (out_c, in_c, k) = (4, 6, 3)
    assert S.fans(w.shape, layout="conv") == T.fans(w, layout="conv") == TI._calculate_fan_in_and_fan_out(w) == (18, 12)


@pytest.mark.parametrize("k", [1, 2, 5])
@pytest.mark.parametrize("d, m", [(6, 3), (20, 20), (1, 7)])
def test_fans_of_a_maxout_weight_are_those_of_one_piece(k, d, m):
    """Each of the k pieces is its own (D, M) linear map of the same input: k does not multiply."""
    assert S.fans((k, d, m), layout="maxout") == T.fans(torch.empty(k, d, m), layout="maxout") == (d, m)
    assert S.fans((k, d, m), layout="maxout") == S.fans((d, m))
    if k > 1:
        assert S.fans((k, d, m), layout="maxout") != S.fans((k, d, m), layout="conv")


@pytest.mark.parametrize(
    "call",
    [
        lambda: S.fans((4, 6, 3)),
        lambda: T.fans(torch.empty(4, 6, 3)),
        lambda: S.he_normal(np.random.default_rng(0), 6, 3, shape=(4, 6, 3)),
        lambda: S.orthogonal(np.random.default_rng(0), 6, 3, shape=(4, 6, 3)),
        lambda: T.xavier_uniform(torch.empty(4, 6, 3)),
        lambda: T.orthogonal(torch.empty(4, 6, 3)),
    ],
)
def test_a_3d_weight_without_a_layout_is_refused(call):
    """A 3-D weight is a conv1d weight or a maxout weight, with different fans: no guessing."""
    with pytest.raises(ValueError, match=r"conv1d weight \(out_c, in_c, k\) or a maxout weight \(k, in, out\)") as err:
        call()
    assert "layout='conv'" in str(err.value) and "layout='maxout'" in str(err.value)


@pytest.mark.parametrize(
    "shape, layout",
    [((5, 3), "maxout"), ((5, 3), "conv"), ((4, 6, 3), "linear"), ((2, 3, 4, 5), "maxout"), ((2, 3, 4, 5), "linear"),
     ((5, 3), "dense"), ((5, 3), "Linear"), ((5, 3), 2), ((5, 3), ["conv"]), ((1, 2, 3, 4, 5, 6), None)],
)
def test_a_layout_that_does_not_fit_is_refused(shape, layout):
    with pytest.raises(ValueError, match="fans: .*layout"):
        S.fans(shape, layout)
    with pytest.raises(ValueError, match="fans: .*layout"):
        T.fans(torch.empty(shape), layout)


@pytest.mark.parametrize("bad", [(5,), (), (3, 0), (0, 4, 3, 3), (-2, 3), "ab", 7])
def test_fans_reject_bad_shapes(bad):
    with pytest.raises(ValueError, match="fans"):
        S.fans(bad)


@pytest.mark.parametrize("name", NONLINEARITIES)
@pytest.mark.parametrize("param", [None, 0.0, 0.2, 1, math.sqrt(5)])
def test_calculate_gain_equals_torch(name, param):
    assert S.calculate_gain(name, param) == pytest.approx(TI.calculate_gain(name, param), rel=1e-15)
    assert T.calculate_gain is S.calculate_gain


@pytest.mark.parametrize("name, param", [("swish", None), ("leaky_relu", True), ("leaky_relu", "0.1"),
                                         ("leaky_relu", float("nan")), (3, None)])
def test_calculate_gain_rejects_bad_arguments(name, param):
    with pytest.raises(ValueError):
        S.calculate_gain(name, param)


# ----- targets vs torch's formulas -----------------------------------------------------------------
@pytest.mark.parametrize("fan_in, fan_out", FANS)
@pytest.mark.parametrize("gain", [1.0, 5 / 3, math.sqrt(2)])
def test_xavier_targets_equal_torch(fan_in, fan_out, gain):
    tin, tout = torch_fans(fan_in, fan_out)
    torch_std = gain * math.sqrt(2.0 / float(tin + tout))  # torch.nn.init.xavier_normal_
    torch_bound = math.sqrt(3.0) * torch_std  # torch.nn.init.xavier_uniform_
    assert S.xavier_std(fan_in, fan_out, gain) == pytest.approx(torch_std, rel=1e-15)
    assert S.xavier_bound(fan_in, fan_out, gain) == pytest.approx(torch_bound, rel=1e-15)
    assert S.xavier_bound(fan_in, fan_out, gain) == pytest.approx(gain * math.sqrt(6 / (fan_in + fan_out)), rel=1e-15)


@pytest.mark.parametrize("fan_in, fan_out", FANS)
@pytest.mark.parametrize("a", [0.0, 0.01, 0.25, math.sqrt(5)])
@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity", ["leaky_relu", "relu", "tanh", "linear"])
def test_he_targets_equal_torch(fan_in, fan_out, a, mode, nonlinearity):
    fan = TI._calculate_correct_fan(torch.empty(fan_out, fan_in), mode)
    torch_std = TI.calculate_gain(nonlinearity, a) / math.sqrt(fan)  # kaiming_normal_
    assert S.he_std(fan_in, fan_out, a, mode, nonlinearity) == pytest.approx(torch_std, rel=1e-15)
    assert S.he_bound(fan_in, fan_out, a, mode, nonlinearity) == pytest.approx(math.sqrt(3.0) * torch_std, rel=1e-15)
    if nonlinearity == "leaky_relu":  # the PReLU form of He et al. (2015): Var = 2 / ((1 + a^2) fan)
        expected = math.sqrt(2.0 / ((1 + a * a) * (fan_in if mode == "fan_in" else fan_out)))
        assert S.he_std(fan_in, fan_out, a, mode) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("fan_in, fan_out", FANS)
def test_lecun_target_equals_kaiming_linear(fan_in, fan_out):
    fan = TI._calculate_correct_fan(torch.empty(fan_out, fan_in), "fan_in")
    assert S.lecun_std(fan_in) == pytest.approx(TI.calculate_gain("linear") / math.sqrt(fan), rel=1e-15)


@pytest.mark.parametrize("fan_in, fan_out", FANS)
def test_torch_linear_default_is_uniform_one_over_sqrt_fan_in(fan_in, fan_out):
    """Pitfall: nn.Linear's default init is kaiming_uniform_(a=sqrt(5)) = U(+-1/sqrt(fan_in)), neither Xavier nor He."""
    assert S.he_bound(fan_in, fan_out, a=math.sqrt(5)) == pytest.approx(1 / math.sqrt(fan_in), rel=1e-14)
    assert S.he_bound(fan_in, fan_out, a=math.sqrt(5)) != pytest.approx(S.xavier_bound(fan_in, fan_out), rel=1e-3)
    assert S.he_bound(fan_in, fan_out, a=math.sqrt(5)) < S.he_bound(fan_in, fan_out)
    torch.manual_seed(123)
    layer = torch.nn.Linear(fan_in, fan_out, dtype=torch.float64)
    torch.manual_seed(123)
    ours = T.he_uniform(torch.empty(fan_in, fan_out, dtype=torch.float64), a=math.sqrt(5))
    torch.testing.assert_close(ours, layer.weight.detach().T, rtol=0, atol=0)


# ----- twins draw exactly what torch.nn.init draws on the transposed weight ----------------------------
TWIN_PAIRS = {
    "xavier_uniform": (lambda w, g: T.xavier_uniform(w, gain=1.3, generator=g),
                       lambda v, g: TI.xavier_uniform_(v, gain=1.3, generator=g)),
    "xavier_normal": (lambda w, g: T.xavier_normal(w, gain=0.7, generator=g),
                      lambda v, g: TI.xavier_normal_(v, gain=0.7, generator=g)),
    "he_normal": (lambda w, g: T.he_normal(w, a=0.2, mode="fan_out", generator=g),
                  lambda v, g: TI.kaiming_normal_(v, a=0.2, mode="fan_out", generator=g)),
    "he_uniform": (lambda w, g: T.he_uniform(w, nonlinearity="relu", generator=g),
                   lambda v, g: TI.kaiming_uniform_(v, nonlinearity="relu", generator=g)),
    "lecun_normal": (lambda w, g: T.lecun_normal(w, generator=g),
                     lambda v, g: TI.kaiming_normal_(v, nonlinearity="linear", generator=g)),
    "orthogonal": (lambda w, g: T.orthogonal(w, gain=1.5, generator=g),
                   lambda v, g: TI.orthogonal_(v, gain=1.5, generator=g)),
}


@pytest.mark.parametrize("name", sorted(TWIN_PAIRS))
@pytest.mark.parametrize("shape", [(30, 70), (70, 30), (8, 8), (16, 3, 3, 3), (80, 3, 3, 3)])
def test_twin_equals_torch_builtin_on_the_transpose(name, shape):
    ours, builtin = TWIN_PAIRS[name]
    w = torch.empty(shape, dtype=torch.float64)
    assert ours(w, torch.Generator().manual_seed(5)) is w  # in place, returns the tensor
    torch_layout = (shape[1], shape[0]) if len(shape) == 2 else shape
    v = builtin(torch.empty(torch_layout, dtype=torch.float64), torch.Generator().manual_seed(5))
    torch.testing.assert_close(w, v.T if len(shape) == 2 else v, rtol=0, atol=0)


def test_twins_fill_in_place_without_autograd_history():
    p = torch.nn.Parameter(torch.empty(20, 10, dtype=torch.float64))
    T.he_normal(p, generator=torch.Generator().manual_seed(0))
    assert p.grad_fn is None and p.requires_grad and p.abs().sum() > 0
    T.zeros(p)
    assert torch.all(p == 0)
    T.constant(p, 0.5)
    assert torch.all(p == 0.5)


# ----- scratch samples: statistics --------------------------------------------------------------------
def _target(name: str, fan_in: int, fan_out: int) -> tuple[float, float | None]:
    """(std, bound or None) the scratch initializer `name` aims at, with the arguments used below."""
    return {
        "xavier_uniform": (S.xavier_std(fan_in, fan_out, 1.2), S.xavier_bound(fan_in, fan_out, 1.2)),
        "xavier_normal": (S.xavier_std(fan_in, fan_out, 0.8), None),
        "he_normal": (S.he_std(fan_in, fan_out, a=0.3), None),
        "he_uniform": (S.he_std(fan_in, fan_out, mode="fan_out"), S.he_bound(fan_in, fan_out, mode="fan_out")),
        "lecun_normal": (S.lecun_std(fan_in), None),
        "small_random": (0.01, None),
    }[name]


def _draw(name: str, rng, fan_in: int, fan_out: int) -> np.ndarray:
    return {
        "xavier_uniform": lambda: S.xavier_uniform(rng, fan_in, fan_out, gain=1.2),
        "xavier_normal": lambda: S.xavier_normal(rng, fan_in, fan_out, gain=0.8),
        "he_normal": lambda: S.he_normal(rng, fan_in, fan_out, a=0.3),
        "he_uniform": lambda: S.he_uniform(rng, fan_in, fan_out, mode="fan_out"),
        "lecun_normal": lambda: S.lecun_normal(rng, fan_in, fan_out),
        "small_random": lambda: S.small_random(rng, fan_in, fan_out),
    }[name]()


@pytest.mark.parametrize(
    "name", ["xavier_uniform", "xavier_normal", "he_normal", "he_uniform", "lecun_normal", "small_random"]
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scratch_samples_have_the_target_mean_std_and_bounds(name, seed):
    fan_in, fan_out = 400, 300
    w = _draw(name, np.random.default_rng(seed), fan_in, fan_out)
    std, bound = _target(name, fan_in, fan_out)
    n = w.size
    assert w.shape == (fan_in, fan_out) and w.dtype == np.float64
    assert abs(w.mean()) < 5 * std / math.sqrt(n)  # mean ~ 0 within 5 standard errors
    assert abs(w.std() / std - 1) < 5 / math.sqrt(2 * n)  # std within 5 standard errors (normal: 1/sqrt(2n))
    if bound is not None:
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.999 * bound


@pytest.mark.parametrize("seed", [0, 1])
def test_a_wrong_std_fails_the_statistical_check(seed):
    """Negative control: the sample test above tells a std 3% off the target (e.g. fan 400 vs 375)."""
    w = S.he_normal(np.random.default_rng(seed), 400, 300)
    n = w.size
    assert abs(w.std() / (1.03 * S.he_std(400, 300)) - 1) > 5 / math.sqrt(2 * n)


@settings(max_examples=25, deadline=None)
@given(fan_in=st.integers(1, 2000), fan_out=st.integers(1, 2000), a=st.floats(0, 3), gain=st.floats(0.1, 3))
def test_initializer_std_is_gain_over_sqrt_fan(fan_in, fan_out, a, gain):
    """Property: every scheme's std is gain / sqrt(fan) for its fan."""
    assert S.he_std(fan_in, fan_out, a) == pytest.approx(math.sqrt(2 / (1 + a * a)) / math.sqrt(fan_in), rel=1e-12)
    assert S.xavier_std(fan_in, fan_out, gain) == pytest.approx(gain / math.sqrt((fan_in + fan_out) / 2), rel=1e-12)
    assert S.lecun_std(fan_in) == pytest.approx(1 / math.sqrt(fan_in), rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_twin_samples_have_the_target_std(seed):
    g = torch.Generator().manual_seed(seed)
    for fill, std in ((lambda w: T.xavier_normal(w, generator=g), S.xavier_std(400, 300)),
                      (lambda w: T.he_normal(w, generator=g), S.he_std(400, 300)),
                      (lambda w: T.small_random(w, generator=g), 0.01)):
        w = fill(torch.empty(400, 300, dtype=torch.float64))
        assert abs(float(w.std()) / std - 1) < 5 / math.sqrt(2 * w.numel())


# ----- orthogonal -------------------------------------------------------------------------------------
@pytest.mark.parametrize("fan_in, fan_out", [(50, 20), (20, 50), (32, 32)])
@pytest.mark.parametrize("gain", [1.0, math.sqrt(2)])
def test_orthogonal_is_semi_orthogonal_times_gain(fan_in, fan_out, gain):
    w = S.orthogonal(np.random.default_rng(0), fan_in, fan_out, gain=gain)
    assert w.shape == (fan_in, fan_out)
    if fan_in >= fan_out:
        np.testing.assert_allclose(w.T @ w, gain**2 * np.eye(fan_out), atol=1e-12)
    else:
        np.testing.assert_allclose(w @ w.T, gain**2 * np.eye(fan_in), atol=1e-12)
    np.testing.assert_allclose(np.linalg.svd(w, compute_uv=False), gain, rtol=1e-12)
    t = T.orthogonal(torch.empty(fan_in, fan_out, dtype=torch.float64), gain=gain,
                     generator=torch.Generator().manual_seed(0))
    small = min(fan_in, fan_out)
    gram = t.T @ t if fan_in >= fan_out else t @ t.T
    torch.testing.assert_close(gram, gain**2 * torch.eye(small, dtype=torch.float64))


def test_orthogonal_conv_weight_has_orthonormal_rows():
    shape = (8, 3, 3, 3)
    w = S.orthogonal(np.random.default_rng(1), *S.fans(shape), shape=shape)
    m = w.reshape(8, -1)
    assert w.shape == shape
    np.testing.assert_allclose(m @ m.T, np.eye(8), atol=1e-12)


def test_orthogonal_sign_correction_makes_the_distribution_symmetric():
    """Without the sign fix, numpy's QR puts a sign bias on the diagonal; with it, E[W_kk] = 0."""
    rng = np.random.default_rng(0)
    diag = np.array([np.diag(S.orthogonal(rng, 6, 6)) for _ in range(3000)])
    assert np.all(np.abs(diag.mean(axis=0)) < 5 * diag.std(axis=0) / math.sqrt(3000))
    raw = np.array([np.diag(np.linalg.qr(rng.standard_normal((6, 6)))[0]) for _ in range(3000)])
    assert np.any(np.abs(raw.mean(axis=0)) > 10 * raw.std(axis=0) / math.sqrt(3000))  # the bias the fix removes


# ----- shape= and bad arguments --------------------------------------------------------------------------
def test_shape_option_draws_a_conv_weight_with_its_fans():
    shape = (16, 3, 3, 3)
    w = S.he_normal(np.random.default_rng(0), *S.fans(shape), shape=shape)
    assert w.shape == shape
    assert abs(w.std() / S.he_std(27, 144) - 1) < 0.1
    with pytest.raises(ValueError, match="fans"):
        S.xavier_uniform(np.random.default_rng(0), 16, 3, shape=shape)


def test_shape_option_with_a_maxout_layout_draws_one_piece_scale():
    shape = (3, 200, 100)  # k = 3 pieces of (200, 100)
    w = S.he_normal(np.random.default_rng(0), *S.fans(shape, layout="maxout"), shape=shape, layout="maxout")
    assert w.shape == shape
    assert abs(w.std() / S.he_std(200, 100) - 1) < 0.02
    t = T.he_normal(torch.empty(shape, dtype=torch.float64), generator=torch.Generator().manual_seed(0),
                    layout="maxout")
    assert abs(float(t.std()) / S.he_std(200, 100) - 1) < 0.02
    with pytest.raises(ValueError, match="layout='maxout'"):  # the conv reading's fans do not match
        S.he_normal(np.random.default_rng(0), *S.fans(shape, layout="conv"), shape=shape, layout="maxout")
    with pytest.raises(ValueError, match="shape="):  # a layout describes a shape
        S.he_normal(np.random.default_rng(0), 200, 100, layout="maxout")


def test_shape_option_with_a_conv1d_layout():
    shape = (8, 6, 3)
    w = S.xavier_uniform(np.random.default_rng(0), *S.fans(shape, layout="conv"), shape=shape, layout="conv")
    assert w.shape == shape and np.abs(w).max() <= S.xavier_bound(18, 24)
    o = S.orthogonal(np.random.default_rng(0), *S.fans(shape, layout="conv"), shape=shape, layout="conv")
    np.testing.assert_allclose(o.reshape(8, -1) @ o.reshape(8, -1).T, np.eye(8), atol=1e-12)


@pytest.mark.parametrize("k, d, m", [(2, 6, 3), (3, 3, 6)])
def test_orthogonal_maxout_weight_has_orthogonal_pieces(k, d, m):
    w = S.orthogonal(np.random.default_rng(0), d, m, gain=2.0, shape=(k, d, m), layout="maxout")
    t = T.orthogonal(torch.empty(k, d, m, dtype=torch.float64), gain=2.0, generator=torch.Generator().manual_seed(0),
                     layout="maxout")
    assert w.shape == tuple(t.shape) == (k, d, m)
    for piece in list(w) + [p.numpy() for p in t]:
        np.testing.assert_allclose(np.linalg.svd(piece, compute_uv=False), 2.0, rtol=1e-12)


@pytest.mark.parametrize("name", ["xavier_uniform", "he_normal", "orthogonal"])
def test_twin_on_a_conv1d_weight_equals_torch_builtin_with_layout_conv(name):
    ours = {"xavier_uniform": T.xavier_uniform, "he_normal": T.he_normal, "orthogonal": T.orthogonal}[name]
    builtin = {
        "xavier_uniform": TI.xavier_uniform_, "he_normal": TI.kaiming_normal_, "orthogonal": TI.orthogonal_
    }[name]
    w = ours(torch.empty(4, 6, 3, dtype=torch.float64), generator=torch.Generator().manual_seed(5), layout="conv")
    v = builtin(torch.empty(4, 6, 3, dtype=torch.float64), generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(w, v, rtol=0, atol=0)


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda r: S.xavier_uniform(r, 0, 5), ValueError),
        (lambda r: S.xavier_normal(r, 5, -1), ValueError),
        (lambda r: S.he_normal(r, 5.0, 3), ValueError),
        (lambda r: S.he_uniform(r, True, 3), ValueError),
        (lambda r: S.xavier_uniform(r, 5, 3, gain=-1.0), ValueError),
        (lambda r: S.xavier_normal(r, 5, 3, gain=float("nan")), ValueError),
        (lambda r: S.he_normal(r, 5, 3, mode="fan_avg"), ValueError),
        (lambda r: S.he_normal(r, 5, 3, nonlinearity="swish"), ValueError),
        (lambda r: S.he_uniform(r, 5, 3, a=float("inf")), ValueError),
        (lambda r: S.orthogonal(r, 5, 3, gain=-2.0), ValueError),
        (lambda r: S.lecun_normal(r, 0, 3), ValueError),
        (lambda r: S.small_random(r, 5, 3, std=-0.1), ValueError),
        (lambda r: S.constant(r, 5, 3, float("nan")), ValueError),
        (lambda r: S.he_normal(np.random.RandomState(0), 5, 3), TypeError),
        (lambda r: S.xavier_uniform(0, 5, 3), TypeError),
        (lambda r: S.get_initializer("glorot"), ValueError),
        (lambda r: T.he_normal(torch.empty(5), generator=None), ValueError),
        (lambda r: T.orthogonal(torch.empty(5)), ValueError),
        (lambda r: T.xavier_uniform(torch.empty(4, 3), gain=-1.0), ValueError),
    ],
)
def test_bad_arguments_raise(call, error):
    with pytest.raises(error):
        call(np.random.default_rng(0))


def test_initializers_are_deterministic_given_the_generator():
    for name, fn in S.INITIALIZERS.items():
        a, b = fn(np.random.default_rng(3), 6, 4), fn(np.random.default_rng(3), 6, 4)
        np.testing.assert_array_equal(a, b, err_msg=name)
        assert a.shape == (6, 4)


# ----- LSUV -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("seed", [0, 1])
def test_lsuv_gives_unit_output_variance_on_the_batch(activation, seed):
    rng = np.random.default_rng(seed)
    x = 3.0 * rng.standard_normal((256, 20)) + 1.0
    model = MLP([20, 64, 64, 64, 64, 10], activation=activation, rng=seed, bias=0.05)
    before = {k: v.copy() for k, v in model.params.items()}
    out = S.lsuv(model, x, np.random.default_rng(seed), tol=0.05, max_iter=10)
    assert out.model is not model
    for k in before:  # the input model is unchanged
        np.testing.assert_array_equal(model.params[k], before[k])
    variances = [float(np.var(z)) for z in out.model.trace(x).pre_activations]
    assert variances == pytest.approx(list(out.variances), rel=1e-12)
    assert all(abs(v - 1) < 0.05 for v in variances)
    assert all(1 <= n <= 10 for n in out.iterations)
    # without LSUV, the small default init is far from unit variance
    assert all(abs(float(np.var(z)) - 1) > 0.5 for z in model.trace(x).pre_activations)


def test_lsuv_torch_twin_in_place():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(256, 20, generator=gen, dtype=torch.float64) * 2.0
    model = TorchMLP([20, 64, 64, 64, 10], rng=0)
    out = T.lsuv(model, x, tol=0.05, generator=gen)
    assert out.model is model
    for z in model.trace(x).pre_activations:
        assert abs(float(z.var(unbiased=False)) - 1) < 0.05
    orth = model.W2.detach()
    torch.testing.assert_close(orth.T @ orth / (orth.T @ orth)[0, 0], torch.eye(64, dtype=torch.float64))


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(tol=0.0), ValueError),
        (dict(tol=float("nan")), ValueError),
        (dict(max_iter=0), ValueError),
        (dict(rng="seed"), TypeError),
        (dict(x=np.ones(5)), ValueError),
        (dict(model=object()), TypeError),
    ],
)
def test_lsuv_rejects_bad_arguments(kwargs, error):
    args = dict(model=MLP([5, 4, 3], rng=0), x=np.ones((8, 5)), rng=np.random.default_rng(0))
    args.update(kwargs)
    call = dict(args)
    with pytest.raises(error):
        S.lsuv(call.pop("model"), call.pop("x"), call.pop("rng"), **call)


def test_lsuv_refuses_a_layer_with_zero_variance():
    model = MLP([5, 4, 3], init="zeros", rng=0)
    x = np.random.default_rng(0).standard_normal((8, 5))
    with pytest.raises(ValueError, match="variance"):
        S.lsuv(model, x, np.random.default_rng(0), orthogonal_start=False)


# ----- the MLP's init=, bias= and trace ------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(S.INITIALIZERS))
def test_mlp_accepts_every_initializer_name(name):
    model = MLP([30, 40, 20, 5], init=name, rng=0)
    twin = TorchMLP([30, 40, 20, 5], init=name, rng=0)
    for i, (fi, fo) in enumerate([(30, 40), (40, 20), (20, 5)], start=1):
        assert model.params[f"W{i}"].shape == (fi, fo) and getattr(twin, f"W{i}").shape == (fi, fo)
        assert np.all(model.params[f"b{i}"] == 0) and np.all(np.isfinite(model.params[f"W{i}"]))
        assert (np.abs(model.params[f"W{i}"]).max() == 0) == (name == "zeros")


def test_mlp_init_draws_each_layer_with_the_scheme():
    dims = [200, 300, 100]
    model = MLP(dims, init="he_normal", rng=0)
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(model.params["W1"], S.he_normal(rng, 200, 300))
    np.testing.assert_array_equal(model.params["W2"], S.he_normal(rng, 300, 100))
    twin = TorchMLP(dims, init="xavier_uniform", rng=0)
    assert float(twin.W1.detach().abs().max()) <= S.xavier_bound(200, 300)
    assert abs(float(twin.W2.detach().std()) / S.xavier_std(300, 100) - 1) < 0.05


def test_mlp_default_init_is_unchanged():
    np.testing.assert_array_equal(MLP([5, 7, 3], rng=0).params["W1"], S.small_random(np.random.default_rng(0), 5, 7))
    np.testing.assert_array_equal(MLP([5, 7, 3], rng=0, init="small_random", weight_scale=0.3).params["W1"],
                                  S.small_random(np.random.default_rng(0), 5, 7, std=0.3))


def test_mlp_callable_init_and_bias():
    model = MLP([4, 6, 3], init=functools.partial(S.orthogonal, gain=2.0), bias=0.1, rng=0)
    np.testing.assert_allclose(model.params["W1"] @ model.params["W1"].T, 4 * np.eye(4), atol=1e-12)
    assert np.all(model.params["b1"] == 0.1) and np.all(model.params["b2"] == 0.1)
    twin = TorchMLP([4, 6, 3], init=lambda t, generator: T.constant(t, 0.5), bias=0.1, rng=0)
    assert torch.all(twin.W1 == 0.5) and torch.all(twin.b2 == 0.1)
    assert "orthogonal" in repr(model)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(init="glorot"), "unknown initializer"),
        (dict(init="he_normal", weight_scale=0.1), "weight_scale"),
        (dict(init=3), "init must be"),
        (dict(init=lambda rng, fi, fo: np.zeros((fo, fi))), "shape"),
        (dict(init=lambda rng, fi, fo: np.full((fi, fo), np.nan)), "non-finite"),
        (dict(bias=float("nan")), "bias"),
        (dict(bias="0.1"), "bias"),
    ],
)
def test_mlp_bad_init_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLP([4, 5, 3], rng=0, **kwargs)
    if "init" in kwargs and callable(kwargs["init"]):
        return
    with pytest.raises(ValueError, match=match):
        TorchMLP([4, 5, 3], rng=0, **kwargs)


def test_trace_holds_every_intermediate_and_matches_the_twin():
    model = MLP([6, 8, 7, 3], activation="tanh", init="xavier_normal", bias=0.2, rng=1)
    x = np.random.default_rng(2).standard_normal((5, 6))
    tr = model.trace(x)
    assert isinstance(tr, Trace) and len(tr.pre_activations) == 3 and len(tr.activations) == 2
    np.testing.assert_allclose(tr.pre_activations[0], x @ model.params["W1"] + 0.2)
    np.testing.assert_allclose(tr.activations[0], np.tanh(tr.pre_activations[0]))
    np.testing.assert_allclose(tr.scores, model.scores(x))
    for h, h2 in zip(tr.activations, model.hidden(x)):
        np.testing.assert_array_equal(h, h2)
    with pytest.raises(AttributeError):
        tr.activations = ()  # frozen
    twin = TorchMLP([6, 8, 7, 3], activation="tanh", rng=0)
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.params.items()})
    ttr = twin.trace(torch.from_numpy(x))
    for a, b in zip(tr.pre_activations + tr.activations, ttr.pre_activations + ttr.activations):
        torch.testing.assert_close(torch.from_numpy(a), b)
        assert not b.requires_grad
