"""Every numeric claim of book/02_activations.md, asserted (multi-seed where it is statistical).

Each test quotes or paraphrases the sentence it pins. The book's own runs are used where they take
a few seconds (zoo, zig-zag, the saturation run of seed 0, the dead-ReLU table, the race); other
seeds run at a smaller size and check the structural claims.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib import gradcheck, plotting
from course_lib.experiments import activation_race, activation_zoo, dead_relu, sigmoid_saturation, zigzag
from course_lib.scratch import activations as act


# ============================================================================================
# The zoo
# ============================================================================================
@pytest.fixture(scope="module")
def zoo():
    return activation_zoo.run(seed=0)


def test_gradients_at_minus_ten_zero_ten(zoo):
    """The gradient table: sigmoid 4.5e-5 / 0.25 / 4.5e-5, tanh 8.2e-9 / 1, LeCun 1.144 at 0, ReLU 0 / 0 / 1,
    leaky 0.01 and 0.1, PReLU 0.25, ELU 4.5e-5 / 1 / 1, maxout -0.5 / 0.2 / 1.5."""
    g = {label: e.grad_at_points for label, e in zoo.entries.items()}
    np.testing.assert_array_equal(zoo.points, [-10.0, 0.0, 10.0])
    assert f"{g['sigmoid'][0]:.1e}" == "4.5e-05" and g["sigmoid"][1] == 0.25 and f"{g['sigmoid'][2]:.1e}" == "4.5e-05"
    assert f"{g['tanh'][0]:.1e}" == "8.2e-09" and g["tanh"][1] == 1.0 and f"{g['tanh'][2]:.1e}" == "8.2e-09"
    assert f"{g['LeCun tanh'][1]:.3f}" == "1.144"
    np.testing.assert_array_equal(g["ReLU"], [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(g["leaky ReLU (0.01)"], [0.01, 0.01, 1.0])
    np.testing.assert_array_equal(g["leaky ReLU (0.1, slides)"], [0.1, 0.1, 1.0])
    np.testing.assert_array_equal(g["PReLU (a = 0.25)"], [0.25, 0.25, 1.0])
    assert f"{g['ELU (alpha = 1)'][0]:.1e}" == "4.5e-05" and list(g["ELU (alpha = 1)"][1:]) == [1.0, 1.0]
    np.testing.assert_array_equal(g["maxout (k = 3)"], [-0.5, 0.2, 1.5])


def test_backward_agrees_with_torch_autograd(zoo):
    """'largest difference from torch autograd' is rounding only."""
    assert zoo.max_autograd_difference < 1e-12


def test_derivative_curves_are_the_true_derivatives(zoo):
    """The dashed curves come from backward: they match the closed forms on the grid."""
    x = zoo.grid
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(zoo["sigmoid"].derivative, s * (1 - s), rtol=1e-12)
    np.testing.assert_allclose(zoo["tanh"].derivative, 1 - np.tanh(x) ** 2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(zoo["ELU (alpha = 1)"].derivative, np.where(x > 0, 1.0, np.exp(x)), rtol=1e-12)
    assert zoo["sigmoid"].derivative.max() == 0.25  # 'passes back only a quarter' at its best


def test_mean_outputs_and_mean_derivatives(zoo):
    """'The sigmoid's outputs average 0.5, ReLU's 0.40 ... ELU (mean 0.16) ... 0.21 for the sigmoid
    against 0.50 for ReLU and 0.61 for tanh ... std from 0.63 (tanh) to 0.87'."""
    e = zoo.entries
    assert f"{e['sigmoid'].mean_output:.2f}" == "0.50"
    assert f"{e['ReLU'].mean_output:.2f}" == "0.40"
    assert f"{e['ELU (alpha = 1)'].mean_output:.2f}" == "0.16"
    assert abs(e["tanh"].mean_output) < 0.01 and abs(e["LeCun tanh"].mean_output) < 0.01
    assert f"{e['sigmoid'].mean_derivative:.2f}" == "0.21"
    assert f"{e['ReLU'].mean_derivative:.2f}" == "0.50"
    assert f"{e['tanh'].mean_derivative:.2f}" == "0.61"
    assert f"{e['tanh'].std_output:.2f}" == "0.63"
    assert f"{e['LeCun tanh'].std_output:.2f}" == "0.87"


def test_lecun_tanh_maps_one_to_one():
    """'f(-1), f(1) = [-1. 1.]' (rounded to 4 digits)."""
    out, _ = act.LeCunTanh.forward(np.array([-1.0, 1.0]))
    np.testing.assert_array_equal(np.round(out, 4), [-1.0, 1.0])


# ============================================================================================
# Gradient check and ties
# ============================================================================================
def test_gradient_checks_of_the_chapter_pass():
    """The chapter's gradient-check cell: every report PASSED, maxout pieces kept apart."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6))
    x = np.sign(x) * (np.abs(x) + 1e-2)
    reports = [
        gradcheck.check_op(act.Sigmoid, 3 * x),
        gradcheck.check_op(act.Tanh, x),
        gradcheck.check_op(act.LeCunTanh, x),
        gradcheck.check_op(act.ReLU, x),
        gradcheck.check_op(act.LeakyReLU, x, negative_slope=0.1),
        gradcheck.check_op(act.PReLU, x, np.array([0.25])),
        gradcheck.check_op(act.PReLU, x, np.array([0.1, 0.2, 0.3, 0.2, 0.1, 0.3])),
        gradcheck.check_op(act.ELU, x, alpha=0.5),
    ]
    xm, wm, bm = rng.standard_normal((4, 5)), rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 3))
    z = np.sort(np.matmul(xm, wm) + bm[:, None, :], axis=0)
    assert np.min(z[-1] - z[-2]) > 1e-2
    reports.append(gradcheck.check_op(act.Maxout, xm, wm, bm))
    assert all(r.passed and r.max_error < 1e-6 for r in reports)


def test_tie_goes_to_piece_zero():
    """'db of piece 0: [1. 1.]   db of piece 1: [0. 0.]'."""
    out, cache = act.Maxout.forward(np.array([[1.0, 2.0]]), np.stack([np.eye(2), np.eye(2)]), np.zeros((2, 2)))
    _, _, db = act.Maxout.backward(np.ones((1, 2)), cache)
    np.testing.assert_array_equal(db, [[1.0, 1.0], [0.0, 0.0]])


# ============================================================================================
# Sigmoid saturation (Glorot & Bengio, Fig. 2)
# ============================================================================================
@pytest.fixture(scope="module")
def sat():
    return sigmoid_saturation.run(steps=2000, record_every=50, activation="sigmoid", progress=False, seed=0)


@pytest.fixture(scope="module")
def sat_tanh():
    return sigmoid_saturation.run(steps=1000, record_every=50, activation="tanh", progress=False, seed=0)


def test_layer_one_stays_at_one_half(sat):
    """'Layer 1 does not move. Its mean stays at 0.50 for all 2000 steps.'"""
    assert np.all(np.abs(sat.mean[:, 0] - 0.50) < 0.005)


def test_top_layer_saturates(sat):
    """'Its mean falls from 0.50 to 0.07, and its spread from 0.067 to 0.002.'"""
    assert f"{sat.mean[0, -1]:.2f}" == "0.50" and f"{sat.mean[-1, -1]:.2f}" == "0.07"
    assert f"{sat.std[0, -1]:.3f}" == "0.067" and f"{sat.std[-1, -1]:.3f}" == "0.002"
    assert np.all(np.diff(sat.mean[:, -1]) < 0)  # it keeps falling


def test_sigmoid_net_stays_at_chance(sat):
    """'The validation accuracy stays at chance level, 10%, for all 2000 steps (19 epochs).'"""
    assert np.all(np.abs(sat.val_acc - 0.10) < 0.02)
    assert round(2000 * 10 / 1077) == 19  # batch 10, 1077 training images


def test_gradient_fades_layer_by_layer(sat):
    """'the gradient of W5 is more than a thousand times larger than that of W1; each sigmoid layer
    shrinks it several-fold'."""
    g = sat.grad_norm[0]
    assert g[-1] / g[0] > 1000
    assert np.all(g[1:] / g[:-1] > 3)


def test_tanh_net_learns_and_stays_centred(sat_tanh):
    """'The tanh net starts with gradients of the same order in every layer, and reaches more than 90%
    validation accuracy within its 1000 steps, with every layer's mean staying near 0.'"""
    g = sat_tanh.grad_norm[0]
    assert g.max() / g.min() < 5
    assert sat_tanh.val_acc[-1] > 0.9
    assert np.all(np.abs(sat_tanh.mean) < 0.05)


@pytest.mark.parametrize("seed", [1, 2])
def test_saturation_on_other_seeds(seed):
    """The same picture on other splits and initializations (shorter runs)."""
    r = sigmoid_saturation.run(steps=600, record_every=200, progress=False, seed=seed)
    assert np.all(np.abs(r.mean[:, 0] - 0.5) < 0.02)
    assert r.mean[-1, -1] < 0.25 and r.std[-1, -1] < 0.03
    assert np.all(r.val_acc < 0.2)
    assert r.grad_norm[0, -1] / r.grad_norm[0, 0] > 300


# ============================================================================================
# Zig-zag
# ============================================================================================
def test_zigzag_book_numbers():
    """'100% ... 3.8 times as long ... about half ... 1.2 times ... 77 against 85 ... about 13 against 1.1
    ... 23 steps with positive inputs and 2 with centred ones.'"""
    r = zigzag.run(n=200, lr=1.0, tol=0.05, seed=0)
    p, c = r.positive, r.centred
    assert p.same_sign_fraction == 1.0 and p.sgd_same_quadrant == 1.0
    assert f"{p.path_ratio:.1f}" == "3.8" and f"{c.path_ratio:.1f}" == "1.2"
    assert 0.4 < c.same_sign_fraction < 0.6
    assert (p.sgd_steps_to_tol, c.sgd_steps_to_tol) == (77, 85)
    assert round(p.condition_number) == 13 and f"{c.condition_number:.1f}" == "1.1"
    assert (p.gd_steps_to_tol, c.gd_steps_to_tol) == (23, 2)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_zigzag_structure_on_other_seeds(seed):
    r = zigzag.run(seed=seed)
    p, c = r.positive, r.centred
    assert p.same_sign_fraction == 1.0 and p.sgd_same_quadrant == 1.0  # exact, by the algebra
    assert 0.3 < c.same_sign_fraction < 0.7 and c.sgd_same_quadrant < 0.7
    assert p.path_ratio > 2.5 and p.path_ratio > 2 * c.path_ratio
    assert p.condition_number > 8 and c.condition_number < 2
    assert p.gd_steps_to_tol >= 5 * c.gd_steps_to_tol
    assert 2 / 3 < p.sgd_steps_to_tol / c.sgd_steps_to_tol < 1.5  # 'about the same' number of SGD steps


def test_zigzag_positive_gradients_share_a_sign_for_any_weights():
    """'For one example, all these gradients are ... all positive or all negative.'"""
    rng = np.random.default_rng(0)
    x = 1 / (1 + np.exp(-rng.standard_normal((50, 2))))
    w, y = rng.standard_normal(2), rng.standard_normal(50)
    g = (x @ w - y)[:, None] * x
    assert np.all(g[:, 0] * g[:, 1] >= 0)


# ============================================================================================
# Dead ReLUs
# ============================================================================================
@pytest.fixture(scope="module")
def dead():
    return dead_relu.run(n_seeds=3, lr=0.05, big_lr=20.0, warmup=100, recovery=500, progress=False, seed=0)


def test_one_step_kills_units(dead):
    """'about 5 of the 100 units of layer 1 ... The single step raises that to about 24, and layer 2
    loses about 46 of its 100 units ... back at chance level ... a validation error of about 7%.'
    Take-away: 'about a quarter of the first layer dead'."""
    off = dead.off("ReLU").mean(axis=0)  # (stages, layers)
    assert round(off[1, 0]) == 5 and round(off[2, 0]) == 24 and round(off[2, 1]) == 46
    assert np.all(dead.off("ReLU")[:, 2, 0] >= dead.off("ReLU")[:, 1, 0] + 10)  # on every seed
    err = dead.val_error("ReLU")
    assert np.all(err[:, 2] > 0.8)
    assert round(100 * err[:, 3].mean()) == 7


def test_dead_relus_stay_dead(dead):
    """'Not one layer-1 unit came back in any seed, and their weights did not change at all'; 'Layer-2
    units do come back'."""
    assert np.all(dead.revived("ReLU")[:, 0] == 0)
    assert all(r.layer1_dead_weight_change == 0.0 for r in dead.runs["ReLU"])
    assert np.all(dead.revived("ReLU")[:, 1] > 0)


def test_small_positive_bias_changes_nothing(dead):
    """'With a bias of 0.01 the counts are the same as without it, within a unit or two, at every stage.'"""
    assert np.all(np.abs(dead.off("ReLU, bias 0.01")[:, :, 0] - dead.off("ReLU")[:, :, 0]) <= 2)
    assert np.all(dead.revived("ReLU, bias 0.01")[:, 0] == 0)


def test_leaky_and_elu_revival(dead):
    """'no layer-1 unit was revived in 500 steps [slope 0.01]. The slides' slope 0.1 and ELU brought back
    a few (1.3 and 4.3 units on average, of about 24).'"""
    assert np.all(dead.revived("leaky ReLU 0.01")[:, 0] == 0)
    assert f"{dead.revived('leaky ReLU 0.1')[:, 0].mean():.1f}" == "1.3"
    assert f"{dead.revived('ELU')[:, 0].mean():.1f}" == "4.3"
    assert all(r.layer1_dead_weight_change > 0 for r in dead.runs["leaky ReLU 0.01"])  # a gradient does arrive


def test_centred_inputs_prevent_dead_first_layer_units(dead):
    """'With standardized inputs not a single layer-1 unit was off at any stage.'"""
    assert np.all(dead.off("ReLU, centred inputs")[:, :, 0] == 0)


def test_dead_counts_agree_with_diagnostics():
    """The experiment's 'off for every image' is count_dead_units on the pre-activations."""
    from course_lib.diagnostics import count_dead_units
    from course_lib.experiments._nets import Net

    rng = np.random.default_rng(0)
    net = Net([[rng.standard_normal((6, 5)), rng.standard_normal(5) - 1.5], [rng.standard_normal((5, 3)), np.zeros(3)]],
              act.ReLU)
    x = rng.random((40, 6))
    masks = dead_relu._off_masks(net, x)
    assert int(masks[0].sum()) == count_dead_units(net.pre_activations(x)[0])


# ============================================================================================
# Maxout and the race
# ============================================================================================
def test_maxout_with_a_zero_piece_is_relu():
    """'max |maxout - ReLU| with a zero second piece: 0.0'."""
    rng = np.random.default_rng(0)
    x, w0, b0 = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    relu, _ = act.ReLU.forward(x @ w0 + b0)
    out, _ = act.Maxout.forward(x, np.stack([w0, np.zeros((4, 3))]), np.stack([b0, np.zeros(3)]))
    assert np.max(np.abs(out - relu)) == 0.0


@pytest.fixture(scope="module")
def race():
    return activation_race.run(epochs=10, lr=0.01, momentum=0.9, n_seeds=2, progress=False, seed=0)


def test_parameter_counts(race):
    """'the hidden layers ... go from 26,700 to 53,400 parameters'; '54,410 parameters against 27,710'."""
    i, m = race.index("ReLU"), race.index("maxout (k=2)")
    assert race.n_params[i] == 27_710 and race.n_params[m] == 54_410
    out_layer = 100 * 10 + 10
    assert (race.n_params[i] - out_layer, race.n_params[m] - out_layer) == (26_700, 53_400)


def test_sigmoid_does_not_train(race):
    """'its training error hovers around the chance level of 90% for all 10 epochs (its best epoch on
    either seed is still above 75% error)'."""
    err = race.train_error[race.index("sigmoid")]
    assert np.all(err > 0.75) and np.median(err) == pytest.approx(0.90, abs=0.01)
    assert np.all(np.isinf(race.epochs_to(0.05)[race.index("sigmoid")]))


def test_every_other_activation_trains(race):
    """'to a training error below 5% within 3 to 4 epochs on average and below 3% after 10 ...
    ReLU needed 3.5 epochs on average to reach 5%, tanh 4'."""
    reach = race.epochs_to(0.05)
    for label in ("tanh", "LeCun tanh", "ReLU", "leaky ReLU", "ELU", "maxout (k=2)"):
        i = race.index(label)
        assert np.all(np.isfinite(reach[i])) and 3.0 <= reach[i].mean() <= 4.0, label
        assert race.train_error[i, :, -1].mean() < 0.03, label
    assert reach[race.index("ReLU")].mean() == 3.5 and reach[race.index("tanh")].mean() == 4.0


def test_maxout_reaches_the_lowest_training_error(race):
    """'Maxout reaches the lowest training error'."""
    final = race.train_error[:, :, -1].mean(axis=1)
    assert np.argmin(final) == race.index("maxout (k=2)")


# ============================================================================================
# Pitfalls
# ============================================================================================
def test_pitfall_conventions_at_zero_and_ties():
    """'clamp(min=0) gets 1 there, and torch.amax splits the gradient of a tied maximum'."""
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    torch.clamp(x, min=0).sum().backward()
    assert x.grad.item() == 1.0
    z = torch.tensor([[1.0, 1.0]], requires_grad=True)
    torch.amax(z, dim=1).sum().backward()
    assert z.grad.tolist() == [[0.5, 0.5]]


def test_pitfall_overflow_in_the_discarded_branch():
    """'multiplying such a branch by a 0/1 mask gives nan'; 'never as e^x / (1 + e^x)'."""
    x = np.array([1000.0])
    with np.errstate(over="ignore", invalid="ignore"):
        masked = (x > 0) * x + (x <= 0) * (np.exp(x) - 1)
        naive_sigmoid = np.exp(x) / (1 + np.exp(x))
    assert np.isnan(masked).all() and np.isnan(naive_sigmoid).all()
    assert act.ELU.forward(x)[0][0] == 1000.0 and act.Sigmoid.forward(x)[0][0] == 1.0


def test_pitfall_leaky_slope_defaults():
    """'PyTorch's F.leaky_relu ... default to a slope of 0.01'."""
    x = torch.tensor([-1.0])
    assert torch.nn.functional.leaky_relu(x).item() == pytest.approx(-0.01)
    assert act.LeakyReLU.forward(np.array([-1.0]))[0][0] == pytest.approx(-0.01)


# ============================================================================================
# Figures
# ============================================================================================
def test_plotting_returns_figures(zoo, sat, sat_tanh, dead, race):
    from matplotlib.figure import Figure

    figs = [
        plotting.plot_activation_zoo(zoo),
        plotting.plot_zigzag(zigzag.run(seed=0)),
        plotting.plot_sigmoid_saturation(sat, sat_tanh),
        plotting.plot_sigmoid_saturation(sat),
        plotting.plot_dead_relu(dead),
        plotting.plot_activation_race(race),
    ]
    import io

    for fig in figs:
        assert isinstance(fig, Figure) and fig.axes
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=20)  # draws everything (legends, annotations) cheaply
        assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_experiments_reject_bad_settings():
    with pytest.raises(ValueError, match="activation"):
        sigmoid_saturation.run(steps=1, activation="relu", progress=False)
    with pytest.raises(ValueError, match="steps"):
        sigmoid_saturation.run(steps=0, progress=False)
    with pytest.raises(ValueError, match="n_seeds"):
        dead_relu.run(n_seeds=0, progress=False)
    with pytest.raises(ValueError, match="unknown contenders"):
        activation_race.run(labels=("swish",), progress=False)
    with pytest.raises(ValueError):
        zigzag.run(lr=0.0)
    with pytest.raises(ValueError):
        activation_zoo.run(x_min=1.0, x_max=0.0)
