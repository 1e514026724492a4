"""Every numeric claim of the book's prose, asserted at small size (multi-seed where it is statistical).

Chapter 1 (book/01_backprop.md). Each test names the claim it pins, quoted or paraphrased from the
chapter; where the chapter glues a computed number ({glue:text}`bp_...`), the test asserts the claim
around it (a band, an ordering, a relation over seeds), never the digits one machine produced.
Results that pass through BLAS, LAPACK or a training run differ in their last bits from one CPU to
the next; tolerances are therefore stated as multiples of the machine epsilon ``EPS``. Exact
equality is kept only where the arithmetic is exact (small integers, counts, constants), or for a
count of training outcomes whose every member lies far from the threshold that decides it.
Book-size runs are used only where they take a few seconds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_lib import gradcheck
from course_lib.experiments import (
    capacity,
    comp_graph,
    digits_two_layer,
    gradient_check,
    history_classic,
    parity,
    readable_ops,
    xor_two_layer,
)
from course_lib.scratch.activations import Sigmoid
from course_lib.scratch.linear import Linear
from course_lib.scratch.losses import MulticlassSVM, SoftmaxCrossEntropy

EPS = np.finfo(np.float64).eps  # 2.2e-16, the float64 rounding unit

# Two float64 runs of the same training that differ only in the order of their operations (numpy's
# BLAS against torch's, one implementation against another) drift apart by a few roundings of O(1)
# quantities per step. 4096 roundings leave ample room for that and are still ten orders of magnitude
# below what a real slip (a swapped update, a wrong sign) produces.
TRAJECTORY_TOL = 4096 * EPS  # ~9e-13


# ============================================================================================
# Scores and losses
# ============================================================================================
def test_untrained_losses_are_ln_c_and_c_minus_one():
    """'For C = 10 that is ln 10 = 2.3026 and 9.'"""
    for c in (3, 10, 100):
        zero, y = np.zeros((4, c)), np.arange(4) % c
        # exp(0) = 1 and the sum c are exact; only the log and the mean round
        assert SoftmaxCrossEntropy.forward(zero, y)[0] == pytest.approx(math.log(c), rel=8 * EPS)
        assert MulticlassSVM.forward(zero, y)[0] == c - 1  # sums of exact small numbers
        assert MulticlassSVM.forward(zero, y, margin=0.5)[0] == 0.5 * (c - 1)
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
    assert np.all(g != 0) and g[0, 0] < 0
    assert g.sum() == pytest.approx(0.0, abs=8 * EPS)  # probabilities sum to 1 up to a few roundings
    exact = math.log(math.exp(2.0) + math.exp(4.0) + math.exp(-1.0)) - 2.0  # log-sum-exp minus the correct score
    assert ce == pytest.approx(exact, rel=16 * EPS)


def test_svm_is_c_times_torch_multi_margin_loss():
    """Pitfalls: 'F.multi_margin_loss divides the multiclass SVM loss by C'."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    s, y = rng.standard_normal((6, 5)), rng.integers(0, 5, 6)
    ours = MulticlassSVM.forward(s, y)[0]
    theirs = torch.nn.functional.multi_margin_loss(torch.tensor(s), torch.tensor(y)).item()
    assert ours == pytest.approx(5 * theirs, rel=16 * EPS * s.size)  # two sums of s.size terms


def test_penalty_raises_the_first_loss():
    """Pitfalls: 'Adding the penalty must raise the first loss.'"""
    from course_lib.scratch.model import MLP

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 8)), rng.integers(0, 4, 20)
    plain = MLP([8, 16, 4], weight_scale=0.5, reg=0.0, rng=1).loss(x, y)[0]
    penalized = MLP([8, 16, 4], weight_scale=0.5, reg=0.1, rng=1).loss(x, y)[0]
    assert penalized > plain


# ============================================================================================
# The listings: readable ops equal the library's
# ============================================================================================
def test_readable_numpy_ops_match_the_library_and_pass_the_gradient_check():
    """'the library's versions ... compute the same numbers (a test checks it)': forward and backward
    agree to a few roundings (the same operations, except for the library's in-place ones)."""
    from course_lib.scratch import activations, linear, losses

    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((6, 5)), rng.standard_normal((5, 4)), rng.standard_normal(4)
    scores, y, dout = rng.standard_normal((6, 4)), rng.integers(0, 4, 6), rng.standard_normal((6, 4))
    pairs = [
        (readable_ops.Linear, linear.Linear, (x, w, b), dout),
        (readable_ops.Sigmoid, activations.Sigmoid, (3.0 * scores,), dout),
        (readable_ops.SoftmaxCrossEntropy, losses.SoftmaxCrossEntropy, (scores, y), 0.7),
        (readable_ops.MulticlassSVM, losses.MulticlassSVM, (scores, y), 0.7),
    ]
    for ours, lib, inputs, upstream in pairs:
        out_a, cache_a = ours.forward(*inputs)
        out_b, cache_b = lib.forward(*inputs)
        np.testing.assert_allclose(out_a, out_b, rtol=64 * EPS, atol=64 * EPS)
        for ga, gb in zip(ours.backward(upstream, cache_a), lib.backward(upstream, cache_b)):
            np.testing.assert_allclose(ga, gb, rtol=64 * EPS, atol=64 * EPS)
        report = gradcheck.check_op(ours, *inputs)
        assert report.passed and report.max_error < 1e-7, report


def test_readable_torch_ops_match_the_twins_and_the_builtins():
    """The PyTorch tabs: the same loss values and autograd gradients as the library's twins, and
    as torch's built-ins (``F.cross_entropy``; ``C * F.multi_margin_loss``; ``F.linear`` with W^T)."""
    torch = pytest.importorskip("torch")
    from course_lib.torch_impl import linear as tlinear
    from course_lib.torch_impl import losses as tlosses

    F = torch.nn.functional
    rng = np.random.default_rng(1)
    s = torch.tensor(rng.standard_normal((7, 5)), requires_grad=True)
    y = torch.tensor(rng.integers(0, 5, 7))
    checks = [
        (readable_ops.cross_entropy(s, y), tlosses.cross_entropy(s, y), F.cross_entropy(s, y)),
        (readable_ops.multiclass_svm(s, y), tlosses.multiclass_svm(s, y), 5 * F.multi_margin_loss(s, y)),
    ]
    for ours, twin, builtin in checks:
        (g_ours,) = torch.autograd.grad(ours, s)
        (g_twin,) = torch.autograd.grad(twin, s)
        (g_builtin,) = torch.autograd.grad(builtin, s)
        for value, grad in ((twin, g_twin), (builtin, g_builtin)):
            assert ours.item() == pytest.approx(value.item(), rel=64 * EPS)
            torch.testing.assert_close(g_ours, grad, rtol=64 * EPS, atol=64 * EPS)
    x, w, b = (torch.tensor(rng.standard_normal(shape)) for shape in ((3, 4), (4, 2), (2,)))
    torch.testing.assert_close(readable_ops.linear(x, w, b), tlinear.linear(x, w, b))
    torch.testing.assert_close(readable_ops.linear(x, w, b), F.linear(x, w.T, b))


# ============================================================================================
# Momentum
# ============================================================================================
def test_momentum_velocity_grows_to_g_over_one_minus_mu():
    """'for a constant gradient g it grows toward g / (1 - mu), ten times g for mu = 0.9'."""
    from course_lib.scratch.optim import SGD

    opt, g = SGD(lr=0.0, momentum=0.9), np.array([1.0, -2.0])
    w, state = np.zeros(2), SGD(lr=0.0).init(np.zeros(2))
    for _ in range(400):  # 0.9^400 ~ 5e-19: the geometric sum has converged
        w, state = opt.step(w, g, state)
    np.testing.assert_allclose(state.momentum_buffer, 10 * g, rtol=1e-12)


def test_torch_and_slides_momentum_agree_at_constant_lr_only():
    """'The slides write the same method with the learning rate inside the velocity ... which takes
    the same steps as long as eta stays constant' (Pitfalls: different ones under a schedule)."""
    from course_lib.scratch.optim import SGD

    rng = np.random.default_rng(0)
    grads = rng.standard_normal((20, 3))

    def ours(lrs):
        opt, w = SGD(lr=1.0, momentum=0.9), np.zeros(3)
        state = opt.init(w)
        for g, lr in zip(grads, lrs):
            w, state = opt.step(w, g, state, lr=lr)
        return w

    def slides(lrs):
        v, w = np.zeros(3), np.zeros(3)
        for g, lr in zip(grads, lrs):
            v = 0.9 * v - lr * g
            w = w + v
        return w

    constant = [0.1] * 20
    np.testing.assert_allclose(ours(constant), slides(constant), rtol=1e-12, atol=1e-14)
    halving = [0.1 * 0.5**t for t in range(20)]
    assert np.max(np.abs(ours(halving) - slides(halving))) > 1e-2


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
        # one add and one multiply, each correctly rounded in numpy and in torch alike
        assert r.values["f"] == pytest.approx(f.item(), rel=4 * EPS)
        for name, tensor in zip("xyz", t):
            assert r.grads[name] == pytest.approx(tensor.grad.item(), rel=4 * EPS)
            assert r.autograd[name] == pytest.approx(tensor.grad.item(), rel=4 * EPS)


# ============================================================================================
# Gradient checking
# ============================================================================================
def test_check_op_passes_for_the_ops_shown():
    """The printed reports: Linear, Sigmoid and SoftmaxCrossEntropy pass the 1e-6 threshold, by a wide margin."""
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


def _decades_from(h: float, target: float) -> float:
    return abs(math.log10(h) - math.log10(target))


def test_float64_sweep_is_a_v_with_its_bottom_next_to_the_cube_root_of_eps(sweeps):
    """'The float64 curve is the V the analysis predicts: truncation error on the right, rounding error
    on the left, and a bottom next to eps^(1/3), at h = [bp_h64_best], where the relative error is
    [bp_err64_best]' (seed 0 is the book's; the other seeds give the same V)."""
    cube_root = EPS ** (1 / 3)  # 6e-6
    book = sweeps[0]
    assert _decades_from(book.best_h("float64"), cube_root) < 1  # 1e-5 or 1e-6: the grid points around 6e-6
    for r in sweeps:
        e = r.errors["float64"]
        assert _decades_from(r.best_h("float64"), cube_root) < 1.3  # 1e-4, 1e-5 or 1e-6
        assert e.min() < 1e-8 and r.error_at(1e-5) < 1e-8  # far below the 1e-6 threshold
        # truncation side: the error falls like h^2, a factor 100 per decade of h
        assert 50 < e[1] / e[2] < 200 and 50 < e[0] / e[1] < 300  # (higher-order terms at h = 0.1)
        # rounding side: it rises again, by orders of magnitude, as h shrinks
        assert r.error_at(1e-10) > 100 * e.min()


def test_float32_sweep(sweeps):
    """'The float32 curve is far worse: even at its best point, h = [bp_h32_best], the error is
    [bp_err32_best]; at h = 1e-5 it reports an error of [bp_err32_at_1e5] for a correct gradient, and
    for h <= [bp_h32_one] it is exactly 1: w +- h rounds back to w in float32 ...'.

    The bottom sits next to float32's eps^(1/3) = 5e-3, and its error near eps32^(2/3) = 2e-5 is a
    thousand times above float64's. An error of exactly 1 is exact arithmetic: where the numerical
    gradient of an entry is 0, rel(a, 0) = |a| / |a| = 1. It must happen for every h <= 1e-8, since
    w + h == w in float32 for every |w| >= 1/4 (half a unit in the last place is then 1.5e-8)."""
    eps32 = float(np.finfo(np.float32).eps)
    for r in sweeps:
        e = r.errors["float32"]
        assert _decades_from(r.best_h("float32"), eps32 ** (1 / 3)) < 1  # 1e-2 or 1e-3
        assert e.min() > 1e-5 > 100 * r.errors["float64"].min()  # far worse than float64
        assert r.error_at(1e-5, "float32") > 1e-2  # a correct gradient reads as "probably wrong"
        ones = e == 1.0
        assert ones[r.hs <= 1e-8 * 1.0001].all()
        first_one = int(np.argmax(ones))
        assert ones[first_one:].all() and not ones[:first_one].any()  # once 1, it stays 1 for smaller h


def test_one_percent_bug_is_a_flat_line_far_above_the_v(sweeps):
    """'a flat line at 0.01 / 2.01 ~ 5e-3, more than [bp_bug_orders] orders of magnitude above the
    float64 V at h = 1e-5 and far above the 1e-6 threshold' (at least five orders on every seed)."""
    for r in sweeps:
        flat = r.buggy[r.hs <= 1e-2 * 1.0001]
        np.testing.assert_allclose(flat, 0.01 / 2.01, rtol=0.05)  # "about 5e-3" at every h
        assert math.floor(math.log10(r.buggy.min() / r.error_at(1e-5))) >= 5
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
    """'The three curves lie on top of each other: the largest difference anywhere is [bp_xor_diff],
    float64 rounding.'"""
    assert set(xor_small.losses) == {"classic", "scratch", "torch"}
    assert xor_small.max_diff < TRAJECTORY_TOL
    for seed in (1, 2):
        assert xor_two_layer.run(steps=200, seed=seed).max_diff < TRAJECTORY_TOL


def test_xor_plateau_then_drop(xor_small):
    """'The loss first sits on a plateau, with all outputs near 0.5: after 100 updates E has only
    fallen from [bp_xor_E0] to [bp_xor_E100]. Then ... E drops by more than two orders of magnitude
    (a factor of [bp_xor_drop]) within the next thousand updates.'

    With all four outputs at 0.5, E = 4 * (1/2) * (1/2)^2 = 0.5."""
    e = xor_small.losses["classic"]
    assert abs(e[0] - 0.5) < 0.05
    assert 0.85 * e[0] < e[100] < e[0]  # only a little lower after 100 updates
    _, out_100, _, _ = xor_two_layer.train_classic(xor_small.w1_init, xor_small.w2_init, steps=100)
    assert np.all(np.abs(out_100 - 0.5) < 0.15)  # outputs still near 0.5
    assert e[1000] < e[100] / 100


def test_xor_is_solved_from_every_start():
    """'Every start solves XOR: after 5000 updates, the output farthest from its target, over all ten
    starts, is off by [bp_xor_worst].' Solved: every output on the right side of 0.5; and close."""
    sweep = xor_two_layer.seed_sweep(seeds=range(10), steps=5000)
    assert sweep.solved.all()
    assert sweep.max_output_error.max() < 0.05


def test_xor_weights_are_uniform_in_minus_one_one():
    w1, w2 = xor_two_layer.init_weights(np.random.default_rng(0), hidden=1000)
    assert w1.shape == (3, 1000) and w2.shape == (1000, 1)
    assert w1.min() >= -1 and w1.max() < 1 and abs(w1.mean()) < 0.05


@pytest.fixture(scope="module")
def xor_sizes():
    return xor_two_layer.size_sweep(hidden_sizes=(2, 20), seeds=range(20), steps=5000, tol=0.1)


def test_tiny_xor_net_is_harder_to_train(xor_sizes):
    """'With 20 hidden units every start succeeds ([bp_xor20_ok] of 20). With 2 units only [bp_xor2_ok]
    of the 20 starts do, although the successful ones prove that two units can represent XOR.'
    Success: every output within 0.1 of its target after 5000 updates. The 20-unit nets end far
    inside the tolerance; the ordering holds with a wide margin."""
    big, small = xor_sizes.success_count(20), xor_sizes.success_count(2)
    assert big == 20 and xor_sizes.sweeps[20].max_output_error.max() < 0.05
    assert 1 <= small <= 10 and big - small >= 10
    assert np.all(xor_sizes.sweeps[2].max_output_error[xor_sizes.successes(2)] < 0.08)  # clear successes


def test_tiny_xor_net_sits_on_plateaus(xor_sizes):
    """'In [bp_xor2_half] of the starts, one output ends near 0.5, undecided ... four times as many
    updates free only some of them ([bp_xor2_long_ok] of 20 succeed after 20000 updates).'"""
    errors = xor_sizes.sweeps[2].max_output_error
    near_half = np.abs(errors - 0.5) < 0.05
    assert near_half.sum() >= 7 and not np.any(near_half & xor_sizes.successes(2))
    longer = xor_two_layer.size_sweep(hidden_sizes=(2,), seeds=range(20), steps=20000, tol=0.1)
    assert xor_sizes.success_count(2) < longer.success_count(2) <= 16


def test_size_sweep_rejects_a_useless_tolerance():
    with pytest.raises(ValueError):
        xor_two_layer.size_sweep(hidden_sizes=(2,), seeds=range(1), steps=1, tol=0.5)


# ============================================================================================
# What a hidden layer can represent
# ============================================================================================
def test_parity_networks_are_exact_and_their_sizes():
    """The parity table: all three networks are right on every one of the 2^n inputs; the truth-table
    net has 2^(n-1) + 1 threshold units, the counting net n + 1, the deep chain 3(n-1)
    ('2^9 + 1 = 513 units for n = 10, against 27 for the chain'). Exact: small-integer arithmetic."""
    r = parity.run(ns=range(2, 11))
    for name in ("pattern", "counting", "deep"):
        assert all(r.correct[name]), name
    for i, n in enumerate(r.ns):
        assert r.units["pattern"][i] == 2 ** (n - 1) + 1
        assert r.units["counting"][i] == n + 1
        assert r.units["deep"][i] == 3 * (n - 1)
    assert (r.units["pattern"][-1], r.units["deep"][-1]) == (513, 27)
    assert r.units["pattern"][0] - 1 == 2  # 'the truth-table construction above uses two' for XOR


def test_parity_helpers():
    x = parity.all_inputs(3)
    assert x.shape == (8, 3) and len({tuple(row) for row in x}) == 8
    np.testing.assert_array_equal(parity.parity(x), [0, 1, 1, 0, 1, 0, 0, 1])
    with pytest.raises(ValueError):
        parity.run(ns=(1, 2))


def test_threshold_unit_gets_no_gradient():
    """'Every entry of the threshold unit's gradient is exactly zero, although its loss is far from
    zero; the sigmoid unit's gradient has entries as large as [bp_sig_grad] and points downhill'
    (on every seed: no point lies within h of the threshold, so both perturbed losses are equal)."""
    for seed in range(5):
        r = history_classic.unit_gradients(seed=seed)
        assert np.all(r.grad["step"] == 0.0) and r.loss["step"] >= 1.0
        g = r.grad["sigmoid"]
        assert np.abs(g).max() > 1.0

        def sigmoid_loss(w, r=r):
            return 0.5 * np.sum((r.d - 1.0 / (1.0 + np.exp(-(r.x @ w)))) ** 2)

        out = 1.0 / (1.0 + np.exp(-(r.x @ r.w)))
        analytic = -r.x.T @ ((r.d - out) * out * (1.0 - out))  # the delta rule through a sigmoid
        assert gradcheck.rel_error(g, analytic) < 1e-7
        step = 0.1 / np.abs(g).max()
        assert sigmoid_loss(r.w - step * g) < r.loss["sigmoid"]  # downhill
    r = history_classic.unit_gradients(seed=0)
    assert 3.0 < np.abs(r.grad["sigmoid"]).max() < 30.0


# ============================================================================================
# Digits
# ============================================================================================
@pytest.fixture(scope="module")
def digits_book():
    """The book's run (the defaults of ``run`` are the chapter's settings), with its torch twin."""
    pytest.importorskip("torch")
    return digits_two_layer.run(twin=True, progress=False, seed=0)


def test_digits_first_loss_is_ln_10_and_the_start_is_slow(digits_book):
    """'it starts at [bp_dig_loss0], where the chance value ln 10 = 2.3026 says it should'; 'the loss
    stays within [bp_dig_slow] of ln 10 for the first ten steps before it falls' (every seed: the
    weights' std of 0.01 makes the scores, hence the departure from ln 10, tiny)."""
    assert digits_book.chance_loss == pytest.approx(math.log(10), rel=4 * EPS)
    for seed in range(3):
        loss = np.asarray(digits_two_layer.run(epochs=1, progress=False, seed=seed).history.loss)
        assert abs(loss[0] - math.log(10)) < 5e-3
        assert np.all(np.abs(loss[:11] - math.log(10)) < 0.02)
    loss = np.asarray(digits_book.history.loss)
    assert abs(loss[0] - math.log(10)) < 5e-3
    assert np.all(np.abs(loss[:11] - math.log(10)) < 0.02)
    assert np.mean(loss[-17:]) < 0.1 * math.log(10)  # ... before it falls


def test_digits_accuracy_seed_0(digits_book):
    """'The network fits the training set ([bp_dig_train] right) and reaches about [bp_dig_test] on the
    test set'."""
    assert digits_book.train_acc >= 0.99
    assert 0.93 <= digits_book.test_acc < digits_book.train_acc
    assert digits_book.dims == (64, 100, 10) and digits_book.n_params == 7510
    assert digits_book.history.steps == 510  # 30 epochs of ceil(1077 / 64) = 17 steps


def test_digits_accuracy_other_seeds():
    """'over seeds 1 to 5 the test accuracy lies between [bp_dig_test_min] and [bp_dig_test_max]':
    every seed fits its training split and lands in the mid-nineties on its test split."""
    for seed in range(1, 6):
        r = digits_two_layer.run(twin=False, progress=False, seed=seed)
        assert r.train_acc >= 0.99, (seed, r.train_acc)
        assert 0.93 <= r.test_acc < r.train_acc, (seed, r.test_acc)


def test_digits_torch_twin_follows_the_same_curve(digits_book):
    """'The torch twin follows the same loss curve to within [bp_dig_twin].' (float64 rounding)"""
    assert digits_book.twin_max_diff < TRAJECTORY_TOL
    assert len(digits_book.torch_history.loss) == len(digits_book.history.loss) == 510


def test_the_four_step_loop_is_the_solver():
    """'The Solver of course_lib runs exactly this loop (a test checks that both give the same loss at
    every step)', for the NumPy loop and for the torch one."""
    from course_lib.data import load_digits
    from course_lib.scratch.model import MLP
    from course_lib.scratch.optim import SGD
    from course_lib.scratch.solver import Solver

    data = load_digits(seed=0, scale="unit")
    models = [MLP([64, 32, 10], reg=1e-4, rng=np.random.default_rng(0)) for _ in range(2)]
    history = Solver(models[0], data, SGD(0.1, momentum=0.9), batch_size=64, epochs=2, seed=3,
                     progress=False).train()
    losses = digits_two_layer.train_loop(models[1], SGD(0.1, momentum=0.9), data.x_train, data.y_train,
                                         batch_size=64, epochs=2, seed=3)
    assert len(losses) == len(history.loss) == 2 * 17
    np.testing.assert_allclose(losses, history.loss, rtol=0, atol=TRAJECTORY_TOL)
    for name, w in models[0].params.items():
        np.testing.assert_allclose(models[1].params[name], w, rtol=0, atol=TRAJECTORY_TOL)

    torch = pytest.importorskip("torch")
    from course_lib.torch_impl.model import MLP as TorchMLP
    from course_lib.torch_impl.optim import SGD as TorchSGD
    from course_lib.torch_impl.solver import Solver as TorchSolver

    nets = [TorchMLP([64, 32, 10], reg=1e-4, rng=0) for _ in range(2)]
    nets[1].load_state_dict(nets[0].state_dict())
    history = TorchSolver(nets[0], data, TorchSGD(nets[0].parameters(), lr=0.1, momentum=0.9), batch_size=64,
                          epochs=2, seed=3, progress=False).train()
    losses = digits_two_layer.train_loop_torch(
        nets[1], TorchSGD(nets[1].parameters(), lr=0.1, momentum=0.9), torch.tensor(data.x_train),
        torch.tensor(data.y_train), batch_size=64, epochs=2, seed=3,
    )
    np.testing.assert_allclose(losses, history.loss, rtol=0, atol=TRAJECTORY_TOL)


# ============================================================================================
# Capacity vs regularization (book size; only the grid is coarser)
# ============================================================================================
@pytest.fixture(scope="module")
def capacity_runs():
    """The book's run (seed 0) and two more seeds; only the plotting grid is coarser."""
    return {s: capacity.run(seed=s, grid_size=8) for s in (0, 1, 2)}


def test_capacity_book_numbers(capacity_runs):
    """'Three units cannot follow the spirals and get [bp_cap_small_train] of the training points right;
    twenty units reach [bp_cap_big_train] on the training points and [bp_cap_big_test] on the test
    points'; 'every train-test gap in the table is a few points at most (the largest is
    [bp_cap_max_gap])'; 'with lambda = 1e-2 the net is pushed back to about [bp_cap_strong_train], far
    below the [bp_cap_big_train] of the weakly penalized net'."""
    r = capacity_runs[0]
    small, _, big = r.sizes
    strong = r.strengths[-1]
    assert (small.hidden, big.hidden, strong.hidden, strong.reg) == (3, 20, 20, 1e-2)
    assert small.train_acc < 0.8
    assert big.train_acc >= 0.95 and big.test_acc >= 0.9
    assert max(abs(net.gap) for net in r.nets) < 0.1
    assert 0.6 < strong.train_acc < 0.85 and big.train_acc - strong.train_acc > 0.15


def test_capacity_structural_claims(capacity_runs):
    """On every seed: more units fit better and generalize at least as well; the small nets underfit
    (their test accuracy is as bad as their training accuracy); every train-test gap is a few points;
    'a stronger penalty ... lowers the training accuracy step by step'; the strongest one underfits."""
    for seed, r in capacity_runs.items():
        small, mid, big = r.sizes
        assert small.train_acc < mid.train_acc < big.train_acc, seed
        assert big.test_acc > max(small.test_acc, mid.test_acc) + 0.05, seed
        assert big.test_acc >= 0.9, seed
        assert all(abs(net.gap) < 0.1 for net in r.nets), seed
        assert abs(big.gap) < 0.05, seed  # 'the 20-unit net barely overfits at all'
        train = [big.train_acc] + [net.train_acc for net in r.strengths]
        assert all(a > b for a, b in zip(train, train[1:])), (seed, train)
        assert r.strengths[-1].train_acc < 0.85 and big.train_acc - r.strengths[-1].train_acc > 0.15, seed


def test_capacity_probabilities_on_the_grid(capacity_runs):
    r = capacity_runs[0]
    for net in r.nets:
        assert net.probs.shape == (8, 8, 3)
        np.testing.assert_allclose(net.probs.sum(axis=-1), 1.0, atol=8 * EPS)  # 3 terms, a few roundings


# ============================================================================================
# Perceptron and ADALINE
# ============================================================================================
@pytest.fixture(scope="module")
def classic_runs():
    return {s: history_classic.run(seed=s) for s in range(6)}


def test_perceptron_stops_on_the_separable_set(classic_runs):
    """'On the separable set the perceptron stops after [bp_perc_epochs] epochs with no mistake left'
    (on every seed, within a few epochs: Novikoff's bound)."""
    for r in classic_runs.values():
        p = r.separable.perceptron
        assert p.converged and p.curve[-1] == 0 and len(p.curve) <= 10  # counts of mistakes: integers
        d = r.separable
        margins = (d.x @ p.w + p.b) * (2 * d.y - 1)
        assert margins.min() > 0  # every point on its side of the final line


def test_adaline_on_the_separable_set(classic_runs):
    """'ADALINE gets every point right too'; its step is half the largest stable one."""
    for r in classic_runs.values():
        d, a = r.separable, r.separable.adaline
        assert a.converged
        margins = (d.x @ a.w + a.b - a.threshold) * (2 * d.y - 1)
        assert margins.min() > 1e-3  # every point right, with room to spare above any rounding
        xt = np.column_stack([d.x, np.ones(len(d.x))])
        # the same LAPACK call on the same 3x3 matrix; 16 roundings of room
        assert d.adaline_lr == pytest.approx(1.0 / np.linalg.eigvalsh(xt.T @ xt).max(), rel=16 * EPS)


def test_perceptron_never_stops_on_xor(classic_runs):
    """'The perceptron never stops: it makes between [bp_perc_xor_min] and [bp_perc_xor_max] mistakes in
    every one of the 50 epochs' -- on every seed, never fewer than a fifth of the points."""
    for r in classic_runs.values():
        p, n = r.xor.perceptron, len(r.xor.y)
        assert not p.converged and len(p.curve) == 50
        assert n / 5 <= p.curve.min() <= p.curve.max() <= n


def test_adaline_stalls_at_n_over_8_on_xor(classic_runs):
    """'its loss stalls at about N/8 = 12.5 ... and its accuracy is [bp_ada_xor_acc], chance level'
    (on every seed: within 2% of N/8, and an accuracy within ten points of 50%)."""
    assert classic_runs[0].xor.adaline_floor == 100 / 8  # exact: N = 100
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
