"""Every numeric claim of the book's prose, asserted at small size (multi-seed where it is statistical).

Chapter 1 (book/01_backprop.md). Each test names the claim it pins, quoted or paraphrased from the
chapter. Book-size runs are used only where they take a second or two.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_lib import gradcheck
from course_lib.experiments import capacity, comp_graph, digits_two_layer, gradient_check, history_classic, xor_two_layer
from course_lib.scratch.activations import Sigmoid
from course_lib.scratch.linear import Linear
from course_lib.scratch.losses import MulticlassSVM, SoftmaxCrossEntropy


# ============================================================================================
# Scores and losses
# ============================================================================================
def test_untrained_losses_are_ln_c_and_c_minus_one():
    """'For C = 10 that is ln 10 = 2.3026 and 9.'"""
    for c in (3, 10, 100):
        zero, y = np.zeros((4, c)), np.arange(4) % c
        assert SoftmaxCrossEntropy.forward(zero, y)[0] == pytest.approx(math.log(c), abs=1e-12)
        assert MulticlassSVM.forward(zero, y)[0] == pytest.approx(c - 1, abs=1e-12)
        assert MulticlassSVM.forward(zero, y, margin=0.5)[0] == pytest.approx(0.5 * (c - 1), abs=1e-12)
    assert f"{math.log(10):.4f}" == "2.3026"


def test_loss_example_in_the_text():
    """'class 1 beats the correct class by 2, so the SVM charges 4 - 2 + 1 = 3 ... class 2 costs
    nothing (its gradient entry is 0). Cross-entropy instead moves all three scores.'"""
    s, y = np.array([[2.0, 4.0, -1.0]]), np.array([0])
    loss, cache = MulticlassSVM.forward(s, y)
    assert loss == 3.0
    np.testing.assert_array_equal(MulticlassSVM.backward(1.0, cache)[0], [[-1.0, 1.0, 0.0]])
    ce, ce_cache = SoftmaxCrossEntropy.forward(s, y)
    (g,) = SoftmaxCrossEntropy.backward(1.0, ce_cache)
    assert np.all(g != 0) and g[0, 0] < 0 and g.sum() == pytest.approx(0.0, abs=1e-15)
    assert ce == pytest.approx(2.1328, abs=5e-5)


def test_svm_is_c_times_torch_multi_margin_loss():
    """Pitfalls: 'F.multi_margin_loss divides the multiclass SVM loss by C'."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    s, y = rng.standard_normal((6, 5)), rng.integers(0, 5, 6)
    ours = MulticlassSVM.forward(s, y)[0]
    theirs = torch.nn.functional.multi_margin_loss(torch.tensor(s), torch.tensor(y)).item()
    assert ours == pytest.approx(5 * theirs, rel=1e-12)


def test_penalty_raises_the_first_loss():
    """Pitfalls: 'Adding the penalty must raise the first loss.'"""
    from course_lib.scratch.model import MLP

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 8)), rng.integers(0, 4, 20)
    plain = MLP([8, 16, 4], weight_scale=0.5, reg=0.0, rng=1).loss(x, y)[0]
    penalized = MLP([8, 16, 4], weight_scale=0.5, reg=0.1, rng=1).loss(x, y)[0]
    assert penalized > plain


# ============================================================================================
# The computational graph
# ============================================================================================
def test_comp_graph_values_and_gradients():
    """'q = 3, f = -12'; 'df/dz = q = 3, df/dq = z = -4, df/dx = df/dy = -4'."""
    r = comp_graph.run()
    assert r.values == {"x": -2.0, "y": 5.0, "z": -4.0, "q": 3.0, "f": -12.0}
    assert r.grads == {"x": -4.0, "y": -4.0, "z": 3.0, "q": -4.0, "f": 1.0}
    assert r.node("f").local_grads == (-4.0, 3.0)  # df/dq = z, df/dz = q
    assert r.node("q").local_grads == (1.0, 1.0)
    assert r.autograd is None


def test_comp_graph_matches_autograd():
    """'it also asks PyTorch's autograd for the three input gradients' -- and they agree."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for x, y, z in [(-2.0, 5.0, -4.0), *rng.standard_normal((5, 3)).tolist()]:
        r = comp_graph.run(x, y, z, autograd=True)
        t = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x, y, z)]
        f = (t[0] + t[1]) * t[2]
        f.backward()
        assert r.values["f"] == pytest.approx(f.item(), abs=1e-15)
        for name, tensor in zip("xyz", t):
            assert r.grads[name] == pytest.approx(tensor.grad.item(), abs=1e-15)
            assert r.autograd[name] == pytest.approx(tensor.grad.item(), abs=1e-15)


# ============================================================================================
# Gradient checking
# ============================================================================================
def test_check_op_passes_for_the_ops_shown():
    """The printed reports: Linear, Sigmoid and SoftmaxCrossEntropy pass below 1e-6."""
    rng = np.random.default_rng(0)
    reports = [
        gradcheck.check_op(Linear, rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)),
        gradcheck.check_op(Sigmoid, rng.standard_normal((4, 3))),
        gradcheck.check_op(SoftmaxCrossEntropy, rng.standard_normal((4, 3)), np.array([0, 2, 1, 1])),
    ]
    for report in reports:
        assert report.passed and report.max_error < 1e-8


def test_optimal_h_is_the_cube_root_of_epsilon():
    """'about 6e-6 in float64 (eps ~ 2.2e-16) and about 5e-3 in float32 (eps ~ 1.2e-7)'."""
    assert np.finfo(np.float64).eps ** (1 / 3) == pytest.approx(6e-6, rel=0.05)
    assert np.finfo(np.float32).eps ** (1 / 3) == pytest.approx(5e-3, rel=0.05)
    assert np.finfo(np.float64).eps == pytest.approx(2.2e-16, rel=0.01)
    assert np.finfo(np.float32).eps == pytest.approx(1.2e-7, rel=0.01)


@pytest.fixture(scope="module")
def sweeps():
    return [gradient_check.run(seed=s) for s in range(5)]


def test_float64_sweep_is_a_v_with_its_bottom_at_1e5(sweeps):
    """'a bottom at h = 1e-5 where the relative error is below 1e-8' (seed 0; every seed below 1e-8 at 1e-5)."""
    assert sweeps[0].best_h("float64") == pytest.approx(1e-5)
    for r in sweeps:
        e = r.errors["float64"]
        assert r.error_at(1e-5) < 1e-8
        assert r.best_h("float64") in (pytest.approx(1e-5), pytest.approx(1e-4))
        assert e[0] > 1e-4 and e[0] > e[1] > e[2]  # truncation side: falls like h^2
        assert r.error_at(1e-10) > 1e-7  # rounding side: rises again


def test_float32_sweep(sweeps):
    """'The float32 curve never gets below 1e-5 (its best point is h = 1e-2); at h = 1e-5 it reports
    an error above 1e-2 ...; for h <= 1e-7 it is exactly 1'."""
    for r in sweeps:
        e = r.errors["float32"]
        assert e.min() > 1e-5
        assert r.best_h("float32") == pytest.approx(1e-2)
        assert r.error_at(1e-5, "float32") > 1e-2
        assert np.all(e[r.hs <= 1e-7 * 1.0001] == 1.0)


def test_one_percent_bug_is_a_flat_line_far_above_the_v(sweeps):
    """'a flat line at 0.01 / 2.01 ~ 5e-3, more than five orders of magnitude above the float64 V at
    h = 1e-5 and far above the 1e-6 threshold'."""
    for r in sweeps:
        flat = r.buggy[r.hs <= 1e-2 * 1.0001]
        np.testing.assert_allclose(flat, 0.01 / 2.01, rtol=0.05)  # "about 5e-3" at every h
        assert r.buggy.min() / r.error_at(1e-5) > 1e5
        assert r.buggy.min() > gradcheck.THRESHOLD
        assert gradient_check.verdict(r.buggy.min()).startswith("suspicious")


def test_threshold_table_matches_the_text():
    """The verdict table in the chapter."""
    rows = [(low, high) for low, high, _ in gradient_check.THRESHOLDS]
    assert rows == [(1e-2, np.inf), (1e-4, 1e-2), (1e-7, 1e-4), (0.0, 1e-7)]
    assert gradient_check.verdict(0.5).startswith("the gradient is probably wrong")
    assert gradient_check.verdict(1e-3).startswith("suspicious")
    assert "kinks" in gradient_check.verdict(1e-5)
    assert gradient_check.verdict(1e-9) == "good"


# ============================================================================================
# XOR with the slides' two-layer network
# ============================================================================================
@pytest.fixture(scope="module")
def xor_small():
    return xor_two_layer.run(steps=1001, seed=0)


def test_xor_three_versions_have_identical_trajectories(xor_small):
    """'The three curves lie on top of each other: the largest difference anywhere is of order 1e-15'."""
    assert set(xor_small.losses) == {"classic", "scratch", "torch"}
    assert xor_small.max_diff < 1e-12
    for seed in (1, 2):
        assert xor_two_layer.run(steps=200, seed=seed).max_diff < 1e-12


def test_xor_plateau_then_drop(xor_small):
    """'after 100 updates E has only fallen from 0.50 to 0.45 ... E drops by two orders of magnitude
    within the next thousand updates'."""
    e = xor_small.losses["classic"]
    assert round(e[0], 2) == 0.50 and round(e[100], 2) == 0.45
    assert e[1000] < e[100] / 100


def test_xor_is_solved_from_every_start():
    """'Every start solves XOR, with all four outputs within 0.03 of their targets after 5000 updates.'"""
    sweep = xor_two_layer.seed_sweep(seeds=range(10), steps=5000)
    assert sweep.solved.all()
    assert sweep.max_output_error.max() < 0.03


def test_xor_weights_are_uniform_in_minus_one_one():
    w1, w2 = xor_two_layer.init_weights(np.random.default_rng(0), hidden=1000)
    assert w1.shape == (3, 1000) and w2.shape == (1000, 1)
    assert w1.min() >= -1 and w1.max() < 1 and abs(w1.mean()) < 0.05


# ============================================================================================
# Digits
# ============================================================================================
@pytest.fixture(scope="module")
def digits_book():
    return digits_two_layer.run(twin=False, progress=False, seed=0)


def test_digits_first_loss_is_ln_10_and_the_start_is_slow(digits_book):
    """'it starts at 2.3025, where ln 10 = 2.3026 says it should'; 'the loss stays within 0.02 of
    ln 10 for the first ten steps'."""
    loss = np.asarray(digits_book.history.loss)
    assert f"{loss[0]:.4f}" == "2.3025"
    assert digits_book.chance_loss == pytest.approx(math.log(10))
    assert np.all(np.abs(loss[:11] - math.log(10)) < 0.02)


def test_digits_accuracy_seed_0(digits_book):
    """'The network fits the training set (100%) and reaches about 96% on the test set'."""
    assert digits_book.train_acc == 1.0
    assert round(digits_book.test_acc, 2) == 0.96
    assert digits_book.dims == (64, 100, 10) and digits_book.n_params == 7510
    assert digits_book.history.steps == 510  # 30 epochs of ceil(1077 / 64) = 17 steps


def test_digits_accuracy_other_seeds():
    """'over seeds 1 to 5 the test accuracy lies between 95% and 99%'."""
    for seed in range(1, 6):
        acc = digits_two_layer.run(twin=False, progress=False, seed=seed).test_acc
        assert 0.95 <= acc <= 0.99, (seed, acc)


def test_digits_torch_twin_follows_the_same_curve():
    """'The torch twin follows the same loss curve to within 1e-15.'"""
    pytest.importorskip("torch")
    r = digits_two_layer.run(epochs=2, twin=True, progress=False, seed=0)
    assert r.twin_max_diff < 1e-12
    assert len(r.torch_history.loss) == len(r.history.loss) == 34


# ============================================================================================
# Capacity vs regularization (book size; only the grid is coarser)
# ============================================================================================
@pytest.fixture(scope="module")
def capacity_runs():
    return {s: capacity.run(seed=s, grid_size=8) for s in (0, 1)}


def test_capacity_seed_0_numbers(capacity_runs):
    """'Three units ... get 72% of the training points right; twenty units reach 98% on the training
    points and 97% on the test points'; 'with lambda = 1e-2 the net is pushed back to about 73%'."""
    r = capacity_runs[0]
    small, _, big = r.sizes
    assert (small.hidden, big.hidden) == (3, 20)
    assert round(small.train_acc, 2) == 0.72
    assert round(big.train_acc, 2) == 0.98 and round(big.test_acc, 2) == 0.97
    assert r.strengths[-1].reg == 1e-2 and round(r.strengths[-1].train_acc, 2) == 0.73


def test_capacity_structural_claims(capacity_runs):
    """More units fit better and generalize at least as well; small nets underfit; every train-test
    gap is a few points at most; a stronger penalty lowers training accuracy step by step, and the
    strongest one underfits badly."""
    for r in capacity_runs.values():
        small, mid, big = r.sizes
        assert small.train_acc < mid.train_acc < big.train_acc
        assert big.test_acc > max(small.test_acc, mid.test_acc)
        assert big.test_acc >= 0.9
        assert all(abs(net.gap) < 0.06 for net in r.nets)
        train = [big.train_acc] + [net.train_acc for net in r.strengths]
        assert all(a >= b for a, b in zip(train, train[1:]))
        assert r.strengths[-1].train_acc < 0.8 and big.train_acc - r.strengths[-1].train_acc > 0.15


def test_capacity_probabilities_on_the_grid(capacity_runs):
    r = capacity_runs[0]
    for net in r.nets:
        assert net.probs.shape == (8, 8, 3)
        np.testing.assert_allclose(net.probs.sum(axis=-1), 1.0, atol=1e-12)


# ============================================================================================
# Perceptron and ADALINE
# ============================================================================================
@pytest.fixture(scope="module")
def classic_runs():
    return {s: history_classic.run(seed=s) for s in range(6)}


def test_perceptron_stops_on_the_separable_set(classic_runs):
    """'On the separable set the perceptron stops after 3 epochs with no mistake left.'"""
    p = classic_runs[0].separable.perceptron
    assert p.converged and len(p.curve) == 3 and p.curve[-1] == 0 and p.accuracy == 1.0
    for r in classic_runs.values():
        assert r.separable.perceptron.converged and len(r.separable.perceptron.curve) <= 10


def test_adaline_on_the_separable_set(classic_runs):
    """'ADALINE gets every point right too'; its step is half the largest stable one."""
    for r in classic_runs.values():
        d = r.separable
        assert d.adaline.accuracy == 1.0 and d.adaline.converged
        xt = np.column_stack([d.x, np.ones(len(d.x))])
        assert d.adaline_lr == pytest.approx(1.0 / np.linalg.eigvalsh(xt.T @ xt).max(), rel=1e-12)


def test_perceptron_never_stops_on_xor(classic_runs):
    """'it makes between 37 and 60 mistakes in every one of the 50 epochs' (seed 0); never stops on any seed."""
    p = classic_runs[0].xor.perceptron
    assert not p.converged and len(p.curve) == 50
    assert (p.curve.min(), p.curve.max()) == (37, 60)
    for r in classic_runs.values():
        curve = r.xor.perceptron.curve
        assert not r.xor.perceptron.converged and curve.min() >= len(r.xor.y) / 5


def test_adaline_stalls_at_n_over_8_on_xor(classic_runs):
    """'its loss stalls at about N/8 = 12.5 ... and its accuracy is 50%, chance level'."""
    d = classic_runs[0].xor
    assert d.adaline_floor == 12.5 and d.adaline.accuracy == 0.5
    assert f"{d.adaline.curve[-1]:.2f}" == "12.48"
    for r in classic_runs.values():
        d = r.xor
        assert d.adaline.converged
        assert d.adaline.curve[-1] == pytest.approx(len(d.y) / 8, rel=0.02)
        assert 0.4 <= d.adaline.accuracy <= 0.6


# ============================================================================================
# Figures: every plotting function returns a Figure for these results (smoke test)
# ============================================================================================
def test_plotting_returns_figures(capacity_runs, classic_runs, sweeps, xor_small, digits_book):
    from matplotlib.figure import Figure

    from course_lib import plotting

    figures = [
        plotting.plot_comp_graph(comp_graph.run()),
        plotting.plot_h_sweep(sweeps[0]),
        plotting.plot_loss_curve(xor_small),
        plotting.plot_loss_curve(digits_book),
        plotting.plot_loss_curve(digits_book.history),
        plotting.plot_capacity(capacity_runs[0]),
        plotting.plot_decision_boundaries(capacity_runs[0], nets=capacity_runs[0].sizes),
        plotting.plot_classic(classic_runs[0]),
    ]
    for fig in figures:
        assert isinstance(fig, Figure) and fig.axes
        assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
