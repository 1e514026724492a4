"""Robustness of the public API: bad input fails at once, with a clear error naming the argument.

The contract (see :mod:`course_lib.checks`), checked here over the whole op registry
(``tests/cases.py``: every scratch op's forward and backward, and its torch twin) and over the
non-op public functions:

* **dtype** -- lists and integer arrays are data: they are converted to float64 silently (exactly);
  bool, complex, object and string arrays given as data raise ``TypeError`` naming the argument.
  A twin takes tensors: a NumPy array or a complex/bool tensor raises ``TypeError``. Labels and
  dropout masks have their own rules (integer labels in range; a bool or 0/1 mask).
* **shape** -- a wrong shape (an extra or missing axis, sizes that disagree between inputs, a
  ``dout`` unlike the output) either raises ``ValueError`` naming an argument (or the shape), or
  the op accepts it as torch's built-in does and gives the built-in's answer: never a silent
  broadcast to something else.
* **NaN and inf in data** -- a forward pass propagates them as torch's built-in does (a NaN input
  is not an error); in hyperparameters they raise ``ValueError``, and data-level functions that fit
  statistics or validate data sets (preprocessing fits, ``Splits``) reject them.
* **empty batch** -- either a ``ValueError`` naming the input (batch statistics, mean losses), or
  the built-in's empty output and a backward pass giving zero parameter gradients.
* **out-of-range hyperparameters** -- ``ValueError`` (``TypeError`` for a wrong kind of object)
  whose message names the hyperparameter.

Hypothesis draws which input, which axis and which bad value, derandomized so the run is the same
everywhere; the examples are few and the arrays tiny.
"""

from __future__ import annotations

import inspect
import math
import re
import warnings
from typing import Any

import numpy as np
import pytest
import torch
from cases import CASES, OpCase, to_torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NAN, INF = float("nan"), float("inf")

SETTINGS = settings(
    max_examples=12, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ERRORS = (ValueError, TypeError)
ALIASES = {"y": r"(y|labels)"}  # labels are named by what they are, too
PER_EXAMPLE = {"x", "scores", "y", "mask"}  # inputs whose first axis is the batch


def _names(case: OpCase) -> tuple[list[str], list[str]]:
    """The op's input names (positional, in order) and its hyperparameter names."""
    params = list(inspect.signature(case.op.forward).parameters)
    n_inputs = len(case.make_inputs(np.random.default_rng(0)))
    return params[:n_inputs], params[n_inputs:]


def names_pattern(*names: str) -> str:
    """A regex matching any of ``names`` as a whole word (or its alias)."""
    return r"\b(" + "|".join(ALIASES.get(n, re.escape(n)) for n in names) + r")\b"


def assert_names(error: BaseException, *names: str) -> None:
    message = str(error)
    assert re.search(names_pattern(*names), message), f"message does not name {names}: {message!r}"


def inputs_of(case: OpCase, seed: int = 0) -> list[Any]:
    return list(case.make_inputs(np.random.default_rng(seed)))


def is_float_array(a: Any) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def run_reference(case: OpCase, inputs: list[Any], hyper: dict) -> np.ndarray:
    """torch's built-in (or, for an op without one, the twin) on the same inputs, as a NumPy array."""
    fn = case.reference if case.reference is not None else case.twin
    with torch.no_grad():
        return np.asarray(fn(*to_torch(tuple(inputs)), **hyper).detach().numpy())


def reference_or_error(case: OpCase, inputs: list[Any], hyper: dict) -> np.ndarray | BaseException:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return run_reference(case, inputs, hyper)
    except Exception as error:  # torch's own errors: RuntimeError, IndexError, ...
        return error


def scratch_or_error(case: OpCase, inputs: list[Any], hyper: dict) -> tuple[Any, Any] | BaseException:
    try:
        return case.op.forward(*inputs, **hyper)
    except ERRORS as error:
        return error


IDS = [c.name for c in CASES]


# ----- dtype ----------------------------------------------------------------------------------------
def _bad_dtype(a: np.ndarray, kind: str) -> Any:
    return {
        "complex": a.astype(np.complex128) + 1j,
        "object": np.array([object()] * a.size, dtype=object).reshape(a.shape) if a.size else a.astype(object),
        "string": a.astype(str),
        "bool": a > 0,
    }[kind]


@pytest.mark.parametrize("case", CASES, ids=IDS)
@SETTINGS
@given(data=st.data())
def test_forward_rejects_complex_object_string_and_bool_data(case: OpCase, data) -> None:
    """Complex, object, string and bool arrays given as data raise TypeError naming the argument."""
    inputs = inputs_of(case)
    names, _ = _names(case)
    i = data.draw(st.sampled_from([k for k, a in enumerate(inputs) if is_float_array(a)]), label="input")
    kind = data.draw(st.sampled_from(["complex", "object", "string", "bool"]), label="kind")
    bad = list(inputs)
    bad[i] = _bad_dtype(inputs[i], kind)
    with pytest.raises(TypeError) as info:
        case.op.forward(*bad, **case.hyper)
    assert_names(info.value, names[i])


@pytest.mark.parametrize("case", [c for c in CASES if any(n in ("y", "mask") for n in _names(c)[0])],
                         ids=lambda c: c.name)
@pytest.mark.parametrize("kind", ["complex", "object", "string", "float_fraction"])
def test_labels_and_masks_reject_other_dtypes(case: OpCase, kind: str) -> None:
    """Labels must be integers (whole floats are accepted), masks bool or 0/1: anything else names them."""
    inputs = inputs_of(case)
    names, _ = _names(case)
    i = next(k for k, n in enumerate(names) if n in ("y", "mask"))
    a = inputs[i].astype(np.int64)
    bad = list(inputs)
    bad[i] = a + 0.5 if kind == "float_fraction" else _bad_dtype(a, kind)
    if names[i] == "mask" and not case.hyper.get("training", True):
        pytest.skip("at test time the mask is not used")
    with pytest.raises(ERRORS) as info:
        case.op.forward(*bad, **case.hyper)
    assert_names(info.value, names[i])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_integer_arrays_and_lists_are_converted_exactly(case: OpCase) -> None:
    """Integer arrays and (nested) lists are accepted as data and give the float64 answer."""
    inputs = inputs_of(case)
    rounded = [np.rint(a) if is_float_array(a) else a for a in inputs]
    as_int = [a.astype(np.int64) if is_float_array(a) else a for a in rounded]
    as_list = [a.tolist() if isinstance(a, np.ndarray) else a for a in rounded]
    expected, _ = case.op.forward(*rounded, **case.hyper)
    for variant in (as_int, as_list):
        out, _ = case.op.forward(*variant, **case.hyper)
        np.testing.assert_array_equal(out, expected)
        assert np.asarray(out).dtype == np.float64


@pytest.mark.parametrize("case", CASES, ids=IDS)
@SETTINGS
@given(data=st.data())
def test_twin_rejects_arrays_lists_and_complex_or_bool_tensors(case: OpCase, data) -> None:
    """A twin takes tensors: a NumPy array, a list, a complex or a bool tensor is a TypeError naming it."""
    inputs = inputs_of(case)
    names, _ = _names(case)
    tensors = to_torch(tuple(inputs))
    i = data.draw(st.sampled_from([k for k, a in enumerate(inputs) if is_float_array(a)]), label="input")
    kind = data.draw(st.sampled_from(["numpy", "list", "complex", "bool"]), label="kind")
    bad = list(tensors)
    bad[i] = {"numpy": inputs[i], "list": inputs[i].tolist(), "complex": tensors[i].to(torch.complex128),
              "bool": tensors[i] > 0}[kind]
    with pytest.raises(TypeError) as info:
        case.twin(*bad, **case.hyper)
    assert_names(info.value, names[i])


# ----- shapes ---------------------------------------------------------------------------------------
def _perturb(a: np.ndarray, how: str, axis: int) -> np.ndarray:
    """``a`` with an extra axis (front or back), its last axis dropped, or one axis one longer."""
    if how == "extra_front":
        return a[None]
    if how == "extra_back":
        return a[..., None]
    if how == "drop_last":
        return a[..., 0]
    pad = np.take(a, [0], axis=axis)  # a copy of the first slice: labels stay valid, masks stay 0/1
    return np.concatenate([a, pad if a.dtype.kind in "biu" else pad + 0.37], axis=axis)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(SETTINGS, max_examples=16)
@given(data=st.data())
def test_wrong_shapes_raise_naming_the_argument_or_match_torch(case: OpCase, data) -> None:
    """A wrong shape raises ValueError naming an input or the shape, or is torch's valid shape too (same answer).

    Never a silent broadcast: whenever our op accepts the shapes, torch's built-in does as well and
    gives the same output, and so does the twin.
    """
    inputs = inputs_of(case)
    names, hyper_names = _names(case)
    arrays = [k for k, a in enumerate(inputs) if isinstance(a, np.ndarray) and a.ndim >= 1]
    i = data.draw(st.sampled_from(arrays), label="input")
    how = data.draw(st.sampled_from(["extra_front", "extra_back", "drop_last", "longer"]), label="how")
    axis = data.draw(st.integers(0, inputs[i].ndim - 1), label="axis")
    bad = list(inputs)
    bad[i] = _perturb(inputs[i], how, axis)
    ours = scratch_or_error(case, bad, case.hyper)
    if isinstance(ours, BaseException):
        assert isinstance(ours, ValueError), repr(ours)
        assert re.search(names_pattern(*names, *hyper_names) + "|shape", str(ours)), str(ours)
        with pytest.raises(ERRORS):  # the twin agrees that the shapes are wrong, with a clear error
            case.twin(*to_torch(tuple(bad)), **case.hyper)
        return
    expected = reference_or_error(case, bad, case.hyper)
    assert not isinstance(expected, BaseException), f"ours accepts shapes torch rejects: {expected!r}"
    np.testing.assert_allclose(ours[0], expected, rtol=1e-10, atol=1e-12)
    with torch.no_grad():
        twin = case.twin(*to_torch(tuple(bad)), **case.hyper).numpy()
    np.testing.assert_allclose(twin, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@SETTINGS
@given(data=st.data())
def test_backward_rejects_dout_of_the_wrong_shape_or_dtype(case: OpCase, data) -> None:
    """``backward`` checks ``dout`` against the output: a wrong shape is a ValueError, complex a TypeError."""
    inputs = inputs_of(case)
    out, cache = case.op.forward(*inputs, **case.hyper)
    out = np.asarray(out)
    kind = data.draw(st.sampled_from(["extra_front", "extra_back", "drop_last", "longer", "complex"]), label="kind")
    if kind == "complex":
        dout = np.ones(out.shape) + 1j if out.ndim else 1.0 + 1j
        with pytest.raises(TypeError) as info:
            case.op.backward(dout, cache)
        assert_names(info.value, "dout")
        return
    base = np.ones(out.shape if out.ndim else (1,))
    dout = _perturb(base, kind, data.draw(st.integers(0, base.ndim - 1), label="axis"))
    if dout.shape == out.shape:  # dropping the only axis of a (1,) stand-in for a scalar
        dout = np.ones((2,))
    with pytest.raises(ValueError) as info:
        case.op.backward(dout, cache)
    assert_names(info.value, "dout")


# ----- NaN and inf in data --------------------------------------------------------------------------
def assert_propagates_like(ours: np.ndarray, expected: np.ndarray, value: float) -> None:
    """``ours`` equals torch's output, NaN and inf included; a NaN that torch's kernel drops may stay NaN.

    ``F.multi_margin_loss`` computes max(0, NaN) as 0 and so returns a finite loss for NaN scores;
    propagating the NaN instead is no silent wrong answer. Wherever torch gives NaN or inf, so do we
    (a NaN in a pixel that no window reaches, as when the stride does not fit, rightly vanishes).
    """
    ours, expected = np.asarray(ours, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    keep = ~(np.isnan(ours) & np.isfinite(expected)) if math.isnan(value) else np.ones(ours.shape, bool)
    np.testing.assert_allclose(ours[keep], expected[keep], rtol=1e-10, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@SETTINGS
@given(data=st.data())
def test_non_finite_data_propagate_like_torch(case: OpCase, data) -> None:
    """NaN or +-inf in the data ``x`` (or ``scores``) are not an error: they propagate as in torch's built-in.

    Only the data input is perturbed: inf in a parameter (gamma, w) meets 0 in formulas that are
    arranged differently in every implementation (0 * inf), so its NaN pattern is not part of the contract.
    """
    inputs = inputs_of(case)
    flat = data.draw(st.integers(0, inputs[0].size - 1), label="entry")
    value = data.draw(st.sampled_from([NAN, INF, -INF]), label="value")
    bad = [a.copy() if isinstance(a, np.ndarray) else a for a in inputs]
    bad[0].flat[flat] = value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ours, _ = case.op.forward(*bad, **case.hyper)
        expected = run_reference(case, bad, case.hyper)
        with torch.no_grad():
            twin = case.twin(*to_torch(tuple(bad)), **case.hyper).numpy()
    assert_propagates_like(ours, expected, value)
    assert_propagates_like(twin, expected, value)


# ----- empty batch ----------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_empty_batch_raises_naming_the_input_or_gives_empty_output(case: OpCase) -> None:
    """A batch of 0 examples: a ValueError naming the input, or the built-in's empty output and zero gradients."""
    inputs = inputs_of(case)
    names, _ = _names(case)
    empty = [a[:0] if isinstance(a, np.ndarray) and n in PER_EXAMPLE else a for a, n in zip(inputs, names)]
    ours = scratch_or_error(case, empty, case.hyper)
    if isinstance(ours, BaseException):
        assert isinstance(ours, ValueError), repr(ours)
        assert re.search(names_pattern(*names) + "|shape|empty", str(ours)), str(ours)
        return
    out, cache = ours
    expected = reference_or_error(case, empty, case.hyper)
    assert not isinstance(expected, BaseException), f"ours accepts an empty batch torch rejects: {expected!r}"
    assert np.shape(out) == np.shape(expected)
    grads = case.op.backward(np.zeros(np.shape(out)), cache)
    for grad, a, n in zip(grads, inputs, names):
        if n in PER_EXAMPLE:
            assert np.shape(grad) == (0,) + np.shape(a)[1:]
        else:  # a parameter: no example, no gradient
            np.testing.assert_array_equal(grad, np.zeros(np.shape(a)))


# ----- hyperparameters ------------------------------------------------------------------------------
BAD_HYPER: dict[str, list[Any]] = {
    "p": [-0.1, 1.0, 1.5, NAN, INF, "0.5", None],
    "eps": [-1e-3, -INF, NAN, INF, "1e-5"],
    "stride": [0, -1, 1.5, NAN, (1, 0), (1, 2, 3), "2"],
    "padding": [-1, 0.5, NAN, (0, -1), "1"],
    "kernel_size": [0, -2, 2.0, NAN, (2, 0), "2"],
    "num_groups": [0, -1, 2.5, NAN, True, "not_dividing"],
    "negative_slope": [NAN, INF, -INF, "0.1"],
    "alpha": [NAN, INF, -INF, "1"],
    "margin": [NAN, INF, -INF, "1"],
    "training": ["yes", 1, None],
}


def _hyper_cases() -> list[tuple[OpCase, str]]:
    out = []
    for case in CASES:
        for name in _names(case)[1]:
            assert name in BAD_HYPER, f"{case.name}: no bad values listed for hyperparameter {name!r}"
            out.append((case, name))
    return out


HYPER_CASES = _hyper_cases()


@pytest.mark.parametrize(("case", "name"), HYPER_CASES, ids=[f"{c.name}-{n}" for c, n in HYPER_CASES])
@SETTINGS
@given(data=st.data())
def test_out_of_range_hyperparameters_raise_naming_them(case: OpCase, name: str, data) -> None:
    """NaN, inf, a wrong sign, a wrong kind (a float for an int, a string) or an impossible value: named."""
    inputs = inputs_of(case)
    value = data.draw(st.sampled_from(BAD_HYPER[name]), label=name)
    if value == "not_dividing":
        value = inputs[0].shape[1] + 1
    hyper = {**case.hyper, name: value}
    with pytest.raises(ERRORS) as info:
        case.op.forward(*inputs, **hyper)
    assert_names(info.value, name)
    with pytest.raises(ERRORS) as info:
        case.twin(*to_torch(tuple(inputs)), **hyper)
    assert_names(info.value, name)


def test_every_registry_op_is_covered() -> None:
    """Each op class of the registry is swept (the registry itself fails on a missing op, see test_parity)."""
    assert len({c.op for c in CASES}) >= 18
    assert all(any(is_float_array(a) for a in inputs_of(c)) for c in CASES)


# ----- the non-op public functions ------------------------------------------------------------------
def _x_with(value: float) -> np.ndarray:
    x = np.random.default_rng(0).standard_normal((10, 3))
    x[1, 1] = value
    return x


def _public_calls() -> list[tuple[str, Any, str]]:
    """(id, call, regex the message must match): one wrong argument per call."""
    from course_lib import babysit, ensembles, search
    from course_lib.data import (Splits, iterate_minibatches, load_digits, load_mnist1d, make_blobs, make_moons,
                                 make_spirals, make_xor, to_torch_loader)
    from course_lib.scratch import batchnorm as bn
    from course_lib.scratch import conv, init, optim, schedules
    from course_lib.scratch import dropout as drop
    from course_lib.scratch import preprocessing as pp
    from course_lib.scratch.cnn import SimpleCNN
    from course_lib.scratch.losses import MulticlassSVM, SoftmaxCrossEntropy
    from course_lib.scratch.model import MLP
    from course_lib.scratch.solver import Solver

    rng = np.random.default_rng(0)
    x, y = _x_with(0.5), np.arange(10) % 2
    w, c0, c1 = rng.standard_normal((3, 2)), np.zeros(2), np.ones(2)
    images = np.ones((2, 1, 2, 2))
    data = {"x_train": x, "y_train": y, "x_val": x, "y_val": y}

    def mlp() -> Any:
        return MLP([3, 4, 2], rng=np.random.default_rng(0))

    def step(opt: Any, dw: Any = None, param: Any = w, state: Any = None, **kw: Any) -> Any:
        return opt.step(param, np.ones_like(w) if dw is None else dw, opt.init(w) if state is None else state, **kw)

    def solver(**kw: Any) -> Any:
        return Solver(mlp(), {**data, **kw.pop("data", {})}, kw.pop("optimizer", optim.SGD(0.1)), progress=False, **kw)

    curve = [2.0, 1.8, 1.6, 1.5, 1.4, 1.3, 1.25, 1.2, 1.15, 1.1]
    return [
        # initializers: fan arguments, gains and slopes
        ("fans_zero", lambda: init.fans((0, 3)), "shape"),
        ("fans_negative", lambda: init.fans((3, -2)), "shape"),
        ("fans_float", lambda: init.fans((3.5, 2)), "shape"),
        ("xavier_std_fan_in_0", lambda: init.xavier_std(0, 3), "fan_in"),
        ("xavier_std_fan_in_nan", lambda: init.xavier_std(NAN, 3), "fan_in"),
        ("xavier_std_fan_in_float", lambda: init.xavier_std(3.0, 3), "fan_in"),
        ("xavier_std_gain_nan", lambda: init.xavier_std(3, 3, gain=NAN), "gain"),
        ("xavier_std_gain_negative", lambda: init.xavier_std(3, 3, gain=-1.0), "gain"),
        ("xavier_bound_fan_out", lambda: init.xavier_bound(3, -1), "fan_out"),
        ("he_std_a_nan", lambda: init.he_std(3, 3, a=NAN), r"\ba\b"),
        ("he_std_mode", lambda: init.he_std(3, 3, mode="fan_avg"), "mode"),
        ("he_std_nonlinearity", lambda: init.he_std(3, 3, nonlinearity="swish"), "nonlinearity"),
        ("he_std_fan_in_inf", lambda: init.he_std(INF, 3), "fan_in"),
        ("lecun_std_fan_in_0", lambda: init.lecun_std(0), "fan_in"),
        ("calculate_gain_name", lambda: init.calculate_gain("nope"), "nonlinearity"),
        ("calculate_gain_param_nan", lambda: init.calculate_gain("leaky_relu", NAN), "param|negative_slope"),
        ("zeros_rng_int", lambda: init.zeros(0, 3, 2), "rng"),
        ("zeros_fan_in_0", lambda: init.zeros(rng, 0, 2), "fan_in"),
        ("constant_value_nan", lambda: init.constant(rng, 3, 2, NAN), "value"),
        ("small_random_std_negative", lambda: init.small_random(rng, 3, 2, std=-0.01), "std"),
        ("small_random_std_nan", lambda: init.small_random(rng, 3, 2, std=NAN), "std"),
        ("xavier_uniform_fan_in", lambda: init.xavier_uniform(rng, -3, 2), "fan_in"),
        ("xavier_normal_gain_inf", lambda: init.xavier_normal(rng, 3, 2, gain=INF), "gain"),
        ("he_normal_rng_int", lambda: init.he_normal(42, 3, 2), "rng"),
        ("he_uniform_a_nan", lambda: init.he_uniform(rng, 3, 2, a=NAN), r"\ba\b"),
        ("orthogonal_gain_nan", lambda: init.orthogonal(rng, 3, 2, gain=NAN), "gain"),
        ("orthogonal_shape", lambda: init.orthogonal(rng, 3, 2, shape=(4, 2)), "shape"),
        ("lecun_normal_fan_in", lambda: init.lecun_normal(rng, 0, 2), "fan_in"),
        ("get_initializer_name", lambda: init.get_initializer("foo"), "name|initializer"),
        # preprocessing fits: non-finite or empty data, bad hyperparameters
        ("fit_center_nan", lambda: pp.fit_center(_x_with(NAN)), r"\bx\b"),
        ("fit_center_empty", lambda: pp.fit_center(x[:0]), r"\bx\b|sample"),
        ("fit_center_complex", lambda: pp.fit_center(x + 1j), r"\bx\b"),
        ("fit_standardize_nan", lambda: pp.fit_standardize(_x_with(NAN)), r"\bx\b"),
        ("fit_standardize_inf", lambda: pp.fit_standardize(_x_with(INF)), r"\bx\b"),
        ("fit_pca_n_components_0", lambda: pp.fit_pca(x, n_components=0), "n_components"),
        ("fit_pca_n_components_big", lambda: pp.fit_pca(x, n_components=4), "n_components"),
        ("fit_pca_nan", lambda: pp.fit_pca(_x_with(NAN)), r"\bx\b"),
        ("fit_whitening_eps_negative", lambda: pp.fit_whitening(x, eps=-1.0), "eps"),
        ("fit_whitening_eps_nan", lambda: pp.fit_whitening(x, eps=NAN), "eps"),
        ("fit_whitening_kind", lambda: pp.fit_whitening(x, kind="svd"), "kind"),
        ("fit_whitening_inf", lambda: pp.fit_whitening(_x_with(-INF)), r"\bx\b"),
        ("fit_mean_image_nan", lambda: pp.fit_mean_image(images * NAN), r"\bx\b"),
        ("fit_channel_mean_shape", lambda: pp.fit_channel_mean(x), r"\bx\b|shape"),
        ("fit_channel_standardize_nan", lambda: pp.fit_channel_standardize(images * NAN), r"\bx\b"),
        ("subtract_image_mean_shape", lambda: pp.subtract_image_mean(x), r"\bx\b"),
        ("window_level_width_0", lambda: pp.window_level(x, 0.0, 0.0), "width"),
        ("window_level_center_nan", lambda: pp.window_level(x, NAN, 1.0), "center"),
        ("quantize_bits_0", lambda: pp.quantize(x, bits=0), "bits"),
        ("canonicalize_signs_shape", lambda: pp.canonicalize_signs(np.ones(3)), "vectors"),
        # optimizers: constructors and step
        ("SGD_lr_negative", lambda: optim.SGD(-0.1), r"\blr\b"),
        ("SGD_lr_nan", lambda: optim.SGD(NAN), r"\blr\b"),
        ("SGD_lr_inf", lambda: optim.SGD(INF), r"\blr\b"),
        ("SGD_lr_string", lambda: optim.SGD("0.1"), r"\blr\b"),
        ("SGD_momentum_negative", lambda: optim.SGD(0.1, momentum=-0.1), "momentum"),
        ("SGD_momentum_nan", lambda: optim.SGD(0.1, momentum=NAN), "momentum"),
        ("SGD_weight_decay_negative", lambda: optim.SGD(0.1, weight_decay=-1.0), "weight_decay"),
        ("SGD_nesterov_without_momentum", lambda: optim.SGD(0.1, nesterov=True), "nesterov|momentum"),
        ("Momentum_momentum_1", lambda: optim.Momentum(0.1, momentum=1.0), "momentum"),
        ("Nesterov_momentum_negative", lambda: optim.Nesterov(0.1, momentum=-0.5), "momentum"),
        ("Nesterov_lr_inf", lambda: optim.Nesterov(INF), r"\blr\b"),
        ("Adagrad_eps_0", lambda: optim.Adagrad(eps=0.0), "eps"),
        ("Adagrad_lr_decay_negative", lambda: optim.Adagrad(lr_decay=-1.0), "lr_decay"),
        ("RMSProp_alpha_above_1", lambda: optim.RMSProp(alpha=1.5), "alpha"),
        ("RMSProp_eps_negative", lambda: optim.RMSProp(eps=-1e-8), "eps"),
        ("Adadelta_rho_nan", lambda: optim.Adadelta(rho=NAN), "rho"),
        ("Adam_beta2_1", lambda: optim.Adam(betas=(0.9, 1.0)), "betas"),
        ("Adam_betas_one", lambda: optim.Adam(betas=(0.9,)), "betas"),
        ("Adam_eps_0", lambda: optim.Adam(eps=0.0), "eps"),
        ("AdamW_weight_decay_nan", lambda: optim.AdamW(weight_decay=NAN), "weight_decay"),
        ("SGD_step_dw_shape", lambda: step(optim.SGD(0.1), dw=np.ones((2, 3))), "gradient|shape"),
        ("SGD_step_lr_negative", lambda: step(optim.SGD(0.1), lr=-1.0), r"\blr\b"),
        ("SGD_step_lr_nan", lambda: step(optim.SGD(0.1), lr=NAN), r"\blr\b"),
        ("Adam_step_dw_complex", lambda: step(optim.Adam(), dw=np.ones((3, 2)) + 1j), r"\bdw\b"),
        ("Adam_step_w_object", lambda: step(optim.Adam(), param=np.full((3, 2), None)), r"\bw\b"),
        ("Adam_step_state_of_SGD", lambda: step(optim.Adam(), state=optim.SGD(0.1).init(w)), "state"),
        ("Adam_step_state_shape", lambda: step(optim.Adam(), param=np.ones((4, 2)), dw=np.ones((4, 2))),
         "state|shape"),
        # schedules
        ("constant_lr0_negative", lambda: schedules.constant(-1.0), "lr0"),
        ("step_decay_step_size_0", lambda: schedules.step_decay(0.1, 0), "step_size"),
        ("step_decay_gamma_nan", lambda: schedules.step_decay(0.1, 10, gamma=NAN), "gamma"),
        ("exponential_decay_k_negative", lambda: schedules.exponential_decay(0.1, -1.0), r"\bk\b"),
        ("inverse_time_decay_k_nan", lambda: schedules.inverse_time_decay(0.1, NAN), r"\bk\b"),
        ("cosine_t_max_0", lambda: schedules.cosine(0.1, 0), "t_max"),
        ("cosine_lr_min_above_lr0", lambda: schedules.cosine(0.1, 10, lr_min=0.2), "lr_min"),
        ("linear_warmup_steps_negative", lambda: schedules.linear_warmup(0.1, -1), "warmup_steps"),
        ("linear_warmup_after_not_callable", lambda: schedules.linear_warmup(0.1, 5, after=3), "after"),
        ("momentum_annealing_mu_final", lambda: schedules.momentum_annealing(0.5, 1.5, steps=10), "mu_final"),
        ("momentum_annealing_steps_0", lambda: schedules.momentum_annealing(steps=0), "steps"),
        ("schedule_at_negative_step", lambda: schedules.cosine(0.1, 10)(-1), r"\bt\b|step"),
        ("schedule_at_float_step", lambda: schedules.constant(0.1)(1.5), r"\bt\b|step"),
        # convolution arithmetic
        ("conv_output_size_kernel_0", lambda: conv.conv_output_size(5, 0), "kernel"),
        ("conv_output_size_stride_0", lambda: conv.conv_output_size(5, 3, 0), "stride"),
        ("conv_output_size_padding_negative", lambda: conv.conv_output_size(5, 3, 1, -1), "padding"),
        ("conv_output_size_size_0", lambda: conv.conv_output_size(0, 3), "size"),
        ("conv_output_size_kernel_too_big", lambda: conv.conv_output_size(2, 5), "kernel|size"),
        ("conv_output_size_not_fitting", lambda: conv.conv_output_size(6, 3, 2), "stride|fit"),
        ("conv_output_size_nan", lambda: conv.conv_output_size(NAN, 3), "size"),
        ("conv_param_count_c_in_0", lambda: conv.conv_param_count(0, 3, 3), "c_in"),
        ("conv_param_count_kernel_0", lambda: conv.conv_param_count(1, 3, (3, 0)), "kernel"),
        ("conv_param_count_bias_string", lambda: conv.conv_param_count(1, 3, 3, bias="yes"), "bias"),
        ("im2col_shape", lambda: conv.im2col(x, 3), r"\bx\b"),
        # dropout helpers
        ("sample_mask_p_1", lambda: drop.sample_mask(rng, (2, 3), 1.0), r"\bp\b"),
        ("sample_mask_shape_negative", lambda: drop.sample_mask(rng, (2, -3), 0.5), "shape"),
        ("sample_mask_rng_int", lambda: drop.sample_mask(0, (2, 3), 0.5), "rng"),
        ("max_norm_c_0", lambda: drop.max_norm(w, 0.0), r"\bc\b"),
        ("max_norm_c_nan", lambda: drop.max_norm(w, NAN), r"\bc\b"),
        ("max_norm_axis", lambda: drop.max_norm(w, 1.0, axis=2), "axis"),
        ("max_norm_w_complex", lambda: drop.max_norm(w + 1j, 1.0), r"\bw\b"),
        ("scale_weights_p_negative", lambda: drop.scale_weights(w, -0.1), r"\bp\b"),
        ("mc_predict_k_0", lambda: drop.mc_predict(lambda a, r: a, x, 0, rng), r"\bk\b"),
        # batch norm outside the ops
        ("update_running_momentum_above_1", lambda: bn.update_running(c0, c1, c0, c1, 4, momentum=1.5), "momentum"),
        ("update_running_momentum_nan", lambda: bn.update_running(c0, c1, c0, c1, 4, momentum=NAN), "momentum"),
        ("update_running_n_1", lambda: bn.update_running(c0, c1, c0, c1, 1), r"\bn\b"),
        ("update_running_shape", lambda: bn.update_running(c0, np.ones(3), c0, c1, 4), "running_var"),
        ("inference_eps_negative", lambda: bn.inference(x[:, :2], c0, c1, c1, c0, eps=-1.0), "eps"),
        ("inference_channels", lambda: bn.inference(x, c0, c1, c1, c0), "running_mean"),
        ("inference_negative_variance", lambda: bn.inference(x[:, :2], c0, -c1, c1, c0), "running_var"),
        ("fold_into_linear_b_shape", lambda: bn.fold_into_linear(w, np.ones(3), c0, c1, c1, c0), r"\bb\b"),
        ("fold_into_linear_eps_nan", lambda: bn.fold_into_linear(w, c0, c0, c1, c1, c0, eps=NAN), "eps"),
        ("fold_into_conv_w_shape", lambda: bn.fold_into_conv(w, c0, c0, c1, c1, c0), r"\bw\b"),
        # losses: labels out of range
        ("cross_entropy_label_too_big", lambda: SoftmaxCrossEntropy.forward(x, np.full(10, 3)), "labels"),
        ("cross_entropy_label_negative", lambda: SoftmaxCrossEntropy.forward(x, np.full(10, -1)), "labels"),
        ("svm_label_too_big", lambda: MulticlassSVM.forward(x, np.full(10, 5)), "labels"),
        # models
        ("MLP_dims_one", lambda: MLP([3]), "dims"),
        ("MLP_dims_zero_width", lambda: MLP([3, 0, 2]), "dims"),
        ("MLP_dims_float", lambda: MLP([3, 2.5, 2]), "dims"),
        ("MLP_activation", lambda: MLP([3, 4, 2], activation="swish"), "activation"),
        ("MLP_loss", lambda: MLP([3, 4, 2], loss="mse"), "loss"),
        ("MLP_reg_negative", lambda: MLP([3, 4, 2], reg=-1.0), "reg"),
        ("MLP_reg_nan", lambda: MLP([3, 4, 2], reg=NAN), "reg"),
        ("MLP_weight_scale_nan", lambda: MLP([3, 4, 2], weight_scale=NAN), "weight_scale"),
        ("MLP_rng_string", lambda: MLP([3, 4, 2], rng="seed"), "rng"),
        ("MLP_norm", lambda: MLP([3, 4, 2], norm="instance"), "norm"),
        ("MLP_dropout_1", lambda: MLP([3, 4, 2], dropout=1.0), "dropout"),
        ("MLP_init", lambda: MLP([3, 4, 2], init="foo"), "init"),
        ("MLP_bias_nan", lambda: MLP([3, 4, 2], bias=NAN), "bias"),
        ("MLP_loss_x_features", lambda: mlp().loss(np.ones((2, 4)), np.zeros(2, int)), r"\bx\b|shape"),
        ("MLP_loss_label_out_of_range", lambda: mlp().loss(np.ones((2, 3)), np.array([0, 2])), "labels"),
        ("SimpleCNN_in_channels_0", lambda: SimpleCNN(0, 8, 3), "in_channels"),
        ("SimpleCNN_image_size_small", lambda: SimpleCNN(1, 3, 3), "image_size"),
        ("SimpleCNN_image_size_nan", lambda: SimpleCNN(1, NAN, 3), "image_size"),
        ("SimpleCNN_n_classes_0", lambda: SimpleCNN(1, 8, 0), "n_classes"),
        ("SimpleCNN_channels_0", lambda: SimpleCNN(1, 8, 3, channels=(8, 0)), "channels"),
        ("SimpleCNN_reg_nan", lambda: SimpleCNN(1, 8, 3, reg=NAN), "reg"),
        ("SimpleCNN_dropout", lambda: SimpleCNN(1, 8, 3, dropout=1.5), "dropout"),
        ("SimpleCNN_hidden_0", lambda: SimpleCNN(1, 8, 3, hidden=0), "hidden"),
        # Solver
        ("Solver_batch_size_0", lambda: solver(batch_size=0), "batch_size"),
        ("Solver_epochs_float", lambda: solver(epochs=1.5), "epochs"),
        ("Solver_optimizer_string", lambda: solver(optimizer="sgd"), "optimizer"),
        ("Solver_data_missing", lambda: Solver(mlp(), {"x_train": x}, optim.SGD(0.1), progress=False), "y_train|data"),
        ("Solver_data_nan", lambda: solver(data={"x_train": _x_with(NAN)}), "x_train"),
        ("Solver_schedule_number", lambda: solver(schedule=0.1), "schedule"),
        ("Solver_patience_0", lambda: solver(patience=0), "patience"),
        ("Solver_min_delta_nan", lambda: solver(min_delta=NAN), "min_delta"),
        ("Solver_eval_every_0", lambda: solver(eval_every=0), "eval_every"),
        ("Solver_seed_negative", lambda: solver(seed=-1), "seed"),
        ("Solver_callbacks_int", lambda: solver(callbacks=[1]), "callback"),
        ("Solver_x_features", lambda: solver(data={"x_train": np.ones((10, 4))}), r"x_train|\bx\b|shape"),
        # data
        ("make_moons_n_0", lambda: make_moons(rng, 0), r"\bn\b"),
        ("make_moons_noise_nan", lambda: make_moons(rng, 10, noise=NAN), "noise"),
        ("make_moons_rng_int", lambda: make_moons(0, 10), "rng"),
        ("make_spirals_classes_0", lambda: make_spirals(rng, 10, classes=0), "classes"),
        ("make_xor_noise_negative", lambda: make_xor(rng, 10, noise=-1.0), "noise"),
        ("make_blobs_std_inf", lambda: make_blobs(rng, 10, std=INF), "std"),
        ("iterate_minibatches_batch_size_0", lambda: next(iterate_minibatches(rng, x, y, 0)), "batch_size"),
        ("iterate_minibatches_lengths", lambda: next(iterate_minibatches(rng, x, y[:5], 2)), r"\by\b|examples|labels"),
        ("to_torch_loader_batch_size_0", lambda: to_torch_loader(x, y, 0), "batch_size"),
        ("to_torch_loader_lengths", lambda: to_torch_loader(x, y[:5], 2), r"\by\b|examples|labels"),
        ("load_mnist1d_n_val_negative", lambda: load_mnist1d(n_val=-1), "n_val"),
        ("load_digits_scale", lambda: load_digits(scale="foo"), "scale"),
        ("load_digits_seed_negative", lambda: load_digits(seed=-1), "seed"),
        ("Splits_nan", lambda: Splits(_x_with(NAN), y, x, y, x, y), "x_train"),
        ("Splits_inf", lambda: Splits(x, y, _x_with(INF), y, x, y), "x_val"),
        ("Splits_lengths", lambda: Splits(x, y[:5], x, y, x, y), "y_train"),
        ("Splits_fractional_labels", lambda: Splits(x, y + 0.5, x, y, x, y), "y_train"),
        ("Splits_features", lambda: Splits(x, y, x[:, :2], y, x, y), "shape"),
        ("Splits_complex", lambda: Splits(x + 1j, y, x, y, x, y), "x_train"),
        # babysitting, search, ensembles
        ("expected_initial_loss_classes_1", lambda: babysit.expected_initial_loss(1), "num_classes"),
        ("expected_initial_loss_loss", lambda: babysit.expected_initial_loss(3, loss="mse"), "loss"),
        ("diagnose_curves_explode_nan", lambda: babysit.diagnose_curves(curve, explode=NAN), "explode"),
        ("diagnose_curves_empty", lambda: babysit.diagnose_curves([]), "train_loss"),
        ("diagnose_curves_gap_string", lambda: babysit.diagnose_curves(curve, gap="0.1"), "gap"),
        ("overfit_small_subset_n_0", lambda: babysit.overfit_small_subset(mlp, (x, y), n=0), r"\bn\b"),
        ("lr_range_test_negative_lr", lambda: babysit.lr_range_test(mlp, (x, y), [0.1, -0.1]), "lrs"),
        ("lr_range_test_nan_lr", lambda: babysit.lr_range_test(mlp, (x, y), [0.1, NAN]), "lrs"),
        ("initial_loss_check_tolerance", lambda: babysit.initial_loss_check(mlp(), x, y, tolerance=-1.0), "tolerance"),
        ("log_uniform_lo_0", lambda: search.log_uniform(0.0, 1.0), r"\blo\b"),
        ("log_uniform_reversed", lambda: search.log_uniform(1.0, 0.1), r"\blo\b|\bhi\b"),
        ("uniform_lo_nan", lambda: search.uniform(NAN, 1.0), r"\blo\b"),
        ("choice_empty", lambda: search.choice(), "option"),
        ("random_search_n_trials_0", lambda: search.random_search(lambda p: 0.0, {"a": search.uniform(0, 1)}, 0),
         "n_trials"),
        ("grid_search_split_test", lambda: search.grid_search(lambda p: 0.0, {"a": [1, 2]}, split="test"), "split"),
        ("ensembles_softmax_1d", lambda: ensembles.softmax(np.ones(3)), "scores"),
        ("ensembles_softmax_complex", lambda: ensembles.softmax(np.ones((2, 3)) + 1j), "scores"),
        ("log_loss_label_out_of_range", lambda: ensembles.log_loss(np.full((2, 2), 0.5), np.array([0, 2])),
         r"\by\b|labels"),
        ("log_loss_probs_shape", lambda: ensembles.log_loss(np.full(2, 0.5), np.array([0, 1])), "probs"),
        ("average_probabilities_weights", lambda: ensembles.average_probabilities([mlp()], x, weights=[-1.0]),
         "weights"),
        ("average_probabilities_no_model", lambda: ensembles.average_probabilities([], x), "model"),
        ("average_checkpoints_empty", lambda: ensembles.average_checkpoints([]), "parameter dict|checkpoints"),
        ("ema_update_decay_above_1", lambda: ensembles.ema_update(None, {"w": w}, 1.5), "decay"),
        ("ema_update_decay_nan", lambda: ensembles.ema_update(None, {"w": w}, NAN), "decay"),
        ("ema_update_names", lambda: ensembles.ema_update({"v": w}, {"w": w}, 0.9), "names"),
        ("ema_update_shapes", lambda: ensembles.ema_update({"w": w.T}, {"w": w}, 0.9), "shape"),
        ("polyak_update_count_negative", lambda: ensembles.polyak_update(None, {"w": w}, -1), "count"),
        ("EMACallback_decay_negative", lambda: ensembles.EMACallback(decay=-0.1), "decay"),
        ("EMACallback_every_0", lambda: ensembles.EMACallback(every=0), "every"),
    ]


PUBLIC_CALLS = _public_calls()


@pytest.mark.parametrize(("call", "pattern"), [(c, p) for _, c, p in PUBLIC_CALLS], ids=[i for i, _, _ in PUBLIC_CALLS])
def test_public_functions_reject_bad_arguments_naming_them(call, pattern: str) -> None:
    """Each call has one wrong argument: a ValueError or TypeError whose message names it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ERRORS, match=pattern):
            call()


# ----- hypothesis over the numeric arguments of the non-op functions -------------------------------
BAD_REALS = st.sampled_from([NAN, INF, -INF, "1", None, True])


@SETTINGS
@given(lr=st.one_of(BAD_REALS, st.floats(max_value=-1e-12, allow_nan=False, allow_infinity=False)),
       which=st.sampled_from(["SGD", "Momentum", "Nesterov", "Adagrad", "RMSProp", "Adadelta", "Adam", "AdamW"]))
def test_optimizers_reject_every_bad_learning_rate(lr, which: str) -> None:
    """A negative, NaN, infinite, bool, string or missing lr is refused by every optimizer, naming lr."""
    from course_lib.scratch import optim

    with pytest.raises(ERRORS, match=r"\blr\b"):
        getattr(optim, which)(lr)


@SETTINGS
@given(value=st.one_of(BAD_REALS, st.floats(min_value=1.0, max_value=1e6), st.floats(max_value=-1e-9, min_value=-1e6)),
       which=st.sampled_from(["Momentum", "Nesterov", "RMSProp", "Adadelta", "Adam"]))
def test_decay_rates_outside_0_1_are_refused(value, which: str) -> None:
    """Momentum coefficients and decay rates live in [0, 1): the slides' Momentum and Nesterov, RMSProp's
    alpha, Adadelta's rho, Adam's betas (torch's SGD accepts any momentum >= 0, and so does ours)."""
    from course_lib.scratch import optim

    name, make = {
        "Momentum": ("momentum", lambda v: optim.Momentum(0.1, momentum=v)),
        "Nesterov": ("momentum", lambda v: optim.Nesterov(0.1, momentum=v)),
        "RMSProp": ("alpha", lambda v: optim.RMSProp(alpha=v)),
        "Adadelta": ("rho", lambda v: optim.Adadelta(rho=v)),
        "Adam": ("betas", lambda v: optim.Adam(betas=(0.9, v))),
    }[which]
    with pytest.raises(ERRORS, match=rf"\b{name}\b"):
        make(value)


@SETTINGS
@given(size=st.integers(1, 12), kernel=st.integers(-2, 14), stride=st.integers(-2, 4), padding=st.integers(-2, 3))
def test_conv_output_size_is_a_positive_size_or_a_named_error(size, kernel, stride, padding) -> None:
    """conv_output_size returns a size >= 1 that equals torch's, or raises naming what is wrong."""
    from course_lib.scratch.conv import conv_output_size

    try:
        out = conv_output_size(size, kernel, stride, padding, exact=False)
    except ValueError as error:
        assert re.search(r"\b(size|kernel|stride|padding)\b", str(error)), str(error)
        assert kernel < 1 or stride < 1 or padding < 0 or kernel > size + 2 * padding
        return
    assert out == (size + 2 * padding - kernel) // stride + 1 >= 1
    assert out == torch.nn.functional.conv2d(
        torch.zeros(1, 1, size, 1), torch.zeros(1, 1, kernel, 1), stride=(stride, 1), padding=(padding, 0)
    ).shape[2]


@SETTINGS
@given(fan_in=st.one_of(st.integers(max_value=0), st.sampled_from([NAN, INF, 2.0, "3", None, True])),
       which=st.sampled_from(["xavier_normal", "xavier_uniform", "he_normal", "he_uniform", "lecun_normal",
                              "orthogonal", "small_random", "zeros"]))
def test_initializers_reject_bad_fan_in(fan_in, which: str) -> None:
    """An initializer's fan_in is an integer >= 1: anything else is refused, naming fan_in."""
    from course_lib.scratch import init

    with pytest.raises(ERRORS, match=r"\bfan_in\b"):
        getattr(init, which)(np.random.default_rng(0), fan_in, 3)


@SETTINGS
@given(p=st.one_of(st.floats(min_value=1.0, max_value=10.0), st.floats(max_value=-1e-12, min_value=-10.0), BAD_REALS))
def test_dropout_probabilities_outside_0_1_are_refused_everywhere(p) -> None:
    """p is a drop probability in [0, 1): sample_mask, scale_weights and the MLP refuse anything else, naming p."""
    from course_lib.scratch import dropout as drop
    from course_lib.scratch.model import MLP

    rng = np.random.default_rng(0)
    with pytest.raises(ERRORS, match=r"\bp\b"):
        drop.sample_mask(rng, (2, 3), p)
    with pytest.raises(ERRORS, match=r"\bp\b"):
        drop.scale_weights(np.ones((2, 2)), p)
    if p is not None:  # dropout=None is no dropout
        with pytest.raises(ERRORS, match=r"\bdropout\b"):
            MLP([3, 4, 2], rng=rng, dropout=p)


def _torch_public_calls() -> list[tuple[str, Any, str]]:
    """The torch side of the same functions: initializers, optimizers, schedules, fits, batch norm, dropout."""
    from course_lib.torch_impl import batchnorm as tbn
    from course_lib.torch_impl import dropout as tdrop
    from course_lib.torch_impl import init as tinit
    from course_lib.torch_impl import optim as toptim
    from course_lib.torch_impl import preprocessing as tpp
    from course_lib.torch_impl import schedules as tsched
    from course_lib.torch_impl.model import MLP as TorchMLP

    def params() -> list[torch.Tensor]:
        return [torch.zeros(3, 2, requires_grad=True)]

    def sgd() -> torch.optim.Optimizer:
        return toptim.SGD(params(), lr=0.1)

    x = torch.as_tensor(_x_with(0.5))
    c0, c1, w = torch.zeros(2), torch.ones(2), torch.ones(3, 2)
    return [
        ("torch_xavier_std_fan_in_0", lambda: tinit.xavier_std(0, 3), "fan_in"),
        ("torch_he_std_a_nan", lambda: tinit.he_std(3, 3, a=NAN), r"\ba\b"),
        ("torch_xavier_normal_gain_nan", lambda: tinit.xavier_normal(torch.empty(3, 2), gain=NAN), "gain"),
        ("torch_small_random_std_negative", lambda: tinit.small_random(torch.empty(3, 2), std=-1.0), "std"),
        ("torch_constant_value_inf", lambda: tinit.constant(torch.empty(3, 2), INF), "value"),
        ("torch_fans_empty", lambda: tinit.fans(torch.empty(0, 3)), "shape|fan"),
        ("torch_SGD_lr_negative", lambda: toptim.SGD(params(), lr=-0.1), r"\blr\b"),
        ("torch_SGD_lr_nan", lambda: toptim.SGD(params(), lr=NAN), r"\blr\b"),
        ("torch_Momentum_momentum_1", lambda: toptim.Momentum(params(), lr=0.1, momentum=1.0), "momentum"),
        ("torch_Adam_eps_0", lambda: toptim.Adam(params(), eps=0.0), "eps"),
        ("torch_Adam_betas", lambda: toptim.Adam(params(), betas=(1.0, 0.999)), "betas"),
        ("torch_RMSProp_alpha_nan", lambda: toptim.RMSProp(params(), alpha=NAN), "alpha"),
        ("torch_step_decay_step_size_0", lambda: tsched.step_decay(sgd(), 0), "step_size"),
        ("torch_exponential_decay_k_nan", lambda: tsched.exponential_decay(sgd(), NAN), r"\bk\b"),
        ("torch_cosine_t_max_0", lambda: tsched.cosine(sgd(), 0), "t_max"),
        ("torch_linear_warmup_steps_negative", lambda: tsched.linear_warmup(sgd(), -1), "warmup_steps"),
        ("torch_momentum_annealing_steps_0", lambda: tsched.momentum_annealing(sgd(), steps=0), "steps"),
        ("torch_fit_center_nan", lambda: tpp.fit_center(torch.as_tensor(_x_with(NAN))), r"\bx\b"),
        ("torch_fit_standardize_inf", lambda: tpp.fit_standardize(torch.as_tensor(_x_with(INF))), r"\bx\b"),
        ("torch_fit_whitening_eps_negative", lambda: tpp.fit_whitening(x, eps=-1.0), "eps"),
        ("torch_fit_pca_n_components_0", lambda: tpp.fit_pca(x, n_components=0), "n_components"),
        ("torch_quantize_bits_0", lambda: tpp.quantize(x, bits=0), "bits"),
        ("torch_update_running_momentum_nan", lambda: tbn.update_running(c0, c1, c0, c1, 4, momentum=NAN), "momentum"),
        ("torch_update_running_n_float", lambda: tbn.update_running(c0, c1, c0, c1, 4.0), r"\bn\b"),
        ("torch_update_running_shape", lambda: tbn.update_running(c0, torch.ones(3), c0, c1, 4), "running_var"),
        ("torch_inference_eps_nan", lambda: tbn.inference(x[:, :2], c0, c1, c1, c0, eps=NAN), "eps"),
        ("torch_inference_channels", lambda: tbn.inference(x, c0, c1, c1, c0), "running_mean"),
        ("torch_fold_into_linear_b", lambda: tbn.fold_into_linear(w, torch.ones(3), c0, c1, c1, c0), r"\bb\b"),
        ("torch_fold_into_conv_w", lambda: tbn.fold_into_conv(w, c0, c0, c1, c1, c0), r"\bw\b"),
        ("torch_sample_mask_p_1", lambda: tdrop.sample_mask(torch.Generator().manual_seed(0), (2, 3), 1.0), r"\bp\b"),
        ("torch_max_norm_c_0", lambda: tdrop.max_norm(w, 0.0), r"\bc\b"),
        ("torch_max_norm_w_numpy", lambda: tdrop.max_norm(np.ones((3, 2)), 1.0), r"\bw\b"),
        ("torch_scale_weights_p_nan", lambda: tdrop.scale_weights(w, NAN), r"\bp\b"),
        ("torch_MLP_dims", lambda: TorchMLP([3]), "dims"),
        ("torch_MLP_reg_nan", lambda: TorchMLP([3, 4, 2], reg=NAN), "reg"),
        ("torch_MLP_dropout_1", lambda: TorchMLP([3, 4, 2], dropout=1.0), "dropout"),
    ]


TORCH_PUBLIC_CALLS = _torch_public_calls()


@pytest.mark.parametrize(("call", "pattern"), [(c, p) for _, c, p in TORCH_PUBLIC_CALLS],
                         ids=[i for i, _, _ in TORCH_PUBLIC_CALLS])
def test_torch_public_functions_reject_bad_arguments_naming_them(call, pattern: str) -> None:
    """The torch side refuses the same bad arguments, naming them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ERRORS, match=pattern):
            call()


# ----- the shared helpers ---------------------------------------------------------------------------
@SETTINGS
@given(values=st.lists(st.integers(-(2**31), 2**31), min_size=0, max_size=6))
def test_float_array_converts_lists_and_integers_exactly(values) -> None:
    """checks.float_array: a list or an integer array becomes the float64 array of the same numbers."""
    from course_lib import checks

    for value in (values, np.array(values, dtype=np.int64)):
        out = checks.float_array(value, "x", "who")
        assert out.dtype == np.float64 and out.shape == (len(values),)
        np.testing.assert_array_equal(out, np.array(values, dtype=np.float64))


@pytest.mark.parametrize("value", [np.ones(2, dtype=bool), np.ones(2) + 1j, np.array(["1", "2"]),
                                   np.array([1.0, None]), [[1.0], [1.0, 2.0]]],
                         ids=["bool", "complex", "string", "object", "ragged"])
def test_float_array_refuses_what_is_not_real_data(value) -> None:
    from course_lib import checks

    with pytest.raises(TypeError, match=r"^who: x must be a real-valued array"):
        checks.float_array(value, "x", "who")


def test_float_array_finite_flag_refuses_nan_and_inf() -> None:
    from course_lib import checks

    assert checks.float_array([1.0, NAN], "x", "who").shape == (2,)  # data may hold NaN by default
    for bad in ([1.0, NAN], [INF]):
        with pytest.raises(ValueError, match=r"^who: x must contain only finite numbers"):
            checks.float_array(bad, "x", "who", finite=True)
