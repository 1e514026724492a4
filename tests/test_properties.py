"""Property-based tests (hypothesis) of the losses and activations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from course_lib.scratch.activations import ReLU, Sigmoid
from course_lib.scratch.losses import MulticlassSVM, SoftmaxCrossEntropy

SETTINGS = settings(max_examples=60, deadline=None)

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)


@st.composite
def scores_and_labels(draw, elements=finite):
    n = draw(st.integers(1, 6))
    c = draw(st.integers(1, 6))
    scores = draw(arrays(np.float64, (n, c), elements=elements))
    y = draw(arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return scores, y


@SETTINGS
@given(scores_and_labels())
def test_softmax_probabilities_sum_to_one(data) -> None:
    scores, y = data
    loss, cache = SoftmaxCrossEntropy.forward(scores, y)
    assert np.all(cache.probs >= 0)
    np.testing.assert_allclose(cache.probs.sum(axis=1), 1.0, rtol=0, atol=1e-12)


@SETTINGS
@given(scores_and_labels(), st.floats(0.1, 10.0))
def test_cross_entropy_gradient_rows_sum_to_zero(data, dout) -> None:
    scores, y = data
    _, cache = SoftmaxCrossEntropy.forward(scores, y)
    (dscores,) = SoftmaxCrossEntropy.backward(dout, cache)
    np.testing.assert_allclose(dscores.sum(axis=1), 0.0, rtol=0, atol=1e-12 * dout)


@SETTINGS
@given(scores_and_labels())
def test_cross_entropy_is_finite_and_nonnegative(data) -> None:
    scores, y = data
    loss, _ = SoftmaxCrossEntropy.forward(scores, y)
    assert np.isfinite(loss) and loss >= 0


@SETTINGS
@given(scores_and_labels(elements=st.floats(-5, 5)), st.floats(-1e3, 1e3))
def test_cross_entropy_is_shift_invariant(data, shift) -> None:
    scores, y = data
    a, _ = SoftmaxCrossEntropy.forward(scores, y)
    b, _ = SoftmaxCrossEntropy.forward(scores + shift, y)
    assert b == pytest.approx(a, rel=1e-9, abs=1e-9)


def test_cross_entropy_stable_for_huge_logits() -> None:
    scores = np.array([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 1000.0]])
    loss, cache = SoftmaxCrossEntropy.forward(scores, np.array([0, 2]))
    assert np.isfinite(loss) and np.all(np.isfinite(cache.probs))
    assert loss == pytest.approx((0.0 + np.log(3.0)) / 2, rel=1e-12)
    loss, _ = SoftmaxCrossEntropy.forward(scores[:1], np.array([1]))
    assert loss == pytest.approx(1000.0, rel=1e-12)  # log(e^1000 + 1 + e^-1000) - 0 = 1000
    (dscores,) = SoftmaxCrossEntropy.backward(1.0, cache)
    assert np.all(np.isfinite(dscores))


@SETTINGS
@given(scores_and_labels(), st.floats(0.0, 5.0))
def test_svm_loss_nonnegative(data, margin) -> None:
    scores, y = data
    loss, _ = MulticlassSVM.forward(scores, y, margin=margin)
    assert loss >= 0


@SETTINGS
@given(scores_and_labels(elements=st.floats(-10, 10)), st.floats(0.0, 5.0), st.floats(1e-3, 10.0))
def test_svm_loss_zero_when_margins_satisfied(data, margin, extra) -> None:
    scores, y = data
    rows = np.arange(len(y))
    scores = scores.copy()
    others = scores.copy()
    others[rows, y] = -np.inf
    scores[rows, y] = others.max(axis=1) + margin + extra  # beat every other class by more than the margin
    scores[rows, y] = np.where(np.isfinite(scores[rows, y]), scores[rows, y], 0.0)  # single-class rows
    loss, cache = MulticlassSVM.forward(scores, y, margin=margin)
    assert loss == 0.0
    (dscores,) = MulticlassSVM.backward(1.0, cache)
    assert np.all(dscores == 0)


@SETTINGS
@given(scores_and_labels())
def test_svm_gradient_rows_sum_to_zero(data) -> None:
    scores, y = data
    _, cache = MulticlassSVM.forward(scores, y)
    (dscores,) = MulticlassSVM.backward(1.0, cache)
    np.testing.assert_allclose(dscores.sum(axis=1), 0.0, atol=1e-12)


wide = st.floats(min_value=-1e300, max_value=1e300, allow_nan=False)


@SETTINGS
@given(arrays(np.float64, st.integers(1, 20), elements=wide))
def test_sigmoid_range_and_symmetry(x) -> None:
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow, even for |x| ~ 1e300
        out, _ = Sigmoid.forward(x)
        neg, _ = Sigmoid.forward(-x)
    assert np.all((out >= 0) & (out <= 1))
    np.testing.assert_allclose(neg, 1.0 - out, rtol=0, atol=2e-16)
    inside = np.abs(x) <= 30
    assert np.all((out[inside] > 0) & (out[inside] < 1))


@SETTINGS
@given(arrays(np.float64, st.integers(1, 20), elements=st.floats(-30, 30)))
def test_sigmoid_derivative_is_at_most_a_quarter(x) -> None:
    _, cache = Sigmoid.forward(x)
    (dx,) = Sigmoid.backward(np.ones_like(x), cache)
    assert np.all((dx >= 0) & (dx <= 0.25))


@SETTINGS
@given(arrays(np.float64, st.integers(1, 20), elements=finite))
def test_relu_is_nonnegative_and_idempotent(x) -> None:
    out, _ = ReLU.forward(x)
    assert np.all(out >= 0)
    np.testing.assert_array_equal(ReLU.forward(out)[0], out)
    np.testing.assert_array_equal(out - ReLU.forward(-x)[0], x)  # relu(x) - relu(-x) = x
