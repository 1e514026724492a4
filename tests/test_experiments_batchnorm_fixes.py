"""Every numeric claim of chapter 7 (book/07_batchnorm_fixes.md), asserted as a band, an ordering or
a relation, over several seeds where the claim is statistical. The book's own configuration runs
once (the prose glues its values); other seeds run at the same or a smaller size.

Training runs amplify the rounding differences of BLAS kernels, so no test asserts a machine's
digits. The runs "without batch norm" are asserted equal to the earlier chapters' experiments on
the same machine (identical operations, so identical results), which is what "the same protocol"
means.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from course_lib import plotting
from course_lib.data import load_digits
from course_lib.experiments import bn_lr_sweep, bn_mnist, bn_rescue, dead_relu, init_training, sigmoid_saturation
from course_lib.scratch.model import MLP

LN10 = math.log(10)


# ============================================================================================
# Scale invariance
# ============================================================================================
def _scaled_losses(norm):
    digits = load_digits(seed=0, scale="unit")
    x, y = digits.x_train[:64], digits.y_train[:64]
    loss, grads = MLP([64, 50, 50, 10], init="he_normal", rng=0, norm=norm).loss(x, y)
    scaled = MLP([64, 50, 50, 10], init="he_normal", rng=0, norm=norm)
    scaled.params["W1"] = 10 * scaled.params["W1"]
    loss_10, grads_10 = scaled.loss(x, y)
    return loss, loss_10, np.linalg.norm(grads["W1"]) / np.linalg.norm(grads_10["W1"])


def test_scale_invariance():
    """'With batch norm the loss moves by only {5e-07} (the epsilon in the denominator) and the
    gradient of W1 shrinks by a factor {10.00}, as the formula says. Without it the same rescaling
    changes the loss from {2.46} to {9.18}.'"""
    loss, loss_10, shrink = _scaled_losses("batch")
    assert abs(loss_10 - loss) < 1e-4 * loss
    assert 9.9 < shrink < 10.1
    loss, loss_10, _ = _scaled_losses(None)
    assert loss_10 > loss + 3.0


def test_torch_twin_agrees():
    """'The PyTorch twin computes the same loss, and autograd finds the same gradients as the scratch
    MLP's hand-chained backward pass': to rounding (float64)."""
    torch = pytest.importorskip("torch")
    from course_lib.torch_impl.model import MLP as TorchMLP

    digits = load_digits(seed=0, scale="unit")
    x, y = digits.x_train[:64], digits.y_train[:64]
    net = MLP([64, 50, 50, 10], init="he_normal", rng=0, norm="batch")
    twin = TorchMLP(net.dims, norm="batch")
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in {**net.params, **net.running}.items()})
    loss, grads = net.loss(x, y)
    twin_loss = twin.loss(x, y)
    twin_loss.backward()
    assert abs(loss - twin_loss.item()) <= 1e-12 * loss
    scale = max(np.abs(g).max() for g in grads.values())
    assert all(np.abs(grads[k] - getattr(twin, k).grad.numpy()).max() <= 1e-10 * scale for k in grads)


# ============================================================================================
# Ioffe & Szegedy's Figure 1
# ============================================================================================
@pytest.fixture(scope="module")
def mnist_runs():
    book = bn_mnist.run(steps=3000, record_every=25, lr=0.5, batch_size=60, weight_scale=0.1, unit=0, seed=0,
                        progress=False)
    others = [bn_mnist.run(steps=3000, record_every=25, seed=s, progress=False) for s in (1, 2)]
    return [book] + others


def test_bn_mnist_faster(mnist_runs):
    """'With batch norm the test accuracy passes 90% after {50} steps; without it after {1200},
    about {24} times as many. At step 500 the two nets stand at {95%} and {42%}.' Every seed: at
    least five times fewer steps; at step 500 the batch-normalized net is above 90%, the plain one
    below 60%."""
    for res in mnist_runs:
        plain, normed = res.runs["plain"], res.runs["batch norm"]
        assert res.steps_to("batch norm", 0.9) * 5 <= res.steps_to("plain", 0.9) < math.inf
        assert normed.test_acc[res.at(500)] >= 0.9 and plain.test_acc[res.at(500)] <= 0.6


def test_bn_mnist_ends_higher(mnist_runs):
    """'After 3000 steps the batch-normalized net is still ahead, {97.8%} against {93.9%}.' On average
    over three seeds by at least a point, and on no seed behind by more than a point."""
    diffs = np.array([r.runs["batch norm"].test_acc[-1] - r.runs["plain"].test_acc[-1] for r in mnist_runs])
    assert diffs.mean() >= 0.01 and diffs.min() >= -0.01
    assert all(r.runs["batch norm"].test_acc[-1] >= 0.95 for r in mnist_runs)


def test_bn_mnist_percentiles_drift_without_bn(mnist_runs):
    """'Over all 100 units of the last hidden layer, the median's wandering ... has a median of
    {0.72} without batch norm and {0.08} with it.' Every seed: at least three times more without."""
    for res in mnist_runs:
        plain, normed = np.median(res.runs["plain"].drift()), np.median(res.runs["batch norm"].drift())
        assert plain >= 0.4 and normed <= 0.2 and plain >= 3 * normed


def test_bn_mnist_the_shown_unit(mnist_runs):
    """'The shown unit's input starts as a narrow peak at {0.17} ... its spread ... is {0.02}. The first
    few hundred steps push it down to a median of {-1.63} ... ending at a median of {-1.05} with a
    spread of {1.38}.' and 'The median stays between {-0.07} and {0.16}, and the spread changes only
    from {2.08} to {2.98}.' The book's seed, unit 1."""
    res = mnist_runs[0]
    p_plain = res.runs["plain"].percentiles[:, :, res.unit]
    p_bn = res.runs["batch norm"].percentiles[:, :, res.unit]
    assert p_plain[0, 2] - p_plain[0, 0] < 0.1
    low = int(np.argmin(p_plain[:, 1]))
    assert p_plain[low, 1] < -1.0 and res.steps[low] <= 1000
    assert p_plain[-1, 1] > p_plain[low, 1] + 0.3  # it climbs back
    assert p_plain[-1, 2] - p_plain[-1, 0] > 10 * (p_plain[0, 2] - p_plain[0, 0])  # and spreads
    assert np.all(np.abs(p_bn[:, 1]) < 0.5)
    spread = p_bn[:, 2] - p_bn[:, 0]
    assert 1.8 < spread[0] < 2.3  # a standardized input: the 15th-85th range of N(0, 1) is 2.07
    assert np.all((spread > 1.5) & (spread < 4.0))


def test_bn_mnist_same_start(mnist_runs):
    """Question: 'at step 0 the two nets have the same weights': they answer alike at step 0."""
    for res in mnist_runs:
        assert abs(res.runs["plain"].test_acc[0] - res.runs["batch norm"].test_acc[0]) <= 0.01


# ============================================================================================
# The rescues
# ============================================================================================
def test_deep_plain_is_chapter_3s_run():
    """'the runs without batch norm reproduce the earlier chapters' numbers': init_training's net."""
    ours = bn_rescue.run_deep(seeds=(0,), epochs=1, labels=("plain",), progress=False).runs["plain", 0]
    theirs = init_training.run(schemes=("xavier_normal",), seeds=(0,), epochs=1, progress=False).runs[
        "xavier_normal", 0]
    np.testing.assert_allclose(ours.history.loss, theirs.history.loss, rtol=1e-12)
    np.testing.assert_allclose(ours.grad_abs_mean, theirs.grad_abs_mean, rtol=1e-12)


@pytest.fixture(scope="module")
def rescue():
    return bn_rescue.run(deep_epochs=10, dead_seeds=3, dead_recovery=500, saturation_steps=2000, seed=0,
                         progress=False)


def test_deep_net_trains_with_bn(rescue):
    """'the loss stayed at ln 10: here again {2.3026} in the tenth epoch, with {10%} validation accuracy
    and a first-layer gradient of {4e-07}. With batch norm the same weights train: the loss ... ends
    the tenth epoch at {1.13}, and the validation accuracy reaches {66%} ... a first-layer gradient of
    {2.0}.'"""
    plain, normed = rescue.deep.runs["plain", 0], rescue.deep.runs["batch norm", 0]
    assert abs(plain.final_loss - LN10) < 0.01 and plain.val_acc <= 0.15
    assert normed.final_loss < 1.5 and normed.val_acc >= 0.5
    assert normed.grad_abs_mean[0] > 1e4 * plain.grad_abs_mean[0]
    assert 0.5 < normed.grad_abs_mean[0] < 10


def test_deep_net_trains_with_bn_other_seeds():
    """The same on other seeds (weights and mini-batches)."""
    res = bn_rescue.run_deep(seeds=(1, 2), labels=("batch norm",), progress=False)
    assert np.all(res.final_losses("batch norm") < 1.5) and np.all(res.val_accs("batch norm") >= 0.5)


def test_dead_plain_is_chapter_2s_run():
    """The dead-ReLU runs without batch norm are chapter 2's ReLU variant."""
    ours = bn_rescue.run_dead(n_seeds=1, recovery=50, labels=("plain",), progress=False).runs["plain"][0]
    theirs = dead_relu.run_variant(dead_relu.VARIANTS[0], seed=0, recovery=50)
    assert np.array_equal(ours.off, theirs.off)
    np.testing.assert_allclose(ours.val_error, theirs.val_error, atol=1e-12)


def test_no_dead_relus_with_bn(rescue):
    """'without batch norm about {5} units of the first layer are off before the step, {24} right after
    it and {31} at the end; the second layer ends with {57} of 100 dead units. With batch norm, not one
    unit is off ... in any of the three seeds or either layer (the largest count is {0}).' ... 'The big
    step still wrecks the net for the moment: right after it the validation error is {86%} ... the net
    retrains to {3.8%} validation error, against {6.7%} for the plain net.'"""
    dead = rescue.dead
    off_plain, off_bn = dead.off("plain"), dead.off("batch norm")
    assert off_bn.max() == 0
    assert off_plain[:, 2, 0].mean() >= 10 and off_plain[:, 3, 0].mean() >= off_plain[:, 1, 0].mean() + 10
    assert off_plain[:, 3, 1].mean() >= 20
    err_bn, err_plain = dead.val_error("batch norm"), dead.val_error("plain")
    assert np.all(err_bn[:, 2] >= 0.5)
    assert err_bn[:, 3].mean() < err_plain[:, 3].mean() and np.all(err_bn[:, 3] < 0.1)


def test_dead_relus_rare_with_bn_on_other_seeds():
    """'On other seeds an occasional second-layer unit does switch off late in training: batch norm
    makes dead units rare, not impossible.'"""
    res = bn_rescue.run_dead(n_seeds=3, seed=3, progress=False)
    assert res.off("batch norm")[:, :, 0].max() == 0
    assert res.off("batch norm").max() <= 3
    assert res.off("plain")[:, 2:, :].mean() >= 10 * max(res.off("batch norm").mean(), 0.1)


def test_saturation_plain_is_chapter_2s_run():
    """The sigmoid runs without batch norm are chapter 2's saturation experiment."""
    ours = bn_rescue.run_saturation(steps=100, record_every=50, labels=("plain",), progress=False)
    theirs = sigmoid_saturation.run(steps=100, record_every=50, progress=False)
    np.testing.assert_allclose(ours.runs["plain"].mean, theirs.mean, rtol=1e-10)
    np.testing.assert_allclose(ours.runs["plain"].val_acc, theirs.val_acc)
    np.testing.assert_allclose(ours.runs["plain"].loss, theirs.loss, rtol=1e-10)


def test_no_saturation_with_bn(rescue):
    """'the top layer's mean activation falls to {0.07} after 2000 steps and the validation accuracy
    never exceeds {10%}. With batch norm before every sigmoid, the top layer's mean stays between
    {0.49} and {0.50}, with a standard deviation of {0.21} at the end ... The net reaches {94%}
    validation accuracy after 250 steps and {95%} at the end.'"""
    sat = rescue.saturation
    plain, normed = sat.runs["plain"], sat.runs["batch norm"]
    assert plain.mean[-1, -1] < 0.15 and plain.val_acc.max() <= 0.2
    assert np.all((normed.mean[:, -1] > 0.4) & (normed.mean[:, -1] < 0.6))
    assert 0.1 < normed.std[-1, -1] < 0.35
    assert normed.val_acc[sat.at(250)] >= 0.85 and normed.val_acc[-1] >= 0.9


def test_no_saturation_with_bn_other_seed():
    """The same on another seed, over a shorter run."""
    res = bn_rescue.run_saturation(steps=600, seed=1, progress=False)
    plain, normed = res.runs["plain"], res.runs["batch norm"]
    assert plain.mean[-1, -1] < 0.25 and plain.val_acc.max() <= 0.2
    assert np.all((normed.mean[:, -1] > 0.4) & (normed.mean[:, -1] < 0.6)) and normed.val_acc[-1] >= 0.85


# ============================================================================================
# The learning-rate sweep
# ============================================================================================
@pytest.fixture(scope="module")
def sweep():
    return bn_lr_sweep.run(lrs=bn_lr_sweep.DEFAULT_LRS, depth=4, width=100, steps=300, batch_size=64, threshold=0.8,
                           seeds=(0,), progress=False)


def test_sweep_book_numbers(sweep):
    """'Without batch norm the largest learning rate that trains is {0.32}; from {1} on, the runs
    diverge. With batch norm it is {3.2}, a factor {10} higher, where the net still reaches {98%}
    validation accuracy.' ... 'At {10} the batch-normalized net no longer learns (final loss {2.39}).'"""
    lrs = sweep.lrs
    plain_max, bn_max = sweep.largest_lr("plain")[0], sweep.largest_lr("batch norm")[0]
    assert bn_max >= 3 * plain_max
    above = lrs > plain_max
    assert not sweep.trains("plain")[0, above].any()
    assert not np.isfinite(sweep.final_loss["plain"][0, above][0])  # the next rate diverges
    j = int(np.nonzero(lrs == bn_max)[0][0])
    assert sweep.val_acc["batch norm"][0, j] >= 0.9
    assert j + 1 < lrs.size and not sweep.trains("batch norm")[0, j + 1]
    assert sweep.final_loss["batch norm"][0, j + 1] > 1.5  # no longer learns (inf counts too)


def test_sweep_small_lr_about_equal(sweep):
    """'at {0.1} both nets reach about the same accuracy ({96%} without, {96%} with)': within three points."""
    j = int(np.argmin(np.abs(sweep.lrs - 0.1)))
    assert abs(sweep.val_acc["plain"][0, j] - sweep.val_acc["batch norm"][0, j]) <= 0.03


def test_sweep_other_seeds():
    """'the largest learning rate that still trains is larger with batch norm', by at least a factor
    three (a decade on the book's seed), on other seeds."""
    res = bn_lr_sweep.run(lrs=(0.1, 0.3162, 1.0, 3.1623, 10.0), seeds=(1, 2), progress=False)
    assert np.all(res.largest_lr("batch norm") >= 3 * res.largest_lr("plain"))
    assert np.all(res.trains("plain")[:, 1]) and not res.trains("plain")[:, 2:].any()
    assert not res.trains("batch norm")[:, -1].any()


# ============================================================================================
# Figures and argument checks
# ============================================================================================
def test_figures(mnist_runs, rescue, sweep):
    for fig in (plotting.plot_bn_mnist(mnist_runs[0]), plotting.plot_bn_rescue(rescue),
                plotting.plot_bn_lr_sweep(sweep)):
        assert isinstance(fig, Figure) and fig.axes


@pytest.mark.parametrize("call, match", [
    (lambda: bn_mnist.run(steps=0), "steps"),
    (lambda: bn_mnist.run(unit=100), "unit"),
    (lambda: bn_lr_sweep.run(lrs=(0.1, -1.0)), "lrs"),
    (lambda: bn_lr_sweep.run(labels=("nope",)), "labels"),
    (lambda: bn_rescue.run_deep(depth=1), "depth"),
    (lambda: bn_rescue.run_dead(n_seeds=0), "n_seeds"),
    (lambda: bn_rescue.run_saturation(batch_size=1), "batch_size"),
    (lambda: bn_rescue.run_dead(labels=("nope",), n_seeds=1, warmup=1, recovery=1), "label"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
