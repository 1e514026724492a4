"""Every numeric claim of chapter 5 (book/05_convolutions.md), asserted as a claim that holds on any
IEEE-754 machine: exact integers for the layer arithmetic, rounding-level bounds for identities
that hold in exact arithmetic, and bands and orderings over seeds for the trained networks (the
prose glues the values of the book's own runs).
"""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import plotting
from course_lib.experiments import conv_sharing, conv_templates, mnist1d_baselines
from course_lib.experiments.conv_templates import SHIFTS, shift_images
from course_lib.gradcheck import THRESHOLD

EPS = np.finfo(np.float64).eps


# ============================================================================================
# The slides' layer arithmetic
# ============================================================================================
def test_slides_example():
    """'a 32x32x3 input, ten 5x5 filters, stride 1, padding 2 ... (32 + 2*2 - 5)/1 + 1 = 32 positions
    per axis, so the output is 32x32x10; each filter holds 5*5*3 + 1 = 76 parameters, the layer 760.'
    Integer arithmetic: exact on every machine."""
    s = conv_sharing.slides_example()
    assert (s.out_size, s.params_per_filter, s.params) == (32, 76, 760)
    assert s.params_unshared == 32 * 32 * 760
    assert s.params_fully_connected == (32 * 32 * 3 + 1) * 32 * 32 * 10
    assert s.params_fully_connected > 1000 * s.params_unshared / 25  # tens of millions against 760


# ============================================================================================
# A convolution is a Linear at every location; its gradient is a sum over locations
# ============================================================================================
@pytest.fixture(scope="module")
def sharing():
    return conv_sharing.run()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_conv_is_a_linear_at_every_location(seed):
    """'The two computations agree to rounding ({conv_fwd_diff}), and the maximum over locations is
    exactly a max pooling with one window over the whole map ({conv_pool_diff}) ... the
    convolution's dL/dW equals the sum of the 36 per-location gradients to rounding ({conv_dw_diff},
    and {conv_db_diff} for the bias).' The same sums in another order: differences of a few ulps of the
    operands' scale, bounded here by 100 eps times that scale."""
    r = conv_sharing.run(seed=seed)
    assert r.forward_diff <= 100 * EPS * max(1.0, r.out_scale)
    assert r.pool_diff <= 100 * EPS * max(1.0, r.out_scale)  # max of (nearly) equal numbers
    assert r.dw_diff <= 100 * EPS * r.n_locations * max(1.0, r.dw_scale)
    assert r.db_diff <= 100 * EPS * r.n_locations * max(1.0, r.dw_scale)


def test_sharing_shapes(sharing):
    """'x (2, 3, 6, 6) and four 3x3 filters with padding 1 give (2, 4, 6, 6); at each of the 36
    locations a Linear with weight (27, 4) maps the patch (2, 27) to (2, 4).'"""
    assert sharing.x_shape == (2, 3, 6, 6) and sharing.w_shape == (4, 3, 3, 3)
    assert sharing.out_shape == (2, 4, 6, 6) and sharing.n_locations == 36
    assert sharing.patch_shape == (2, 27) and sharing.linear_w_shape == (27, 4)


def test_one_location_contributes_only_a_part_of_the_gradient(sharing):
    """'one location alone contributes only {conv_dw_share} of the norm of the gradient': a
    sizeable part is missing; the sum over the 36 locations is needed."""
    assert 0.01 < sharing.dw_one_location_share < 0.5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_check_of_conv_and_pool(seed):
    """'Conv2d with stride 2 and padding 1 (gradients with respect to x, w and b) and MaxPool2d 2x2,
    against central differences in float64, give relative errors of at most {conv_gc_max}': far
    below the course's threshold 1e-6."""
    r = conv_sharing.run(seed=seed)
    errors = [*r.gradcheck_conv.values(), *r.gradcheck_pool.values()]
    assert set(r.gradcheck_conv) == {"x", "w", "b"} and set(r.gradcheck_pool) == {"x"}
    assert max(errors) < THRESHOLD / 10


# ============================================================================================
# Templates and shifts
# ============================================================================================
def test_shift_images_moves_the_content():
    x = np.arange(64, dtype=float).reshape(1, 64)
    right = shift_images(x, 0, 1).reshape(8, 8)
    assert np.all(right[:, 0] == 0) and np.array_equal(right[:, 1:], x.reshape(8, 8)[:, :-1])
    up = shift_images(x, -1, 0).reshape(8, 8)
    assert np.all(up[-1] == 0) and np.array_equal(up[:-1], x.reshape(8, 8)[1:])
    with pytest.raises(ValueError, match="x must have shape"):
        shift_images(np.zeros((2, 10)), 0, 1)


@pytest.fixture(scope="module", params=[0, 1, 2])
def templates(request):
    return conv_templates.run(seed=request.param)


def test_both_nets_learn_the_digits(templates):
    """'Unshifted, both nets classify the test digits well: the MLP {conv_mlp_acc}, the CNN
    {conv_cnn_acc}.'"""
    assert templates.acc["mlp"]["none"] >= 0.9 and templates.acc["cnn"]["none"] >= 0.9
    assert templates.n_params["cnn"] < templates.n_params["mlp"]


def test_a_one_pixel_shift_hurts_the_mlp_much_more_than_the_cnn(templates):
    """'Shifted by one pixel, the MLP falls to {conv_mlp_shifted} on average over the four
    directions, a loss of {conv_mlp_drop} percentage points. The CNN loses less, but it loses a lot
    as well: it falls to {conv_cnn_shifted}, a loss of {conv_cnn_drop} points.' (And in the figure,
    the CNN beats the MLP after every one of the four shifts.)"""
    mlp, cnn = templates.drop("mlp"), templates.drop("cnn")
    assert mlp >= 0.3  # the MLP loses about half of its accuracy
    assert 0.1 <= cnn <= mlp - 0.1  # the CNN loses clearly less, but clearly something
    assert all(templates.acc["cnn"][s] > templates.acc["mlp"][s] for s in SHIFTS)
    assert templates.shifted_mean("mlp") > 0.2  # still well above chance: some strokes still overlap


def test_templates_shape(templates):
    assert templates.templates.shape == (64, 8, 8) and templates.sample_shifted.shape == (8, 8)


# ============================================================================================
# MNIST-1D baselines (Greydanus & Kobak, Table 1)
# ============================================================================================
@pytest.fixture(scope="module", params=[0, 1, 2])
def baselines(request):
    return mnist1d_baselines.run(seed=request.param, steps=800, eval_every=400, progress=False)


def test_mnist1d_ordering(baselines):
    """'logistic regression ({m1d_logistic}) < MLP ({m1d_mlp}) < CNN ({m1d_cnn}), the paper's
    ordering (~32% / ~68% / ~94%).' At 800 steps, over three seeds, with bands around the paper's."""
    acc = {m: baselines.test_acc(m) for m in baselines.models}
    assert 0.2 <= acc["logistic"] <= 0.4
    assert acc["logistic"] + 0.15 <= acc["mlp"] <= 0.8
    assert acc["mlp"] + 0.1 <= acc["cnn"]
    assert acc["cnn"] >= 0.8


def test_mnist1d_mlp_fits_its_training_set_and_not_the_test_set(baselines):
    """'The MLP fits its training signals almost perfectly ({m1d_mlp_train}) with {m1d_mlp_params}
    parameters and still misclassifies many of the test signals ... The CNN, with {m1d_cnn_params}
    parameters, learns each local pattern once and finds it anywhere.'"""
    mlp = baselines.runs["mlp"]
    assert mlp.train_acc >= 0.85 and mlp.train_acc - mlp.test_acc >= 0.2  # at 800 steps; ~0.97 at 3000
    assert baselines.runs["cnn"].n_params < mlp.n_params


def test_shuffling_costs_the_cnn_its_advantage(baselines):
    """'With its positions shuffled, the same CNN reaches only {m1d_cnn_shuffled}, far below the CNN
    ({m1d_shuffle_cost} percentage points less) and at the MLP's level or below.'"""
    acc = {m: baselines.test_acc(m) for m in baselines.models}
    assert acc["cnn_shuffled"] <= acc["cnn"] - 0.2
    assert acc["cnn_shuffled"] <= acc["mlp"] + 0.05
    assert acc["cnn_shuffled"] > acc["logistic"]  # it still learns something


def test_mnist1d_uses_the_paper_data_and_one_permutation(baselines):
    r = baselines
    assert sorted(r.permutation.tolist()) == list(range(40)) and not np.array_equal(r.permutation, np.arange(40))
    assert r.runs["cnn"].n_params == r.runs["cnn_shuffled"].n_params == 25 * 5 + 25 + 2 * (25 * 25 * 3 + 25) + 1260
    assert r.runs["logistic"].n_params == 410 and r.runs["mlp"].n_params == 40 * 100 + 100 + 100 * 100 + 100 + 1010


def test_mnist1d_rejects_unknown_models():
    with pytest.raises(ValueError, match="unknown models"):
        mnist1d_baselines.run(models=("rnn",), steps=1)


# ============================================================================================
# Figures
# ============================================================================================
def test_figures_draw():
    small = conv_templates.run(epochs=1)
    m1d = mnist1d_baselines.run(steps=20, eval_every=10, progress=False)
    for fig in (plotting.plot_conv_templates(small), plotting.plot_conv_shift(small),
                plotting.plot_mnist1d_baselines(m1d)):
        assert fig.axes
