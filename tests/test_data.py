"""course_lib.data: shapes, dtypes, split sizes, stratification, determinism, RNG hygiene, bad arguments."""

from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
import pytest

from course_lib import data
from course_lib.data import Splits

MAKERS = {
    "spirals": data.make_spirals,
    "xor": data.make_xor,
    "blobs": data.make_blobs,
    "moons": data.make_moons,
    "linearly_separable": data.make_linearly_separable,
}
N_CLASSES = {"spirals": 3, "xor": 2, "blobs": 3, "moons": 2, "linearly_separable": 2}


def _global_states():
    return np.random.get_state(), random.getstate()


def _assert_same_global_state(before) -> None:
    np_before, py_before = before
    np_after, py_after = _global_states()
    assert np_before[0] == np_after[0]
    assert np.array_equal(np_before[1], np_after[1]) and np_before[2:] == np_after[2:], "numpy global RNG changed"
    assert py_before == py_after, "python's random state changed"


@pytest.fixture(scope="module")
def mnist1d() -> Splits:
    return data.load_mnist1d()


# ----- digits ------------------------------------------------------------------------------
def test_digits_shapes_dtypes_and_sizes():
    s = data.load_digits(seed=0)
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (1077, 360, 360)
    for x in (s.x_train, s.x_val, s.x_test):
        assert x.dtype == np.float64 and x.shape[1] == 64
    for y in (s.y_train, s.y_val, s.y_test):
        assert y.dtype == np.int64 and y.ndim == 1
    assert s.n_classes == 10 and s.classes == tuple("0123456789") and s.n_features == 64
    assert 0.0 <= s.x_train.min() and s.x_train.max() <= 1.0 and s.x_train.max() == 1.0


def test_digits_splits_are_a_partition_of_sklearn_digits():
    from sklearn.datasets import load_digits

    ref = load_digits()
    s = data.load_digits(seed=3, scale="raw")
    x = np.concatenate([s.x_train, s.x_val, s.x_test])
    y = np.concatenate([s.y_train, s.y_val, s.y_test])
    # the same multiset of (image, label) rows, nothing duplicated or lost
    key = lambda a, b: sorted(map(tuple, np.column_stack([a, b]).tolist()))  # noqa: E731
    assert key(x, y) == key(ref.data.astype(np.float64), ref.target)


def test_digits_split_is_stratified():
    s = data.load_digits(seed=1)
    for y, n in ((s.y_train, 1077), (s.y_val, 360), (s.y_test, 360)):
        counts = np.bincount(y, minlength=10)
        full = np.bincount(np.concatenate([s.y_train, s.y_val, s.y_test]), minlength=10)
        np.testing.assert_allclose(counts, full * n / full.sum(), atol=1.0)


def test_digits_deterministic_and_seed_dependent():
    a, b, c = data.load_digits(seed=0), data.load_digits(seed=0), data.load_digits(seed=1)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_train, c.y_train)


def test_digits_standard_uses_train_statistics():
    s = data.load_digits(seed=0, scale="standard")
    np.testing.assert_allclose(s.x_train.mean(axis=0), 0.0, atol=1e-12)
    std = s.x_train.std(axis=0)
    assert np.all((np.abs(std - 1.0) < 1e-12) | (std == 0.0))  # constant pixels stay 0
    assert np.abs(s.x_val.mean(axis=0)).max() > 1e-3  # val is NOT re-standardized with its own stats
    u = data.load_digits(seed=0, scale="unit")
    np.testing.assert_allclose((u.x_train * 16 - s.info["mean"]) / s.info["std"], s.x_train, atol=1e-12)


def test_digits_describe_and_repr():
    s = data.load_digits()
    text = s.describe()
    assert "1077" in text and "(360, 64)" in text and "float64" in text
    assert "train=1077" in repr(s)
    assert set(s.as_dict()) == {"x_train", "y_train", "x_val", "y_val", "x_test", "y_test"}


def test_splits_is_frozen():
    s = data.load_digits()
    with pytest.raises(AttributeError):
        s.x_train = None  # type: ignore[misc]


@pytest.mark.parametrize("kwargs", [{"seed": -1}, {"seed": 1.5}, {"scale": "minmax"}])
def test_digits_bad_args(kwargs):
    with pytest.raises(ValueError):
        data.load_digits(**kwargs)


# ----- MNIST-1D ----------------------------------------------------------------------------
def test_mnist1d_shapes_and_sizes(mnist1d):
    s = mnist1d
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (3500, 500, 1000)
    assert s.x_train.shape == (3500, 40) and s.x_test.shape == (1000, 40)
    assert s.x_train.dtype == np.float64 and s.y_train.dtype == np.int64
    assert s.n_classes == 10
    assert set(np.unique(s.y_val)) == set(range(10))
    assert np.bincount(s.y_val, minlength=10).min() >= 45  # stratified: ~50 per class


def test_mnist1d_restores_global_rngs_and_is_deterministic(mnist1d):
    np.random.seed(123)
    random.seed(456)
    before = _global_states()
    again = data.load_mnist1d()
    _assert_same_global_state(before)
    assert np.array_equal(again.x_train, mnist1d.x_train) and np.array_equal(again.y_test, mnist1d.y_test)


def test_mnist1d_bad_args():
    with pytest.raises(ValueError):
        data.load_mnist1d(seed=-3)
    with pytest.raises(ValueError):
        data.load_mnist1d(n_val=4000)


# ----- synthetic 2-D sets ------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(MAKERS))
@pytest.mark.parametrize("n", [7, 150])
def test_maker_shapes_dtypes_and_balance(name, n):
    x, y = MAKERS[name](np.random.default_rng(0), n)
    assert x.shape == (n, 2) and x.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.all(np.isfinite(x))
    counts = np.bincount(y, minlength=N_CLASSES[name])
    assert len(counts) == N_CLASSES[name]
    # classes are balanced up to rounding (xor balances its 4 clouds, two per class)
    assert counts.max() - counts.min() <= (2 if name == "xor" else 1)


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_maker_deterministic_and_leaves_global_rngs_alone(name):
    np.random.seed(7)
    random.seed(7)
    before = _global_states()
    a = MAKERS[name](np.random.default_rng(42), 60)
    b = MAKERS[name](np.random.default_rng(42), 60)
    c = MAKERS[name](np.random.default_rng(43), 60)
    _assert_same_global_state(before)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("name", sorted(MAKERS))
@pytest.mark.parametrize("n", [0, -5, 2.5, True])
def test_maker_rejects_bad_n(name, n):
    with pytest.raises(ValueError):
        MAKERS[name](np.random.default_rng(0), n)


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_maker_rejects_a_non_generator(name):
    with pytest.raises(TypeError):
        MAKERS[name](0, 10)
    with pytest.raises(TypeError):
        MAKERS[name](np.random.RandomState(0), 10)


@pytest.mark.parametrize(
    "call",
    [
        lambda r: data.make_spirals(r, 30, noise=-0.1),
        lambda r: data.make_spirals(r, 30, classes=1),
        lambda r: data.make_spirals(r, 2, classes=3),
        lambda r: data.make_xor(r, 10, noise=float("nan")),
        lambda r: data.make_moons(r, 10, noise=-1),
        lambda r: data.make_blobs(r, 10, centers=1),
        lambda r: data.make_blobs(r, 10, centers=np.zeros((3, 3))),
        lambda r: data.make_blobs(r, 10, std=-1),
        lambda r: data.make_linearly_separable(r, 10, margin=-0.5),
    ],
)
def test_maker_rejects_bad_hyperparameters(call):
    with pytest.raises(ValueError):
        call(np.random.default_rng(0))


def test_linearly_separable_has_the_margin():
    rng = np.random.default_rng(5)
    margin = 0.8
    x, y = data.make_linearly_separable(rng, 400, margin=margin)
    # the hard-margin SVM's margin is at least the requested one: check with a perceptron-free
    # argument -- some unit normal separates the classes with gap >= margin (search directions)
    angles = np.linspace(0, np.pi, 3600, endpoint=False)
    normals = np.column_stack([np.cos(angles), np.sin(angles)])
    proj = x @ normals.T  # (n, A)
    gap_up = proj[y == 1].min(axis=0) - proj[y == 0].max(axis=0)
    gap_down = proj[y == 0].min(axis=0) - proj[y == 1].max(axis=0)
    assert max(gap_up.max(), gap_down.max()) >= margin * 0.999


def test_xor_labels_follow_the_quadrants_without_noise():
    x, y = data.make_xor(np.random.default_rng(0), 40, noise=0.0)
    np.testing.assert_array_equal(y, (np.sign(x[:, 0]) != np.sign(x[:, 1])).astype(np.int64))


def test_blobs_accepts_explicit_centers():
    centers = np.array([[0.0, 0.0], [10.0, 10.0]])
    x, y = data.make_blobs(np.random.default_rng(0), 50, centers=centers, std=0.1)
    for k in range(2):
        np.testing.assert_allclose(x[y == k].mean(axis=0), centers[k], atol=0.1)


def test_importing_data_loads_neither_torch_nor_matplotlib():
    code = (
        "import sys, course_lib.data\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'matplotlib', 'mnist1d'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


# ----- Splits checks its arrays -------------------------------------------------------------
def _arrays(n=(6, 3, 4), d=5):
    rng = np.random.default_rng(0)
    out = {}
    for part, m in zip(("train", "val", "test"), n):
        out[f"x_{part}"] = rng.standard_normal((m, d))
        out[f"y_{part}"] = np.arange(m) % 3
    return out


def test_splits_accepts_good_arrays_and_images():
    s = Splits(**_arrays(), classes=("a", "b", "c"))
    assert s.n_classes == 3 and s.n_features == 5
    images = {k: (v.reshape(len(v), 1, 1, 5) if k.startswith("x") else v) for k, v in _arrays().items()}
    assert Splits(**images).n_features == 5
    assert len(Splits(**_arrays(n=(6, 0, 4))).y_val) == 0  # a set without a validation split


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a["x_val"].__setitem__((1, 2), np.nan), "x_val contains 1 NaN"),
        (lambda a: a["x_test"].__setitem__((0, 0), np.inf), "x_test contains 1 NaN or infinite"),
        (lambda a: a.__setitem__("y_train", a["y_train"] - 1), "negative label"),
        (lambda a: a.__setitem__("y_test", a["y_test"] + 1), "label 3, but there are only 3 classes"),
        (lambda a: a.__setitem__("y_val", a["y_val"][:2]), "rows"),
        (lambda a: a.__setitem__("y_val", a["y_val"].astype(float)), "integer class labels"),
        (lambda a: a.__setitem__("y_val", a["y_val"][:, None]), "1-D"),
        (lambda a: a.__setitem__("x_val", a["x_val"][:, :4]), "same example shape"),
        (lambda a: a.__setitem__("x_train", a["x_train"][:, 0]), "one row per example"),
        (lambda a: a.__setitem__("x_train", a["x_train"] > 0), "real numbers"),
        (lambda a: (a.__setitem__("x_train", a["x_train"][:0]), a.__setitem__("y_train", a["y_train"][:0])),
         "train split is empty"),
        (lambda a: (a.__setitem__("x_test", a["x_test"][:0]), a.__setitem__("y_test", a["y_test"][:0])),
         "test split is empty"),
    ],
)
def test_splits_rejects_bad_arrays_with_a_clear_message(change, message):
    arrays = _arrays()
    change(arrays)
    with pytest.raises(ValueError, match=message):
        Splits(**arrays, classes=("a", "b", "c"))


def test_splits_rejects_non_arrays():
    arrays = _arrays()
    arrays["x_train"] = arrays["x_train"].tolist()
    with pytest.raises(TypeError, match="numpy arrays"):
        Splits(**arrays)
