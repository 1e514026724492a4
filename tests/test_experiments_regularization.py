"""The claims of the chapter "Overfitting and regularization" (book/09_regularization.md), at small size.

Orderings and bands over seeds, never this machine's digits. The MNIST-1D runs are the chapter's
protocol (an MLP 40-256-256-10, Adam, mini-batches of 100); they are the slow part of this file.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib.experiments import bias_variance, dropout_overfit, regularizers
from course_lib.gradcheck import numerical_grad, rel_error


# ----- bias-variance ----------------------------------------------------------------------
@pytest.fixture(scope="module", params=[0, 1, 2])
def bv(request):
    return bias_variance.run(n_sets=600, seed=request.param)


def test_decomposition_matches_the_measured_error(bv):
    """'bias² + variance + sigma² equals the measured expected error ... within its Monte-Carlo error.'"""
    gap = np.abs(bv.test_error - bv.decomposition)
    assert np.all(gap <= 4 * bv.test_error_se + 1e-12), (gap / bv.test_error_se).round(2)
    assert bv.noise == pytest.approx(bv.sigma ** 2)


def test_bias_falls_variance_rises_and_the_error_is_u_shaped(bv):
    """'Bias² falls with the degree and variance rises; the test error is U-shaped, lowest at a middle degree.'"""
    d = list(bv.degrees)
    assert bv.bias2[d.index(0)] > 10 * bv.bias2[d.index(5)]
    assert np.all(np.diff(bv.variance) > 0)
    assert 3 <= bv.best_degree <= 6
    assert bv.test_error[-1] > 3 * bv.test_error.min() and bv.test_error[0] > 3 * bv.test_error.min()
    assert np.all(np.diff(bv.train_error[3:]) < 0)  # training error keeps falling past the best degree


def test_noise_floor(bv):
    """'No model beats the noise: the smallest test error stays above sigma².'"""
    assert bv.test_error.min() > bv.noise


# ----- activation L1 ------------------------------------------------------------------------
def test_activation_l1_gradient():
    """The activation penalty's gradient, checked by central differences and against autograd."""
    rng = np.random.default_rng(0)
    hidden = [rng.standard_normal((5, 4)) + 0.3, rng.standard_normal((5, 3)) - 0.2]
    value, grads = regularizers.activation_l1(hidden, 0.7)
    for k, h in enumerate(hidden):
        def f(x, k=k):
            hs = list(hidden)
            hs[k] = x
            return np.array(regularizers.activation_l1(hs, 0.7)[0])
        assert rel_error(numerical_grad(f, h.copy(), np.array(1.0)), grads[k]) < 1e-6
    ts = [torch.tensor(h, requires_grad=True) for h in hidden]
    total = 0.7 / 5 * sum(t.abs().sum() for t in ts)
    total.backward()
    assert value == pytest.approx(float(total.detach()))
    for t, g in zip(ts, grads):
        np.testing.assert_allclose(t.grad.numpy(), g)
    with pytest.raises(ValueError, match="hidden"):
        regularizers.activation_l1([np.zeros((2, 3)), np.zeros((3, 3))], 0.1)


def test_regularized_eval_mode_is_the_plain_loss():
    """Noise and the activation penalty act in training only; eval mode gives the MLP's own loss."""
    data = regularizers.load_subset("mnist1d", 50, 0)
    mlp = regularizers.MLP([40, 8, 10], rng=0, dtype=torch.float32)
    model = regularizers.Regularized(mlp, act_l1=0.1, noise_std=0.5, generator=torch.Generator().manual_seed(0))
    x, y = torch.tensor(data["x_train"], dtype=torch.float32), torch.tensor(data["y_train"])
    with torch.no_grad():
        model.eval()
        assert float(model.loss(x, y)) == pytest.approx(float(mlp.loss(x, y)))
        model.train()
        assert float(model.loss(x, y)) != pytest.approx(float(mlp.loss(x, y)))  # noise + penalty


# ----- regularizers on 500 MNIST-1D signals --------------------------------------------------
@pytest.fixture(scope="module")
def reg():
    return regularizers.run(seeds=(0, 1), progress=False)


@pytest.mark.slow
def test_unregularized_net_overfits(reg):
    """'Without regularization the network fits all of its training signals and tests far lower.'"""
    assert np.all(reg.table("train_acc")[:, reg.methods.index("none")] == 1.0)
    assert np.all(reg.table("test_acc")[:, reg.methods.index("none")] < 0.5)


@pytest.mark.slow
def test_penalties_noise_and_dropout_help_early_stopping_does_not(reg):
    """'L2, the activation penalty, input noise and dropout each raise the test accuracy on both seeds;
    early stopping does not.'"""
    for method in ("l2", "act_l1", "input_noise", "dropout"):
        assert np.all(reg.gain(method) > 0.01), (method, reg.gain(method))
    assert np.all(np.abs(reg.gain("early_stop")) < 0.04)
    assert reg.mean("l2") > reg.mean("none") + 0.03


@pytest.mark.slow
def test_l2_helps_most_and_no_method_closes_the_gap(reg):
    """'L2 helps most here ... No method comes near closing the gap.'"""
    gains = {m: float(reg.gain(m).mean()) for m in reg.methods if m != "none"}
    assert max(gains, key=gains.get) == "l2", gains
    assert max(reg.mean(m) for m in reg.methods) < 0.5


@pytest.mark.slow
def test_unregularized_validation_curve_stays_flat_after_its_peak(reg):
    """'The validation accuracy of the unregularized run does not fall after its peak, it stays flat.'"""
    for seed in reg.seeds:
        curve = np.array(reg.curves("none", seed).val_curve)
        assert curve[-1] > curve.max() - 0.04


@pytest.mark.slow
def test_early_stopping_stops_early(reg):
    """'Early stopping ends the run long before its epoch budget.'"""
    for r in reg.runs:
        if r.method == "early_stop":
            assert r.eval_epoch[-1] < reg.epochs
            assert r.best_epoch == r.eval_epoch[int(np.argmax(r.val_curve))]


@pytest.mark.slow
def test_no_regularizer_matters_on_digits():
    """'No method moves it by more than ... points': on 200 digits images every method stays within a few
    test images of no regularization (a seed the chapter does not show)."""
    r = regularizers.run(dataset="digits", n_train=200, epochs=100, seeds=(1,), progress=False)
    assert r.mean("none") > 0.9
    for m in r.methods:
        assert abs(float(r.gain(m)[0])) < 0.03, (m, r.gain(m))


# ----- dropout_overfit ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dro():
    return dropout_overfit.run(ps=(0.0, 0.2, 0.5, 0.8), sizes=(250, 3500), seeds=(1, 2), progress=False)


@pytest.mark.slow
def test_dropout_beats_no_dropout_and_too_much_underfits(dro):
    """'Without dropout the network fits the 1000 signals ... Dropping a fifth of the hidden units raises
    that ..., dropping half to ... At p = 0.8 the network underfits ... worse than with no dropout at all.'"""
    assert np.all(dro.p_train[:, 0] == 1.0)
    p = list(dro.ps)
    assert np.all(dro.p_test[:, p.index(0.2)] > dro.p_test[:, 0] + 0.02)
    assert np.all(dro.p_test[:, p.index(0.5)] > dro.p_test[:, 0] + 0.02)
    assert np.all(dro.p_train[:, p.index(0.8)] < 0.8)
    assert np.all(dro.p_test[:, p.index(0.8)] < dro.p_test[:, p.index(0.5)] - 0.05)
    assert np.all(dro.p_test[:, p.index(0.8)] < dro.p_test[:, 0])  # worse than no dropout at all


@pytest.mark.slow
def test_dropout_gain_shrinks_with_data(dro):
    """'With few signals dropout helps; with 3500 its gain is smaller (and at this budget it underfits).'"""
    gain = dro.size_gain
    assert np.all(gain[:, 0] > 0.0)
    assert np.all(gain[:, 1] < gain[:, 0] + 0.02)
    assert np.all(dro.size_train[:, 1, 1] < 0.9)  # dropout at 3500 signals has not fit its training set
    assert np.all(dro.size_test[:, 1, :] > dro.size_test[:, 0, :])


@pytest.mark.slow
def test_more_data_beats_the_best_dropout(dro):
    """'The step from 1000 to 3500 signals is worth more than the best dropout rate at 1000.'"""
    assert np.all(dro.size_test[:, 1, 0] > dro.p_test.max(axis=1) + 0.03)
    assert np.all(dro.size_test[:, 1, 0] > 0.5)


@pytest.mark.slow
def test_dropout_does_not_matter_on_digits():
    """'On digits dropout changes the test accuracy by ... points: within a few test images.'
    (checked on two seeds the chapter does not show)."""
    r = dropout_overfit.run(ps=(), dataset="digits", sizes=(100, 1077), steps=500, seeds=(1, 2), progress=False)
    assert np.all(np.abs(r.size_gain) < 0.03), r.size_gain
    assert np.all(r.size_test[:, 1, 0] > 0.93)


def test_bad_arguments():
    with pytest.raises(ValueError, match="dataset"):
        regularizers.load_subset("cifar", 100, 0)
    with pytest.raises(ValueError, match="n_train"):
        regularizers.load_subset("digits", 5000, 0)
    with pytest.raises(ValueError, match="methods"):
        regularizers.run(methods=("magic",))
    with pytest.raises(ValueError, match="degrees"):
        bias_variance.run(degrees=(20,), n_points=10)
