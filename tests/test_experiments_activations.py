"""Every numeric claim of book/02_activations.md, asserted (multi-seed where it is statistical).

Each test quotes or paraphrases the sentence it pins; a glued number of the chapter appears as
[act_...]. The tests assert the claim around it -- a band, an ordering, a relation across seeds --
and never the digits one machine printed: results of BLAS, of libm's elementwise functions and of
training runs differ in their last bits from one CPU to the next. Tolerances of pure arithmetic
are multiples of the machine epsilon ``EPS`` times the conditioning of the quantity; exact equality
is kept where the arithmetic is exact (constants, counts, products of exactly representable values).
The book's own runs are used where they take a few seconds (zoo, zig-zag, the saturation run of
seed 0, the dead-ReLU table, the race); other seeds run at a smaller size and check the structural
claims.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_lib import gradcheck, plotting
from course_lib.experiments import activation_race, activation_zoo, dead_relu, sigmoid_saturation, zigzag
from course_lib.experiments import readable_activations as plain
from course_lib.scratch import activations as act

EPS = np.finfo(np.float64).eps  # 2.2e-16, the float64 rounding unit


def gauss_expectation(f) -> float:
    """E[f(x)] for x ~ N(0, 1), by the trapezoid rule on [-12, 12] (error far below 1e-10 for these f)."""
    x = np.linspace(-12.0, 12.0, 240_001)
    return float(np.trapezoid(f(x) * np.exp(-x**2 / 2) / np.sqrt(2 * np.pi), x))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lecun_tanh(x):
    return 1.7159 * np.tanh(2 * x / 3)


# ============================================================================================
# The zoo
# ============================================================================================
@pytest.fixture(scope="module")
def zoo():
    return activation_zoo.run(seed=0)


def test_gradients_at_minus_ten_zero_ten(zoo):
    """The gradient table, the two questions of the slides and the text: 'At x = +-10 the sigmoid
    passes back [act_grad_sig_10] of the gradient and tanh [act_grad_tanh_10] ... at x = 0, the
    sigmoid's derivative [act_grad_sig_0] is only a quarter ... ELU keeps alpha e^x, which is
    [act_grad_elu_m10] at x = -10'; LeCun's slope at 0 is 1.7159 * 2/3 = 1.144; ReLU 0 / 0 / 1;
    the tanh question: tanh'(0) = 4 sigma'(0) = 1, and at 10 tanh passes back 'even less than the
    sigmoid'.

    The values at +-10 are mathematics, compared with their closed forms. The backward passes
    compute sigma (1 - sigma) and 1 - tanh^2: the subtraction loses log10(1 / f') digits at x = 10
    (cancellation), so the tolerance there is a few EPS divided by the derivative itself."""
    g = {label: e.grad_at_points for label, e in zoo.entries.items()}
    np.testing.assert_array_equal(zoo.points, [-10.0, 0.0, 10.0])
    sig10 = math.exp(-10) / (1 + math.exp(-10)) ** 2  # sigma'(+-10)
    sech2_10 = 4 / (math.exp(10) + math.exp(-10)) ** 2  # tanh'(+-10)
    assert f"{1.7159 * 2 / 3:.3f}" == "1.144"  # the prose's rounded mathematics (a product of constants)
    assert g["sigmoid"][0] == pytest.approx(sig10, rel=8 * EPS)  # sigma(-10) small: 1 - sigma exact
    assert g["sigmoid"][2] == pytest.approx(sig10, rel=8 * EPS / sig10)  # cancellation in 1 - sigma(10)
    assert g["tanh"][0] == pytest.approx(sech2_10, rel=8 * EPS / sech2_10)
    assert g["tanh"][2] == pytest.approx(sech2_10, rel=8 * EPS / sech2_10)
    # ELU's backward forms alpha e^x as its output alpha (e^x - 1) plus alpha: exact to an absolute EPS only
    assert g["ELU (alpha = 1)"][0] == pytest.approx(math.exp(-10), rel=4 * EPS / math.exp(-10))
    assert g["LeCun tanh"][1] == pytest.approx(1.7159 * 2 / 3, rel=4 * EPS)
    # exact arithmetic: sigma(0) = 1/2 and 1/2 * 1/2 = 1/4; 1 - tanh(0)^2 = 1; slopes copied as they are
    assert g["sigmoid"][1] == 0.25 and g["tanh"][1] == 1.0
    assert g["tanh"][1] == 4 * g["sigmoid"][1] and g["tanh"][2] < g["sigmoid"][2] / 1000
    np.testing.assert_array_equal(g["ReLU"], [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(g["leaky ReLU (0.01)"], [0.01, 0.01, 1.0])
    np.testing.assert_array_equal(g["leaky ReLU (0.1, slides)"], [0.1, 0.1, 1.0])
    np.testing.assert_array_equal(g["PReLU (a = 0.25)"], [0.25, 0.25, 1.0])
    assert list(g["ELU (alpha = 1)"][1:]) == [1.0, 1.0]
    np.testing.assert_array_equal(g["maxout (k = 3)"], [-0.5, 0.2, 1.5])


def test_backward_agrees_with_torch_autograd(zoo):
    """'largest difference from torch autograd' is rounding only: a few roundings of values <= 1.5."""
    assert zoo.max_autograd_difference < 16 * EPS


def test_derivative_curves_are_the_true_derivatives(zoo):
    """The dashed curves come from backward: they match the closed forms on the grid. On |x| <= 5 the
    cancellation in 1 - sigma and 1 - tanh^2 costs at most a factor 1 / f'(5) ~ 1e4 over EPS, hence
    rtol = 1e-12."""
    x = zoo.grid
    s = sigmoid(x)
    np.testing.assert_allclose(zoo["sigmoid"].derivative, s * (1 - s), rtol=1e-12)
    np.testing.assert_allclose(zoo["tanh"].derivative, 1 - np.tanh(x) ** 2, rtol=1e-12, atol=16 * EPS)
    # alpha e^x is formed as alpha (e^x - 1) + alpha: an absolute error of EPS, not a relative one
    np.testing.assert_allclose(zoo["ELU (alpha = 1)"].derivative, np.where(x > 0, 1.0, np.exp(x)), rtol=4 * EPS,
                               atol=2 * EPS)
    assert zoo["sigmoid"].derivative.max() == pytest.approx(0.25, abs=EPS)  # 'passes back only a quarter' at its best


def test_mean_outputs_and_mean_derivatives(zoo):
    """'The sigmoid's outputs average [act_mean_sigmoid], ReLU's [act_mean_relu]: neither is zero-centred
    ... tanh and LeCun's tanh are centred at 0; ELU (mean [act_mean_elu]) comes closer than ReLU. The
    last column is the average gradient factor: [act_dmean_sigmoid] for the sigmoid against
    [act_dmean_relu] for ReLU and [act_dmean_tanh] for tanh ... the output std ... from [act_std_tanh]
    (tanh) to [act_std_lecun]'. The ReLU section: 'a fraction [act_relu_silent] of ReLU outputs are
    exactly 0' is 1 - [act_dmean_relu] (the fraction of x > 0), held to 5 standard errors below.

    Each Monte-Carlo estimate lies within 5 standard errors of the exact Gaussian expectation, and
    the orderings the text draws from them hold."""
    e, n = zoo.entries, zoo.n_samples
    elu = lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0)))  # noqa: E731
    exact = {
        ("sigmoid", "mean"): (sigmoid, 0.5),
        ("ReLU", "mean"): (lambda x: np.maximum(x, 0), 1 / math.sqrt(2 * math.pi)),
        ("ELU (alpha = 1)", "mean"): (elu, None),
        ("tanh", "mean"): (np.tanh, 0.0),
        ("LeCun tanh", "mean"): (lecun_tanh, 0.0),
        ("sigmoid", "dmean"): (lambda x: sigmoid(x) * (1 - sigmoid(x)), None),
        ("ReLU", "dmean"): (lambda x: (x > 0).astype(float), 0.5),
        ("tanh", "dmean"): (lambda x: 1 - np.tanh(x) ** 2, None),
    }
    for (label, what), (f, closed) in exact.items():
        mean = gauss_expectation(f)
        if closed is not None:
            assert mean == pytest.approx(closed, abs=1e-4)  # the quadrature agrees (a step costs it 2e-5)
            mean = closed
        se = math.sqrt(gauss_expectation(lambda x, f=f: f(x) ** 2) - mean**2) / math.sqrt(n)
        estimate = e[label].mean_output if what == "mean" else e[label].mean_derivative
        assert abs(estimate - mean) < 5 * se + 1e-12, (label, what, estimate, mean)
    for label, f in (("tanh", np.tanh), ("LeCun tanh", lecun_tanh)):
        std = math.sqrt(gauss_expectation(lambda x, f=f: f(x) ** 2))  # mean 0 by symmetry
        assert e[label].std_output == pytest.approx(std, rel=0.01), label
    # the relations the text reads off the table
    assert e["sigmoid"].mean_output > 0.45 and e["ReLU"].mean_output > 0.35  # not zero-centred
    assert 0 < e["ELU (alpha = 1)"].mean_output < e["ReLU"].mean_output  # closer to 0 than ReLU
    assert e["sigmoid"].mean_derivative < e["ReLU"].mean_derivative < e["tanh"].mean_derivative
    assert e["tanh"].std_output < e["LeCun tanh"].std_output < 1  # LeCun keeps more of the scale


def test_lecun_tanh_maps_one_to_one():
    """'f(-1), f(1) = [-1. 1.]': f(+-1) = +-1 up to the 4 decimals of LeCun's constant 1.7159."""
    out, _ = act.LeCunTanh.forward(np.array([-1.0, 1.0]))
    np.testing.assert_allclose(out, [-1.0, 1.0], rtol=0, atol=1e-4)
    assert out[0] == -out[1]  # odd function: tanh(-x) = -tanh(x) exactly in IEEE arithmetic


def test_a_sigmoid_chain_with_large_weights_grows_the_gradient():
    """Key idea: 'a unit with weight w = 8 whose pre-activation sits at 0 passes back 8 * 1/4 = 2
    times the gradient'; the chain of five: '2^5 = 32 in all'. Exact arithmetic: sigma(0) = 1/2,
    8 * 1/2 - 4 = 0, 1/2 * 1/2 = 1/4 and 8 * 1/4 = 2 are exact in binary floating point."""
    w, b = 8.0, -4.0
    h, caches = np.array([0.5]), []
    for _ in range(5):
        h, cache = act.Sigmoid.forward(w * h + b)
        caches.append(cache)
    grad = np.array([1.0])
    for cache in reversed(caches):
        (da,) = act.Sigmoid.backward(grad, cache)
        grad = w * da
    assert grad[0] == 32.0 and h[0] == 0.5


def test_the_weights_shrink_the_gradient_by_about_one_over_root_three():
    """'these weights are small, with variance 1/(3 n_in), so multiplying by W^T scales a random
    gradient vector by about 1/sqrt(3), whatever the layer sizes'. Over random vectors and the
    layer shapes of the saturation net, the factor stays within 10% of 1/sqrt(3)."""
    rng = np.random.default_rng(0)
    for fan_in, fan_out in ((256, 256), (64, 256), (256, 10)):
        w = sigmoid_saturation.standard_init(rng, fan_in, fan_out)
        v = rng.standard_normal((200, fan_out))  # 200 upstream gradients of the layer's outputs
        factor = np.linalg.norm(v @ w.T) / np.linalg.norm(v)
        assert abs(factor * math.sqrt(3) - 1) < 0.1, (fan_in, fan_out, factor)


# ============================================================================================
# The listings: readable activations equal the library's
# ============================================================================================
@pytest.mark.parametrize("seed", [0, 1])
def test_readable_activations_match_the_library_and_pass_the_gradient_check(seed):
    """'The NumPy listings below are the plain versions ...; the library's ops ... compute the same
    numbers' and the chapter's cell 'The listings compute what the library computes': outputs and
    every gradient agree to rounding (a few EPS of the values; both sides do the same arithmetic
    in a different order at most), on shapes with channels, and every listing passes the check."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 3, 2, 2))  # small: the elementwise check of tiny entries measures rounding
    x = np.sign(x) * (np.abs(x) + 1e-2)  # away from the kink, for the gradient check
    xm, wm, bm = rng.standard_normal((6, 5)), rng.standard_normal((3, 5, 4)), rng.standard_normal((3, 4))
    cases = [
        (plain.Tanh, act.Tanh, (x,), {}),
        (plain.LeakyReLU, act.LeakyReLU, (x,), {}),
        (plain.LeakyReLU, act.LeakyReLU, (x,), {"negative_slope": 0.1}),
        (plain.PReLU, act.PReLU, (x, np.array([0.25])), {}),
        (plain.PReLU, act.PReLU, (x, np.array([0.1, 0.3, 0.2])), {}),
        (plain.PReLU, act.PReLU, (x[:, :, 0, 0], np.array([0.1, 0.3, 0.2])), {}),
        (plain.ELU, act.ELU, (x,), {}),
        (plain.ELU, act.ELU, (x,), {"alpha": 0.5}),
        (plain.ELU, act.ELU, (30 * x,), {"alpha": 0.5}),  # deep in the tail: compared, not gradient-checked
        (plain.Maxout, act.Maxout, (xm, wm, bm), {}),
    ]
    for listing, op, inputs, hyper in cases:
        out_a, cache_a = listing.forward(*inputs, **hyper)
        out_b, cache_b = op.forward(*inputs, **hyper)
        scale = 1.0 + max(float(np.max(np.abs(a))) for a in inputs)
        np.testing.assert_allclose(out_a, out_b, rtol=0, atol=16 * EPS * scale ** 2)
        dout = rng.standard_normal(out_a.shape)
        grads_a, grads_b = listing.backward(dout, cache_a), op.backward(dout, cache_b)
        assert len(grads_a) == len(grads_b)
        for ga, gb in zip(grads_a, grads_b):
            assert ga.shape == gb.shape
            np.testing.assert_allclose(ga, gb, rtol=1e-12, atol=64 * EPS * scale**2 * dout.size)
        if np.max(np.abs(inputs[0])) < 10:  # central differences of a tail of e^-30 measure rounding only
            report = gradcheck.check_op(listing, *inputs, **hyper)
            assert report.passed and report.max_error < 1e-6, (listing.__name__, str(report))


def test_readable_activations_keep_the_conventions():
    """The listings take PyTorch's conventions: slope of the x <= 0 branch at 0, first piece on a
    tie; and ELU does not overflow in the discarded branch."""
    zero = np.zeros(3)
    assert np.all(plain.LeakyReLU.backward(np.ones(3), plain.LeakyReLU.forward(zero)[1])[0] == 0.01)
    dx, da = plain.PReLU.backward(np.ones(3), plain.PReLU.forward(zero, np.array([0.25]))[1])
    assert np.all(dx == 0.25) and da[0] == 0.0
    assert np.all(plain.ELU.backward(np.ones(3), plain.ELU.forward(zero)[1])[0] == 1.0)
    with np.errstate(all="raise"):
        assert plain.ELU.forward(np.array([1000.0]))[0][0] == 1000.0
    _, cache = plain.Maxout.forward(np.array([[1.0, 2.0]]), np.stack([np.eye(2), np.eye(2)]), np.zeros((2, 2)))
    _, _, db = plain.Maxout.backward(np.ones((1, 2)), cache)
    np.testing.assert_array_equal(db, [[1.0, 1.0], [0.0, 0.0]])


# ============================================================================================
# Gradient check and ties
# ============================================================================================
def test_gradient_checks_of_the_chapter_pass():
    """The chapter's gradient-check cell: every report PASSED, maxout pieces kept apart."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6))
    x = np.sign(x) * (np.abs(x) + 1e-2)
    reports = [
        gradcheck.check_op(act.Sigmoid, 3 * x),
        gradcheck.check_op(act.Tanh, x),
        gradcheck.check_op(act.LeCunTanh, x),
        gradcheck.check_op(act.ReLU, x),
        gradcheck.check_op(act.LeakyReLU, x, negative_slope=0.1),
        gradcheck.check_op(act.PReLU, x, np.array([0.25])),
        gradcheck.check_op(act.PReLU, x, np.array([0.1, 0.2, 0.3, 0.2, 0.1, 0.3])),
        gradcheck.check_op(act.ELU, x, alpha=0.5),
    ]
    xm, wm, bm = rng.standard_normal((4, 5)), rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 3))
    z = np.sort(np.matmul(xm, wm) + bm[:, None, :], axis=0)
    assert np.min(z[-1] - z[-2]) > 1e-2
    reports.append(gradcheck.check_op(act.Maxout, xm, wm, bm))
    assert all(r.passed and r.max_error < 1e-6 for r in reports)


def test_tie_goes_to_piece_zero():
    """'db of piece 0: [1. 1.]   db of piece 1: [0. 0.]'."""
    out, cache = act.Maxout.forward(np.array([[1.0, 2.0]]), np.stack([np.eye(2), np.eye(2)]), np.zeros((2, 2)))
    _, _, db = act.Maxout.backward(np.ones((1, 2)), cache)
    np.testing.assert_array_equal(db, [[1.0, 1.0], [0.0, 0.0]])


# ============================================================================================
# Sigmoid saturation (Glorot & Bengio, Fig. 2)
# ============================================================================================
@pytest.fixture(scope="module")
def sat():
    return sigmoid_saturation.run(steps=2000, record_every=50, activation="sigmoid", progress=False, seed=0)


@pytest.fixture(scope="module")
def sat_tanh():
    return sigmoid_saturation.run(steps=1000, record_every=50, activation="tanh", progress=False, seed=0)


def test_layer_one_stays_at_one_half(sat):
    """'Layer 1 does not move. Its mean stays between [act_sat_l1_min] and [act_sat_l1_max] for all 2000
    steps.'"""
    assert np.all(np.abs(sat.mean[:, 0] - 0.50) < 0.01)
    assert np.ptp(sat.mean[:, 0]) < 0.005


def test_top_layer_saturates(sat):
    """'Its mean falls from [act_sat_top_mean_start] to [act_sat_top_mean_end], and its spread ... from
    [act_sat_top_std_start] to [act_sat_top_std_end]: every unit of layer 4 outputs nearly the same
    small value for every image'. Pitfalls: a mean 'that looks harmless', a std that says 'no information'."""
    mean, std = sat.mean[:, -1], sat.std[:, -1]
    assert abs(mean[0] - 0.5) < 0.05 and mean[-1] < 0.15 and mean[-1] < mean[0] / 4
    # the figure's alt text: layer 2 stays near one half, layer 3 rises slowly
    assert np.all(np.abs(sat.mean[:, 1] - 0.5) < 0.05) and sat.mean[-1, 2] > sat.mean[0, 2] + 0.05
    assert 0.02 < std[0] < 0.15 and std[-1] < 0.01 and std[-1] < std[0] / 10
    assert np.all(np.diff(mean) < 0)  # it keeps falling, at every record


def test_sigmoid_net_stays_at_chance(sat):
    """'The validation accuracy stays at chance level, 10% (between [act_sat_acc_min] and
    [act_sat_acc_max]), for all 2000 steps (19 epochs).'"""
    from course_lib.data import load_digits

    assert np.all(np.abs(sat.val_acc - 0.10) < 0.02)
    n_train = len(load_digits(seed=0, scale="unit").y_train)
    assert round(2000 * sat.config["batch_size"] / n_train) == 19  # integer arithmetic of the protocol


def test_gradient_fades_layer_by_layer(sat):
    """'the gradient of W5 is more than a thousand times larger than that of W1
    ([act_sat_grad_ratio] times); from one weight matrix to the one below it shrinks several-fold
    (by a factor between [act_sat_shrink_min] and [act_sat_shrink_max])'. Figure alt text: the
    five gradient norms stay in order W5 > ... > W1 at every record and drift down."""
    g = sat.grad_norm[0]
    assert g[-1] / g[0] > 1000
    assert np.all(g[1:] / g[:-1] > 3)
    assert np.all(np.diff(sat.grad_norm, axis=1) > 0)
    assert np.all(sat.grad_norm[-1] < sat.grad_norm[0])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_fade_matches_a_quarter_times_one_over_root_three(seed):
    """'The pre-activations start near 0, so sigma' ~ 1/4 ... Together that is a shrinkage of about
    4 sqrt(3) ~ 7 per layer, in line with the ratios measured between consecutive weight matrices
    whose inputs are both sigmoid outputs (W2 to W5: from [act_sat_shrink_mid_min] to
    [act_sat_shrink_mid_max])': at step 0 every hidden layer's outputs sit close to 1/2 (so
    sigma' = s (1 - s) > 0.24), and the ratios of the gradient norms W3/W2, W4/W3, W5/W4 lie
    within a factor 1.5 of 4 sqrt(3), on four seeds."""
    r = sigmoid_saturation.run(steps=1, record_every=1, progress=False, seed=seed)
    assert np.all(np.abs(r.mean[0] - 0.5) < 0.02) and np.all(r.std[0] < 0.1)
    g = r.grad_norm[0]
    middle = g[2:] / g[1:-1]
    target = 4 * math.sqrt(3)
    assert np.all((target / 1.5 < middle) & (middle < target * 1.5)), middle


def test_tanh_net_learns_and_stays_centred(sat_tanh):
    """'The tanh net starts with gradients of the same order in every layer (within a factor of
    [act_tanh_grad_spread]), and reaches [act_tanh_acc] validation accuracy within its 1000 steps, with
    every layer's mean staying near 0 (within [act_tanh_mean_max]).'"""
    g = sat_tanh.grad_norm[0]
    assert g.max() / g.min() < 5
    assert sat_tanh.val_acc[-1] > 0.9
    assert np.all(np.abs(sat_tanh.mean) < 0.05)


@pytest.mark.parametrize("seed", [1, 2])
def test_saturation_on_other_seeds(seed):
    """The same picture on other splits and initializations (shorter runs)."""
    r = sigmoid_saturation.run(steps=600, record_every=200, progress=False, seed=seed)
    assert np.all(np.abs(r.mean[:, 0] - 0.5) < 0.02)
    assert r.mean[-1, -1] < 0.25 and r.std[-1, -1] < 0.03
    assert np.all(r.val_acc < 0.2)
    assert r.grad_norm[0, -1] / r.grad_norm[0, 0] > 300


# ============================================================================================
# Zig-zag
# ============================================================================================
def test_zigzag_book_numbers():
    """'every per-example gradient has two components of the same sign ([act_zz_same_sign_pos], exactly
    as the algebra says), and so does every step of SGD ...: the path ... is [act_zz_path_pos] times as
    long as the straight line ... centred give same-sign gradients for about half the examples
    ([act_zz_same_sign_cen]) and a nearly straight path ([act_zz_path_cen] times)'; 'about the same
    [number of SGD steps] ([act_zz_sgd_pos] against [act_zz_sgd_cen])'; 'a condition number of about
    [act_zz_cond_pos] against [act_zz_cond_cen] ... needs [act_zz_gd_pos] steps with positive inputs and
    [act_zz_gd_cen] with centred ones'."""
    r = zigzag.run(n=200, lr=1.0, tol=0.05, seed=0)
    p, c = r.positive, r.centred
    # exact: g1 * g2 = (dL/dz)^2 x1 x2 with x1, x2 > 0, a product whose sign no rounding can change
    assert p.same_sign_fraction == 1.0 and p.sgd_same_quadrant == 1.0
    assert 0.4 < c.same_sign_fraction < 0.6
    assert p.path_ratio > 3 and c.path_ratio < 1.5
    assert 2 / 3 < p.sgd_steps_to_tol / c.sgd_steps_to_tol < 1.5  # 'about the same'
    assert 8 < p.condition_number < 20 and c.condition_number < 1.5
    assert p.gd_steps_to_tol >= 5 * c.gd_steps_to_tol and c.gd_steps_to_tol <= 3


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_zigzag_structure_on_other_seeds(seed):
    r = zigzag.run(seed=seed)
    p, c = r.positive, r.centred
    assert p.same_sign_fraction == 1.0 and p.sgd_same_quadrant == 1.0  # exact, by the algebra (signs)
    assert 0.3 < c.same_sign_fraction < 0.7 and c.sgd_same_quadrant < 0.7
    assert p.path_ratio > 2.5 and p.path_ratio > 2 * c.path_ratio
    assert p.condition_number > 8 and c.condition_number < 2
    assert p.gd_steps_to_tol >= 5 * c.gd_steps_to_tol
    assert 2 / 3 < p.sgd_steps_to_tol / c.sgd_steps_to_tol < 1.5  # 'about the same' number of SGD steps


def test_zigzag_positive_gradients_share_a_sign_for_any_weights():
    """'For one example, all these gradients are ... all positive or all negative.'"""
    rng = np.random.default_rng(0)
    x = 1 / (1 + np.exp(-rng.standard_normal((50, 2))))
    w, y = rng.standard_normal(2), rng.standard_normal(50)
    g = (x @ w - y)[:, None] * x
    assert np.all(g[:, 0] * g[:, 1] >= 0)


# ============================================================================================
# Dead ReLUs
# ============================================================================================
@pytest.fixture(scope="module")
def dead():
    return dead_relu.run(n_seeds=3, lr=0.05, big_lr=20.0, warmup=100, recovery=500, progress=False, seed=0)


def test_one_step_kills_units(dead):
    """'Before the big step about [act_dead_before] of the 100 units of layer 1 are off on every image
    (... a few units are born dead). The single step raises that to about [act_dead_after], and layer
    2 loses about [act_dead_l2_after] of its 100 units. The network is back at chance level right after
    the step; the surviving units retrain it to a validation error of about [act_dead_err_end].'
    Recap: 'left about [act_dead_after_frac] of the first layer dead'. Figure alt text: the count
    jumps several-fold at the step and is about as high or higher at the end, for every variant
    but the centred inputs."""
    off = dead.off("ReLU")  # (seeds, stages, layers), counts
    assert np.all((1 <= off[:, 1, 0]) & (off[:, 1, 0] <= 10))  # a few born dead, on every seed
    assert np.all(off[:, 2, 0] >= off[:, 1, 0] + 10)  # the step kills many more, on every seed
    assert 0.15 <= off[:, 2, 0].mean() / 100 <= 0.35  # 'about a quarter'
    assert 30 <= off[:, 2, 1].mean() <= 60 and off[:, 2, 1].mean() > off[:, 2, 0].mean()
    err = dead.val_error("ReLU")
    assert np.all(err[:, 2] > 0.8)  # chance level is 0.9
    for label in dead.labels:
        if label != "ReLU, centred inputs":
            counts = dead.off(label)[:, :, 0].mean(axis=0)  # (stages,) mean over seeds
            assert counts[2] > 3 * counts[1] and counts[3] >= counts[2] - 2, label
    assert 0.03 <= err[:, 3].mean() <= 0.12 and np.all(err[:, 3] < err[:, 1] + 0.05)


def test_dead_relus_stay_dead(dead):
    """'Not one layer-1 unit came back in any seed, and their weights did not change at all ... (the
    largest change is exactly 0)'; 'Layer-2 units do come back'. Exact: a dead unit's weight gradient
    is a sum of exact zeros, and w - lr * 0 == w."""
    assert np.all(dead.revived("ReLU")[:, 0] == 0)
    assert all(r.layer1_dead_weight_change == 0.0 for r in dead.runs["ReLU"])
    assert np.all(dead.revived("ReLU")[:, 1] > 0)


def test_small_positive_bias_changes_nothing(dead):
    """'With a bias of 0.01 the counts are the same as without it, within a unit or two, at every stage
    (the largest difference is [act_dead_bias_diff])'."""
    assert np.all(np.abs(dead.off("ReLU, bias 0.01")[:, :, 0] - dead.off("ReLU")[:, :, 0]) <= 2)
    assert np.all(dead.revived("ReLU, bias 0.01")[:, 0] == 0)


def test_leaky_and_elu_revival(dead):
    """'no layer-1 unit was revived in 500 steps [slope 0.01]. The slides' slope 0.1 and ELU brought back
    a few ([act_dead_revived_leaky] and [act_dead_revived_elu] units on average, of about
    [act_dead_after]).'"""
    assert np.all(dead.revived("leaky ReLU 0.01")[:, 0] == 0)
    for label in ("leaky ReLU 0.1", "ELU"):
        revived = dead.revived(label)[:, 0].mean()
        assert 0 < revived <= 10 and revived < dead.off(label)[:, 2, 0].mean() / 2, label  # a few, of many
    assert all(r.layer1_dead_weight_change > 0 for r in dead.runs["leaky ReLU 0.01"])  # a gradient does arrive


def test_centred_inputs_prevent_dead_first_layer_units(dead):
    """'With standardized inputs not a single layer-1 unit was off at any stage.'"""
    assert np.all(dead.off("ReLU, centred inputs")[:, :, 0] == 0)


def test_small_bias_is_tiny_next_to_he_preactivations():
    """'A bias of 0.01 is tiny next to the pre-activations of a He-initialized layer (their spread is
    of order 1)'."""
    from course_lib.data import load_digits

    x = load_digits(seed=0, scale="unit").x_train
    w = np.random.default_rng(0).normal(0.0, np.sqrt(2.0 / x.shape[1]), size=(x.shape[1], 100))
    spread = float(np.std(x @ w))
    assert 0.3 < spread < 3  # of order 1: at least thirty times the bias of 0.01


def test_dead_counts_agree_with_diagnostics():
    """The experiment's 'off for every image' is count_dead_units on the pre-activations."""
    from course_lib.diagnostics import count_dead_units
    from course_lib.scratch.model import MLP

    rng = np.random.default_rng(0)
    model = MLP([6, 5, 3], activation=act.ReLU, rng=0)
    model.params.update(W1=rng.standard_normal((6, 5)), b1=rng.standard_normal(5) - 1.5,
                        W2=rng.standard_normal((5, 3)), b2=np.zeros(3))
    x = rng.random((40, 6))
    masks = dead_relu._off_masks(model, x)
    assert int(masks[0].sum()) == count_dead_units(model.pre_activations(x)[0])


# ============================================================================================
# Maxout and the race
# ============================================================================================
def test_maxout_with_a_zero_piece_is_relu():
    """'with the second piece fixed at zero, it *is* a ReLU unit': the printed difference is rounding
    only (the two products may take different BLAS paths: a few roundings of a sum of 4 terms)."""
    rng = np.random.default_rng(0)
    x, w0, b0 = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    relu, _ = act.ReLU.forward(x @ w0 + b0)
    out, _ = act.Maxout.forward(x, np.stack([w0, np.zeros((4, 3))]), np.stack([b0, np.zeros(3)]))
    scale = float((np.abs(x) @ np.abs(w0) + np.abs(b0)).max())
    np.testing.assert_allclose(out, relu, rtol=0, atol=8 * EPS * scale)
    np.testing.assert_array_equal(out == 0, relu == 0)  # the same units are off


@pytest.fixture(scope="module")
def race():
    return activation_race.run(epochs=10, lr=0.01, momentum=0.9, n_seeds=2, progress=False, seed=0)


def test_parameter_counts(race):
    """The maxout question: 'the hidden layers ... go from [act_race_hidden] (26,700) to
    [act_race_hidden_maxout] (53,400) parameters'; '[act_race_params_maxout] (54,410) parameters
    against [act_race_params] (27,710)'. Integer arithmetic: k (D M + M) per layer,
    64 - 100 - 100 - 100 - 10; the output layer is dims[-2] * dims[-1] + dims[-1]."""
    i, m = race.index("ReLU"), race.index("maxout (k=2)")
    assert race.n_params[i] == 27_710 and race.n_params[m] == 54_410
    out_layer = 100 * 10 + 10
    assert race.dims[-2] * race.dims[-1] + race.dims[-1] == out_layer
    assert (race.n_params[i] - out_layer, race.n_params[m] - out_layer) == (26_700, 53_400)


def test_sigmoid_does_not_train(race):
    """'its training error hovers around the chance level of 90% for all 10 epochs (its best epoch on
    either seed still has [act_race_sigmoid_best] error)'."""
    err = race.train_error[race.index("sigmoid")]
    assert np.all(err > 0.75) and abs(np.median(err) - 0.90) < 0.03
    assert np.all(np.isinf(race.epochs_to(0.05)[race.index("sigmoid")]))


def test_every_other_activation_trains(race):
    """'Every other activation trains, to a training error below 5% within [act_race_reach_min] to
    [act_race_reach_max] epochs on average, and after 10 epochs the slowest of them is at
    [act_race_final_max]. At this scale the six-fold speed-up of ReLU over tanh does not show: ReLU
    needed [act_race_relu] epochs on average to reach 5%, tanh [act_race_tanh].'"""
    reach = race.epochs_to(0.05)
    for label in ("tanh", "LeCun tanh", "ReLU", "leaky ReLU", "ELU", "maxout (k=2)"):
        i = race.index(label)
        assert np.all(np.isfinite(reach[i])) and 2.0 <= reach[i].mean() <= 5.0, label
        assert race.train_error[i, :, -1].mean() < 0.03, label
    relu, tanh = reach[race.index("ReLU")].mean(), reach[race.index("tanh")].mean()
    assert tanh / relu < 2  # nowhere near six-fold
    assert tanh - relu <= 1.5  # Recap: 'tanh trained within about an epoch of ReLU'
    assert relu <= np.min(reach.mean(axis=1)) + 1  # 'ReLU was among the fastest in the race'


def test_maxout_reaches_the_lowest_training_error(race):
    """'Maxout reaches the lowest training error' (of the means over the two seeds, after 10 epochs)."""
    final = race.train_error[:, :, -1].mean(axis=1)
    assert np.argmin(final) == race.index("maxout (k=2)")


# ============================================================================================
# Pitfalls
# ============================================================================================
def test_pitfall_conventions_at_zero_and_ties():
    """'clamp(min=0) gets 1 there, and torch.amax splits the gradient of a tied maximum'."""
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    torch.clamp(x, min=0).sum().backward()
    assert x.grad.item() == 1.0
    z = torch.tensor([[1.0, 1.0]], requires_grad=True)
    torch.amax(z, dim=1).sum().backward()
    assert z.grad.tolist() == [[0.5, 0.5]]


def test_pitfall_overflow_in_the_discarded_branch():
    """'multiplying such a branch by a 0/1 mask gives nan'; 'never as e^x / (1 + e^x)'."""
    x = np.array([1000.0])
    with np.errstate(over="ignore", invalid="ignore"):
        masked = (x > 0) * x + (x <= 0) * (np.exp(x) - 1)
        naive_sigmoid = np.exp(x) / (1 + np.exp(x))
    assert np.isnan(masked).all() and np.isnan(naive_sigmoid).all()
    assert act.ELU.forward(x)[0][0] == 1000.0 and act.Sigmoid.forward(x)[0][0] == 1.0


def test_pitfall_leaky_slope_defaults():
    """'PyTorch's F.leaky_relu ... default to a slope of 0.01'."""
    x = torch.tensor([-1.0])
    assert torch.nn.functional.leaky_relu(x).item() == pytest.approx(-0.01)
    assert act.LeakyReLU.forward(np.array([-1.0]))[0][0] == pytest.approx(-0.01)


# ============================================================================================
# Figures
# ============================================================================================
def test_plotting_returns_figures(zoo, sat, sat_tanh, dead, race):
    from matplotlib.figure import Figure

    figs = [
        plotting.plot_activation_zoo(zoo),
        plotting.plot_zigzag(zigzag.run(seed=0)),
        plotting.plot_sigmoid_saturation(sat, sat_tanh),
        plotting.plot_sigmoid_saturation(sat),
        plotting.plot_dead_relu(dead),
        plotting.plot_activation_race(race),
    ]
    import io

    for fig in figs:
        assert isinstance(fig, Figure) and fig.axes
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=20)  # draws everything (legends, annotations) cheaply
        assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_experiments_reject_bad_settings():
    with pytest.raises(ValueError, match="activation"):
        sigmoid_saturation.run(steps=1, activation="relu", progress=False)
    with pytest.raises(ValueError, match="steps"):
        sigmoid_saturation.run(steps=0, progress=False)
    with pytest.raises(ValueError, match="n_seeds"):
        dead_relu.run(n_seeds=0, progress=False)
    with pytest.raises(ValueError, match="unknown contenders"):
        activation_race.run(labels=("swish",), progress=False)
    with pytest.raises(ValueError):
        zigzag.run(lr=0.0)
    with pytest.raises(ValueError):
        activation_zoo.run(x_min=1.0, x_max=0.0)
