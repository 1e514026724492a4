"""The argument checks shared by the library (course_lib.checks)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from course_lib import checks

# ----- integer ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [3, np.int64(3), np.int8(3), np.uint16(3)])
def test_integer_accepts_python_and_numpy_integers(value) -> None:
    out = checks.integer(value, "n")
    assert out == 3 and type(out) is int


@pytest.mark.parametrize("value", [True, False, np.bool_(True), 3.0, np.float64(3.0), "3", None, [3], 3 + 0j])
def test_integer_rejects_bools_floats_and_the_rest(value) -> None:
    with pytest.raises(ValueError, match=r"^n must be an integer, got "):
        checks.integer(value, "n")


def test_integer_bounds_are_inclusive() -> None:
    assert checks.integer(1, "n", minimum=1, maximum=3) == 1
    assert checks.integer(3, "n", minimum=1, maximum=3) == 3
    with pytest.raises(ValueError, match=r"^n must be in \[1, 3\], got 0$"):
        checks.integer(0, "n", minimum=1, maximum=3)
    with pytest.raises(ValueError, match=r"^n must be in \[1, 3\], got 4$"):
        checks.integer(4, "n", minimum=1, maximum=3)
    with pytest.raises(ValueError, match=r"^n must be <= 3, got 4$"):
        checks.integer(4, "n", maximum=3)
    assert checks.integer(-10**30, "n") == -10**30  # unbounded without bounds


def test_integer_message_names_the_function_the_argument_and_the_full_requirement() -> None:
    with pytest.raises(ValueError, match=r"^Solver: batch_size must be >= 1, got 0$"):
        checks.integer(0, "batch_size", "Solver", minimum=1)
    with pytest.raises(ValueError, match=r"^Solver: batch_size must be an integer >= 1, got 2\.5$"):
        checks.integer(2.5, "batch_size", "Solver", minimum=1)
    with pytest.raises(ValueError, match=r"^quantize: bits must be an integer in \[1, 32\], got True$"):
        checks.integer(True, "bits", "quantize", minimum=1, maximum=32)


def test_is_integer() -> None:
    assert checks.is_integer(0) and checks.is_integer(np.int32(-2))
    assert not any(checks.is_integer(v) for v in (True, np.bool_(False), 1.0, "1", None))


# ----- real -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [2, 2.0, np.int64(2), np.float32(2.0), np.float64(2.0), Fraction(2)])
def test_real_accepts_python_and_numpy_numbers(value) -> None:
    out = checks.real(value, "lr")
    assert out == 2.0 and type(out) is float


@pytest.mark.parametrize("value", [True, np.bool_(False), "0.1", None, [0.1], 1j, np.array([0.1])])
def test_real_rejects_bools_strings_and_containers(value) -> None:
    with pytest.raises(ValueError, match=r"^lr must be a finite number, got "):
        checks.real(value, "lr")


@pytest.mark.parametrize("value", [float("nan"), np.nan, float("inf"), -np.inf, np.float32("inf")])
def test_real_rejects_nan_and_inf_by_default(value) -> None:
    with pytest.raises(ValueError, match="must be a finite number"):
        checks.real(value, "lr")


def test_real_allows_inf_but_never_nan_with_finite_false() -> None:
    assert checks.real(float("inf"), "max_norm", finite=False) == float("inf")
    assert checks.real(-np.inf, "max_norm", finite=False) == -float("inf")
    with pytest.raises(ValueError, match=r"^max_norm must be a number \(not NaN\) > 0, got nan$"):
        checks.real(float("nan"), "max_norm", minimum=0, exclusive_minimum=True, finite=False)
    with pytest.raises(ValueError, match=r"^max_norm must be > 0, got -inf$"):
        checks.real(-float("inf"), "max_norm", minimum=0, exclusive_minimum=True, finite=False)


def test_real_inclusive_and_exclusive_bounds() -> None:
    assert checks.real(0, "eps", minimum=0) == 0.0
    with pytest.raises(ValueError, match=r"^eps must be >= 0, got -1e-12$"):
        checks.real(-1e-12, "eps", minimum=0)
    with pytest.raises(ValueError, match=r"^width must be > 0, got 0$"):
        checks.real(0, "width", minimum=0, exclusive_minimum=True)
    assert checks.real(1e-300, "width", minimum=0, exclusive_minimum=True) == 1e-300
    assert checks.real(1.0, "p", maximum=1.0) == 1.0
    with pytest.raises(ValueError, match=r"^p must be < 1\.0, got 1\.0$"):
        checks.real(1.0, "p", maximum=1.0, exclusive_maximum=True)
    with pytest.raises(ValueError, match=r"^s must be in \(0\.5, 1\), got 0\.5$"):
        checks.real(0.5, "s", minimum=0.5, maximum=1, exclusive_minimum=True, exclusive_maximum=True)
    with pytest.raises(ValueError, match=r"^s must be in \(0\.5, 1\], got 1\.5$"):
        checks.real(1.5, "s", minimum=0.5, maximum=1, exclusive_minimum=True)
    assert checks.real(1, "s", minimum=0.5, maximum=1, exclusive_minimum=True) == 1.0


def test_real_message_names_the_function_and_the_argument() -> None:
    with pytest.raises(ValueError, match=r"^fit_whitening: eps must be a finite number >= 0, got 'a'$"):
        checks.real("a", "eps", "fit_whitening", minimum=0)
    with pytest.raises(ValueError, match=r"^Perceptron: lr must be > 0, got -1\.0$"):
        checks.real(-1.0, "lr", "Perceptron", minimum=0, exclusive_minimum=True)


def test_is_real() -> None:
    assert checks.is_real(1) and checks.is_real(np.float16(0.5)) and checks.is_real(float("nan"))
    assert not any(checks.is_real(v) for v in (True, np.bool_(True), "1", None, 1j))


# ----- generator --------------------------------------------------------------------------------


def test_generator_returns_the_generator_itself() -> None:
    rng = np.random.default_rng(0)
    assert checks.generator(rng) is rng


@pytest.mark.parametrize("value", [0, None, np.random.RandomState(0), np.random])
def test_generator_rejects_seeds_and_legacy_state_with_a_type_error(value) -> None:
    message = r"^make_moons: rng must be a numpy Generator \(np\.random\.default_rng\(seed\)\), got "
    with pytest.raises(TypeError, match=message):
        checks.generator(value, who="make_moons")


# ----- the library uses them ----------------------------------------------------------------------


def test_library_messages_come_from_the_checks() -> None:
    from course_lib.data import make_moons
    from course_lib.scratch.classic import Perceptron
    from course_lib.scratch.preprocessing import quantize

    with pytest.raises(ValueError, match=r"^Perceptron: epochs must be an integer >= 1, got True$"):
        Perceptron(epochs=True)
    with pytest.raises(ValueError, match=r"^make_moons: noise must be >= 0, got -0\.1$"):
        make_moons(np.random.default_rng(0), 10, noise=-0.1)
    with pytest.raises(ValueError, match=r"^quantize: bits must be an integer in \[1, 32\], got 8\.0$"):
        quantize(np.zeros(3), 8.0)
