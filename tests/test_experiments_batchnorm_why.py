"""Every numeric claim of chapter 8 (book/08_batchnorm_why.md), asserted as a band, an ordering or a
relation over the chapter's seeds, never as a machine's digits.

The experiments train a 10-layer ReLU net with plain SGD; rounding differences between processors
(BLAS kernels, thread counts) change the trajectories in their details, so every bound leaves a
margin of at least a factor of two below what was measured on the seeds of the book (and on four
more seeds when the thresholds were chosen). The chapter's own configuration runs once per module.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_lib import plotting
from course_lib.experiments import _santurkar_net as net
from course_lib.experiments import bn_ics, bn_insights, bn_landscape, bn_noisy

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def noisy():
    return bn_noisy.run(lr=0.1, steps=200, seeds=SEEDS, progress=False)


@pytest.fixture(scope="module")
def ics():
    return bn_ics.run(lr=0.1, steps=200, every=10, seeds=SEEDS, progress=False)


@pytest.fixture(scope="module")
def landscape():
    return bn_landscape.run(lr=0.1, seeds=SEEDS, progress=False)


@pytest.fixture(scope="module")
def insights():
    return bn_insights.run(seeds=SEEDS)


# ============================================================================================
# The network
# ============================================================================================
def test_same_weights_with_and_without_bn():
    """'A seed gives both nets the same weights: they differ only by the normalization.'"""
    a, b = net.init_params(False, depth=3, width=8, rng=4), net.init_params(True, depth=3, width=8, rng=4)
    assert [len(g) for g in a] == [2, 2, 2, 2] and [len(g) for g in b] == [4, 4, 4, 2]
    for ga, gb in zip(a, b):
        assert torch.equal(ga[0], gb[0])


def test_noise_changes_mean_and_scale_per_step():
    """The noise moves every unit's mean by up to 0.5 and scales it by 1 to 1.25, differently at each call."""
    gen = torch.Generator().manual_seed(0)
    a = torch.zeros(4096, 3, dtype=torch.float64)
    out1, out2 = net._noise(a, net.Noise(), gen), net._noise(a, net.Noise(), gen)
    m1, m2 = out1.mean(0), out2.mean(0)
    assert torch.all(m1.abs() < 0.5 + 0.01) and not torch.allclose(m1, m2, atol=1e-3)
    ones = net._noise(torch.ones(4096, 3, dtype=torch.float64), net.Noise(shift=0.0), gen).mean(0)
    assert torch.all((ones > 1 - 0.01) & (ones < 1.25 + 0.01))
    with pytest.raises(ValueError, match="Noise"):
        net.Noise(max_scale=0.5)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="variants"):
        bn_noisy.run(variants=("bn", "dropout"), progress=False)
    with pytest.raises(ValueError, match="probe_layer"):
        bn_noisy.run(probe_layer=11, progress=False)
    with pytest.raises(ValueError, match="target_layer"):
        bn_insights.run(target_layer=0)
    with pytest.raises(ValueError, match="eta_range"):
        bn_landscape.run(eta_range=(2.0, 1.0), progress=False)


# ============================================================================================
# Sec. 2: noisy batch norm
# ============================================================================================
def test_noisy_bn_trains_about_as_well_as_bn(noisy):
    """'With the noise after every BN layer the net still trains: its final training loss is
    {why_noisy_ratio} times that of plain BN (median over the seeds), far below the chance loss.'"""
    bn, noisy_bn = noisy.final_losses("bn"), noisy.final_losses("noisy_bn")
    assert np.all(noisy_bn < 0.05 * math.log(10))
    assert np.all((noisy_bn / bn > 0.3) & (noisy_bn / bn < 3.0))
    assert np.all(noisy.val_accs("noisy_bn") > 0.85)


def test_the_same_noise_without_bn_hurts_badly(noisy):
    """'The same noise without batch norm ... ends {why_noisy_plain_ratio} times higher than noisy BN, or
    diverges.'"""
    plain, noisy_bn = noisy.final_losses("noisy_plain"), noisy.final_losses("noisy_bn")
    assert np.all(plain > 10 * noisy_bn)  # inf for a diverged run


def test_on_the_digits_the_clean_plain_net_trains_best(noisy):
    """'The net without batch norm and without noise trains best of all here (final loss
    {why_noisy_clean_loss}).'"""
    plain = noisy.final_losses("plain")
    for v in ("bn", "noisy_bn", "noisy_plain"):
        assert np.all(plain < noisy.final_losses(v))


def test_noise_makes_the_distribution_jump(noisy):
    """'From one step to the next the batch mean of this unit moves by {why_noisy_jitter_bn} with BN,
    by {why_noisy_jitter_plain} without BN, and by {why_noisy_jitter_noisy} with noisy BN.'"""
    bn, plain, noisy_bn = (noisy.probe_jitter(v) for v in ("bn", "plain", "noisy_bn"))
    assert np.all(noisy_bn > 100 * bn) and np.all(noisy_bn > 1.5 * plain)


def test_at_a_larger_rate_the_noise_without_bn_diverges():
    """'At learning rate 0.2 the noisy net without BN diverges on every seed, and noisy BN still trains.'"""
    res = bn_noisy.run(lr=0.2, steps=200, seeds=SEEDS, variants=("noisy_bn", "noisy_plain"), progress=False)
    assert sum(res.runs["noisy_plain", s].diverged for s in SEEDS) >= 2
    assert np.all(res.final_losses("noisy_bn") < 0.05 * math.log(10))


# ============================================================================================
# Sec. 2.2: internal covariate shift measured by gradients
# ============================================================================================
def test_gradient_shift_is_zero_without_a_step():
    """Without a step of the layers below (lr = 0), G' = G: cosine 1 and distance 0, exactly."""
    data = net.load_data(0)
    params = net.init_params(True, depth=3, width=16, rng=0)
    cos, dist, norm = bn_ics.gradient_shift(params, data.x_train[:64], data.y_train[:64], lr=0.0)
    assert np.all(dist == 0) and np.allclose(cos, 1.0, atol=1e-12) and np.all(norm > 0)


def test_bn_does_not_reduce_internal_covariate_shift(ics):
    """'With batch norm the cosine is lower, not higher: median {why_ics_cos_bn} against
    {why_ics_cos_plain} without; the relative change ... {why_ics_rel_bn} against {why_ics_rel_plain}.'"""
    cos_bn, cos_plain = ics.median("bn"), ics.median("plain")
    rel_bn, rel_plain = ics.median("bn", "relative"), ics.median("plain", "relative")
    assert np.all(cos_bn < cos_plain + 0.03) and np.median(cos_bn) < np.median(cos_plain)
    assert np.all(rel_bn > rel_plain - 0.03) and np.median(rel_bn) > np.median(rel_plain)
    assert np.all(ics.median("bn", "distance") > 0.5 * ics.median("plain", "distance"))


# ============================================================================================
# Sec. 3: the landscape along the gradient
# ============================================================================================
def test_bn_makes_the_loss_and_the_gradient_steadier(landscape):
    """'Along the walk the loss varies {why_land_range_ratio} times less with BN and the gradient
    changes {why_land_grad_ratio} times less (medians over the seeds; the smallest ratio over the seeds
    is {why_land_range_min} and {why_land_grad_min}).'"""
    assert np.all(landscape.ratio("loss_range") > 2.0)
    assert np.all(landscape.ratio("max_grad_change") > 2.0)


def test_the_effective_smoothness_gains_less(landscape):
    """'The effective beta-smoothness ... is only {why_land_smooth_ratio} times smaller with BN: much of the
    gradient change comes with the larger steps of the plain net.'"""
    smooth = landscape.ratio("smoothness")
    assert np.median(smooth) > 1.0 and np.all(smooth > 0.8)
    assert np.all(smooth < landscape.ratio("max_grad_change"))


def test_late_in_the_walks_the_plain_net_is_ahead(landscape):
    """'Late in these 100 steps the plain net's loss is already lower than the batch-norm net's.'"""
    last_plain = np.array([landscape.runs["plain", s].start_loss[-1] for s in SEEDS])
    last_bn = np.array([landscape.runs["bn", s].start_loss[-1] for s in SEEDS])
    assert np.median(last_plain) < np.median(last_bn)


# ============================================================================================
# The myrtle.ai insights: perturbations and the Hessian
# ============================================================================================
def test_hvp_matches_the_full_hessian():
    """The Hessian-vector product by double backward equals H v with the Hessian formed explicitly."""
    data = net.load_data(0)
    x, y = data.x_train[:32], data.y_train[:32]
    params = net.init_params(True, depth=2, width=3, rng=1)
    shapes = [t.shape for t in net.tensors(params)]
    flat0 = net.flatten(params).detach()

    def loss_of(flat):
        out, k = [], 0
        for group in params:
            g = []
            for t in group:
                g.append(flat[k:k + t.numel()].reshape(t.shape))
                k += t.numel()
            out.append(tuple(g))
        return net.loss(out, x, y)

    assert len(shapes) == 10
    hess = torch.autograd.functional.hessian(loss_of, flat0)
    v = torch.randn(flat0.numel(), dtype=flat0.dtype, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(bn_insights.hvp(params, x, y, v), hess @ v)
    lam, vecs, resid = bn_insights.top_eigenvectors(params, x, y, k=1, iters=300,
                                                    gen=torch.Generator().manual_seed(1))
    exact = torch.linalg.eigvalsh(hess)
    assert abs(float(lam[0]) - float(exact[exact.abs().argmax()])) < 1e-6 * float(exact.abs().max())


def test_span_overlap_is_one_inside_and_zero_outside():
    basis = torch.eye(6, dtype=torch.float64)[:, :2] * torch.tensor([3.0, -2.0], dtype=torch.float64)
    inside = torch.tensor([[1.0], [2.0], [0], [0], [0], [0]], dtype=torch.float64)
    outside = torch.tensor([[0.0], [0], [1.0], [0], [0], [0]], dtype=torch.float64)
    assert float(bn_insights.span_overlap(inside, basis)[0]) == pytest.approx(1.0)
    assert float(bn_insights.span_overlap(outside, basis)[0]) == pytest.approx(0.0, abs=1e-15)


def test_a_random_perturbation_changes_few_predictions(insights):
    """'A random perturbation of 1% of the parameter norm changes {why_pert_random_plain} of the
    predictions without BN and {why_pert_random_bn} with BN.'"""
    assert np.all(insights.changed("plain", "random") < 0.2)
    assert np.all(insights.changed("bn", "random") < 0.3)


def test_a_targeted_perturbation_sends_inputs_to_the_target(insights):
    """'Along the gradient of one output channel's mean, the same size sends {why_pert_target_plain} of the
    inputs to the target class without BN, and {why_pert_target_bn} with BN.' and 'Restricted to the hidden
    layers ... {why_pert_hidden_plain} without BN, {why_pert_hidden_bn} with BN.'"""
    assert np.all(insights.to_target("plain") > 0.9)
    assert np.all(insights.to_target("bn") > 0.5)
    assert np.all(insights.to_target("plain", "targeted_hidden") > 0.75)
    assert np.all(insights.to_target("bn", "targeted_hidden") < 0.45)
    assert np.all(insights.to_target("plain", "targeted_hidden") > insights.to_target("bn", "targeted_hidden") + 0.3)


def test_the_plain_net_at_init_predicts_few_classes(insights):
    """'Before any perturbation the net without BN already puts most inputs in a few classes: the entropy of
    its predicted classes is {why_entropy_plain} nats against {why_entropy_bn} with BN (ln 10 = 2.30 for all
    ten equally often).'"""
    plain = np.array([insights.nets["plain", s].entropy for s in SEEDS])
    bn = np.array([insights.nets["bn", s].entropy for s in SEEDS])
    assert np.all(plain < 1.6) and np.all(bn > 1.6) and np.all(bn <= math.log(10) + 1e-12)


def test_leading_eigenvector_lies_in_the_channel_mean_span_without_bn_only(insights):
    """'Without BN the leading eigenvector has {why_hess_overlap_plain} of its squared length in the span of
    the ten channel-mean gradients; with BN {why_hess_overlap_bn}; a random direction would have C/P =
    {why_hess_chance:.1e}.'"""
    for s in SEEDS:
        p, b = insights.nets["plain", s], insights.nets["bn", s]
        assert p.converged[0] < 0.1
        assert p.overlap[0] > 0.8
        assert np.all(b.overlap < 0.35) and np.max(b.overlap) > 20 * b.random_overlap
    assert np.median(insights.overlap("bn")) < 0.15


def test_the_leading_eigenvalue_is_smaller_with_bn(insights):
    """'The leading eigenvalue is also smaller with batch norm, {why_hess_lambda_bn} against
    {why_hess_lambda_plain} (magnitudes, medians).' At initialization nothing is trained, so the
    eigenvalues differ between machines only by rounding; across other seeds the ordering is not
    universal, and the claim is about the medians of the chapter's three."""
    lam = {v: np.median([abs(insights.nets[v, s].eigenvalues[0]) for s in SEEDS]) for v in ("plain", "bn")}
    assert lam["bn"] < 0.9 * lam["plain"]


# ============================================================================================
# Figures
# ============================================================================================
def test_the_figures_draw(noisy, ics, landscape, insights):
    figs = [plotting.plot_bn_noisy(noisy), plotting.plot_bn_ics(ics), plotting.plot_bn_landscape(landscape),
            plotting.plot_bn_perturbations(insights), plotting.plot_bn_hessian(insights)]
    assert all(len(f.axes) >= 2 for f in figs)
