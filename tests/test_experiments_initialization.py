"""Every numeric claim of chapter 3 (book/03_initialization.md), asserted as a claim that holds on any
IEEE-754 machine: a band, an ordering, or a relation, over several seeds where the claim is
statistical. The book's own configuration runs once where it takes a few seconds (the prose glues
the values of that run); other seeds run smaller.

Matrix products go through BLAS, whose rounding depends on the processor, and training runs amplify
rounding differences; so no test asserts a machine's digits. Exact equality is asserted only where
the arithmetic is exact: integers, products with exact zeros, and identical operands going through
identical elementwise operations (``symmetry.run(..., blas=False)``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_lib import plotting
from course_lib.data import load_digits
from course_lib.experiments import (
    channel_collapse,
    glorot_tanh,
    init_depth,
    init_training,
    small_random_depth,
    symmetry,
)
from course_lib.experiments._threads import one_blas_thread
from course_lib.scratch import init
from course_lib.scratch.model import MLP

LN10 = math.log(10)
EPS = np.finfo(np.float64).eps  # 2.2e-16


def one_line_accuracy(acc: float) -> bool:
    """A net whose hidden units all draw one line classifies at most three of the four XOR clouds:
    about 75%, a little less or more where the noisy clouds overlap."""
    return 0.70 <= acc <= 0.78


# ============================================================================================
# Constant start: symmetry
# ============================================================================================
@pytest.fixture(scope="module")
def sym():
    return symmetry.run(hidden=4, value=0.5, steps=2000, lr=0.5, probe_step=100, seed=0)


def test_symmetry_book_numbers(sym):
    """'the four columns of every gradient are identical up to rounding: the "spread" ... is
    {ini_sym_spread} (from the random start {ini_sym_spread_random}), although the gradients
    themselves are not zero ... the training accuracy is {75%}. From the zero start every dJ/dW1 is
    exactly zero, the loss stays at ln 2 = 0.6931 and the net answers one class everywhere (50%).
    The random start breaks the symmetry at once and reaches {100%}.'"""
    c, z, r = sym.runs["constant"], sym.runs["zeros"], sym.runs["random"]
    # Up to rounding: a millionth of the gradient itself, a hundred-thousandth of the random start's.
    assert c.grad_norm > 1e-3
    assert c.grad_spread <= 1e-6 * c.grad_norm and c.grad_spread <= 1e-5 * r.grad_spread
    assert c.weight_spread[-1] <= 1e-6 * r.weight_spread[-1]
    assert one_line_accuracy(c.accuracy) and c.accuracy < r.accuracy
    # Zero start: h = tanh(0) = 0 and W2 = 0 exactly, so every dJ/dW1 and dJ/dW2 is an exact zero;
    # the scores equal b2 for every example, one class everywhere, and the classes are balanced.
    assert z.grad_norm == 0.0 and np.all(z.weight_spread == 0.0)
    assert np.sum(sym.y == 0) == np.sum(sym.y == 1) and z.accuracy == 0.5
    assert np.all(np.abs(z.loss - math.log(2)) < 1e-9)
    assert r.accuracy >= 0.95 and r.grad_spread > 0.1 and r.weight_spread[-1] > 1.0


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_constant_start_is_exactly_symmetric_without_blas(seed):
    """'Computed in one fixed order, the units stay identical: the spread of W1 is {0} at every
    step, on any machine that follows the IEEE-754 rules.' Equal columns are equal operands of the
    same elementwise operations and of sums in the same order, so the equality is exact."""
    hidden = 4 if seed == 0 else 5
    res = symmetry.run(hidden=hidden, steps=600 if seed else 2000, starts=("constant",), blas=False, grid_size=5,
                       seed=seed)
    c = res.runs["constant"]
    assert c.grad_norm > 1e-4  # the gradients are not zero ...
    assert c.grad_spread == 0.0 and np.all(c.weight_spread == 0.0)  # ... and identical to the last bit
    assert np.all(c.final_W1 == c.final_W1[:, :1]) and np.all(c.final_b1 == c.final_b1[0])
    assert one_line_accuracy(c.accuracy)


def test_symmetry_with_another_constant():
    """The argument holds for any constant c, here c = -0.3 (exact without BLAS)."""
    c = symmetry.run(value=-0.3, steps=200, starts=("constant",), grid_size=5, blas=False, seed=0).runs["constant"]
    assert c.grad_spread == 0.0 and c.grad_norm > 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_constant_start_stays_one_line_on_every_seed(seed):
    """'One line can classify at most three of the four XOR clouds' ... 'The random start breaks the
    symmetry at once', on other clouds, with the machine's BLAS (whatever its rounding does to the
    spread, a 600-step run cannot turn it into a second line)."""
    res = symmetry.run(hidden=4, steps=600, lr=0.5, seed=seed, grid_size=5)
    c, z, r = res.runs["constant"], res.runs["zeros"], res.runs["random"]
    assert one_line_accuracy(c.accuracy) and r.accuracy >= 0.95
    assert c.weight_spread[-1] < 0.1 * r.weight_spread[-1] and r.weight_spread[-1] > 1.0
    assert z.grad_norm == 0.0 and z.accuracy == 0.5  # exact zeros, as in the book's run


def test_training_amplifies_a_tiny_push():
    """'On the clouds above it grows only to {1e-07} in 2000 steps and the accuracy stays at {75%}.
    On the other clouds it grows to {0.82}, and the net learns XOR after all ({100%}, loss {0.002})
    ... a push of 1e-12 is enough to topple it.' The push dwarfs any rounding difference (the last
    bit, near 1e-16), so the outcome is the same on every machine; a push 30% larger gives the same
    outcome, so it does not hinge on the exact size either."""
    for nudge in (1e-12, 1.3e-12):
        nudged = symmetry.run(
            hidden=4, steps=2000, starts=("constant",), nudge=nudge, grid_size=5, seed=0
        ).runs["constant"]
        assert 10 * nudge < nudged.weight_spread[-1] < 1e-5  # grows, yet stays tiny
        assert one_line_accuracy(nudged.accuracy)
        tipped = symmetry.run(
            hidden=5, steps=2000, starts=("constant",), nudge=nudge, grid_size=5, seed=3
        ).runs["constant"]
        assert tipped.weight_spread[-1] > 0.3 and tipped.accuracy >= 0.95 and tipped.loss[-1] < 0.05


def test_loss_in_order_is_the_mlp_loss():
    """The BLAS-free path computes the same loss and gradients as ``MLP.loss``, up to rounding: a sum
    of n terms in another order differs by at most about n * eps times the sum of the absolute
    terms (n = 200 examples; a factor 4 covers the rounding carried in from the forward pass)."""
    rng = np.random.default_rng(0)
    n = 200
    x, y = rng.standard_normal((n, 2)), rng.integers(0, 2, n)
    model = MLP([2, 5, 2], activation="tanh", init="xavier_uniform", rng=1)
    loss_blas, g_blas = model.loss(x, y)
    loss, g = symmetry.loss_in_order(model.params, x, y)
    assert abs(loss - loss_blas) <= 4 * n * EPS * loss_blas
    # the absolute terms of each gradient's sum over the examples
    h = np.tanh(x @ model.params["W1"] + model.params["b1"])
    delta = np.full((n, 2), 1.0 / n)  # |p - onehot| / n <= 1 / n
    dz1 = (delta @ np.abs(model.params["W2"]).T) * (1 - h * h)
    abs_terms = {"W1": np.abs(x).T @ dz1, "b1": dz1.sum(axis=0), "W2": np.abs(h).T @ delta, "b2": delta.sum(axis=0)}
    for name in g:
        assert np.all(np.abs(g[name] - g_blas[name]) <= 4 * n * EPS * abs_terms[name]), name
    a, b = rng.standard_normal((7, 3)), rng.standard_normal((3, 4))
    assert np.all(np.abs(symmetry.matmul_in_order(a, b) - a @ b) <= 2 * 3 * EPS * (np.abs(a) @ np.abs(b)))


# ============================================================================================
# Small random numbers
# ============================================================================================
@pytest.fixture(scope="module")
def small():
    return small_random_depth.run(depth=10, width=500, batch=1000, scales=(0.01, 1.0), deep_layers=10,
                                  progress=False, seed=0)


def test_small_random_book_numbers(small):
    """'the std falls by a factor of about {0.22} per layer, from {0.21} at the first layer to
    {3e-07} at the tenth ... in every layer about {93%} or more of the activations are beyond
    +-0.95 ... shallow: loss falls from {2.303} to {0.30}, test accuracy {91%} ... deep: {2.303} at
    the first step and still {2.303}, the ln 10 of a uniform guess; test accuracy {10%}, chance ...
    mean magnitude {1e-12}, about {9} orders of magnitude below the shallow net's'."""
    s = small.std(0.01)
    assert 0.20 < s[0] < 0.23  # sqrt(500) * 0.01 = 0.224, a little less after tanh
    assert (s[-1] / s[0]) ** (1 / 9) == pytest.approx(math.sqrt(500) * 0.01, rel=0.03)
    assert 1e-7 < s[-1] < 1e-6
    assert all(st.saturated >= 0.9 for st in small.stats[1.0])
    sh, dp = small.shallow, small.deep
    assert abs(sh.history.loss[0] - LN10) < 2e-3
    assert 0.2 < np.mean(sh.history.loss[-sh.history.steps_per_epoch:]) < 0.4
    assert 0.87 < sh.test_acc < 0.96
    assert abs(dp.history.loss[0] - LN10) < 1e-3
    assert abs(np.mean(dp.history.loss[-dp.history.steps_per_epoch:]) - LN10) < 1e-3
    assert 0.05 <= dp.test_acc <= 0.15
    assert 1e-13 < dp.first_grad_W1 < 1e-11 and sh.first_grad_W1 / dp.first_grad_W1 > 1e8


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_small_random_collapse_on_other_seeds(seed):
    res = small_random_depth.run(depth=8, width=300, batch=200, train=False, seed=seed)
    s = res.std(0.01)
    assert (s[-1] / s[0]) ** (1 / 7) == pytest.approx(math.sqrt(300) * 0.01, rel=0.05)
    assert all(st.saturated > 0.9 for st in res.stats[1.0])
    assert res.shallow is None and res.deep is None


def test_small_random_deep_net_stalls_on_another_seed():
    res = small_random_depth.run(depth=2, width=10, batch=10, epochs=3, progress=False, seed=1)
    assert abs(np.mean(res.deep.history.loss[-res.deep.history.steps_per_epoch:]) - LN10) < 2e-3
    assert np.mean(res.shallow.history.loss[-res.shallow.history.steps_per_epoch:]) < LN10 - 0.2  # moving


# ============================================================================================
# Xavier: the slides' line
# ============================================================================================
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_slides_xavier_line_multiplies_where_it_should_divide(seed):
    """'With n = 256 the slides' line produces weights of std 16 and a layer output of std 256 (the
    cell measures {16.0} and {256}); the corrected lines give 1/16 and an output std of 1.'"""
    n = 256
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((512, n))
    slides = rng.standard_normal((n, n)) * np.sqrt(n)
    fixed = rng.standard_normal((n, n)) / np.sqrt(n)
    glorot = rng.standard_normal((n, n)) * np.sqrt(2 / (n + n))
    assert slides.std() == pytest.approx(16, rel=0.02) and (x @ slides).std() == pytest.approx(256, rel=0.03)
    for w in (fixed, glorot):
        assert w.std() == pytest.approx(1 / 16, rel=0.02) and (x @ w).std() == pytest.approx(1.0, rel=0.03)
    # exact: sqrt(256) = 16 and 1/16 are exactly representable, and IEEE sqrt is correctly rounded
    assert init.lecun_std(n) == 1 / 16 and init.xavier_std(n, n) == 1 / 16


# ============================================================================================
# Glorot & Bengio
# ============================================================================================
@pytest.fixture(scope="module")
def glorot():
    return glorot_tanh.run(width=1000, hidden_layers=5, batch=500, seed=0)


def test_glorot_book_numbers(glorot):
    """'falls by a factor {0.56} per layer (from {0.46} to {0.047} over five layers) ... with the
    normalized one the factor is {0.85} ... shrink toward the input by a factor {0.54} per layer ...
    a factor {12} from layer 5 down to layer 1 ... only by {0.80} per layer ... weight gradients
    nearly the same at every layer (differ by {6%} standard, {14%} normalized)'."""
    assert 0.54 < glorot.forward_ratio("standard") < 0.59
    assert 0.44 < glorot.act_std["standard"][0] < 0.48 and 0.04 < glorot.act_std["standard"][-1] < 0.055
    assert 0.82 < glorot.forward_ratio("normalized") < 0.88
    assert 0.51 < glorot.backward_ratio("standard") < 0.57
    factor = glorot.back_std["standard"][-1] / glorot.back_std["standard"][0]
    assert 9 < factor < 16
    assert 0.77 < glorot.backward_ratio("normalized") < 0.83
    # nearly the same at every layer, while the back-propagated gradients shrink by the factor above
    assert 1 <= glorot.weight_grad_spread("standard") < 1.1 and 1 <= glorot.weight_grad_spread("normalized") < 1.2
    assert glorot.weight_grad_spread("standard") < factor / 5


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_glorot_claims_on_other_seeds(seed):
    res = glorot_tanh.run(width=400, hidden_layers=5, batch=200, seed=seed)
    assert 0.54 < res.forward_ratio("standard") < 0.59 and 0.82 < res.forward_ratio("normalized") < 0.87
    assert 0.51 < res.backward_ratio("standard") < 0.57 and 0.77 < res.backward_ratio("normalized") < 0.83
    assert res.back_std["standard"][-1] / res.back_std["standard"][0] > 9  # shrinks toward the input
    assert res.weight_grad_spread("standard") < 1.1 and res.weight_grad_spread("normalized") < 1.2


@pytest.mark.parametrize("seed", [0, 1])
def test_glorot_linear_regime_matches_the_linear_theory(seed):
    """'With inputs of std 0.1 ... the measured factors are close to the linear theory's, in both
    directions: {0.577} forward and {0.578} backward for the standard initialization (theory
    1/sqrt3 = 0.577), {0.99} and {0.99} for the normalized one (theory 1).'"""
    res = glorot_tanh.run(width=500, hidden_layers=5, batch=300, input_std=0.1, seed=seed)
    for ratio in (res.forward_ratio("standard"), res.backward_ratio("standard")):
        assert ratio == pytest.approx(1 / math.sqrt(3), abs=0.01)
    for ratio in (res.forward_ratio("normalized"), res.backward_ratio("normalized")):
        assert 0.97 < ratio <= 1.0  # tanh compresses a little even at std 0.1


def test_standard_init_is_torchs_default_distribution():
    w = glorot_tanh.standard_init(np.random.default_rng(0), 400, 300)
    assert np.abs(w).max() <= 1 / math.sqrt(400) == pytest.approx(init.he_bound(400, 300, a=math.sqrt(5)))
    assert w.var() == pytest.approx(1 / (3 * 400), rel=0.02)


# ============================================================================================
# He: the ReLU halving, init_depth
# ============================================================================================
@pytest.fixture(scope="module")
def relu_depth():
    return init_depth.run(depth=30, width=256, batch=512, activation="relu", seed=0)


def test_init_depth_book_numbers(relu_depth):
    """'With Xavier the std falls by {0.713} per layer (theory 0.707) and the signal leaving layer 30
    has an RMS of {3.8e-05}, close to He et al.'s 2^-15 = 3.1e-5; with 0.01 it falls by {0.114} per
    layer (0.113) to {8e-29}. With He's variance the std stays of order 1 at every depth. It does
    not stay exactly at the predicted sqrt2: in this net it drifts from {1.41} to {0.82}.'"""
    assert relu_depth.ratio_per_layer("xavier_normal") == pytest.approx(1 / math.sqrt(2), abs=0.01)
    assert 0.5 < relu_depth.output_rms["xavier_normal"] / 2 ** -15 < 2
    assert f"{2 ** -15:.1e}" == "3.1e-05"  # mathematics, formatted as the prose writes it
    assert relu_depth.ratio_per_layer("small_random") == pytest.approx(math.sqrt(256e-4 / 2), rel=0.03)
    assert 1e-29 < relu_depth.pre_std["small_random"][-1] < 1e-27
    he = relu_depth.pre_std["he_normal"]
    assert he[0] == pytest.approx(math.sqrt(2), abs=0.05)
    assert 0.5 < he.min() and he.max() < 2  # of order 1
    assert abs(he[-1] - math.sqrt(2)) > 0.3  # it drifts


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_init_depth_claims_on_other_seeds(seed):
    res = init_depth.run(depth=30, width=128, batch=128, n_samples=100, seed=seed)
    assert res.ratio_per_layer("xavier_normal") == pytest.approx(1 / math.sqrt(2), abs=0.03)
    assert 0.4 < res.output_rms["xavier_normal"] / 2 ** -15 < 2.5
    assert 0.4 < res.pre_std["he_normal"].min() and res.pre_std["he_normal"].max() < 3.5  # of order 1
    assert res.ratio_per_layer("small_random") == pytest.approx(math.sqrt(128e-4 / 2), rel=0.08)


def test_predicted_std_is_the_variance_recursion():
    """A scalar recursion of a few multiplications: rounding of order eps, so rtol = 1e-12 is loose."""
    np.testing.assert_allclose(init_depth.predicted_std("he_normal", 30, 256), math.sqrt(2), rtol=1e-12)
    np.testing.assert_allclose(init_depth.predicted_std("xavier_normal", 30, 256), 2.0 ** (-np.arange(30) / 2),
                               rtol=1e-12)
    np.testing.assert_allclose(init_depth.predicted_std("lecun_normal", 5, 64, activation="linear"), 1.0, rtol=1e-12)
    with pytest.raises(ValueError):
        init_depth.predicted_std("he_normal", 5, 64, activation="sigmoid")


def test_tanh_recursion_by_quadrature():
    """The tanh recursion, Var(z_l) = g^2 E[tanh(z_{l-1})^2], evaluated by Gauss-Hermite quadrature:
    E[tanh(z)^2] against a large Monte Carlo sample, the first layer exact, and the two regimes the
    prose describes: for g = 1 a slow decay, std about 1/sqrt(2 l) ('1/sqrt 60 = 0.129' at l = 30),
    for g > 1 a fixed point, larger for the larger gain."""
    u = np.random.default_rng(0).standard_normal(2_000_000)
    for q in (0.01, 0.5, 1.0, 2.78):
        mc = np.mean(np.tanh(math.sqrt(q) * u) ** 2)  # Monte Carlo std error < 1e-3
        assert init_depth._second_moment("tanh", q) == pytest.approx(mc, abs=3e-3)
    n = 256
    gain1 = init_depth.predicted_std("xavier_normal", 300, n, activation="tanh")
    assert gain1[0] == pytest.approx(1.0, rel=1e-12) and np.all(np.diff(gain1) < 0)  # decays
    assert gain1[29] == pytest.approx(1 / math.sqrt(60), rel=0.05)
    assert gain1[299] == pytest.approx(1 / math.sqrt(600), rel=0.03)  # the 1/sqrt(2l) law
    he = init_depth.predicted_std("he_normal", 60, n, activation="tanh")
    g53 = init_depth.predicted_std("tanh_gain", 60, n, activation="tanh")
    assert g53[0] == pytest.approx(5 / 3, rel=1e-12) and he[0] == pytest.approx(math.sqrt(2), rel=1e-12)
    assert abs(he[-1] - he[-2]) < 1e-6 and abs(g53[-1] - g53[-2]) < 1e-6  # fixed points
    assert 0.75 < he[-1] < 0.82 and 1.04 < g53[-1] < 1.12 and g53[-1] > he[-1] > gain1[59]


TANH_SCHEMES = ("small_random", "xavier_normal", "he_normal", "tanh_gain")


@pytest.fixture(scope="module")
def tanh_depth():
    return init_depth.run(depth=30, width=256, batch=512, activation="tanh", schemes=TANH_SCHEMES, seed=0)


def test_tanh_depth_claims(tanh_depth):
    """'With gain 1 the activations stay alive but keep shrinking: the std of z_30 is {0.13}
    (recursion {0.13}, and 1/sqrt 60 = 0.129) ... He's variance pushes {19%} of the first layer's
    activations beyond +-0.95, then the std settles near {0.79} (fixed point {0.79}). The tanh gain
    5/3 is larger still: it saturates {27%} of the first layer and settles at {1.09} (fixed point
    {1.09}), close to the unit std of the input, with {9%} of the deep activations saturated (He:
    {2%}, gain 1: {0%})' (and small random numbers collapse the same way as in the ReLU net)."""
    res = tanh_depth
    xa, he, g53 = (res.pre_std[s] for s in ("xavier_normal", "he_normal", "tanh_gain"))
    assert 0.1 < xa[-1] < 0.17 and np.all(np.diff(xa) < 0.01)  # keeps shrinking
    assert xa[-1] == pytest.approx(res.predicted["xavier_normal"][-1], rel=0.1)
    assert 0.15 < res.stats["he_normal"][0].saturated < 0.25
    assert 0.7 < he[-1] < 0.9 and he[-1] == pytest.approx(res.predicted["he_normal"][-1], rel=0.06)
    assert 0.22 < res.stats["tanh_gain"][0].saturated < 0.32
    assert 0.98 < g53[-1] < 1.2 and g53[-1] == pytest.approx(res.predicted["tanh_gain"][-1], rel=0.06)
    # the ordering at every layer, and the saturation in the deep layers
    assert np.all(g53 > he) and np.all(he > xa)
    deep = {
        s: np.mean([st.saturated for st in res.stats[s][-10:]]) for s in ("xavier_normal", "he_normal", "tanh_gain")
    }
    assert deep["xavier_normal"] < 0.005 and 0.01 < deep["he_normal"] < 0.035 and 0.06 < deep["tanh_gain"] < 0.13
    assert res.stats["tanh_gain"][-1].saturated > 2 * res.stats["he_normal"][-1].saturated
    assert res.pre_std["small_random"][-1] < 1e-20
    # adding the fourth scheme leaves the first three runs unchanged (each scheme has its own generator)
    three = init_depth.run(depth=5, width=64, batch=32, activation="tanh", seed=0)
    four = init_depth.run(depth=5, width=64, batch=32, activation="tanh", schemes=TANH_SCHEMES, seed=0)
    for scheme in three.schemes:
        np.testing.assert_array_equal(three.pre_std[scheme], four.pre_std[scheme])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_tanh_gains_on_other_seeds(seed):
    """The same claims on other seeds and a smaller batch: gain 1 decays along the recursion
    (about 1/sqrt(2 l)), He's gain and the tanh gain settle at their fixed points, in this order,
    with more saturated units for the larger gain."""
    res = init_depth.run(depth=30, width=256, batch=128, activation="tanh", schemes=TANH_SCHEMES[1:],
                         n_samples=100, seed=seed)
    xa, he, g53 = (res.pre_std[s] for s in TANH_SCHEMES[1:])
    assert 0.1 < xa[-1] < 0.17 and 0.12 < res.stats["he_normal"][0].saturated < 0.28
    assert 0.7 < he[-1] < 0.9 and 0.98 < g53[-1] < 1.2 and np.all(g53 > he) and np.all(he[1:] > xa[1:])
    # the decaying gain-1 signal wanders more (a random walk in the logarithm) than the fixed points
    for s, rel in zip(TANH_SCHEMES[1:], (0.15, 0.06, 0.06)):
        assert res.pre_std[s][-1] == pytest.approx(res.predicted[s][-1], rel=rel)
    last = {s: res.stats[s][-1].saturated for s in ("tanh_gain", "he_normal", "xavier_normal")}
    assert last["tanh_gain"] > last["he_normal"] > last["xavier_normal"]


def test_gain_table_facts():
    """'tanh, g = 5/3 ... Var(W) = 25/(9n) = 2.78/n, more than He's 2/n'; the sigmoid's and the
    linear gain 1, SELU's 3/4, ReLU's sqrt 2 (torch's table, which ours equals)."""
    assert init.calculate_gain("tanh") ** 2 == pytest.approx(25 / 9, rel=1e-15) and 25 / 9 > 2
    assert init.calculate_gain("tanh") > init.calculate_gain("relu")
    assert init.calculate_gain("sigmoid") == init.calculate_gain("linear") == 1.0
    assert init.calculate_gain("selu") == 0.75 and init.calculate_gain("relu") == math.sqrt(2)
    assert init_depth.weight_variance("tanh_gain", 300, 100) == pytest.approx(25 / (9 * 300), rel=1e-15)
    assert f"{25 / 9:.2f}" == "2.78"  # mathematics, formatted as the prose writes it


def test_which_initialization_table():
    """The table's PyTorch calls on an nn.Linear weight (out, in) give the stated variances
    (sample variances of 60 000 weights, within 3%)."""
    torch = pytest.importorskip("torch")
    n_in, n_out, a = 400, 150, 0.2
    gen = torch.Generator().manual_seed(0)
    calls = {
        1 / n_in: lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="linear", generator=gen),
        2 / (n_in + n_out): lambda w: torch.nn.init.xavier_normal_(w, generator=gen),
        (5 / 3) ** 2 / n_in: lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="tanh", generator=gen),
        2 / n_in: lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="relu", generator=gen),
        2 / ((1 + a**2) * n_in): lambda w: torch.nn.init.kaiming_normal_(w, a=a, generator=gen),
    }
    for target, call in calls.items():
        w = call(torch.empty(n_out, n_in, dtype=torch.float64))
        assert float(w.var()) == pytest.approx(target, rel=0.03)


def test_sigmoid_gradient_shrinks_by_at_least_four_per_layer():
    """'with n_out Var(W) = 1 and sigma' <= 1/4, the gradient's std shrinks by a factor of at least 4
    per layer toward the input': square sigmoid layers with Var(W) = 1/n, a random gradient at the
    top, backpropagated through five layers."""
    rng = np.random.default_rng(0)
    n, batch, layers = 256, 256, 5
    ws = [rng.standard_normal((n, n)) / math.sqrt(n) for _ in range(layers)]
    h, slopes = rng.standard_normal((batch, n)), []
    for w in ws:
        s = 1 / (1 + np.exp(-(h @ w)))
        slopes.append(s * (1 - s))
        h = s
    dz = rng.standard_normal((batch, n)) * slopes[-1]
    stds = [dz.std()]
    for w, slope in zip(ws[:0:-1], slopes[-2::-1]):
        dz = (dz @ w.T) * slope
        stds.append(dz.std())
    ratios = np.array(stds[1:]) / np.array(stds[:-1])
    assert np.all(ratios < 0.25) and np.all(ratios > 0.15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_torch_default_init_divides_the_std_by_sqrt6_per_relu_layer(seed):
    """Pitfalls: 'divides the std by about sqrt(6) per layer (the cell below measures {0.41})'."""
    res = init_depth.run(depth=10, width=256, batch=512, activation="relu", schemes=("torch_default",), seed=seed)
    assert res.ratio_per_layer("torch_default") == pytest.approx(math.sqrt(1 / 6), abs=0.01)


def test_orthogonal_gain_one_halves_like_xavier():
    """'With gain 1 an orthogonal ReLU net halves the variance at every layer just like Xavier's'."""
    res = init_depth.run(depth=20, width=128, batch=256, schemes=("orthogonal", "orthogonal_relu"), n_samples=10,
                         seed=0)
    assert res.ratio_per_layer("orthogonal") == pytest.approx(1 / math.sqrt(2), abs=0.02)
    assert res.ratio_per_layer("orthogonal_relu") == pytest.approx(1.0, abs=0.03)


# ============================================================================================
# He et al.'s Fig. 3: training the 30-layer net
# ============================================================================================
@pytest.fixture(scope="module")
def training():
    """The book's run: He and Xavier, seeds 0, 1, 2, 10 epochs (every seed the prose quotes)."""
    return init_training.run(depth=30, width=128, schemes=("he_normal", "xavier_normal"), seeds=(0, 1, 2), epochs=10,
                             lr=3e-3, momentum=0.9, batch_size=64, progress=False)


def test_init_training_book_numbers(training):
    """'With He initialization every seed trains: the loss falls from between {2.4} and {3.0} to
    between {0.69} and {1.00} in the tenth epoch (validation accuracy {67%} to {76%}) ... With Xavier
    the loss is {2.3026} at the first step (ln 10 = 2.3026), stays within about {0.003} of ln 10 ...
    still {2.3026}; the validation accuracy is chance (at most {10%}) ... the gradient of every
    layer is about {2e-07} instead of {7e-03}, a ratio of about {20,100} at the first layer, close
    to 2^14.5 = 2.3e4'."""
    for seed in training.seeds:
        he, xa = training.runs["he_normal", seed], training.runs["xavier_normal", seed]
        assert 2.2 < he.initial_loss < 3.5 and 0.4 < he.final_loss < 1.3 and he.initial_loss - he.final_loss > 1.0
        assert 0.6 < he.val_acc < 0.9
        assert len(he.history.loss) == len(xa.history.loss) == 10 * he.history.steps_per_epoch  # 10 epochs
        assert abs(xa.initial_loss - LN10) < 1e-4 and abs(xa.final_loss - LN10) < 1e-3
        assert max(abs(v - LN10) for v in xa.history.loss) < 0.01
        assert xa.val_acc <= 0.15
        assert np.all(xa.grad_abs_mean < 2e-6) and np.all(he.grad_abs_mean > 1e-3)
    ratio = training.first_layer_grad("he_normal") / training.first_layer_grad("xavier_normal")
    assert np.all((1e4 < ratio) & (ratio < 4e4))  # 2^14.5 = 2.3e4


@pytest.mark.parametrize("seed", [3, 4])
def test_init_training_other_seeds_short(seed):
    res = init_training.run(schemes=("he_normal", "xavier_normal"), seeds=(seed,), epochs=3, progress=False)
    he, xa = res.runs["he_normal", seed], res.runs["xavier_normal", seed]
    assert 2.2 <= he.initial_loss <= 3.5 and he.final_loss < 2.25  # He is moving
    assert max(abs(v - LN10) for v in xa.history.loss) < 0.01 and abs(xa.final_loss - LN10) < 1e-3  # Xavier is not
    assert 1e4 < he.grad_abs_mean[0] / xa.grad_abs_mean[0] < 4e4


def test_orthogonal_relu_and_lsuv_train_the_30_layer_net(training):
    """'after 10 epochs the orthogonal net with gain sqrt 2 reaches a loss of {0.26} ({89%}
    validation accuracy), the LSUV net {0.38} ({81%}), on this seed lower than any of the three He
    runs'."""
    res = init_training.run(schemes=("orthogonal_relu", "lsuv"), seeds=(0,), progress=False)
    orth, lsuv = res.runs["orthogonal_relu", 0], res.runs["lsuv", 0]
    assert orth.final_loss < 0.5 and orth.val_acc > 0.8
    assert lsuv.final_loss < 0.6 and lsuv.val_acc > 0.7
    assert max(orth.final_loss, lsuv.final_loss) < training.final_losses("he_normal").min()


def test_orthogonal_gain_one_stalls_like_xavier():
    """'With gain 1 an orthogonal ReLU net ... stalls the same way.'"""
    res = init_training.run(schemes=("orthogonal",), seeds=(0,), epochs=1, progress=False)
    assert max(abs(v - LN10) for v in res.runs["orthogonal", 0].history.loss) < 0.01


def test_lsuv_on_the_digits_net():
    """'one division per layer already gives a variance of 1 on the batch, up to rounding (the
    largest deviation from 1 is {2.2e-16}), and on other images the variances stay within about
    {14%} of 1'."""
    digits = load_digits(seed=0, scale="standard")
    with one_blas_thread():
        out = init.lsuv(MLP([64] + [128] * 29 + [10], init="orthogonal", rng=0), digits.x_train[:256],
                        np.random.default_rng(0), tol=0.1)
    assert set(out.iterations) == {1}  # integers
    # Var(z) after one division: a 128-term product and a 256 * 128-term variance, each with a
    # worst-case relative rounding of (number of terms) * eps
    np.testing.assert_allclose(out.variances, 1.0, rtol=2 * (128 + 256 * 128) * EPS)
    other = [float(np.var(z)) for z in out.model.trace(digits.x_train[256:512]).pre_activations]
    assert all(0.8 < v < 1.2 for v in other)


# ============================================================================================
# Channel collapse
# ============================================================================================
@pytest.fixture(scope="module")
def collapse():
    return channel_collapse.run(depth=50, width=512, batch=256, seed=0)


def test_channel_collapse_book_numbers(collapse):
    """'{0.32} at the second layer, as computed (1/pi = 0.32), {0.86} at layer 10 and {0.96} at
    layer 50 ... without a nonlinearity the share stays at about {0.003} or less, the size of
    sampling noise with 256 inputs ... shifted: its largest share over the 50 layers is {0.06} ...
    std still {1.0} at layer 10, drifts upward (to about {38} at layer 50)'."""
    share = collapse.share
    assert share["relu"][1] == pytest.approx(1 / math.pi, abs=0.01)
    assert 0.82 < share["relu"][9] < 0.9 and 0.94 < share["relu"][49] < 0.98
    assert share["relu"][1] < share["relu"][9] < share["relu"][49]  # it grows with depth
    assert np.all(share["linear"] < 1.5 / 256)  # sampling noise, about 1/N
    assert share["shifted_relu"].max() < 0.08 < share["relu"][1]
    std = collapse.std["shifted_relu"]
    assert 0.9 < std[9] < 1.15 and std[49] > 10 * std[9]


def test_deep_relu_net_predicts_nearly_one_class(collapse):
    """'a random 10-class readout of layer 50 puts {90%} of the inputs into its most common class,
    against {13%} for a readout of the first layer ... and {33%} after a single ReLU layer ... a
    readout of its layer 50 puts {22%} of the inputs into one class (no nonlinearity: {18%})'."""
    m = collapse.majority
    assert 0.8 < m["relu"][49] < 0.97
    assert 0.1 <= m["relu"][0] < 0.18  # near 1/10: a little more, the largest of ten counts
    assert 0.25 < m["relu"][1] < 0.42
    assert m["relu"][0] < m["relu"][1] < m["relu"][9] < m["relu"][49]
    assert m["shifted_relu"][49] < 0.32 and m["linear"][49] < 0.25
    assert m["relu"][49] > 2.5 * max(m["shifted_relu"][49], m["linear"][49])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_channel_collapse_on_other_seeds(seed):
    res = channel_collapse.run(depth=50, width=256, batch=128, sample_layers=(), seed=seed)
    assert res.share["relu"][1] == pytest.approx(1 / math.pi, abs=0.03)
    assert res.share["relu"][9] > 0.78 and res.share["relu"][49] > 0.93
    assert np.all(res.share["linear"] < 0.03)  # sampling noise, about 1/N
    assert np.all(res.share["shifted_relu"] < 0.12)
    assert 0.9 < res.std["shifted_relu"][9] < 1.2 and res.std["shifted_relu"][49] > 5
    m = res.majority  # 25 readouts of 10 channels, 128 inputs
    assert m["relu"][49] > 0.75 and m["relu"][0] < 0.2 and 0.22 < m["relu"][1] < 0.48
    assert m["relu"][49] > 2 * max(m["shifted_relu"][49], m["linear"][49])


def test_between_channel_share_definition():
    z = np.array([[1.0, 5.0], [1.0, 5.0], [1.0, 5.0]])  # every channel constant: share 1 (small integers, exact)
    assert channel_collapse.between_channel_share(z) == 1.0
    z = np.array([[1.0, -1.0], [-1.0, 1.0]])  # equal channel means: share 0 (exact)
    assert channel_collapse.between_channel_share(z) == 0.0
    with pytest.raises(ValueError):
        channel_collapse.between_channel_share(np.ones((3, 2)))
    # majority fraction: integers counted, exact
    z = np.array([[3.0, 1.0, 0.0, 5.0], [2.0, 0.0, 1.0, 4.0], [0.0, 1.0, 9.0, 8.0]])
    # readout 1 (channels 0, 1): classes 0, 0, 1 -> 2/3; readout 2 (channels 2, 3): 1, 1, 0 -> 2/3
    assert channel_collapse.majority_fraction(z, classes=2) == pytest.approx(2 / 3, rel=1e-15)
    assert channel_collapse.majority_fraction(np.tile([0.0, 1.0, 0.5], (7, 1)), classes=3) == 1.0
    with pytest.raises(ValueError):
        channel_collapse.majority_fraction(z, classes=5)
    x = np.random.default_rng(0).standard_normal(1_000_000)
    y = channel_collapse.shifted_relu(x)
    assert abs(y.mean()) < 5e-3 and y.std() == pytest.approx(1, abs=5e-3)


# ============================================================================================
# Figures render from the results
# ============================================================================================
def test_every_figure_renders(sym):
    small = small_random_depth.run(depth=3, width=20, batch=10, train=False, seed=0)
    depth = init_depth.run(depth=4, width=16, batch=8, seed=0)
    glorot = glorot_tanh.run(width=20, hidden_layers=3, batch=10, seed=0)
    training = init_training.run(depth=3, width=8, seeds=(0,), epochs=1, progress=False)
    collapse = channel_collapse.run(depth=5, width=16, batch=8, sample_layers=(1, 5), seed=0)
    figs = [
        plotting.plot_symmetry(sym),
        plotting.plot_layer_histograms(small),
        plotting.plot_layer_histograms(glorot, "gradients"),
        plotting.plot_layer_histograms(depth, "pre_activations", layers=(1, 4)),
        plotting.plot_std_vs_depth(depth, small),
        plotting.plot_tanh_gains(init_depth.run(depth=4, width=16, batch=8, activation="tanh",
                                                schemes=TANH_SCHEMES[1:], seed=0)),
        plotting.plot_glorot_tanh(glorot),
        plotting.plot_init_training(training),
        plotting.plot_channel_collapse(collapse),
    ]
    for fig in figs:
        assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError):
        plotting.plot_layer_histograms(depth, "weights")
    with pytest.raises(ValueError):
        plotting.plot_layer_histograms(depth, layers=(5,))
    with pytest.raises(ValueError):
        plotting.plot_tanh_gains(depth)  # a ReLU run
