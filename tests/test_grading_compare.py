"""Unit tests of the grader's comparison (``course_lib.grading.compare``).

Each test states the exact verdict: ``None`` (a match), or a message with the words a student
needs to find the mistake. The rules are in the module docstring of ``compare.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.grading.compare import compare, describe

NAME = "the value returned by `f`"


def verdict(expected, actual, rtol=1e-7, atol=1e-10, names=()):
    return compare(expected, actual, NAME, rtol=rtol, atol=atol, names=names)


def assert_message(message, *words):
    assert message is not None, "expected a mismatch, got a match"
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


# -- matches ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expected, actual",
    [
        (np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(2, 3)),
        (1.5, 1.5),
        (3, 3.0),  # an int where a float is due, and the reverse, are the same number
        (3.0, 3),
        (2.0, np.float64(2.0)),
        (2.0, np.array(2.0)),  # a 0-d array is a number
        (np.array([1.0, 2.0]), np.array([1, 2])),  # an integer array where floats are due
        (np.array([1, 2]), np.array([1.0, 2.0])),  # and floats where the reference has ints
        (np.array([1, 2], dtype=np.int64), np.array([1, 2], dtype=np.int32)),
        (None, None),
        (True, True),
        ("relu", "relu"),
        ((1.0, np.zeros(2)), [1.0, np.zeros(2)]),  # a list where a tuple is due
        ({"a": 1.0, "b": np.ones(2)}, {"b": np.ones(2), "a": 1.0}),
        (np.array([True, False]), np.array([True, False])),
        (np.zeros((0, 3)), np.zeros((0, 3))),
    ],
)
def test_equal_values_match(expected, actual):
    assert verdict(expected, actual) is None


# -- shapes -------------------------------------------------------------------------------------


def test_keepdims_extra_axis_is_a_wrong_shape():
    msg = verdict(np.arange(5.0), np.arange(5.0).reshape(5, 1))
    assert msg == (
        f"{NAME} has shape (5, 1), expected (5,) (an extra axis of length 1: keepdims=True, or a missing squeeze?)"
    )
    assert_message(verdict(np.ones(3), np.ones((1, 3))), "has shape (1, 3), expected (3,)", "keepdims=True")


def test_missing_axis_of_length_one():
    msg = verdict(np.ones((4, 1)), np.ones(4))
    assert_message(msg, "has shape (4,), expected (4, 1)", "axis of length 1 is missing")


def test_flattened_and_transposed_arrays_are_wrong_shapes():
    x = np.arange(6.0).reshape(2, 3)
    assert_message(verdict(x, x.ravel()), "has shape (6,), expected (2, 3)", "flattened")
    assert_message(verdict(x, x.T), "has shape (3, 2), expected (2, 3)", "different shape")
    assert_message(verdict(np.ones((1, 3)), np.ones((3, 1))), "has shape (3, 1), expected (1, 3)", "different shape")
    assert verdict(x, np.arange(4.0)) == f"{NAME} has shape (4,), expected (2, 3)"


def test_scalar_where_an_array_is_due():
    assert verdict(np.ones(3), 1.0) == f"{NAME} should be an array of shape (3,), got the number 1"
    assert_message(verdict(np.ones(1), 1.0), "should be an array of shape (1,)", "the number 1")


def test_array_where_a_scalar_is_due():
    assert verdict(1.0, np.ones(1)) == f"{NAME} should be a number, got an array of shape (1,)"
    assert_message(verdict(0.5, np.ones((2, 2))), "should be a number", "an array of shape (2, 2)")


# -- bools are not numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize("flag", [True, np.bool_(True)])
def test_a_bool_is_not_the_number_one(flag):
    msg = verdict(1.0, flag)
    assert_message(msg, "should be a number", "a bool")
    assert verdict(1, flag) is not None
    assert verdict(0.0, False) is not None


def test_bool_arrays_and_lists_of_bools_are_not_numbers():
    assert_message(verdict(np.ones(2), np.array([True, True])), "array of numbers of shape (2,)", "of bools")
    assert_message(verdict(np.ones(2), [True, True]), "a list holding bools")
    assert_message(verdict(np.ones(2), [1.0, True]), "a list holding bools")  # NumPy would read it as 1.0


def test_a_number_is_not_a_bool():
    assert verdict(True, 1) == f"{NAME} should be True, got the number 1"
    assert verdict(False, 0.0) == f"{NAME} should be False, got the number 0"


def test_bool_masks_compare_entry_by_entry():
    mask = np.array([True, False, True])
    assert verdict(mask, np.array([True, True, True])) == (
        f"{NAME} differs from the expected value at 1 entry, e.g. index (1,) (got True, expected False)"
    )
    assert_message(verdict(mask, np.array([1.0, 0.0, 1.0])), "should be an array of bools of shape (3,)")
    assert_message(verdict(mask, mask[None]), "has shape (1, 3), expected (3,)")
    assert verdict(mask, [True, False, True]) is None


# -- lists where an array is due ----------------------------------------------------------------------


def test_list_of_the_right_numbers_is_accepted_where_an_array_is_due():
    """The rule: array-like, as np.asarray reads it (the notebooks' self-checks do the same)."""
    assert verdict(np.array([1.0, 2.0, 3.0]), [1.0, 2.0, 3.0]) is None
    assert verdict(np.array([[1.0, 2.0], [3.0, 4.0]]), [[1, 2], (3, 4)]) is None
    assert verdict(np.array([1.0, 2.0]), (1.0, 2.0)) is None


def test_list_with_wrong_shape_or_values_is_refused():
    assert_message(verdict(np.ones(3), [1.0, 1.0]), "has shape (2,), expected (3,)")
    assert_message(verdict(np.ones(3), [1.0, 1.0, 2.0]), "differs from the expected value", "index (2,)")
    assert verdict(1.0, [1.0]) == f"{NAME} should be a number, got a list of 1 value"


@pytest.mark.parametrize("bad", [[1.0, [2.0, 3.0]], [1.0, None], ["1.0", "2.0"], [1.0, {"a": 1}]])
def test_list_numpy_cannot_read_as_numbers_is_refused(bad):
    msg = verdict(np.ones(2), bad)
    assert_message(msg, "should be an array of shape (2,)", f"a list of {len(bad)} values", "cannot read")


# -- NaN and infinity ----------------------------------------------------------------------------------


def test_nan_where_the_reference_is_finite():
    msg = verdict(np.array([1.0, 2.0, 3.0]), np.array([1.0, np.nan, 3.0]))
    assert msg == (
        f"{NAME} contains nan at index (1,) (expected finite values: is the computation numerically stable?)"
    )
    assert_message(verdict(0.5, float("nan")), "is nan", "numerically stable")


def test_inf_where_the_reference_is_finite():
    assert_message(verdict(np.zeros((2, 2)), np.array([[0.0, 0.0], [-np.inf, 0.0]])), "contains -inf at index (1, 0)")
    assert_message(verdict(2.0, float("inf")), "is inf", "numerically stable")


def test_nan_and_inf_where_the_reference_has_them_match():
    assert verdict(np.array([np.nan, 1.0]), np.array([np.nan, 1.0])) is None
    assert verdict(float("nan"), float("nan")) is None
    assert verdict(np.array([np.inf, -np.inf]), np.array([np.inf, -np.inf])) is None


def test_a_finite_value_where_the_reference_has_nan_or_inf():
    assert_message(verdict(np.array([np.nan, 1.0]), np.array([0.0, 1.0])), "index (0,)", "expected nan")
    assert_message(verdict(np.array([np.inf]), np.array([-np.inf])), "max abs error inf", "expected inf")


def test_the_worst_mismatch_is_reported_not_a_matching_nan():
    expected = np.array([np.nan, 1.0, 2.0])
    msg = verdict(expected, np.array([np.nan, 1.5, 2.0]))
    assert msg == f"{NAME} differs from the expected value: max abs error 0.5 at index (1,) (got 1.5, expected 1)"


# -- tolerances ----------------------------------------------------------------------------------------


def test_relative_tolerance():
    assert verdict(1000.0, 1000.0 + 5e-5, rtol=1e-7, atol=0.0) is None  # 5e-8 relative
    assert verdict(1000.0, 1000.0 + 5e-4, rtol=1e-7, atol=0.0) == f"{NAME} is 1000.0005, expected 1000"


def test_absolute_tolerance():
    assert verdict(np.zeros(3), np.array([0.0, 5e-11, 0.0])) is None
    msg = verdict(np.zeros(3), np.array([0.0, 5e-9, 0.0]))
    assert msg == f"{NAME} differs from the expected value: max abs error 5e-09 at index (1,) (got 5e-09, expected 0)"


def test_exact_comparison_with_zero_tolerances():
    assert verdict(18, 18, rtol=0.0, atol=0.0) is None
    assert verdict(18, 18.0, rtol=0.0, atol=0.0) is None
    assert verdict(18, 17, rtol=0.0, atol=0.0) == f"{NAME} is 17, expected 18"


def test_integer_arrays_compare_by_value():
    msg = verdict(np.array([1, 2, 3]), np.array([1, 2, 4]))
    assert_message(msg, "max abs error 1 at index (2,)", "got 4, expected 3")


# -- tuples, dicts, None, strings ---------------------------------------------------------------------


def test_tuple_of_the_wrong_length():
    msg = verdict((1.0, np.ones(2)), (1.0, np.ones(2), 3.0), names=("loss", "dscores"))
    assert msg == f"{NAME} should be a tuple of 2 values (`loss`, `dscores`), got a tuple of 3 values"
    assert verdict((1.0, 2.0), (1.0,)) == f"{NAME} should be a tuple of 2 values, got a tuple of 1 value"


def test_single_value_where_a_tuple_is_due():
    msg = verdict((1.0, np.ones(2)), np.ones(2), names=("loss", "dscores"))
    assert msg == f"{NAME} should be a tuple of 2 values (`loss`, `dscores`), got an array of shape (2,)"


def test_tuple_elements_are_named():
    msg = verdict((1.0, np.ones((2, 3))), (1.0, np.ones((2, 1))), names=("loss", "dscores"))
    assert_message(msg, "`dscores` has shape (2, 1), expected (2, 3)")
    assert_message(verdict((1.0, 2.0), (1.0, 2.5)), f"{NAME}[1] is 2.5, expected 2")


def test_dict_keys_missing_and_extra():
    expected = {"W1": np.ones(2), "b1": np.zeros(2)}
    assert verdict(expected, {"W1": np.ones(2)}) == f"{NAME}: missing keys ['b1']"
    assert verdict(expected, {**expected, "W9": 1.0}) == f"{NAME}: unexpected keys ['W9']"
    assert verdict(expected, {"W1": np.ones(2), "b2": 0.0}) == f"{NAME}: missing keys ['b1'], unexpected keys ['b2']"
    msg = verdict(expected, [np.ones(2), np.zeros(2)])
    assert msg == f"{NAME} should be a dict with keys ['W1', 'b1'], got a list of 2 values"


def test_dict_values_are_named_by_key():
    msg = compare({"W1": np.ones(2)}, {"W1": np.ones(3)}, "`new_params`", rtol=1e-7, atol=0.0)
    assert msg == "`new_params['W1']` has shape (3,), expected (2,)"


def test_none():
    assert verdict(np.ones(2), None) == f"{NAME} should be an array of shape (2,), got None"
    assert verdict(1.0, None) == f"{NAME} should be a number, got None"
    assert verdict(None, 0.0) == f"{NAME} should be None, got the number 0"
    assert verdict((1.0, 2.0), None) == f"{NAME} should be a tuple of 2 values, got None"


def test_strings():
    assert verdict("relu", "Relu") == f"{NAME} should be 'relu', got the string 'Relu'"
    assert verdict(1.0, "1.0") == f"{NAME} should be a number, got the string '1.0'"
    assert verdict(np.ones(2), "oops") == f"{NAME} should be an array of shape (2,), got the string 'oops'"


def test_huge_integer_does_not_crash_the_comparison():
    assert verdict(1.0, 10**400) == f"{NAME} should be a number, got a number too large for a float"


def test_a_reference_value_of_an_unknown_type_is_a_grader_error():
    with pytest.raises(TypeError, match="cannot compare"):
        verdict(object(), 1.0)


def test_describe():
    assert describe(True) == "a bool (True)"
    assert describe(np.zeros((2, 3), dtype=bool)) == "an array of bools of shape (2, 3)"
    assert describe([1]) == "a list of 1 value" and describe((1, 2)) == "a tuple of 2 values"
    assert describe("x" * 100).endswith("...'")
