"""Every numeric claim of chapter 6 (book/06_batchnorm.md), asserted as a claim that holds on any
IEEE-754 machine: a band, an ordering, or a relation, over several seeds where the claim is
statistical. The book's own configuration runs once (module fixtures; the prose glues the values of
that run); other seeds run smaller.

Training runs go through BLAS, whose rounding depends on the processor, and amplify it; so no test
asserts a machine's digits. Exact equality is asserted only for integers (a step count).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from course_lib import plotting
from course_lib.experiments import (
    bn_activation_regime,
    bn_failures,
    bn_identity,
    bn_modes,
    bn_regularization,
    readable_batchnorm,
)
from course_lib.scratch import batchnorm as bn
from course_lib.torch_impl import batchnorm as tbn

EPS = np.finfo(np.float64).eps


# ============================================================================================
# The readable versions are the library's computation
# ============================================================================================
@pytest.mark.parametrize("n, d, seed", [(2, 1, 0), (8, 4, 1), (64, 13, 2)])
def test_readable_staged_and_compact_equal_the_library(n, d, seed):
    """'Written for reading, with no checks and one node per line, the whole thing is
    readable_batchnorm.BatchNormStaged' ... 'the staged graph simplifies to' the compact formula:
    both give the library's forward and backward passes to float64 rounding."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, d) + rng.uniform(0.3, 4, d) * rng.standard_normal((n, d))
    gamma, beta, dout = rng.uniform(0.5, 2, d), rng.standard_normal(d), rng.standard_normal((n, d))
    out, cache = bn.BatchNorm.forward(x, gamma, beta)
    grads = bn.BatchNorm.backward(dout, cache)
    for op in (readable_batchnorm.BatchNormStaged, readable_batchnorm.BatchNorm):
        o, c = op.forward(x, gamma, beta)
        np.testing.assert_allclose(o, out, rtol=1e-12, atol=1e-12)
        for mine, lib in zip(op.backward(dout, c), grads):
            scale = max(1.0, float(np.abs(lib).max()))
            np.testing.assert_allclose(mine, lib, rtol=0, atol=1e-12 * scale)


def test_readable_torch_batch_norm_equals_the_twin_and_the_builtin():
    rng = np.random.default_rng(3)
    x = torch.tensor(rng.standard_normal((16, 5)) * 2 + 1)
    g, b = torch.tensor(rng.uniform(0.5, 2, 5)), torch.tensor(rng.standard_normal(5))
    mine = readable_batchnorm.batch_norm(x, g, b)
    torch.testing.assert_close(mine, tbn.batch_norm(x, g, b))
    torch.testing.assert_close(mine, torch.nn.functional.batch_norm(x, None, None, g, b, training=True))


# ============================================================================================
# Identity, gradient check, folding
# ============================================================================================
@pytest.fixture(scope="module")
def ident():
    return bn_identity.run(n=64, d=6, seed=0)


def test_identity_book_numbers(ident):
    """'With gamma = sqrt(sigma^2 + eps) the output equals the input up to rounding ... Leaving out
    eps costs an eps-sized error; taking the unbiased variance ... stretches every feature by
    sqrt(N/(N-1)) ... The slide's gamma = Var misses by up to {bn_id_slides}, and the output's
    spread is off by the factor sqrt(Var).'"""
    scale = float(np.abs(ident.x).max())
    assert ident.max_diff["sqrt(var + eps)"] <= 100 * EPS * scale
    assert 1e-8 < ident.max_diff["sqrt(var)"] < 1e-3  # eps-sized: about eps / (2 sigma) * |x - mu|
    np.testing.assert_allclose(ident.std_ratio["sqrt(unbiased var + eps)"], math.sqrt(64 / 63), rtol=1e-6)
    assert ident.max_diff["var (slides)"] > 1.0
    # var / sqrt(var + eps): sqrt(var) up to the eps in the root
    np.testing.assert_allclose(ident.std_ratio["var (slides)"], ident.var / np.sqrt(ident.var + 1e-5), rtol=1e-9)
    np.testing.assert_allclose(ident.std_ratio["var (slides)"], np.sqrt(ident.var), rtol=1e-3)
    assert ident.std_ratio["var (slides)"].min() < 1 < ident.std_ratio["var (slides)"].max()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_check(seed):
    """'The relative error against finite differences is at most {bn_gc_numeric}, far below the
    threshold 1e-6 of chapter 1; autograd and the staged graph agree with the compact formula to
    {bn_gc_autograd} and {bn_gc_staged}, float64 rounding.'"""
    gc = bn_identity.gradient_check(n=8, d=4, seed=seed)
    assert max(gc.numeric.values()) < 1e-6
    for name, size in gc.scale.items():
        assert gc.autograd[name] <= 1e-12 * max(1.0, size)
        assert gc.staged[name] <= 1e-12 * max(1.0, size)
        assert gc.compact[name] <= 1e-12 * max(1.0, size)


@pytest.mark.parametrize("seed", [0, 1])
def test_folding_is_exact_to_rounding(seed):
    """'The largest differences ... are a few units of float64 rounding on outputs of size around 5:
    the folded layers compute the same function.'"""
    fold = bn_identity.folding(train_batches=20, seed=seed)
    assert 1.0 < fold.linear_scale < 20 and 1.0 < fold.conv_scale < 20
    assert fold.linear_diff <= 1e3 * EPS * fold.linear_scale
    assert fold.conv_diff <= 1e3 * EPS * fold.conv_scale


# ============================================================================================
# Running averages, forgetting eval mode
# ============================================================================================
@pytest.fixture(scope="module")
def run():
    return bn_modes.running(batch_size=4, steps=300, runs=40, seed=0)


def test_running_averages_book_numbers(run):
    """'torch's running variance averages {bn_run_torch} of the population variance and the paper's
    {bn_run_paper}; the biased variant settles at {bn_run_biased}, the (m-1)/m = 3/4 ...
    its mean off by {bn_run_mean_torch} population standard deviations against {bn_run_mean_paper}
    for the plain average (a single batch of four: {bn_run_batch}).'"""
    torch_, biased, paper = (run.final(e) for e in bn_modes.ESTIMATORS)
    assert 0.9 < torch_ < 1.1
    assert 0.95 < paper < 1.05
    assert 0.68 < biased < 0.82 and biased < torch_ - 0.15
    np.testing.assert_allclose(biased / torch_, 3 / 4, rtol=0.02)  # same batches, exactly the factor
    m_torch, m_paper = (run.final_mean_error(e) for e in bn_modes.ESTIMATORS[::2])
    assert m_paper < m_torch / 3 < run.batch_mean_error / 3
    # sqrt(2 / (pi m)) for m = 4, a little less without replacement from a finite population
    assert 0.3 < run.batch_mean_error < 0.45


def test_running_averages_another_seed():
    r = bn_modes.running(batch_size=4, steps=200, runs=20, seed=1)
    assert 0.85 < r.final(bn_modes.ESTIMATORS[0]) < 1.15 and 0.65 < r.final(bn_modes.ESTIMATORS[1]) < 0.85


@pytest.fixture(scope="module")
def modes():
    return bn_modes.modes(batch_sizes=(2, 4, 8, 16, 32, 64), repeats=5, epochs=10, seed=0)


def check_modes(m):
    acc = dict(zip(m.batch_sizes, m.train_mode_acc))
    dis = dict(zip(m.batch_sizes, m.disagree))
    assert m.eval_acc > 0.93
    assert abs(m.full_batch_acc - m.eval_acc) < 0.02
    assert acc[2] < 0.7 and dis[2] > 0.3
    assert acc[2] < acc[4] < acc[8] < acc[64] and dis[2] > dis[8] > dis[64] > 0
    assert 0.8 < acc[8] < m.eval_acc
    assert m.single_class_acc < 0.25
    assert "Expected more than 1 value per channel" in m.batch_of_one_error
    assert m.score_gap_batch2 > 0.3 * m.score_scale


def test_forgetting_eval_book_numbers(modes):
    """'In eval mode the network classifies {bn_modes_eval} ... about as well when the whole test set
    forms one batch ({bn_modes_full}) ... In pairs, the accuracy falls to {bn_modes_b2} and
    {bn_modes_b2_dis} of the predictions change ... a typical image's ten scores move by
    {bn_modes_gap} against a typical largest score of {bn_modes_scale}. In batches of eight it reaches
    {bn_modes_b8}; even at 64, {bn_modes_b64_dis} of the predictions differ. Batches of one class ...
    fall to {bn_modes_single}, near chance ... the library, like PyTorch, refuses it.'"""
    check_modes(modes)


def test_forgetting_eval_another_seed():
    check_modes(bn_modes.modes(batch_sizes=(2, 4, 8, 64), repeats=2, epochs=10, seed=1))


def test_a_batch_of_two_normalizes_to_plus_minus_one():
    """'with two examples, each normalized unit is +-1 whatever the values'"""
    x = np.random.default_rng(0).standard_normal((2, 7)) * 5
    y, _ = bn.BatchNorm.forward(x, np.ones(7), np.zeros(7), eps=0.0)
    np.testing.assert_allclose(np.abs(y), 1.0, rtol=1e-12)


def test_torch_updates_running_statistics_on_every_training_forward_pass():
    """'A torch.nn.BatchNorm1d updates them on every forward pass in train() mode ... and
    torch.no_grad() on top, which saves memory but does not switch the mode.' Our MLP does not:
    only loss() updates them."""
    layer = torch.nn.BatchNorm1d(3).double()
    x = torch.tensor(np.random.default_rng(0).standard_normal((8, 3)) + 5.0)
    with torch.no_grad():
        layer(x)
    assert torch.all(layer.running_mean > 0.3)
    before = layer.running_mean.clone()
    layer.eval()
    layer(x)
    torch.testing.assert_close(layer.running_mean, before)
    from course_lib.scratch.model import MLP

    model = MLP([3, 4, 2], norm="batch", rng=0)
    model.scores(x.numpy())
    np.testing.assert_array_equal(model.running["running_mean1"], 0.0)
    model.loss(x.numpy(), np.array([0, 1] * 4))
    assert np.any(model.running["running_mean1"] != 0.0)


# ============================================================================================
# Placement: tanh and sigmoid in their near-linear regime
# ============================================================================================
@pytest.fixture(scope="module")
def regime():
    return bn_activation_regime.run(scales=(0.01, 0.1, 0.5, 2.0), epochs=10, seed=0)


def test_activation_regime_book_numbers(regime):
    """'With batch norm the picture does not depend on the weights: at least {bn_reg_tanh_in2_bn} of
    the tanh inputs lie in [-2, 2] at every scale, at most {bn_reg_tanh_sat_bn} of the outputs
    saturate, and a straight line explains {bn_reg_tanh_r2_bn} of each tanh unit's output
    ({bn_reg_sigmoid_r2_bn} for the sigmoid). Without it, large weights (s = 2) push most units into
    saturation ... where the units act as step functions ... and tiny weights make every unit an
    exactly linear one ... most strongly for the sigmoid.'"""
    for act in ("tanh", "sigmoid"):
        with_bn, without = regime.init[(act, "batch")], regime.init[(act, "none")]
        for st in with_bn:
            assert 0.93 < st.frac_in_2 < 0.99  # a unit Gaussian: 95.4%
            assert st.saturated < 0.02
            assert 0.95 < st.z_std < 1.05
        assert np.ptp([st.frac_in_2 for st in with_bn]) < 0.01
        assert without[-1].saturated > 0.5 and without[-1].frac_in_2 < 0.2
        assert without[-1].linearity < 0.7
        assert without[0].linearity > 0.99
    assert 0.85 < regime.init[("tanh", "batch")][-1].linearity < 0.95
    assert regime.init[("sigmoid", "batch")][-1].linearity > 0.95
    assert regime.init[("sigmoid", "batch")][-1].linearity > regime.init[("tanh", "batch")][-1].linearity


def test_activation_regime_after_training(regime):
    """'after 10 epochs the mean |gamma| is {bn_reg_tanh_gamma} (tanh) and {bn_reg_sigmoid_gamma}
    (sigmoid), {..} and {..} of the inputs are still in [-2, 2], and the linearity barely moves ...
    the validation accuracies with batch norm ... match or beat those without.'"""
    for act in ("tanh", "sigmoid"):
        assert 0.8 < regime.gamma_abs[act] < 1.6
        st = regime.trained[(act, "batch")]
        assert st.frac_in_2 > 0.8
        assert abs(st.linearity - regime.init[(act, "batch")][1].linearity) < 0.06
        assert regime.val_acc[(act, "batch")] >= regime.val_acc[(act, "none")] - 0.02
        assert regime.val_acc[(act, "batch")] > 0.9


# ============================================================================================
# Failure modes
# ============================================================================================
@pytest.fixture(scope="module")
def sizes():
    return bn_failures.batch_sizes(sizes=(2, 4, 8, 16, 32, 64), epochs=5, seeds=(0,))


def test_tiny_batches_book_numbers(sizes):
    """'The noise of the batch mean follows sqrt(2/(pi B)) ... Batch norm trained on pairs reaches only
    {bn_bs_batch2} on the validation set, where the same network without normalization reaches
    {bn_bs_none2} and with layer norm {bn_bs_layer2}; from B = 4 on it is level with the others ...
    training stops with the batch-of-one error after {bn_bs_solver_step} steps, at the end of the
    first epoch.'"""
    acc = {norm: dict(zip(sizes.sizes, sizes.mean_acc(norm))) for norm in sizes.norms}
    assert acc["batch"][2] < acc["none"][2] - 0.15 and acc["batch"][2] < acc["layer"][2] - 0.15
    for b in sizes.sizes:
        assert acc["none"][b] > 0.9 and acc["layer"][b] > 0.9
        if b >= 4:
            assert acc["batch"][b] > 0.9 and abs(acc["batch"][b] - acc["none"][b]) < 0.04
    np.testing.assert_allclose(sizes.stat_noise, np.sqrt(2 / (np.pi * np.array(sizes.sizes))), rtol=0.15)
    assert "Expected more than 1 value per channel" in sizes.solver_error
    assert sizes.solver_error_step == 1077 // 4  # whole batches of 4, then a batch of one


def test_tiny_batches_another_seed():
    r = bn_failures.batch_sizes(sizes=(2, 8), norms=("none", "batch"), epochs=5, seeds=(1,))
    assert r.mean_acc("batch")[0] < r.mean_acc("none")[0] - 0.15 and r.mean_acc("batch")[1] > 0.9


@pytest.mark.parametrize("seed", [0, 1])
def test_single_class_batches(seed):
    """'With one class per batch, batch norm collapses to {bn_sc_batch_one} ... Even evaluated the way
    it was trained, in training mode on one-class batches, it reaches only {bn_sc_train_mode}. The
    unnormalized network also suffers ({bn_sc_none_one}) ... Layer norm ({bn_sc_layer_one}) and group
    norm ({bn_sc_group_one}) do not care.'"""
    r = bn_failures.single_class(batch_size=32, epochs=10, seed=seed)
    for norm in r.norms:
        assert r.val_acc[(norm, "shuffled")] > 0.93
    assert r.val_acc[("batch", "one class")] < 0.25
    assert r.train_mode_acc < 0.6
    assert r.val_acc[("none", "one class")] < 0.8
    for norm in ("layer", "group"):
        assert r.val_acc[(norm, "one class")] > 0.9
        assert abs(r.val_acc[(norm, "one class")] - r.val_acc[(norm, "shuffled")]) < 0.04


@pytest.mark.parametrize("seed", [0, 1])
def test_redundant_bias(seed):
    """'The gradient of the bias is {bn_bias_db}, rounding noise next to the weights'
    {bn_bias_dw}; with batch norm after the ReLU ... it is {bn_bias_db_after}. Shifting the bias by 5
    changes the scores by {bn_bias_shift}, and after three epochs of training the bias has not moved
    ... Scaling the weights by 10 changes the scores by {bn_bias_scale}, the trace of eps.'"""
    r = bn_failures.redundant_bias(batch_size=64, epochs=3, seed=seed)
    assert r.db_before < 1e-12 * r.dw_before
    assert r.db_after > 1e-3
    assert r.shift_change < 1e-12 * r.score_scale * 100
    assert r.scale_change < 1e-4 * r.score_scale
    assert r.b1_moved < 1e-12 < 0.01 < r.w1_moved


@pytest.mark.parametrize("seed", [0, 1])
def test_weight_decay_on_gamma(seed):
    """'Decaying the weights only leaves gamma near 1 ... while the first layer's weights shrink ...
    Decaying gamma as well drives it down to {bn_wd_gamma_all} ... At small decays the accuracy
    moves by a point or two at most, either way; at the largest both lose.'"""
    r = bn_failures.weight_decay(decays=(0.0, 1e-3, 1e-2, 5e-2), epochs=10, seed=seed)
    only, also = r.gamma_mean[bn_failures.DECAY_KINDS[0]], r.gamma_mean[bn_failures.DECAY_KINDS[1]]
    assert np.all((0.9 < only) & (only < 1.3))
    assert np.all(np.diff(also) < 0) and also[-1] < 0.4
    for kind in bn_failures.DECAY_KINDS:
        assert np.all(np.diff(r.w1_norm[kind]) < 0)
        acc = r.val_acc[kind]
        assert np.all(np.abs(acc[1:3] - acc[0]) <= 0.03)
        assert acc[-1] < acc[0] - 0.005


# ============================================================================================
# Regularization
# ============================================================================================
@pytest.fixture(scope="module")
def comp():
    return bn_regularization.companions(sizes=(2, 4, 8, 16, 32, 64, 128), examples=30, draws=50)


def test_companions_book_numbers(comp):
    """'the spread of the true-class probability falls from {bn_comp_std2} in pairs to {bn_comp_std32}
    at 32 and {bn_comp_std128} at 128, and the prediction itself changes in {bn_comp_flip2} of the
    pairs but only {bn_comp_flip32} of the batches of 32.'"""
    std, flip = dict(zip(comp.sizes, comp.prob_std)), dict(zip(comp.sizes, comp.flip_rate))
    assert std[2] > 0.2 and std[32] < 0.06 and std[128] < std[32]
    assert std[2] > std[8] > std[32]
    assert flip[2] > 0.3 and flip[32] < 0.05
    assert comp.example_probs[0].std() > comp.example_probs[-1].std()


def test_companions_another_seed():
    c = bn_regularization.companions(sizes=(2, 32), examples=10, draws=20, seed=1)
    assert c.prob_std[0] > 0.15 > 0.08 > c.prob_std[1] and c.flip_rate[0] > 0.25 > 0.08 > c.flip_rate[1]


def test_generalization_gap():
    """'Both networks fit the 300 training images perfectly, and their validation accuracies are close
    ... the gap between training and validation is {bn_gap_batch} against {bn_gap_none}, a difference
    within the spread of the seeds. On this small problem the regularizing effect of batch norm does not
    show clearly.'"""
    g = bn_regularization.gap(n_train=300, epochs=30, batch_size=16, seeds=(0, 1, 2))
    for norm in g.norms:
        assert g.train_acc[norm][:, -1].min() > 0.99
    diff = abs(g.final_gap("batch").mean() - g.final_gap("none").mean())
    spread = max(np.ptp(g.final_gap("batch")), np.ptp(g.final_gap("none")))
    assert diff < 0.04 and diff <= spread + 0.01
    assert abs(g.val_acc["batch"][:, -1].mean() - g.val_acc["none"][:, -1].mean()) < 0.04


# ============================================================================================
# Figures
# ============================================================================================
def test_every_figure_draws(ident, run, modes, regime, sizes, comp):
    small_sc = bn_failures.single_class(norms=("none", "layer"), epochs=1)
    small_wd = bn_failures.weight_decay(decays=(0.0, 1e-2), epochs=1)
    small_gap = bn_regularization.gap(n_train=100, epochs=2, seeds=(0,))
    figs = [plotting.plot_bn_identity(ident), plotting.plot_bn_running(run), plotting.plot_bn_modes(modes),
            plotting.plot_bn_activation_regime(regime), plotting.plot_bn_batch_sizes(sizes),
            plotting.plot_bn_single_class(small_sc), plotting.plot_bn_weight_decay(small_wd),
            plotting.plot_bn_companions(comp), plotting.plot_bn_gap(small_gap)]
    assert all(isinstance(f, Figure) and f.axes for f in figs)
