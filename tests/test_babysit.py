"""Babysitting helpers: initial loss, overfitting a tiny subset, the lr range test, reading the curves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_lib import babysit as B
from course_lib.data import load_digits
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import Solver
from course_lib.torch_impl.model import MLP as TorchMLP


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


def test_expected_initial_loss_is_ln_c() -> None:
    """"the '~2.5' for 10 classes is ln 10 = 2.30": equal scores give a uniform softmax."""
    assert B.expected_initial_loss(10) == pytest.approx(math.log(10))
    assert 2.25 < B.expected_initial_loss(10) < 2.5
    assert B.expected_initial_loss(3, loss="svm") == 2.0
    with pytest.raises(ValueError, match="num_classes"):
        B.expected_initial_loss(1)
    with pytest.raises(ValueError, match="loss"):
        B.expected_initial_loss(10, loss="mse")


@pytest.mark.parametrize("side", ["scratch", "torch"])
def test_initial_loss_matches_ln_c_and_regularization_raises_it(digits, side) -> None:
    """Small random weights start at ln C; turning regularization on makes the loss grow."""
    cls = MLP if side == "scratch" else TorchMLP
    model = cls([64, 50, 10], rng=0)
    check = B.initial_loss_check(model, digits.x_train, digits.y_train)
    assert check.ok and abs(check.measured - math.log(10)) < 0.05
    assert check.reg_raises and check.with_reg > check.measured + 0.01
    assert model.reg == 0.0  # restored
    big = B.initial_loss_check(cls([64, 50, 10], weight_scale=1.0, rng=0), digits.x_train, digits.y_train)
    assert not big.ok and big.measured > 1.5 * big.expected  # large weights: confident wrong scores


def test_initial_loss_check_svm_and_bad_arguments(digits) -> None:
    check = B.initial_loss_check(MLP([64, 20, 10], loss="svm", reg=0.5, rng=0), digits.x_val, digits.y_val)
    assert check.expected == 9.0 and check.ok and check.reg == 0.5 and check.reg_raises
    with pytest.raises(ValueError, match="reg"):
        B.initial_loss_check(MLP([64, 10], rng=0), digits.x_val, digits.y_val, reg=0.0)
    with pytest.raises(TypeError, match="reg"):
        B.initial_loss_check(object(), digits.x_val, digits.y_val)


@pytest.mark.parametrize("side", ["scratch", "torch"])
def test_a_working_model_overfits_twenty_examples(digits, side) -> None:
    """Step 3 of the recipe: training accuracy 1.0 on 20 examples, loss near zero."""
    cls = MLP if side == "scratch" else TorchMLP
    result = B.overfit_small_subset(lambda: cls([64, 50, 10], weight_scale=0.1, rng=0), digits, n=20, steps=200)
    assert result.passed and result.train_acc == 1.0 and result.final_loss < 0.05
    assert result.n == 20 and len(result.loss) == result.steps == 200


def test_a_frozen_model_does_not_overfit(digits) -> None:
    """The negative control: lr = 0 stands for a broken update; the check fails."""
    result = B.overfit_small_subset(lambda: MLP([64, 50, 10], weight_scale=0.1, rng=0), digits, n=20, steps=50,
                                    lr=0.0)
    assert not result.passed and result.final_loss > 2.0
    with pytest.raises(ValueError, match="n must be"):
        B.overfit_small_subset(lambda: MLP([64, 10], rng=0), digits, n=10**6)


def test_lr_range_test_grid_is_u_shaped(digits) -> None:
    """Smith (2017): too small an lr barely moves the loss, too large one hurts; the best lies inside the grid."""
    lrs = np.geomspace(1e-4, 10, 6)
    result = B.lr_range_test(lambda: MLP([64, 50, 10], weight_scale=0.1, rng=0), digits, lrs, steps=30)
    assert result.mode == "grid" and result.loss.shape == (6,)
    assert abs(result.loss[0] - result.initial_loss) < 0.05 * result.initial_loss  # lr 1e-4: nothing happens
    assert lrs[0] < result.best_lr < lrs[-1]
    assert result.loss.min() < 0.6 * result.initial_loss
    assert result.loss[-1] > 2 * result.loss.min()
    assert result.decreasing[np.argmin(result.loss)]


def test_lr_range_test_exponential_stops_when_the_loss_blows_up(digits) -> None:
    steps = 200
    result = B.lr_range_test(lambda: MLP([64, 50, 10], weight_scale=0.1, rng=0), digits, [1e-4, 10], steps=steps,
                             mode="exponential")
    assert np.all(np.diff(result.lrs) > 0) and result.lrs[0] == pytest.approx(1e-4)
    assert len(result.loss) < steps and result.diverged[-1]
    assert result.loss.min() < 0.5 * result.initial_loss
    assert 1e-4 < result.best_lr < result.lrs[-1]


def test_lr_range_test_with_a_torch_model_and_bad_arguments(digits) -> None:
    result = B.lr_range_test(lambda: TorchMLP([64, 20, 10], weight_scale=0.1, rng=0), digits, [1e-4, 0.3],
                             steps=20)
    assert result.loss[1] < result.loss[0]
    for lrs in ([0.1], [0.0, 1.0], [[0.1, 1.0]]):
        with pytest.raises(ValueError, match="lrs"):
            B.lr_range_test(lambda: MLP([64, 10], rng=0), digits, lrs)
    with pytest.raises(ValueError, match="mode"):
        B.lr_range_test(lambda: MLP([64, 10], rng=0), digits, [0.1, 1.0], mode="linear")


# ----- diagnose_curves ---------------------------------------------------------------------
T = np.arange(400)
NOISE = 0.02 * np.random.default_rng(0).standard_normal(T.size)


@pytest.mark.parametrize(
    "loss, kind",
    [
        (2.3 * np.exp(T / 80) + NOISE, "lr_too_high"),  # explodes
        (np.r_[2.3, 2.0, np.nan, np.nan], "lr_too_high"),  # nan
        (1.5 + 0.8 * np.exp(-T / 5) + NOISE, "lr_too_high"),  # drops at once, then a high plateau
        (np.where(T < 150, 2.3, 0.2 + 2.1 * np.exp(-(T - 150) / 20)) + NOISE, "bad_init"),
        (2.3 - 0.003 * T + NOISE, "lr_too_low"),  # slow, linear
        (2.3 + NOISE, "lr_too_low"),  # does not move
        (0.1 + 2.2 * np.exp(-T / 40) + NOISE, "healthy"),
    ],
    ids=["explodes", "nan", "high_plateau", "flat_then_drop", "linear", "flat", "healthy"],
)
def test_diagnose_synthetic_loss_curves(loss, kind) -> None:
    """Each row of the slides' loss-curve table is recognized on a curve of that shape."""
    if kind == "lr_too_high" and np.isnan(loss).any():
        loss = np.r_[loss, [2.0] * 6]
    d = B.diagnose_curves(loss)
    assert d.kind == kind, str(d)
    assert d.reason and d.advice == B.DIAGNOSES[kind][1] and kind in str(d)


def test_diagnose_accuracy_gap() -> None:
    """Big gap = overfitting (more regularization); no gap = increase capacity."""
    healthy = 0.1 + 2.2 * np.exp(-T / 40)
    assert B.diagnose_curves(healthy, val_acc=[0.7, 0.8], train_acc=[0.8, 1.0]).kind == "overfitting"
    assert B.diagnose_curves(healthy, val_acc=[0.7, 0.79], train_acc=[0.7, 0.8]).kind == "no_gap"
    assert B.diagnose_curves(healthy, val_acc=[0.97], train_acc=[1.0]).kind == "healthy"
    assert B.diagnose_curves(healthy, val_acc=[0.99], train_acc=[0.995]).kind == "healthy"  # at the ceiling
    with pytest.raises(ValueError, match="train_loss"):
        B.diagnose_curves([2.3, 2.2])


@pytest.mark.parametrize(
    "dims, weight_scale, lr, epochs, kind",
    [
        ([64, 50, 10], 0.1, 1e-3, 5, "lr_too_low"),
        ([64, 50, 50, 10], 0.01, 0.1, 15, "bad_init"),  # tiny weights in depth: flat, then a sudden drop
    ],
    ids=["tiny_lr", "tiny_init_depth"],
)
def test_diagnose_real_curves_on_digits(digits, dims, weight_scale, lr, epochs, kind) -> None:
    h = Solver(MLP(dims, weight_scale=weight_scale, rng=0), digits, SGD(lr, momentum=0.9), batch_size=64,
               epochs=epochs, progress=False).train()
    assert B.diagnose_curves(h.loss, h.val_acc, h.train_acc).kind == kind


@pytest.mark.parametrize("lr, verdict", [(1e-4, "too low"), (1e-2, "ok"), (1.0, "too high")])
def test_update_ratio_report_reads_the_learning_rate_off_the_weights(digits, lr, verdict) -> None:
    """The update/weight ratio of the weight matrices is about 1e-3 for a good lr; decades off for bad ones."""
    h = Solver(MLP([64, 32, 10], weight_scale=0.1, rng=0), digits, SGD(lr), batch_size=64, epochs=2,
               update_ratio_every=5, progress=False).train()
    rows = B.update_ratio_report(h)
    assert [r.name for r in rows] == ["W1", "W2"]
    assert all(r.verdict == verdict for r in rows), rows
    assert all(r.median <= r.max for r in rows)
    assert {r.name for r in B.update_ratio_report(h, weights_only=False)} == {"W1", "b1", "W2", "b2"}


def test_update_ratio_report_needs_ratios(digits) -> None:
    h = Solver(MLP([64, 10], rng=0), digits, SGD(0.1), epochs=1, progress=False).train()
    with pytest.raises(ValueError, match="update_ratio_every"):
        B.update_ratio_report(h)
