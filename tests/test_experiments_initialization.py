"""Every numeric claim of chapter 3 (book/03_initialization.md), asserted at small size and
multi-seed where it is statistical. The book's own configuration is run once (seed 0) where it
takes a few seconds, to pin the numbers the prose prints; other seeds run smaller.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_lib import plotting
from course_lib.data import load_digits
from course_lib.experiments import channel_collapse, glorot_tanh, init_depth, init_training, small_random_depth, symmetry
from course_lib.scratch import init
from course_lib.scratch.model import MLP

LN10 = math.log(10)


# ============================================================================================
# Constant start: symmetry
# ============================================================================================
@pytest.fixture(scope="module")
def sym():
    return symmetry.run(hidden=4, value=0.5, steps=2000, lr=0.5, probe_step=100, seed=0)


def test_symmetry_book_numbers(sym):
    """'the four columns of every gradient are identical to the last bit (spread exactly 0 at each of
    the 2000 steps, although the gradients are not zero) ... 75% ... from the zero start every dJ/dW1
    is exactly zero, the loss stays at ln 2 = 0.6931 ... 50% ... the random start ... 100%.'"""
    c, z, r = sym.runs["constant"], sym.runs["zeros"], sym.runs["random"]
    assert c.grad_spread == 0.0 and np.all(c.weight_spread == 0.0) and c.grad_norm > 1e-3
    assert np.all(c.probe_grad_W1 == c.probe_grad_W1[:, :1]) and np.any(c.probe_grad_W1 != 0)
    assert c.accuracy == pytest.approx(0.75, abs=0.01)
    assert z.grad_norm == 0.0 and z.accuracy == 0.5 and z.loss[-1] == pytest.approx(math.log(2), abs=1e-4)
    assert r.accuracy == 1.0 and r.weight_spread[-1] > 1.0 and r.grad_spread > 0.1
    assert len({tuple(np.round(r.final_W1[:, j], 6)) for j in range(4)}) == 4


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_symmetry_holds_on_every_seed(seed):
    res = symmetry.run(hidden=5, steps=600, lr=0.5, starts=("constant", "zeros", "random"), seed=seed, grid_size=10)
    c, z, r = res.runs["constant"], res.runs["zeros"], res.runs["random"]
    assert c.grad_spread == 0.0 and c.weight_spread[-1] == 0.0 and c.accuracy <= 0.76
    assert z.grad_norm == 0.0 and z.accuracy == 0.5
    assert r.accuracy > 0.95 and r.weight_spread[-1] > 0.5


def test_symmetry_with_another_constant():
    res = symmetry.run(value=-0.3, steps=200, starts=("constant",), grid_size=5, seed=0)
    assert res.runs["constant"].grad_spread == 0.0 and res.runs["constant"].grad_norm > 0


# ============================================================================================
# Small random numbers
# ============================================================================================
@pytest.fixture(scope="module")
def small():
    return small_random_depth.run(depth=10, width=500, batch=1000, scales=(0.01, 1.0), deep_layers=10,
                                  progress=False, seed=0)


def test_small_random_book_numbers(small):
    """'the std falls by a factor of about 0.22 per layer, from 0.21 at the first layer to 3e-7 at the
    tenth ... 93% of all activations are beyond +-0.95 ... shallow: 2.303 to 0.30, test 91% ... deep:
    ln 10 at the first and the last step, 10% ... 1e-12, nine orders of magnitude below'."""
    s = small.std(0.01)
    assert s[0] == pytest.approx(0.21, abs=0.01) and 2e-7 < s[-1] < 4e-7
    ratio = (s[-1] / s[0]) ** (1 / 9)
    assert ratio == pytest.approx(math.sqrt(500) * 0.01, rel=0.03)
    assert all(st.saturated >= 0.925 for st in small.stats[1.0])
    sh, dp = small.shallow, small.deep
    assert sh.history.loss[0] == pytest.approx(LN10, abs=2e-3)
    assert np.mean(sh.history.loss[-sh.history.steps_per_epoch:]) == pytest.approx(0.30, abs=0.01)
    assert sh.test_acc == pytest.approx(0.914, abs=0.005)
    assert dp.history.loss[0] == pytest.approx(LN10, abs=1e-3)
    assert np.mean(dp.history.loss[-dp.history.steps_per_epoch:]) == pytest.approx(LN10, abs=1e-3)
    assert dp.test_acc == pytest.approx(0.10, abs=0.01)
    assert dp.first_grad_W1 < 1e-11 and sh.first_grad_W1 / dp.first_grad_W1 > 1e8


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
    """'With n = 256 the slides' line produces weights of std 16 and a layer output of std 256; the
    corrected lines give 1/16 and an output std of 1.'"""
    n = 256
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((512, n))
    slides = rng.standard_normal((n, n)) * np.sqrt(n)
    fixed = rng.standard_normal((n, n)) / np.sqrt(n)
    glorot = rng.standard_normal((n, n)) * np.sqrt(2 / (n + n))
    assert slides.std() == pytest.approx(16, rel=0.02) and (x @ slides).std() == pytest.approx(256, rel=0.03)
    for w in (fixed, glorot):
        assert w.std() == pytest.approx(1 / 16, rel=0.02) and (x @ w).std() == pytest.approx(1.0, rel=0.03)
    assert init.lecun_std(n) == 1 / 16 and init.xavier_std(n, n) == 1 / 16


# ============================================================================================
# Glorot & Bengio
# ============================================================================================
@pytest.fixture(scope="module")
def glorot():
    return glorot_tanh.run(width=1000, hidden_layers=5, batch=500, seed=0)


def test_glorot_book_numbers(glorot):
    """'falls by a factor 0.56 per layer (from 0.46 to 0.047) ... normalized 0.85 ... back-propagated
    0.54 per layer, a factor 12 from layer 5 down to layer 1 ... normalized 0.80 ... weight gradients
    differ by 6% (standard), 14% (normalized)'."""
    assert glorot.forward_ratio("standard") == pytest.approx(0.56, abs=0.01)
    assert glorot.act_std["standard"][0] == pytest.approx(0.46, abs=0.01)
    assert glorot.act_std["standard"][-1] == pytest.approx(0.047, abs=0.001)
    assert glorot.forward_ratio("normalized") == pytest.approx(0.85, abs=0.01)
    assert glorot.backward_ratio("standard") == pytest.approx(0.54, abs=0.01)
    assert glorot.back_std["standard"][-1] / glorot.back_std["standard"][0] == pytest.approx(12, abs=0.5)
    assert glorot.backward_ratio("normalized") == pytest.approx(0.80, abs=0.01)
    assert glorot.weight_grad_spread("standard") == pytest.approx(1.06, abs=0.005)
    assert glorot.weight_grad_spread("normalized") == pytest.approx(1.14, abs=0.005)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_glorot_claims_on_other_seeds(seed):
    res = glorot_tanh.run(width=400, hidden_layers=5, batch=200, seed=seed)
    assert 0.54 < res.forward_ratio("standard") < 0.59 and 0.82 < res.forward_ratio("normalized") < 0.87
    assert 0.51 < res.backward_ratio("standard") < 0.57 and 0.77 < res.backward_ratio("normalized") < 0.83
    assert res.back_std["standard"][-1] / res.back_std["standard"][0] > 10  # shrinks toward the input
    assert res.weight_grad_spread("standard") < 1.1 and res.weight_grad_spread("normalized") < 1.2


@pytest.mark.parametrize("seed", [0, 1])
def test_glorot_linear_regime_matches_the_linear_theory(seed):
    """'With inputs of std 0.1 ... 0.577 for the standard and 0.99 for the normalized, in both directions.'"""
    res = glorot_tanh.run(width=500, hidden_layers=5, batch=300, input_std=0.1, seed=seed)
    for ratio in (res.forward_ratio("standard"), res.backward_ratio("standard")):
        assert ratio == pytest.approx(1 / math.sqrt(3), abs=0.01)
    for ratio in (res.forward_ratio("normalized"), res.backward_ratio("normalized")):
        assert ratio == pytest.approx(0.99, abs=0.01)


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
    """'With Xavier the std falls by 0.713 per layer (theory 0.707) and the signal leaving layer 30 has an
    RMS of 3.8e-5 ... He et al.'s 2^-15 = 3.1e-5; with 0.01 it falls by 0.114 per layer (0.113) to 1e-28.
    ... drifts from 1.41 to 0.82 at layer 30.'"""
    assert relu_depth.ratio_per_layer("xavier_normal") == pytest.approx(0.713, abs=0.001)
    assert relu_depth.output_rms["xavier_normal"] == pytest.approx(3.8e-5, rel=0.02)
    assert f"{2 ** -15:.1e}" == "3.1e-05"
    assert relu_depth.ratio_per_layer("small_random") == pytest.approx(0.114, abs=0.001)
    assert math.sqrt(256e-4 / 2) == pytest.approx(0.113, abs=0.001)
    assert 1e-29 < relu_depth.pre_std["small_random"][-1] < 1e-27
    he = relu_depth.pre_std["he_normal"]
    assert he[0] == pytest.approx(1.41, abs=0.01) and he[-1] == pytest.approx(0.82, abs=0.01)
    assert he.min() == pytest.approx(0.82, abs=0.01) and he.max() == pytest.approx(1.46, abs=0.01)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_init_depth_claims_on_other_seeds(seed):
    res = init_depth.run(depth=30, width=128, batch=128, n_samples=100, seed=seed)
    assert res.ratio_per_layer("xavier_normal") == pytest.approx(1 / math.sqrt(2), abs=0.03)
    assert 0.4 < res.output_rms["xavier_normal"] / 2 ** -15 < 2.5
    assert 0.4 < res.pre_std["he_normal"].min() and res.pre_std["he_normal"].max() < 3.5  # of order 1
    assert res.ratio_per_layer("small_random") == pytest.approx(math.sqrt(128e-4 / 2), rel=0.08)


def test_predicted_std_is_the_variance_recursion():
    np.testing.assert_allclose(init_depth.predicted_std("he_normal", 30, 256), math.sqrt(2), rtol=1e-12)
    np.testing.assert_allclose(init_depth.predicted_std("xavier_normal", 30, 256), 2.0 ** (-np.arange(30) / 2), rtol=1e-12)
    np.testing.assert_allclose(init_depth.predicted_std("lecun_normal", 5, 64, activation="linear"), 1.0, rtol=1e-12)
    with pytest.raises(ValueError):
        init_depth.predicted_std("he_normal", 5, 64, activation="tanh")


def test_tanh_depth_claims():
    """'Xavier ... (std of z_30 is 0.13) ... He ... 20% of the first layer's activations beyond
    +-0.95 ... settles near 0.8' (and small random numbers collapse the same way)."""
    res = init_depth.run(depth=30, width=256, batch=512, activation="tanh", seed=0)
    assert res.pre_std["xavier_normal"][-1] == pytest.approx(0.13, abs=0.01)
    assert res.stats["he_normal"][0].saturated == pytest.approx(0.20, abs=0.01)
    assert res.pre_std["he_normal"][-1] == pytest.approx(0.8, abs=0.05)
    assert res.pre_std["small_random"][-1] < 1e-20
    other = init_depth.run(depth=30, width=128, batch=128, activation="tanh", n_samples=100, seed=1)
    assert 0.1 < other.pre_std["xavier_normal"][-1] < 0.2 and 0.12 < other.stats["he_normal"][0].saturated < 0.28


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_torch_default_init_divides_the_std_by_sqrt6_per_relu_layer(seed):
    """Pitfalls: 'divides the std by about sqrt(6) per layer (the cell below measures 0.41)'."""
    res = init_depth.run(depth=10, width=256, batch=512, activation="relu", schemes=("torch_default",), seed=seed)
    assert res.ratio_per_layer("torch_default") == pytest.approx(math.sqrt(1 / 6), abs=0.01)
    if seed == 0:
        assert round(res.ratio_per_layer("torch_default"), 2) == 0.41


def test_orthogonal_gain_one_halves_like_xavier():
    """'With gain 1 an orthogonal ReLU net halves the variance at every layer just like Xavier's'."""
    res = init_depth.run(depth=20, width=128, batch=256, schemes=("orthogonal", "orthogonal_relu"), n_samples=10, seed=0)
    assert res.ratio_per_layer("orthogonal") == pytest.approx(1 / math.sqrt(2), abs=0.02)
    assert res.ratio_per_layer("orthogonal_relu") == pytest.approx(1.0, abs=0.03)


# ============================================================================================
# He et al.'s Fig. 3: training the 30-layer net
# ============================================================================================
@pytest.fixture(scope="module")
def training_seed0():
    return init_training.run(schemes=("he_normal", "xavier_normal"), seeds=(0,), progress=False)


def test_init_training_book_numbers_seed0(training_seed0):
    """'every seed trains: the loss falls from between 2.4 and 3.1 to between 0.69 and 1.00 in the tenth
    epoch (validation 67% to 76%) ... Xavier: ln 10 = 2.3026 at the first step, never moves more than
    0.004 away from it, averaged over the tenth epoch still 2.3026 ... chance (10%) ... a ratio of about
    2e4 at the first layer'."""
    he, xa = training_seed0.runs["he_normal", 0], training_seed0.runs["xavier_normal", 0]
    assert 2.4 <= he.initial_loss <= 3.1 and 0.69 <= he.final_loss <= 1.00 and 0.67 <= he.val_acc <= 0.76
    assert he.final_loss == pytest.approx(0.8196, abs=1e-3)
    assert abs(xa.initial_loss - LN10) < 5e-5 and abs(xa.final_loss - LN10) < 5e-5
    assert max(abs(v - LN10) for v in xa.history.loss) < 0.004
    assert xa.val_acc == pytest.approx(0.10, abs=0.01)
    assert 1.5e4 < he.grad_abs_mean[0] / xa.grad_abs_mean[0] < 3e4
    assert np.all(xa.grad_abs_mean < 1e-6) and np.all(he.grad_abs_mean > 3e-3)


@pytest.mark.parametrize("seed", [1, 2])
def test_init_training_other_seeds_short(seed):
    res = init_training.run(schemes=("he_normal", "xavier_normal"), seeds=(seed,), epochs=3, progress=False)
    he, xa = res.runs["he_normal", seed], res.runs["xavier_normal", seed]
    assert 2.3 <= he.initial_loss <= 3.1 and he.final_loss < 2.25  # He is moving
    assert max(abs(v - LN10) for v in xa.history.loss) < 0.004 and abs(xa.final_loss - LN10) < 1e-4  # Xavier is not
    assert 1.5e4 < he.grad_abs_mean[0] / xa.grad_abs_mean[0] < 3e4


def test_orthogonal_relu_and_lsuv_train_the_30_layer_net():
    """'after 10 epochs the orthogonal net with gain sqrt 2 reaches a loss of 0.26 (89%), the LSUV net
    0.38 (81%), on this seed lower than any of the three He runs'."""
    res = init_training.run(schemes=("orthogonal_relu", "lsuv"), seeds=(0,), progress=False)
    orth, lsuv = res.runs["orthogonal_relu", 0], res.runs["lsuv", 0]
    assert orth.final_loss == pytest.approx(0.26, abs=0.01) and orth.val_acc == pytest.approx(0.89, abs=0.01)
    assert lsuv.final_loss == pytest.approx(0.38, abs=0.01) and lsuv.val_acc == pytest.approx(0.81, abs=0.01)
    assert max(orth.final_loss, lsuv.final_loss) < 0.6879  # the best He run (seed 2) in the book's table


def test_lsuv_on_the_digits_net():
    """'one division per layer already gives a variance of exactly 1 on the batch, and on other
    images the variances stay within 15% of 1'."""
    digits = load_digits(seed=0, scale="standard")
    out = init.lsuv(MLP([64] + [128] * 29 + [10], init="orthogonal", rng=0), digits.x_train[:256],
                    np.random.default_rng(0), tol=0.1)
    assert set(out.iterations) == {1}
    np.testing.assert_allclose(out.variances, 1.0, rtol=1e-12)
    other = [float(np.var(z)) for z in out.model.trace(digits.x_train[256:512]).pre_activations]
    assert all(0.85 < v < 1.15 for v in other)


# ============================================================================================
# Channel collapse
# ============================================================================================
@pytest.fixture(scope="module")
def collapse():
    return channel_collapse.run(depth=50, width=512, batch=256, seed=0)


def test_channel_collapse_book_numbers(collapse):
    """'0.32 at the second layer, as computed, 0.86 at layer 10 and 0.96 at layer 50 ... without a
    nonlinearity the share stays at 0.003 ... shifted: below 0.06 at all 50 layers ... std still 1.0 at
    layer 10 ... about 38 at layer 50'."""
    share = collapse.share
    assert share["relu"][1] == pytest.approx(1 / math.pi, abs=0.005)
    assert share["relu"][9] == pytest.approx(0.86, abs=0.005) and share["relu"][49] == pytest.approx(0.96, abs=0.005)
    assert np.all(share["linear"] < 0.004)
    assert np.all(share["shifted_relu"] < 0.06)
    assert collapse.std["shifted_relu"][9] == pytest.approx(1.0, abs=0.05)
    assert collapse.std["shifted_relu"][49] == pytest.approx(38, abs=1)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_channel_collapse_on_other_seeds(seed):
    res = channel_collapse.run(depth=50, width=256, batch=128, sample_layers=(), seed=seed)
    assert res.share["relu"][1] == pytest.approx(1 / math.pi, abs=0.03)
    assert res.share["relu"][9] > 0.78 and res.share["relu"][49] > 0.93
    assert np.all(res.share["linear"] < 0.03)  # sampling noise, about 1/N
    assert np.all(res.share["shifted_relu"] < 0.12)
    assert 0.9 < res.std["shifted_relu"][9] < 1.2 and res.std["shifted_relu"][49] > 5


def test_between_channel_share_definition():
    z = np.array([[1.0, 5.0], [1.0, 5.0], [1.0, 5.0]])  # every channel constant: share 1
    assert channel_collapse.between_channel_share(z) == 1.0
    z = np.array([[1.0, -1.0], [-1.0, 1.0]])  # equal channel means: share 0
    assert channel_collapse.between_channel_share(z) == 0.0
    with pytest.raises(ValueError):
        channel_collapse.between_channel_share(np.ones((3, 2)))
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
