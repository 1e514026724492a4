"""course_lib.diagnostics: per-layer activation and gradient statistics, dead-unit counts."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from course_lib import diagnostics as d
from course_lib.scratch.activations import ReLU
from course_lib.scratch.model import MLP

SETTINGS = settings(max_examples=50, deadline=None)


def test_layer_stats_values_relu_rule():
    a = np.array([[0.0, 1.0, 0.0, 2.0], [0.0, 0.0, 0.0, 4.0], [0.0, 3.0, 5.0, 6.0]])
    (s,) = d.activation_stats([a], "relu")
    assert s.name == "layer 1"
    assert s.mean == pytest.approx(a.mean()) and s.std == pytest.approx(a.std())
    assert s.saturated == pytest.approx(6 / 12)  # exact zeros
    assert s.dead == pytest.approx(1 / 4)  # only column 0 is zero on every row


@pytest.mark.parametrize(
    "activation, values, saturated, dead",
    [
        ("sigmoid", [[0.01, 0.5, 0.97], [0.02, 0.96, 0.5]], 4 / 6, 1 / 3),
        ("sigmoid", [[0.051, 0.949, 0.5]], 0.0, 0.0),  # just inside the thresholds
        ("tanh", [[-0.99, 0.0, 0.96], [0.999, 0.5, -0.97]], 4 / 6, 2 / 3),
        ("lecun_tanh", [[1.7, -1.62, 1.0], [-1.69, 1.6, 1.0]], 2 / 6, 1 / 3),  # threshold 0.95 * 1.7159 = 1.63
        ("elu", [[-0.99, -0.5, 2.0], [-0.96, -0.97, 3.0]], 3 / 6, 1 / 3),
        ("leaky_relu", [[-0.01, 0.0, 3.0], [-0.02, 0.0, 1.0]], 0.0, 0.0),
        (None, [[0.0, -1.0], [0.0, 2.0]], 2 / 4, 1 / 2),
    ],
)
def test_saturation_rules(activation, values, saturated, dead):
    (s,) = d.activation_stats([np.array(values)], activation)
    assert s.saturated == pytest.approx(saturated)
    assert s.dead == pytest.approx(dead)


def test_saturation_threshold_is_a_parameter():
    a = np.array([[0.92, 0.5], [0.08, 0.5]])
    assert d.activation_stats([a], "sigmoid")[0].saturated == 0.0
    assert d.activation_stats([a], "sigmoid", saturation=0.9)[0].saturated == pytest.approx(0.5)


def test_names_and_several_layers():
    rng = np.random.default_rng(0)
    vals = [rng.random((5, 3)), rng.random((5, 7))]
    stats = d.activation_stats(vals, "sigmoid", names=["h1", "h2"])
    assert [s.name for s in stats] == ["h1", "h2"]
    assert [s.name for s in d.activation_stats(vals)] == ["layer 1", "layer 2"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats[0].mean = 0.0  # type: ignore[misc]


def test_conv_maps_count_every_channel_and_pixel_as_a_unit():
    a = np.ones((4, 2, 3, 3))
    a[:, 0, 0, 0] = 0.0  # one dead "unit" of 18
    (s,) = d.activation_stats([a], "relu")
    assert s.dead == pytest.approx(1 / 18)
    assert d.count_dead_units(a - 0.5) == 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(values=[]), "empty"),
        (dict(values=np.ones((3, 2))), "sequence"),
        (dict(values=[np.ones(3)]), "shape"),
        (dict(values=[np.ones((0, 3))]), "empty"),
        (dict(values=[np.ones((2, 2))], activation="swish"), "unknown activation"),
        (dict(values=[np.ones((2, 2))], saturation=1.5), "saturation"),
        (dict(values=[np.ones((2, 2))], names=["a", "b"]), "names"),
        (dict(values=[np.array([["a", "b"]])]), "numeric"),
    ],
)
def test_activation_stats_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        d.activation_stats(**kwargs)


def test_gradient_stats_values_and_order():
    grads = {"W1": np.array([[3.0, -4.0]]), "b1": np.array([1.0, 1.0, -2.0])}
    stats = d.gradient_stats(grads)
    assert [s.name for s in stats] == ["W1", "b1"]
    w = stats[0]
    assert (w.mean, w.std, w.norm, w.abs_mean) == pytest.approx((-0.5, 3.5, 5.0, 3.5))
    assert stats[1].norm == pytest.approx(np.sqrt(6.0))


@pytest.mark.parametrize("bad", [{}, [np.ones(2)], {"W": np.ones(0)}, {"W": np.array(["x"])}])
def test_gradient_stats_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        d.gradient_stats(bad)


def test_count_dead_units_counts_exact_zero_as_off():
    z = np.array([[-1.0, 0.0, 0.5], [-2.0, 0.0, -1.0]])
    assert d.count_dead_units(z) == 2
    assert isinstance(d.count_dead_units(z), int)
    assert d.count_dead_units(np.abs(z) + 1.0) == 0
    with pytest.raises(ValueError):
        d.count_dead_units(np.ones(4))


@SETTINGS
@given(arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=st.floats(-3, 3)))
def test_dead_relu_units_agree_three_ways(z):
    """count_dead_units(z) == number of units activation_stats calls dead on relu(z) == a direct count."""
    h, _ = ReLU.forward(z)
    (s,) = d.activation_stats([h], "relu")
    assert d.count_dead_units(z) == round(s.dead * z.shape[1]) == int(np.sum(np.all(z <= 0, axis=0)))


@SETTINGS
@given(
    arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=st.floats(-2, 2)),
    st.sampled_from(["sigmoid", "tanh", "lecun_tanh", "elu", "relu", "leaky_relu", None]),
)
def test_fractions_lie_in_unit_interval_and_dead_is_at_most_saturated(a, activation):
    (s,) = d.activation_stats([a], activation)
    assert 0.0 <= s.dead <= s.saturated <= 1.0


def test_record_forward_matches_the_mlp():
    model = MLP([4, 6, 5, 3], activation="tanh", weight_scale=0.5, rng=1)
    x = np.random.default_rng(2).standard_normal((7, 4))
    pres, acts = d.record_forward(model, x)
    assert len(pres) == len(acts) == 2
    for h_ours, h_model in zip(acts, model.hidden(x)):
        np.testing.assert_array_equal(h_ours, h_model)
    np.testing.assert_allclose(acts[0], np.tanh(pres[0]))
    with pytest.raises(ValueError):
        d.record_forward(model, np.ones((3, 5)))
    with pytest.raises(ValueError):
        d.record_forward(object(), x)


def test_gradient_stats_of_an_mlp_backward_pass():
    model = MLP([4, 6, 3], activation="relu", weight_scale=0.5, rng=1)
    x, y = np.random.default_rng(2).standard_normal((7, 4)), np.arange(7) % 3
    _, grads = model.loss(x, y)
    stats = d.gradient_stats(grads)
    assert [s.name for s in stats] == ["W1", "b1", "W2", "b2"]
    assert all(s.norm > 0 for s in stats)
    assert stats[-1].mean == pytest.approx(0.0, abs=1e-15)  # softmax gradients sum to 0 over classes


def test_format_stats_tables():
    layer = d.format_stats(d.activation_stats([np.zeros((2, 3))], "relu"))
    assert "saturated" in layer and "100.0%" in layer
    grad = d.format_stats(d.gradient_stats({"W1": np.ones((2, 2))}))
    assert "norm" in grad and "2.00e+00" in grad
    assert d.format_stats([]) == "(no layers)"


def test_diagnostics_does_not_import_torch():
    code = "import sys, course_lib.diagnostics; print(any(m == 'torch' or m.startswith('torch.') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
