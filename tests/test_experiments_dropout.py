"""Every numeric claim of the dropout chapter (book/10_dropout.md), asserted as a band, an ordering or
a relation over seeds, at sizes that run in seconds. No test asserts this machine's digits: training
amplifies rounding, and BLAS kernels differ between processors.
"""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import plotting
from course_lib.experiments import (
    dropout_bn,
    dropout_calibration,
    dropout_cnn,
    dropout_ensemble,
    dropout_mc,
    dropout_sparsity,
)

SEEDS = (0, 1, 2)


# ============================================================================================
# Exact enumeration
# ============================================================================================
@pytest.mark.parametrize("seed", SEEDS)
def test_weight_scaling_is_exact_for_a_linear_unit_and_a_softmax_layer(seed):
    """'For a linear unit the average over all {drop_n_masks} masks equals the weight-scaled output to
    rounding ... for a softmax layer the weight-scaled prediction IS the normalized geometric mean of
    the sub-networks' predictions, and differs from their arithmetic mean by up to {drop_arith_gap}.'"""
    r = dropout_ensemble.run(seed=seed)
    assert r.n_masks == 2 ** 8
    assert r.linear_gap < 1e-12
    assert r.softmax_geo_gap < 1e-12
    assert r.softmax_arith_gap > 0.05  # a real difference, not rounding


@pytest.mark.parametrize("seed", SEEDS)
def test_weight_scaling_is_an_approximation_with_a_hidden_relu_layer(seed):
    """'With a hidden ReLU layer neither identity holds: the total-variation distance between the
    ensemble's mean prediction and weight scaling is {drop_hidden_tv} on average ... the two predict
    the same class for {drop_hidden_agree} of the inputs.'"""
    r = dropout_ensemble.run(seed=seed)
    assert 1e-4 < r.hidden_tv.mean() < 0.1
    assert r.hidden_agree >= 0.85


def test_mask_probabilities_sum_to_one_and_bad_arguments():
    masks = dropout_ensemble.all_masks(5)
    assert masks.shape == (32, 5)
    assert dropout_ensemble.mask_probabilities(masks, 0.3).sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="n"):
        dropout_ensemble.all_masks(17)
    with pytest.raises(ValueError, match="p"):
        dropout_ensemble.run(p=0.0)


def test_thinned_masks_keep_the_output_layer():
    r = dropout_ensemble.run()
    for masks in r.thinned:
        assert [m.shape[0] for m in masks] == list(r.thinned_dims)
        assert masks[-1].all()
    assert plotting.plot_thinned_networks(r) is not None


# ============================================================================================
# Monte-Carlo averaging vs weight scaling (Srivastava Fig. 11)
# ============================================================================================
@pytest.fixture(scope="module")
def mc_runs():
    return [dropout_mc.run(epochs=12, hidden=128, repeats=3, ks=(1, 5, 50), k_calibration=20, seed=s) for s in SEEDS]


def test_mc_averaging_approaches_weight_scaling(mc_runs):
    """'one thinned network (k = 1) errs on {drop_mc_k1} of the test digits against {drop_scaled_err} for
    weight scaling; the MC error falls as k grows and at k = 50 ({drop_mc_k50}) it is as good as weight
    scaling.'"""
    for r in mc_runs:
        k1, k5, k50 = r.mc_mean
        assert k1 > r.scaled_error + 0.03  # a single thinned net is clearly worse
        assert k1 > k5 > k50 - 0.005  # falls with k (up to the Monte-Carlo noise at the flat end)
        assert abs(k50 - r.scaled_error) < 0.02


def test_calibration_mc_is_less_confident(mc_runs):
    """'MC dropout's mean confidence ({drop_conf_mc}) is lower than the deterministic pass's
    ({drop_conf_det}) ... ECE of MC dropout {drop_ece_mc} against {drop_ece_det}.'"""
    for r in mc_runs:
        cal = dropout_calibration.from_mc(r)
        det, mc = cal.reliabilities["deterministic"], cal.reliabilities["MC dropout"]
        assert mc.mean_confidence < det.mean_confidence
        for rel in cal.reliabilities.values():
            assert 0.0 <= rel.ece <= 1.0
            assert rel.count.sum() == len(r.y_test)
    assert plotting.plot_reliability(dropout_calibration.from_mc(mc_runs[0])) is not None
    assert plotting.plot_mc_averaging(mc_runs[0]) is not None


def test_mc_dropout_underconfident_on_digits(mc_runs):
    """'MC dropout is underconfident here: its mean confidence lies below its accuracy.'"""
    for r in mc_runs:
        mc = dropout_calibration.from_mc(r).reliabilities["MC dropout"]
        assert mc.mean_confidence < mc.accuracy_all


def test_reliability_of_a_calibrated_predictor():
    """Labels drawn from the predicted probabilities: the ECE is small, and it grows when the
    probabilities are sharpened (overconfidence)."""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(20000, 4)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([rng.choice(4, p=q) for q in probs])
    ece = dropout_calibration.expected_calibration_error(probs, y)
    sharp = np.exp(3 * logits) / np.exp(3 * logits).sum(1, keepdims=True)
    assert ece < 0.02 < dropout_calibration.expected_calibration_error(sharp, y)
    with pytest.raises(ValueError, match="probs"):
        dropout_calibration.reliability(probs[:, 0], y)


# ============================================================================================
# Sparsity (Srivastava Figs. 7-8)
# ============================================================================================
@pytest.mark.parametrize("seed", SEEDS)
def test_dropout_makes_the_code_sparser(seed):
    """'with dropout the mean hidden activation falls from {drop_sp_mean0} to {drop_sp_mean5} and the
    fraction of units active on an image from {drop_sp_act0} to {drop_sp_act5} ... units alive are
    active on fewer images too.'"""
    r = dropout_sparsity.run(epochs=15, seed=seed)
    assert r.mean_activation(0.5) < 0.5 * r.mean_activation(0.0)
    assert r.active(0.5) < 0.7 * r.active(0.0)
    assert r.runs[0.5].alive_active < r.runs[0.0].alive_active
    assert r.runs[0.5].dead_fraction > r.runs[0.0].dead_fraction
    assert r.runs[0.5].test_mse > r.runs[0.0].test_mse  # the price: a worse reconstruction


def test_sparsity_figure():
    assert plotting.plot_sparsity(dropout_sparsity.run(epochs=2)) is not None


# ============================================================================================
# Variance shift (Li et al. 2019)
# ============================================================================================
@pytest.mark.parametrize("seed", SEEDS)
def test_variance_shift_is_below_one_and_predicted(seed):
    """'the test-time variance of the second batch-norm layer's input is only {drop_shift_median} of its
    running variance (median over units) ... the formula predicts {drop_shift_pred} ... re-estimating
    the statistics removes the shift.'"""
    r = dropout_bn.run(epochs=4, seed=seed)
    assert np.mean(r.shift < 1) > 0.95
    assert 0.3 < r.median_shift < 0.85
    assert abs(r.median_shift - np.median(r.predicted)) < 0.15
    assert np.corrcoef(r.shift, r.predicted)[0, 1] > 0.5
    for acc in (*r.test_acc.values(), r.reestimated_acc):
        assert acc > 0.85
    assert plotting.plot_variance_shift(r) is not None


def test_reestimated_statistics_match_the_clean_variance():
    """After re-estimation the running variance equals the eval-mode variance of the training inputs."""
    from course_lib.data import load_digits
    from course_lib.scratch.model import MLP

    data = load_digits(seed=0, scale="standard")
    model = MLP([64, 16, 16, 10], norm="batch", dropout=0.5, rng=0, init="he_normal")
    model.loss(data.x_train[:64], data.y_train[:64])
    dropout_bn.reestimate_bn(model, data.x_train)
    a = dropout_bn.bn_inputs(model, data.x_train, 2)
    np.testing.assert_allclose(model.running["running_var2"], a.var(axis=0, ddof=1), rtol=1e-10)


# ============================================================================================
# Dropout in the CNN (the deck's experiments)
# ============================================================================================
@pytest.fixture(scope="module")
def cnn():
    return dropout_cnn.run(models=("simple",), ps=(0.0, 0.3, 0.7), seeds=(0, 1), epochs=8)


def test_cnn_dropout_raises_the_training_loss(cnn):
    """'With dropout the training loss is higher ({drop_cnn_train0} without, {drop_cnn_train3} with
    p = 0.3) ... at p = 0.7 both networks underfit: training accuracies of {drop_cnn_simple_trainacc7}
    and {drop_cnn_deep_trainacc7}.'"""
    assert np.all(cnn.final("simple", 0.3, "train_loss") > cnn.final("simple", 0.0, "train_loss"))
    assert np.all(cnn.final("simple", 0.7, "train_acc") < cnn.final("simple", 0.0, "train_acc") - 0.1)
    assert np.all(cnn.final("simple", 0.0, "train_acc") > 0.95)
    assert plotting.plot_dropout_cnn(cnn) is not None
    assert "simple" in cnn.table()


def test_cnn_cli_rejects_a_missing_gpu_or_bad_settings(capsys):
    with pytest.raises(SystemExit):
        dropout_cnn.main(["--ps", "1.5", "--epochs", "1"])
    with pytest.raises(ValueError, match="models"):
        dropout_cnn.run(models=("resnet",))


def test_mc_result_shapes_and_probabilities():
    """The kept probabilities are distributions; k_calibration beyond max(ks) still averages k passes."""
    r = dropout_mc.run(epochs=1, hidden=16, ks=(1, 3), k_calibration=5, repeats=2, seed=0)
    assert r.mc_error.shape == (2, 2)
    for probs in (r.probs_scaled, r.probs_mc, r.probs_plain):
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)
    with pytest.raises(ValueError, match="ks"):
        dropout_mc.run(ks=(0,), epochs=1)


@pytest.mark.parametrize("seed", SEEDS)
def test_max_norm_bounds_the_norms(seed):
    """'without the constraint the largest incoming norm of a first-layer unit grows to
    {drop_mn_norm_none}; with it every norm is at most c = 3 ... the test errors differ by a few
    points, in either direction over seeds.'"""
    r = dropout_mc.run_max_norm(epochs=8, hidden=128, seed=seed)
    assert r.max_norms["none"][0] > r.c
    assert np.all(r.max_norms["max-norm"] <= r.c * (1 + 1e-9))
    assert abs(r.test_error["none"] - r.test_error["max-norm"]) < 0.1
    assert max(r.test_error.values()) < 0.5  # both train at this learning rate


def test_max_norm_does_not_rescue_a_rate_twice_as_high():
    """'At twice this learning rate both runs fail on the digits; max-norm does not rescue a rate that
    is simply too high.'"""
    for seed in (0, 1):
        r = dropout_mc.run_max_norm(lr=0.1, epochs=8, hidden=128, seed=seed)
        assert min(r.test_error.values()) > 0.3
