"""course_lib.scratch.preprocessing and its torch twin.

Scratch and twin agree in float64; whitened training data have identity covariance (a hypothesis
property test); PCA reconstructs; every inverse_transform undoes its transform; bad input fails
with a ValueError that names the problem, on both sides.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from course_lib.scratch import preprocessing as S
from course_lib.torch_impl import preprocessing as T

SETTINGS = settings(max_examples=40, deadline=None)


def correlated(rng: np.random.Generator, n: int = 80, d: int = 5, offset: float = 3.0) -> np.ndarray:
    """Gaussian data with a random covariance (well conditioned) and a non-zero mean."""
    mixing = rng.standard_normal((d, d)) + 2.0 * np.eye(d)
    return rng.standard_normal((n, d)) @ mixing + offset * rng.standard_normal(d)


def images(rng: np.random.Generator, n: int = 12, c: int = 3, h: int = 5, w: int = 4) -> np.ndarray:
    return rng.uniform(0, 1, size=(n, c, h, w)) + np.arange(c)[:, None, None]


def cov(z: np.ndarray) -> np.ndarray:
    zc = z - z.mean(axis=0)
    return zc.T @ zc / len(z)


def assert_twin(a, b) -> None:
    torch.testing.assert_close(torch.as_tensor(np.asarray(a)), b)


# ============================================================================================
# Scratch vs torch twin (float64)
# ============================================================================================
FITS_2D = {
    "center": (lambda m, x: m.fit_center(x)),
    "standardize": (lambda m, x: m.fit_standardize(x)),
    "pca": (lambda m, x: m.fit_pca(x)),
    "pca_k2": (lambda m, x: m.fit_pca(x, n_components=2)),
    "whiten_pca": (lambda m, x: m.fit_whitening(x, "pca", eps=0.0)),
    "whiten_zca": (lambda m, x: m.fit_whitening(x, "zca", eps=0.0)),
    "whiten_zca_eps": (lambda m, x: m.fit_whitening(x, "zca", eps=0.5)),
    "whiten_pca_k3_eps": (lambda m, x: m.fit_whitening(x, "pca", eps=1e-3, n_components=3)),
}
FITS_4D = {
    "mean_image": (lambda m, x: m.fit_mean_image(x)),
    "channel_mean": (lambda m, x: m.fit_channel_mean(x)),
    "channel_standardize": (lambda m, x: m.fit_channel_standardize(x)),
    "center_images": (lambda m, x: m.fit_center(x)),
}


@pytest.mark.parametrize("name", sorted(FITS_2D))
@pytest.mark.parametrize("seed", [0, 1])
def test_twin_fits_and_transforms_agree(name, seed):
    rng = np.random.default_rng(seed)
    x, x_new = correlated(rng), correlated(rng, n=7)
    fs, ft = FITS_2D[name](S, x), FITS_2D[name](T, torch.tensor(x))
    assert type(fs).__name__ == type(ft).__name__
    for field in dataclasses.fields(fs):
        a, b = getattr(fs, field.name), getattr(ft, field.name)
        if isinstance(a, np.ndarray):
            assert b.dtype == torch.float64
            assert_twin(a, b)
        else:
            assert a == b
    z = fs.transform(x_new)
    assert_twin(z, ft.transform(torch.tensor(x_new)))
    assert_twin(fs.inverse_transform(z), ft.inverse_transform(torch.tensor(z)))


@pytest.mark.parametrize("name", sorted(FITS_4D))
def test_twin_image_fits_agree(name):
    rng = np.random.default_rng(2)
    x, x_new = images(rng), images(rng, n=3)
    fs, ft = FITS_4D[name](S, x), FITS_4D[name](T, torch.tensor(x))
    assert_twin(fs.mean, ft.mean)
    z = fs.transform(x_new)
    assert_twin(z, ft.transform(torch.tensor(x_new)))
    assert_twin(fs.inverse_transform(z), ft.inverse_transform(torch.tensor(z)))


def test_twin_stateless_functions_agree():
    rng = np.random.default_rng(3)
    x = images(rng)
    assert_twin(S.subtract_image_mean(x), T.subtract_image_mean(torch.tensor(x)))
    hu = rng.uniform(-1100, 2000, size=(6, 7))
    for center, width in ((40, 400), (-600, 1500), (400, 2000)):
        assert_twin(S.window_level(hu, center, width), T.window_level(torch.tensor(hu), center, width))
    u = rng.uniform(0, 1, size=(50,))
    for bits in (1, 3, 8, 12):
        assert_twin(S.quantize(u, bits), T.quantize(torch.tensor(u), bits))
    v = rng.standard_normal((4, 6))
    assert_twin(S.canonicalize_signs(v), T.canonicalize_signs(torch.tensor(v)))


def test_twin_keeps_float32_and_converts_integers():
    x32 = torch.tensor(correlated(np.random.default_rng(4)), dtype=torch.float32)
    assert T.fit_standardize(x32).transform(x32).dtype == torch.float32
    assert T.fit_whitening(x32, eps=1e-3).matrix.dtype == torch.float32
    ints = torch.arange(12).reshape(4, 3)
    assert T.fit_center(ints).mean.dtype == torch.float64
    assert S.fit_center(np.arange(12).reshape(4, 3)).mean.dtype == np.float64


# ============================================================================================
# Whitening: identity covariance (property), eps, PCA vs ZCA
# ============================================================================================
@st.composite
def full_rank_data(draw):
    d = draw(st.integers(1, 6))
    n = draw(st.integers(d + 2, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.floats(1e-3, 1e3))
    rng = np.random.default_rng(seed)
    x = scale * (rng.standard_normal((n, d)) @ rng.standard_normal((d, d))) + rng.normal(0, 10, size=d)
    eig = np.linalg.eigvalsh(cov(x))
    assume(eig.min() > 1e-8 * eig.max())  # keep away from numerically singular covariances
    return x


@SETTINGS
@given(x=full_rank_data(), kind=st.sampled_from(["pca", "zca"]))
def test_whitened_training_data_has_identity_covariance(x, kind):
    for module, data in ((S, x), (T, torch.tensor(x))):
        stats = module.fit_whitening(data, kind=kind, eps=0.0)
        z = np.asarray(stats.transform(data))
        np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-7)
        np.testing.assert_allclose(cov(z), np.eye(x.shape[1]), atol=1e-6)
        np.testing.assert_allclose(np.asarray(stats.inverse_transform(torch.tensor(z) if module is T else z)), x,
                                   atol=1e-6 * (1 + np.abs(x).max()))


@SETTINGS
@given(x=full_rank_data(), eps=st.floats(1e-3, 10.0))
def test_eps_shrinks_each_direction_by_lambda_over_lambda_plus_eps(x, eps):
    stats = S.fit_whitening(x, "zca", eps=eps)
    lam = stats.eigenvalues
    expected = stats.components.T @ np.diag(lam / (lam + eps)) @ stats.components
    np.testing.assert_allclose(cov(stats.transform(x)), expected, atol=1e-8)


def test_zca_is_symmetric_and_the_whitening_closest_to_the_data():
    """Kessy et al. (2018): of all whitening matrices, ZCA minimizes E||z - (x - mu)||^2."""
    rng = np.random.default_rng(5)
    x = correlated(rng, n=400, d=4)
    zca, pca = S.fit_whitening(x, "zca", eps=0.0), S.fit_whitening(x, "pca", eps=0.0)
    np.testing.assert_allclose(zca.matrix, zca.matrix.T, atol=1e-10)
    xc = x - x.mean(axis=0)
    distance = lambda z: np.mean(np.sum((z - xc) ** 2, axis=1))  # noqa: E731
    d_zca = distance(zca.transform(x))
    assert d_zca < distance(pca.transform(x))
    for seed in range(20):  # any other whitening is ZCA followed by a rotation
        q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((4, 4)))
        assert d_zca <= distance(zca.transform(x) @ q) + 1e-9


def test_pca_whitening_is_pca_scaled_to_unit_variance():
    x = correlated(np.random.default_rng(6))
    pca, white = S.fit_pca(x), S.fit_whitening(x, "pca", eps=0.0)
    np.testing.assert_allclose(white.transform(x), pca.transform(x) / np.sqrt(pca.explained_variance), atol=1e-10)


def test_whitening_with_fewer_components():
    x = correlated(np.random.default_rng(7), d=6)
    for kind in ("pca", "zca"):
        stats = S.fit_whitening(x, kind, eps=0.0, n_components=3)
        z = stats.transform(x)
        assert z.shape == (80, 3 if kind == "pca" else 6)
        if kind == "pca":
            np.testing.assert_allclose(cov(z), np.eye(3), atol=1e-10)
        # the inverse is the reconstruction from the 3 largest directions
        pca = S.fit_pca(x, 3)
        np.testing.assert_allclose(stats.inverse_transform(z), pca.inverse_transform(pca.transform(x)), atol=1e-9)


# ============================================================================================
# PCA
# ============================================================================================
def test_pca_components_orthonormal_sorted_and_canonical():
    x = correlated(np.random.default_rng(8), d=6)
    p = S.fit_pca(x)
    np.testing.assert_allclose(p.components @ p.components.T, np.eye(6), atol=1e-12)
    assert np.all(np.diff(p.explained_variance) <= 0)
    np.testing.assert_allclose(p.explained_variance.sum(), np.trace(cov(x)), rtol=1e-12)
    np.testing.assert_allclose(p.explained_variance_ratio.sum(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(cov(p.transform(x)), np.diag(p.explained_variance), atol=1e-9)  # decorrelated
    pivots = p.components[np.arange(6), np.argmax(np.abs(p.components), axis=1)]
    assert np.all(pivots > 0)


def test_pca_sign_does_not_depend_on_the_eigensolver():
    """Flipping the sign of any eigenvector and re-canonicalizing gives the same components."""
    p = S.fit_pca(correlated(np.random.default_rng(9)))
    flips = np.array([1, -1, -1, 1, -1])[:, None]
    np.testing.assert_array_equal(S.canonicalize_signs(p.components * flips), p.components)
    np.testing.assert_array_equal(S.canonicalize_signs(S.canonicalize_signs(p.components)), p.components)


def test_pca_matches_scikit_learn_up_to_sign_and_n_minus_1():
    from sklearn.decomposition import PCA

    x = correlated(np.random.default_rng(10), n=60, d=5)
    ours, ref = S.fit_pca(x), PCA().fit(x)
    np.testing.assert_allclose(S.canonicalize_signs(ref.components_), ours.components, atol=1e-9)
    np.testing.assert_allclose(ref.explained_variance_ratio_, ours.explained_variance_ratio, rtol=1e-9)
    np.testing.assert_allclose(ref.explained_variance_, ours.explained_variance * 60 / 59, rtol=1e-9)


@pytest.mark.parametrize("k", [1, 2, 4, 5])
def test_pca_reconstruction_error_is_the_dropped_variance(k):
    x = correlated(np.random.default_rng(11))
    p = S.fit_pca(x, n_components=k)
    full = S.fit_pca(x)
    recon = p.inverse_transform(p.transform(x))
    mse = np.mean(np.sum((recon - x) ** 2, axis=1))
    np.testing.assert_allclose(mse, full.explained_variance[k:].sum(), atol=1e-9)
    if k == 5:
        np.testing.assert_allclose(recon, x, atol=1e-10)


# ============================================================================================
# Centring, standardizing, images, round trips
# ============================================================================================
def test_standardize_uses_population_std_and_spares_constant_features():
    x = correlated(np.random.default_rng(12))
    x[:, 2] = 7.0
    s = S.fit_standardize(x)
    z = s.transform(x)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), [1, 1, 0, 1, 1], atol=1e-12)
    assert s.std[2] == 1.0
    np.testing.assert_allclose(s.std[[0, 1, 3, 4]], x[:, [0, 1, 3, 4]].std(axis=0, ddof=0))
    t = T.fit_standardize(torch.tensor(x))
    assert not torch.allclose(t.std[0], torch.tensor(x[:, 0]).std())  # torch's default (N-1) would differ


ROUND_TRIPS = {
    "center": lambda x: S.fit_center(x),
    "standardize": lambda x: S.fit_standardize(x),
    "pca": lambda x: S.fit_pca(x),
    "pca_whitening_eps": lambda x: S.fit_whitening(x, "pca", eps=0.1),
    "zca_whitening_eps": lambda x: S.fit_whitening(x, "zca", eps=0.1),
}


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_inverse_transform_round_trip_on_new_data(name):
    rng = np.random.default_rng(13)
    stats = ROUND_TRIPS[name](correlated(rng))
    x_new = correlated(rng, n=9)
    before = x_new.copy()
    np.testing.assert_allclose(stats.inverse_transform(stats.transform(x_new)), x_new, atol=1e-9)
    np.testing.assert_array_equal(x_new, before)  # inputs are not modified


def test_image_means():
    rng = np.random.default_rng(14)
    x = images(rng, n=20)
    mean_image = S.fit_mean_image(x)
    assert mean_image.mean.shape == (3, 5, 4)
    np.testing.assert_allclose(mean_image.transform(x).mean(axis=0), 0.0, atol=1e-12)  # every pixel centred
    channel = S.fit_channel_mean(x)
    assert channel.mean.shape == (3,)
    zc = channel.transform(x)
    np.testing.assert_allclose(zc.mean(axis=(0, 2, 3)), 0.0, atol=1e-12)  # every channel centred
    np.testing.assert_allclose(channel.inverse_transform(zc), x, atol=1e-12)
    bigger = rng.uniform(size=(2, 3, 9, 9))  # per-channel statistics apply to any image size
    assert channel.transform(bigger).shape == (2, 3, 9, 9)
    cs = S.fit_channel_standardize(x)
    np.testing.assert_allclose(cs.transform(x).std(axis=(0, 2, 3)), 1.0, atol=1e-12)
    per_image = S.subtract_image_mean(x)
    np.testing.assert_allclose(per_image.mean(axis=(1, 2, 3)), 0.0, atol=1e-12)


def test_window_level_maps_the_window_to_unit_interval():
    c, w = 40.0, 400.0
    hu = np.array([-1000.0, c - w / 2, c - 100, c, c + w / 2, 3000.0])
    np.testing.assert_allclose(S.window_level(hu, c, w), [0.0, 0.0, 0.25, 0.5, 1.0, 1.0])
    grid = np.linspace(-1100, 1600, 200)
    assert np.all(np.diff(S.window_level(grid, -600, 1500)) >= 0)  # monotone


def test_quantize_levels_and_error():
    u = np.random.default_rng(15).uniform(size=10_000)
    for bits in (1, 4, 8):
        q = S.quantize(u, bits)
        assert len(np.unique(q)) <= 2**bits
        assert np.max(np.abs(q - u)) <= 0.5 / (2**bits - 1) + 1e-15
    np.testing.assert_array_equal(S.quantize(np.array([0.0, 1.0]), 8), [0.0, 1.0])


def test_stats_are_frozen():
    s = S.fit_center(np.ones((3, 2)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.mean = None  # type: ignore[misc]


# ============================================================================================
# Bad input: a clear ValueError, scratch and twin alike
# ============================================================================================
def _nan_data():
    x = correlated(np.random.default_rng(16))
    x[3, 1] = np.nan
    return x


BAD = [
    (lambda m, t: m.fit_center(t(_nan_data())), "NaN"),
    (lambda m, t: m.fit_standardize(t(np.full((4, 2), np.inf))), "NaN or infinite"),
    (lambda m, t: m.fit_center(t(np.ones(5))), r"shape \(N, \.\.\.\)"),
    (lambda m, t: m.fit_center(t(np.ones((0, 3)))), "at least 1 training sample"),
    (lambda m, t: m.fit_standardize(t(np.ones((1, 3)))), "at least 2 training sample"),
    (lambda m, t: m.fit_pca(t(np.ones((1, 3)))), "at least 2 training sample"),
    (lambda m, t: m.fit_pca(t(np.ones((4, 3, 2)))), r"shape \(N, D\)"),
    (lambda m, t: m.fit_pca(t(correlated(np.random.default_rng(0))), n_components=0), "n_components"),
    (lambda m, t: m.fit_pca(t(correlated(np.random.default_rng(0))), n_components=6), "n_components"),
    (lambda m, t: m.fit_whitening(t(correlated(np.random.default_rng(0))), kind="pcaa"), "kind"),
    (lambda m, t: m.fit_whitening(t(correlated(np.random.default_rng(0))), eps=-1.0), "eps"),
    (lambda m, t: m.fit_whitening(t(correlated(np.random.default_rng(0), n=4, d=5)), eps=0.0), "singular"),
    (lambda m, t: m.fit_whitening(t(np.column_stack([np.arange(9.0), np.ones(9)])), eps=0.0), "singular"),
    (lambda m, t: m.fit_center(t(np.ones((3, 2)))).transform(t(np.ones((3, 3)))), r"expected shape \(M, 2\)"),
    (lambda m, t: m.fit_center(t(np.ones((3, 2)))).transform(t(np.full((3, 2), np.nan))), "NaN"),
    (lambda m, t: m.fit_pca(t(correlated(np.random.default_rng(0))), 2).inverse_transform(t(np.ones((3, 5)))),
     "expected shape"),
    (lambda m, t: m.fit_mean_image(t(np.ones((3, 8, 8)))), r"\(N, C, H, W\)"),
    (lambda m, t: m.fit_channel_mean(t(np.ones((3, 64)))), r"\(N, C, H, W\)"),
    (lambda m, t: m.fit_channel_mean(t(np.ones((3, 3, 2, 2)))).transform(t(np.ones((3, 1, 2, 2)))), "expected images"),
    (lambda m, t: m.fit_channel_standardize(t(np.ones((1, 3, 1, 1)))), "at least 2 values per channel"),
    (lambda m, t: m.subtract_image_mean(t(np.ones((3, 4)))), r"\(N, C, H, W\)"),
    (lambda m, t: m.window_level(t(np.ones(3)), 40, 0), "width must be > 0"),
    (lambda m, t: m.window_level(t(np.ones(3)), float("nan"), 400), "center must be a finite"),
    (lambda m, t: m.window_level(t(np.array([1.0, np.nan])), 40, 400), "NaN"),
    (lambda m, t: m.quantize(t(np.array([0.5, 1.2])), 8), r"\[0, 1\]"),
    (lambda m, t: m.quantize(t(np.array([0.5])), 0), "bits"),
    (lambda m, t: m.fit_center(t(np.ones((3, 2), dtype=bool))), "real numbers"),
    (lambda m, t: m.canonicalize_signs(t(np.ones(3))), r"\(K, D\)"),
]


@pytest.mark.parametrize("module", [S, T], ids=["scratch", "torch"])
@pytest.mark.parametrize("case", range(len(BAD)))
def test_bad_input_raises_a_clear_value_error(module, case):
    call, message = BAD[case]
    to = (lambda a: a) if module is S else (lambda a: torch.as_tensor(np.asarray(a)))
    with pytest.raises(ValueError, match=message):
        call(module, to)


def test_scratch_rejects_complex_and_objects():
    with pytest.raises(ValueError, match="real numbers"):
        S.fit_center(np.ones((3, 2), dtype=complex))
    with pytest.raises(ValueError, match="real numbers"):
        S.fit_center(np.array([["a", "b"]]))
