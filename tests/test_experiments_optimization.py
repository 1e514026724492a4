"""Every numeric claim of the chapter on optimization (book/11_optimization.md), asserted as a band,
an ordering or a relation that holds on any IEEE-754 machine, over several seeds where the claim is
statistical. The 2-D experiments are deterministic and cheap and run at the book's size; the
training runs use other seeds and, where said, a narrower network.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_lib import plotting
from course_lib.experiments import (
    adam_algebra,
    lr_curves,
    optimizer_mlp,
    optimizer_paths,
    readable_optim,
    schedules_demo,
)
from course_lib.scratch import optim

LN10 = math.log(10)


# ============================================================================================
# The corrected loops
# ============================================================================================
H = np.array([1.0, 25.0])


def _grad(w):
    return H * w


def _loss(w):
    return 0.5 * float(np.sum(H * w * w))


@pytest.mark.parametrize("mu", [0.0, 0.5, 0.9])
def test_readable_loop_gives_the_library_trajectory(mu):
    """'The listing ... gives exactly the iterates of the library's Momentum (and, with mu = 0,
    of plain gradient descent).'"""
    d = readable_optim.momentum_descent(_grad, np.array([-2.0, 1.0]), lr=0.03, mu=mu, max_steps=50)
    opt = optim.Momentum(0.03, momentum=mu)
    w = np.array([-2.0, 1.0])
    state = opt.init(w)
    for k in range(50):
        w, state = opt.step(w, _grad(w), state)
        np.testing.assert_allclose(d.path[k + 1], w, rtol=0, atol=1e-15)
    assert d.reason == "max steps" and d.steps == 50


def test_each_stopping_test_ends_the_loop():
    """'On the quadratic the gradient-norm and step-size tests end the loop ..., but the
    relative-change test never fires ... On a loss whose progress slows down, like w1^4 + w2^4, the
    same test does end the loop ... with the loss still clearly above zero.'"""
    w0 = np.array([-2.0, 1.0])
    g = readable_optim.gradient_descent(_grad, w0, lr=0.03, grad_tol=1e-3, max_steps=10_000)
    assert g.reason == "gradient norm" and np.linalg.norm(_grad(g.path[-1])) < 1e-3
    # on the quadratic the loss shrinks by a nearly constant factor: the relative test does not fire
    q = readable_optim.momentum_descent(_grad, w0, lr=0.03, mu=0.5, loss=_loss, rel_tol=1e-6, max_steps=1000)
    assert q.reason == "max steps"
    # on w1^4 + w2^4 progress slows down and it does, with the loss still clearly above zero
    r = readable_optim.momentum_descent(lambda w: 4 * w**3, w0 / 2, lr=0.01, mu=0.5,
                                       loss=lambda w: float(np.sum(w**4)), rel_tol=1e-3, max_steps=10_000)
    assert r.reason == "relative loss change" and r.steps < 10_000 and np.sum(r.path[-1] ** 4) > 1e-7
    s = readable_optim.momentum_descent(_grad, w0, lr=0.03, mu=0.9, goal=1e-8, max_steps=10_000)
    assert s.reason == "step size" and s.steps < 10_000
    m = readable_optim.momentum_descent(_grad, w0, lr=0.03, mu=0.9, max_steps=7)
    assert m.reason == "max steps" and m.steps == 7


# ============================================================================================
# Trajectories on 2-D surfaces
# ============================================================================================
@pytest.fixture(scope="module")
def paths():
    return optimizer_paths.run()


def test_sgd_jitters_across_the_steep_direction_and_creeps_along_the_shallow(paths):
    """'SGD's step along the steep w_2 changes sign at every step ({opt_sgd_flips:.0%}), while
    along w_1 it never passes the minimum.'"""
    assert paths.sign_flip_fraction("SGD") == 1.0
    assert paths.sign_flip_fraction("SGD", coord=0) == 0.0
    assert paths.overshoot("SGD") == 0.0


def test_momentum_overshoots_the_shallow_direction(paths):
    """'momentum carries w_1 past the minimum by {opt_mom_overshoot:.2f} (Nesterov by
    {opt_nest_overshoot:.2f}: less).'"""
    assert paths.overshoot("momentum") > 0.3
    assert 0 < paths.overshoot("Nesterov") < paths.overshoot("momentum")


def test_adaptive_methods_scale_each_coordinate(paths):
    """'SGD's first step is {opt_sgd_ratio:.1f} times longer along w_2 than along w_1 (the ratio
    of the gradients); the adaptive methods' first steps are equally long on both axes.'"""
    assert paths.first_step_ratio("SGD") == pytest.approx(25 * 1.0 / 4.0, rel=1e-12)
    for label in ("Adagrad", "RMSProp", "Adadelta", "Adam"):
        assert paths.first_step_ratio(label) == pytest.approx(1.0, rel=1e-5)
    # 'Adam, with its first-moment average, also overshoots; Adadelta starts slowly'
    assert paths.overshoot("Adam") > 0.1
    first = np.abs(paths.paths["quadratic", "Adadelta"][1] - paths.paths["quadratic", "Adadelta"][0])
    assert np.all(first < 0.01) and paths.final_loss("Adadelta", "quadratic") > 1.0


def test_escape_from_the_saddle(paths):
    """'the adaptive methods leave the saddle in a handful of steps, momentum and Nesterov in a few
    dozen, SGD in {opt_sgd_escape}'."""
    esc = {label: paths.escape_step(label) for label in paths.labels}
    assert all(e > 0 for e in esc.values())
    for a in ("Adagrad", "RMSProp", "Adam"):
        assert esc[a] <= 5
    assert max(esc["Adagrad"], esc["RMSProp"], esc["Adam"]) < min(esc["momentum"], esc["Nesterov"])
    assert max(esc["momentum"], esc["Nesterov"]) < esc["SGD"]
    # SGD: |w_2| grows by (1 + lr) per step near the saddle, from 1e-3 to 0.5: about ln(500) / ln(1.1) = 65
    assert 60 <= esc["SGD"] <= 75


def test_rosenbrock_momentum_and_adam_beat_sgd(paths):
    """'On Rosenbrock's valley, after {opt_rosen_steps} steps SGD's loss is still {opt_rosen_sgd},
    momentum's, Nesterov's and Adam's are far lower.'"""
    sgd = paths.final_loss("SGD", "rosenbrock")
    assert sgd > 0.1
    for label in ("momentum", "Nesterov", "Adam"):
        assert paths.final_loss(label, "rosenbrock") < 0.01 * sgd
    # 'Adagrad has slowed down on the way ..., Adadelta has stalled on the valley's wall'
    adam = paths.final_loss("Adam", "rosenbrock")
    assert paths.final_loss("Adagrad", "rosenbrock") > 10 * adam
    assert paths.final_loss("Adadelta", "rosenbrock") > 10 * adam


def test_the_stability_edge_is_two_over_L(paths):
    """'just below 2/L the steep coordinate shrinks, just above it grows without bound.'"""
    assert paths.stable_lr == pytest.approx(2 / 25)
    below, above = paths.edge_paths["below"][:, 1], paths.edge_paths["above"][:, 1]
    assert abs(below[-1]) < abs(below[0]) and abs(above[-1]) > 10 * abs(above[0])
    # exactly |1 - lr L| per step
    np.testing.assert_allclose(np.abs(above[1:] / above[:-1]), 1.1, rtol=1e-12)


# ============================================================================================
# Adam's algebra
# ============================================================================================
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adam_algebra(seed):
    """'Adam's first step has size lr on every coordinate, whatever the gradient's scale; the
    trajectory does not change when every gradient is multiplied by c; without bias correction the
    first step is (1 - beta_1) / sqrt(1 - beta_2) = 3.16 times too large, correcting only v makes
    it (1 - beta_1) = 0.1 times too small.'"""
    r = adam_algebra.run(seed=seed)
    np.testing.assert_allclose(r.first_step, r.lr, rtol=1e-5)
    assert r.adam_scale_spread < 1e-8
    np.testing.assert_allclose(r.adam_final_norm, r.adam_final_norm[0], rtol=1e-8)
    assert not np.isfinite(r.sgd_final_norm[-1])  # c = 1000: SGD diverges
    assert r.sgd_final_norm[0] > 10 * r.sgd_final_norm[1]  # c = 0.001: SGD barely moves
    assert r.step_ratio["none"][0] == pytest.approx(0.1 / math.sqrt(0.001))
    assert r.step_ratio["v only"][0] == pytest.approx(0.1)
    assert r.step_ratio["m only"][0] == pytest.approx(1 / math.sqrt(0.001))
    for key in ("none", "m only", "v only"):
        assert abs(r.step_ratio[key][-1] - 1) < 0.05  # all tend to 1 after a few thousand steps


# ============================================================================================
# Training runs on digits
# ============================================================================================
@pytest.mark.parametrize("seed", [1, 2])
def test_lr_curves_match_the_slides(seed):
    """'The good rate ends lowest; the very high one never gets below chance (ln 10); the low one
    falls at every epoch and still ends far above the good one; the high one stalls above the good.'"""
    r = lr_curves.run(epochs=12, seed=seed)
    good, high, low, very = (r.final(k) for k in ("good", "high", "low", "very high"))
    assert good < min(high, low, very)
    very_curve = r.curves[r.labels.index("very high")]
    assert np.all(very_curve[np.isfinite(very_curve)] > LN10) or not np.isfinite(very)
    low_curve = r.curves[r.labels.index("low")]
    assert np.all(np.diff(low_curve) < 0) and low > 10 * good
    assert high > 5 * good


@pytest.mark.parametrize("seed", [1, 2])
def test_every_decay_beats_the_constant_rate(seed):
    """'every decaying schedule ends with a training loss several times lower than the constant
    rate.'"""
    r = schedules_demo.run(epochs=12, seed=seed)
    const = r.final("constant")
    for label in r.labels[1:]:
        assert r.final(label) < 0.5 * const, label
    # the schedules' shapes
    lr = dict(zip(r.labels, r.lr))
    assert np.all(lr["constant"] == 0.5)
    for label in ("step (halve every 4 epochs)", "exponential", "1/t", "cosine"):
        assert lr[label][0] == 0.5 and np.all(np.diff(lr[label]) <= 1e-15)
    w = lr["warmup + cosine"]
    assert w[0] < 0.1 * w.max() and w.max() == pytest.approx(0.5)


def test_optimizer_mlp_adam_against_the_others():
    """'At its best rate Adam ends below plain SGD, Adagrad, RMSProp and Adadelta' (asserted on
    two seeds the page does not show, at width 128; SGD with Nesterov momentum is not in the claim)."""
    r = optimizer_mlp.run(names=("SGD", "Adagrad", "RMSProp", "Adadelta", "Adam"), width=128, epochs=10,
                          n_seeds=2, seed=1, progress=False)
    best = r.best_final()
    adam = best[r.names.index("Adam")]
    for i, name in enumerate(r.names):
        if name != "Adam":
            assert np.all(adam < best[i]), name


def test_plots_return_figures(paths):
    """Every figure function runs on a (small) result."""
    from matplotlib.figure import Figure

    assert isinstance(plotting.plot_optimizer_paths(paths), Figure)
    assert isinstance(plotting.plot_stability_edge(paths), Figure)
    assert isinstance(plotting.plot_adam_bias(adam_algebra.run()), Figure)
    r = lr_curves.run(rates={"low": 0.01, "good": 0.1}, epochs=2)
    assert isinstance(plotting.plot_lr_curves(r), Figure)
    s = schedules_demo.run(epochs=2)
    assert isinstance(plotting.plot_schedules(s), Figure)
    m = optimizer_mlp.run(names=("SGD", "Adam"), width=16, epochs=2, progress=False)
    assert isinstance(plotting.plot_optimizer_mlp(m), Figure)
