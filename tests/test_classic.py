"""Perceptron and Adaline: convergence on separable data, failure on XOR, and twin parity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib.scratch.classic import Adaline, Perceptron
from course_lib.torch_impl.classic import Adaline as TorchAdaline
from course_lib.torch_impl.classic import Perceptron as TorchPerceptron

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0, 1, 1, 0])


def separable(seed: int = 0, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Two classes on either side of the line x1 + 2 x2 = 0.5, with a gap."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=(4 * n, 2))
    z = x[:, 0] + 2 * x[:, 1] - 0.5
    keep = np.abs(z) > 0.3
    return x[keep][:n], (z[keep][:n] > 0).astype(int)


# ----- perceptron -------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_perceptron_converges_on_separable_data(seed: int) -> None:
    x, y = separable(seed)
    p = Perceptron(lr=1.0, epochs=100, rng=seed).fit(x, y)
    assert p.converged_
    assert p.errors_[-1] == 0 and all(e > 0 for e in p.errors_[:-1])
    np.testing.assert_array_equal(p.predict(x), y)


def test_perceptron_never_converges_on_xor() -> None:
    p = Perceptron(lr=1.0, epochs=50, rng=0).fit(XOR_X, XOR_Y)
    assert not p.converged_
    assert len(p.errors_) == 50
    assert min(p.errors_) > 0  # no epoch without a mistake
    assert np.mean(p.predict(XOR_X) == XOR_Y) < 1.0


def test_perceptron_with_logic_gates() -> None:
    for y in ([0, 0, 0, 1], [0, 1, 1, 1]):  # AND, OR are linearly separable
        p = Perceptron(epochs=20, shuffle=False).fit(XOR_X, np.array(y))
        assert p.converged_
        np.testing.assert_array_equal(p.predict(XOR_X), y)


@pytest.mark.parametrize("shuffle", [True, False])
def test_perceptron_twin_agrees(shuffle: bool) -> None:
    x, y = separable(3)
    p = Perceptron(lr=0.5, epochs=30, shuffle=shuffle, rng=4).fit(x, y)
    t = TorchPerceptron(lr=0.5, epochs=30, shuffle=shuffle, rng=4).fit(torch.as_tensor(x), torch.as_tensor(y))
    assert t.errors_ == p.errors_ and t.converged_ == p.converged_
    np.testing.assert_allclose(t.w_.numpy(), p.w_, rtol=1e-12)
    assert float(t.b_) == pytest.approx(p.b_)
    np.testing.assert_array_equal(t.predict(x).numpy(), p.predict(x))
    xt = TorchPerceptron(epochs=10, rng=0).fit(XOR_X, XOR_Y)
    assert xt.errors_ == Perceptron(epochs=10, rng=0).fit(XOR_X, XOR_Y).errors_


# ----- Adaline ----------------------------------------------------------------------------------
def test_adaline_loss_decreases_monotonically_for_small_lr() -> None:
    x, y = separable(0)
    a = Adaline(lr=1e-3, epochs=200).fit(x, y)
    losses = np.array(a.losses_)
    assert len(losses) == 200
    assert np.all(np.diff(losses) < 0)
    assert losses[-1] < 0.5 * losses[0]
    assert np.mean(a.predict(x) == y) > 0.9


def test_adaline_diverges_for_large_lr() -> None:
    x, y = separable(0)
    losses = Adaline(lr=0.1, epochs=20).fit(x, y).losses_
    assert losses[-1] > 1e3 * losses[0]


def test_adaline_reaches_least_squares_solution() -> None:
    x, y = separable(1)
    a = Adaline(lr=2e-3, epochs=3000).fit(x, y)
    design = np.column_stack([x, np.ones(len(x))])
    coef = np.linalg.lstsq(design, y.astype(float), rcond=None)[0]
    np.testing.assert_allclose(np.append(a.w_, a.b_), coef, atol=1e-6)


def test_adaline_threshold() -> None:
    x, y = separable(2)
    a = Adaline(lr=1e-3, epochs=100).fit(x, y)
    np.testing.assert_array_equal(a.predict(x), (a.decision_function(x) > 0.5).astype(int))
    b = Adaline(lr=1e-3, epochs=100, threshold=0.0).fit(x, 2 * y - 1)  # {-1, +1} targets
    np.testing.assert_array_equal(b.predict(x), (b.decision_function(x) > 0).astype(int))


def test_adaline_twin_agrees() -> None:
    x, y = separable(5)
    a = Adaline(lr=1e-3, epochs=60).fit(x, y)
    t = TorchAdaline(lr=1e-3, epochs=60).fit(x, y)
    np.testing.assert_allclose(t.losses_, a.losses_, rtol=1e-10)
    np.testing.assert_allclose(t.w_.numpy(), a.w_, rtol=1e-10)
    assert float(t.b_) == pytest.approx(a.b_, rel=1e-10)
    np.testing.assert_array_equal(t.predict(x).numpy(), a.predict(x))


# ----- validation -------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [Perceptron, Adaline, TorchPerceptron, TorchAdaline])
@pytest.mark.parametrize(
    "x, y, match",
    [
        (np.ones(4), np.zeros(4), "2-D"),
        (np.ones((4, 2)), np.zeros(3), "targets"),
        (np.full((4, 2), np.nan), np.zeros(4), "nan"),
        (np.ones((4, 2)), np.zeros((4, 1)), "1-D"),
    ],
)
def test_bad_inputs(cls, x, y, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        cls().fit(x, y)


def test_perceptron_needs_binary_labels() -> None:
    for cls in (Perceptron, TorchPerceptron):
        with pytest.raises(ValueError, match="0 or 1"):
            cls().fit(XOR_X, np.array([0, 1, 2, 0]))


@pytest.mark.parametrize("cls", [Perceptron, Adaline])
def test_bad_hyperparameters_and_unfitted(cls) -> None:
    with pytest.raises(ValueError, match="lr"):
        cls(lr=-1.0)
    with pytest.raises(ValueError, match="epochs"):
        cls(epochs=0)
    with pytest.raises(RuntimeError, match="fit"):
        cls().predict(XOR_X)
    fitted = cls(epochs=2).fit(XOR_X, XOR_Y)
    with pytest.raises(ValueError, match="features"):
        fitted.predict(np.ones((2, 3)))
