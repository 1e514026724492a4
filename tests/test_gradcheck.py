"""Tests of the gradient checker itself, including a negative control."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.gradcheck import CheckReport, check_op, numerical_grad, rel_error
from course_lib.scratch.activations import Sigmoid
from course_lib.scratch.linear import Linear
from course_lib.scratch.losses import SoftmaxCrossEntropy


# ----- numerical_grad ---------------------------------------------------------------------------
def test_numerical_grad_of_sum_of_squares() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    g = numerical_grad(lambda v: np.sum(v**2), x, 1.0)
    np.testing.assert_allclose(g, 2 * x, rtol=1e-8, atol=1e-10)


def test_numerical_grad_is_a_vector_jacobian_product() -> None:
    rng = np.random.default_rng(1)
    x, dout = rng.standard_normal(5), rng.standard_normal(5)
    g = numerical_grad(np.sin, x, dout)  # d/dx sum(sin(x) * dout) = cos(x) * dout
    np.testing.assert_allclose(g, np.cos(x) * dout, rtol=1e-8, atol=1e-10)


def test_numerical_grad_matrix_product() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    dout = rng.standard_normal((3, 2))
    np.testing.assert_allclose(numerical_grad(lambda v: v @ b, a, dout), dout @ b.T, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("shape", [(), (4,), (2, 3), (2, 1, 3, 2)])
def test_numerical_grad_any_shape_and_restores_x(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(3)
    x = np.array(rng.standard_normal(shape))
    before = x.copy()
    g = numerical_grad(lambda v: np.exp(v), x, np.ones(shape))
    assert g.shape == shape
    np.testing.assert_allclose(g, np.exp(x), rtol=1e-8)
    np.testing.assert_array_equal(x, before)


def test_numerical_grad_restores_x_when_f_raises() -> None:
    x = np.arange(3.0)
    calls = []

    def f(v):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return v

    with pytest.raises(RuntimeError):
        numerical_grad(f, x, np.ones(3))
    np.testing.assert_array_equal(x, np.arange(3.0))


def test_numerical_grad_rejects_integer_arrays() -> None:
    with pytest.raises(ValueError, match="floating"):
        numerical_grad(lambda v: v, np.arange(3), np.ones(3))


# ----- rel_error --------------------------------------------------------------------------------
def test_rel_error_values() -> None:
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0]), np.array([1.1])) == pytest.approx(0.1 / 2.1)
    # the floor 1e-8 keeps near-zero pairs from exploding
    assert rel_error(np.array([0.0]), np.array([1e-12])) == pytest.approx(1e-4)
    # it is the maximum over elements
    assert rel_error(np.array([1.0, 1.0]), np.array([1.0, 3.0])) == pytest.approx(0.5)
    assert rel_error(np.zeros(0), np.zeros(0)) == 0.0


def test_rel_error_rejects_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="same shape"):
        rel_error(np.ones(3), np.ones((3, 1)))


# ----- check_op ---------------------------------------------------------------------------------
class OffByOnePercentLinear:
    """Negative control: correct forward, backward scaled by 1.01."""

    @staticmethod
    def forward(x, w, b):
        return Linear.forward(x, w, b)

    @staticmethod
    def backward(dout, cache):
        return tuple(1.01 * g for g in Linear.backward(dout, cache))


class WrongBiasLinear:
    """Negative control: only db is wrong (mean instead of sum)."""

    @staticmethod
    def forward(x, w, b):
        return Linear.forward(x, w, b)

    @staticmethod
    def backward(dout, cache):
        dx, dw, db = Linear.backward(dout, cache)
        return dx, dw, db / dout.shape[0]


def _linear_inputs(seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)


def test_check_op_passes_a_correct_op() -> None:
    report = check_op(Linear, *_linear_inputs())
    assert isinstance(report, CheckReport)
    assert report.passed
    assert report.names == ("x", "w", "b")
    assert report.max_error < 1e-8
    assert "PASSED" in str(report)


def test_negative_control_off_by_one_percent_fails() -> None:
    report = check_op(OffByOnePercentLinear, *_linear_inputs())
    assert not report.passed
    assert all(e > 1e-3 for e in report.errors)  # ~0.01 / 2 = 5e-3 everywhere
    assert "FAILED" in str(report) and "WRONG" in str(report)


def test_negative_control_names_the_wrong_input() -> None:
    report = check_op(WrongBiasLinear, *_linear_inputs())
    assert not report.passed
    errs = report.errors_by_name
    assert errs["x"] < 1e-6 and errs["w"] < 1e-6 and errs["b"] > 1e-2


def test_check_op_skips_integer_inputs_and_leaves_inputs_untouched() -> None:
    rng = np.random.default_rng(0)
    scores, y = rng.standard_normal((5, 3)), rng.integers(0, 3, size=5)
    before = scores.copy()
    report = check_op(SoftmaxCrossEntropy, scores, y)
    assert report.names == ("scores",)
    assert report.passed, str(report)
    np.testing.assert_array_equal(scores, before)


def test_check_op_demands_a_tuple() -> None:
    class NoTuple:
        @staticmethod
        def forward(x):
            return 2 * x, None

        @staticmethod
        def backward(dout, cache):
            return 2 * dout  # not a tuple

    with pytest.raises(TypeError, match="tuple"):
        check_op(NoTuple, np.ones(3))


def test_check_op_counts_gradients() -> None:
    class TooFew:
        @staticmethod
        def forward(x, w, b):
            return Linear.forward(x, w, b)

        @staticmethod
        def backward(dout, cache):
            return Linear.backward(dout, cache)[:2]

    with pytest.raises(ValueError, match="2 gradient"):
        check_op(TooFew, *_linear_inputs())


def test_step_size_tradeoff() -> None:
    """h = 1e-5 reaches ~1e-8 or better; h = 1e-7 is clearly worse (rounding error eps/h)."""
    x = 3.0 * np.random.default_rng(0).standard_normal((4, 5))
    good = check_op(Sigmoid, x, h=1e-5).max_error
    bad = check_op(Sigmoid, x, h=1e-7).max_error
    assert good < 1e-7
    assert bad > 10 * good
