"""Every numeric claim of the preprocessing chapter (book/04_preprocessing.md), asserted.

Each test quotes or paraphrases the claim it pins. The experiments are small enough to run at book
size (a few seconds each); statistical claims are checked on every seed the chapter uses, and where
cheap on more. Module-scoped fixtures run each experiment once.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib.data import load_digits
from course_lib.experiments import all_positive, ct_window, image_means, leakage, preprocess_cloud, whitening_images
from course_lib.scratch import preprocessing as prep
from course_lib.torch_impl import preprocessing as tprep


def cov(z: np.ndarray) -> np.ndarray:
    zc = z - z.mean(axis=0)
    return zc.T @ zc / len(z)


# ============================================================================================
# Zero-centring, normalization, decorrelation, whitening (the 2-D cloud)
# ============================================================================================
def test_cloud_numbers_of_the_text():
    """'the variances (3.10 and 1.28) and the correlation (+0.80) ... normalizing leaves the correlation at
    exactly +0.80 ... variances 4.02 and 0.36; the first principal direction carries 92% ... covariance I'."""
    r = preprocess_cloud.run(n=400, seed=0)
    s = r.stages
    np.testing.assert_allclose(np.diag(s["centred"].cov), [3.10, 1.28], atol=0.005)
    assert round(s["original"].correlation, 2) == 0.80
    np.testing.assert_allclose(np.diag(s["decorrelated"].cov), [4.02, 0.36], atol=0.005)
    assert round(float(r.explained_variance_ratio[0]), 2) == 0.92
    np.testing.assert_allclose(s["whitened"].cov, np.eye(2), atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_cloud_pipeline_on_any_seed(seed):
    """Centring changes nothing but the mean; per-axis normalization keeps the correlation; PCA makes the
    covariance diagonal; PCA and ZCA whitening make it I."""
    s = preprocess_cloud.run(n=200, seed=seed).stages
    assert np.abs(s["original"].mean).min() > 1.0
    np.testing.assert_allclose(s["centred"].mean, 0.0, atol=1e-12)
    np.testing.assert_allclose(s["centred"].cov, s["original"].cov, atol=1e-12)
    np.testing.assert_allclose(np.diag(s["normalized"].cov), 1.0, atol=1e-12)
    assert s["normalized"].correlation == pytest.approx(s["original"].correlation, abs=1e-12)
    assert abs(s["original"].correlation) > 0.5
    assert abs(s["decorrelated"].cov[0, 1]) < 1e-12 and s["decorrelated"].cov[0, 0] > s["decorrelated"].cov[1, 1]
    for name in ("whitened", "zca"):
        np.testing.assert_allclose(s[name].cov, np.eye(2), atol=1e-12)


def test_check_cell_numpy_equals_torch_and_covariance_is_identity():
    """Check section: '|numpy - torch|, |cov(z) - I|, |inverse(transform(x)) - x| ... below 1e-11'."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 10)) @ rng.standard_normal((10, 10)) + 3.0
    for kind in ("pca", "zca"):
        ours = prep.fit_whitening(x, kind=kind, eps=0.0)
        twin = tprep.fit_whitening(torch.tensor(x), kind=kind, eps=0.0)
        z = ours.transform(x)
        assert np.abs(ours.matrix - twin.matrix.numpy()).max() < 1e-11
        assert np.abs(z.T @ z / len(z) - np.eye(10)).max() < 1e-11
        assert np.abs(ours.inverse_transform(z) - x).max() < 1e-11


# ============================================================================================
# All-positive inputs
# ============================================================================================
@pytest.fixture(scope="module")
def positive():
    return all_positive.run(seeds=(0, 1, 2), lrs=(1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0), threshold=0.3)


def test_same_sign_gradients(positive):
    """'With raw pixels, 100% of the per-example gradient rows have a single sign; after centring, 0% do.'"""
    for r in positive.digits:
        assert r.same_sign == (1.0 if r.name == "raw" else 0.0), (r.name, r.seed, r.same_sign)


def test_curvature(positive):
    """'The largest eigenvalue ... is 11.4 with raw pixels and 1.0 with centred ones'; the mean adds a
    direction of eigenvalue about 1 + ||mu||^2."""
    assert round(np.mean([r.lambda_max for r in positive.runs("raw")]), 1) == 11.4  # the table's mean over seeds
    for r in positive.runs("raw"):
        assert 11.3 < r.lambda_max < 11.5
        mu = load_digits(seed=r.seed).x_train.mean(axis=0)
        assert r.lambda_max == pytest.approx(1.0 + mu @ mu, rel=0.02)
    for r in positive.runs("centred"):
        assert r.lambda_max == pytest.approx(1.0, abs=1e-9)  # the bias column; pixel variances are smaller


def test_raw_diverges_from_lr_20_and_centred_converges_at_100(positive):
    """'Raw inputs diverge from a learning rate of 20 on; centred ones still converge at 100.'"""
    split = load_digits(seed=0)
    w0 = 0.01 * np.random.default_rng([0, 1]).standard_normal((64, 10))
    for r in positive.runs("raw"):
        assert all(r.steps_to_threshold[lr] is None for lr in (20.0, 50.0, 100.0))
        assert all(r.steps_to_threshold[lr] is not None for lr in (1.0, 2.0, 5.0, 10.0))
    for r in positive.runs("centred"):
        assert r.steps_to_threshold[100.0] is not None
    # None at lr 20 means divergence, not slowness
    curve, steps = all_positive._train(split.x_train, split.y_train, 20.0, 200, 0.3, w0)
    assert steps is None and len(curve) < 200 and (not np.isfinite(curve[-1]) or curve[-1] > 10 * curve[0])


def test_steps_to_the_threshold(positive):
    """'the raw classifier needs 21 to 22 steps ... centred inputs need 2 to 4, standardized ones 2, on all three seeds.'"""
    assert set(positive.best_steps("raw")) <= {21.0, 22.0}
    assert set(positive.best_steps("centred")) <= {2.0, 3.0, 4.0}
    assert set(positive.best_steps("standardized")) == {2.0}


def test_raw_loss_climbs_before_it_settles(positive):
    """'on the way its loss first climbs to about 15: the steep direction overshoots'."""
    raw0 = next(r for r in positive.runs("raw") if r.seed == 0)
    assert raw0.best_lr == 10.0
    assert 10.0 < raw0.best_curve.max() < 20.0


# ============================================================================================
# Image means
# ============================================================================================
@pytest.fixture(scope="module")
def means():
    return image_means.run(seeds=(0, 1, 2), lrs=(0.3, 1.0, 3.0), steps=100, seed=0)


def test_mean_image_vs_channel_mean(means):
    """'Subtracting it centres every pixel exactly; the per-channel mean ... leaves per-pixel means of up to
    0.45 (digits) and 0.35 (scenes)'; 3072 vs 3 numbers for CIFAR-10 (here C*H*W vs C)."""
    d, s = means.sets["digits"], means.sets["scenes"]
    assert round(d.residual_after_channel, 2) == 0.45 and round(s.residual_after_channel, 2) == 0.35
    assert d.residual_after_mean_image < 1e-12 and s.residual_after_mean_image < 1e-12
    assert d.n_stats == {"mean image": 64, "channel mean": 1} and s.n_stats == {"mean image": 768, "channel mean": 3}
    assert s.brightness_spread > 0.05 and s.brightness_spread_after < 1e-12  # per-image centring removes exposure
    # the scenes' mean image: sky on top is bluer than the ground below
    assert s.mean_image[2, :3].mean() > s.mean_image[2, -3:].mean() + 0.2


def test_centring_choice_does_not_change_the_end_point(means):
    """'raw, channel-centred, mean-image-centred and standardized inputs all reach a mean test accuracy between
    95.8% and 96.0%, a smaller spread than the one between seeds (93.6% to 97.2%)'."""
    avg = {k: v.mean() for k, v in means.accuracy.items()}
    assert all(0.958 <= round(a, 3) <= 0.960 for a in avg.values()), avg
    every = np.concatenate(list(means.accuracy.values()))
    assert round(every.min(), 3) == 0.936 and round(every.max(), 3) == 0.972
    assert max(avg.values()) - min(avg.values()) < every.max() - every.min()


# ============================================================================================
# Whitening images
# ============================================================================================
@pytest.fixture(scope="module")
def white():
    return whitening_images.run(eps=(1e-4, 1e-3, 1e-2, 1e-1), seed=0)


def test_digits_covariance_is_singular(white):
    """'only 60 of the 64 directions have any variance and whitening without eps is impossible'; 'the ten
    largest [carry] 74%'."""
    assert white.rank == 60 and "singular" in white.singular_error and "60 of the 64" in white.singular_error
    lam = white.eigenvalues
    assert round(lam[:10].sum() / lam.sum(), 2) == 0.74
    x = load_digits(seed=0).x_train
    assert int(np.sum(x.std(axis=0) == 0)) == 4  # 'four border pixels are 0 in every training digit'


def test_whitening_turns_digits_into_edge_maps(white):
    """'the share of their energy above half the Nyquist frequency rises from 33% to between 67% (eps 0.1)
    and 81% (eps 1e-4)'."""
    assert round(white.hf_share_original, 2) == 0.33
    assert round(white.hf_share_zca[0.1], 2) == 0.67 and round(white.hf_share_zca[1e-4], 2) == 0.81
    shares = [white.hf_share_zca[e] for e in white.eps]
    assert all(a > b for a, b in zip(shares, shares[1:]))  # smaller eps, more high frequencies


def test_noise_amplification(white):
    """'The noise-to-signal ratio of white pixel noise grows by a factor of 2.3 at eps = 0.1 and 134 at eps = 1e-4'."""
    assert round(white.noise_amplification[0.1], 1) == 2.3
    assert round(white.noise_amplification[1e-4]) == 134 or round(white.noise_amplification[1e-4], 1) == 133.5
    amps = [white.noise_amplification[e] for e in white.eps]
    assert all(a > b for a, b in zip(amps, amps[1:]))


@pytest.mark.parametrize("eps", [1e-3, 1e-1])
def test_noise_amplification_formula_matches_a_simulation(eps):
    """The closed form used for the table equals what whitening does to actual pixel noise."""
    rng = np.random.default_rng(1)
    x = load_digits(seed=0).x_train
    stats = prep.fit_whitening(x, kind="zca", eps=eps)
    noise = 0.01 * rng.standard_normal((20000, 64))
    signal = stats.transform(x)
    noise_w = noise @ stats.matrix
    nsr_after = np.mean(np.sum(noise_w**2, axis=1)) / np.mean(np.sum(signal**2, axis=1))
    nsr_before = np.mean(np.sum(noise**2, axis=1)) / np.mean(np.sum((x - x.mean(axis=0)) ** 2, axis=1))
    ratio = nsr_after / nsr_before
    assert ratio == pytest.approx(whitening_images.noise_amplification(stats.eigenvalues, eps), rel=0.03)


def test_imagenet_cost(white):
    """'D = 150528 pixels; its covariance has D^2 ~ 2.3e10 entries (about 91 GB in float32) ... D^3 ~ 3.4e15'."""
    assert white.imagenet_dim == 150_528
    assert round(white.imagenet_dim**2 / 1e10, 1) == 2.3
    assert round(white.imagenet_cov_gb) == 91
    assert round(white.imagenet_eig_flops / 1e15, 1) == 3.4


# ============================================================================================
# The golden rule
# ============================================================================================
@pytest.fixture(scope="module")
def leak():
    return leakage.run(seeds=(0, 1, 2, 3, 4), batch_size=32, noise_repeats=20, seed=0)


def test_train_plus_test_statistics_change_nothing_here(leak):
    """'their pixels barely move the mean and std (by at most 0.27 training standard deviations for one pixel),
    and not a single test prediction changes on any of the five seeds'."""
    assert round(float(leak.stat_shift.max()), 2) == 0.27
    assert leak.changed_predictions.tolist() == [0] * 5
    np.testing.assert_array_equal(leak.acc_all_stats, leak.acc_train_stats)


def test_batch_statistics_at_inference(leak):
    """'Random batches lose a point (96.4% to 95.4%). Batches of a single class ... collapse to 14.0%'."""
    acc = {k: v.mean() for k, v in leak.batch_acc.items()}
    assert round(acc[("random", "train")], 3) == 0.964 and round(acc[("random", "own batch")], 3) == 0.954
    assert round(acc[("one class", "own batch")], 3) == 0.140
    for s in range(5):  # on every seed, not just on average
        assert leak.batch_acc[("one class", "train")][s] > 0.9
        assert leak.batch_acc[("one class", "own batch")][s] < 0.25
        assert 0.0 <= leak.batch_acc[("random", "train")][s] - leak.batch_acc[("random", "own batch")][s] < 0.04


def test_selection_on_all_data_fakes_accuracy_on_noise(leak):
    """'an apparent test accuracy of 87.5% (over 20 repetitions); selecting on the training half only gives
    48.8%, chance'."""
    assert len(leak.noise_acc_leaky) == len(leak.noise_acc_honest) == 20
    assert round(leak.noise_acc_leaky.mean(), 3) == 0.875 and round(leak.noise_acc_honest.mean(), 3) == 0.488
    assert leak.noise_acc_leaky.min() > 0.75  # every repetition, not just the mean
    assert abs(leak.noise_acc_honest.mean() - 0.5) < 2 * leak.noise_acc_honest.std() / np.sqrt(20) + 0.02


@pytest.mark.parametrize("seed", [1, 2])
def test_selection_leak_on_other_seeds(seed):
    r = leakage.run(seeds=(0,), steps=20, n_batches=2, noise_repeats=10, seed=seed)
    assert r.noise_acc_leaky.mean() > 0.75 and 0.35 < r.noise_acc_honest.mean() < 0.65


# ============================================================================================
# Dynamic range and the CT phantom
# ============================================================================================
@pytest.fixture(scope="module")
def ct():
    return ct_window.run(size=256, lesion_contrast=12.0, noise=5.0, seeds=(0, 1, 2, 3, 4), seed=0)


def test_phantom_is_in_hounsfield_units(ct):
    """Air -1000, fat about -100, lung -850..-500, soft tissue 20..80, bone 400..1500; stored as 16-bit integers."""
    p = ct.phantom
    assert p.hu.dtype == np.int16
    mean = {k: float(p.hu[m].mean()) for k, m in p.tissues.items()}
    assert abs(mean["air"] + 1000) < 5 and abs(mean["fat"] + 100) < 5
    assert -880 < mean["lung"] < -750 and 20 < mean["liver"] < 80 and 400 < mean["bone"] < 1500
    assert p.hu[p.lesion].mean() - p.hu[p.surround].mean() == pytest.approx(12.0, abs=1.5)


def test_views_of_the_text(ct):
    """'Squashed naively, 2232 HU share 256 grey levels, 8.8 HU per level: the lesion differs ... by 1.3 grey
    levels ... In the soft-tissue window a level is 1.6 HU and the lesion stands out by 7.6 levels.'"""
    lo, hi = ct.view_ranges["naive"]
    assert hi - lo == 2232
    assert round(ct.hu_per_level["naive"], 1) == 8.8 and round(ct.hu_per_level["soft tissue"], 1) == 1.6
    assert round(ct.lesion_contrast["naive"], 1) == 1.3 and round(ct.lesion_contrast["soft tissue"], 1) == 7.6
    assert ct.lesion_contrast["soft tissue"] > 5 * ct.lesion_contrast["naive"]
    for view in ct.views.values():
        assert view.dtype == np.uint8


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_soft_tissue_window_shows_the_lesion_on_any_phantom(seed):
    r = ct_window.run(size=128, seeds=(), seed=seed)
    assert r.lesion_contrast["soft tissue"] > 4 * r.lesion_contrast["naive"]
    assert r.lesion_contrast["naive"] < 2.5


def test_each_window_answers_one_question(ct):
    """'The lung window shows the vessels in the lungs ...; the bone window separates cortical from cancellous
    bone and hides everything soft.'"""
    p, views = ct.phantom, {k: v.astype(float) for k, v in ct.views.items()}
    vessel = p.tissues["lung"] & (p.hu > -650)
    parenchyma = p.tissues["lung"] & (p.hu < -750)
    assert views["lung"][vessel].mean() - views["lung"][parenchyma].mean() > 30
    assert views["soft tissue"][vessel].mean() - views["soft tissue"][parenchyma].mean() == 0  # both clipped to black
    cortical, marrow = p.hu > 1000, (p.hu > 200) & (p.hu < 400) & p.tissues["bone"]
    assert views["bone"][cortical].mean() - views["bone"][marrow].mean() > 80
    assert views["soft tissue"][cortical].mean() == views["soft tissue"][marrow].mean() == 255


def test_quantizing_a_squashed_range_costs_the_detector(ct):
    """'Quantizing the squashed range to 8 bits costs the detector about 4.5 points (92.4% against 96.9% to
    97.0%) on every one of the five seeds ... Twelve bits lose nothing, and neither does the 8-bit soft-tissue
    window (96.8%)'."""
    acc = ct.accuracy
    assert round(acc["naive 8-bit"].mean(), 3) == 0.924
    assert round(acc["naive 12-bit"].mean(), 3) == 0.969 and round(acc["naive float"].mean(), 3) == 0.970
    assert round(acc["window 8-bit"].mean(), 3) == 0.968
    assert np.all(acc["naive float"] - acc["naive 8-bit"] > 0.03)  # every seed
    assert np.all(np.abs(acc["naive 12-bit"] - acc["naive float"]) < 0.005)
    assert np.all(np.abs(acc["window 8-bit"] - acc["naive float"]) < 0.01)
    assert 0.04 <= acc["naive float"].mean() - acc["naive 8-bit"].mean() <= 0.05


def test_ct_experiment_is_deterministic_and_leaves_global_rngs_alone():
    np.random.seed(3)
    before = np.random.get_state()[1].copy()
    a = ct_window.run(size=64, seeds=(0,), n_patches=200, steps=20, seed=5)
    b = ct_window.run(size=64, seeds=(0,), n_patches=200, steps=20, seed=5)
    assert np.array_equal(a.phantom.hu, b.phantom.hu) and a.accuracy["naive 8-bit"] == b.accuracy["naive 8-bit"]
    assert np.array_equal(before, np.random.get_state()[1])


@pytest.mark.parametrize(
    "call",
    [
        lambda: ct_window.make_phantom(np.random.default_rng(0), size=16),
        lambda: all_positive.run(seeds=(0,), max_steps=0),
        lambda: whitening_images.run(eps=(0.0,)),
        lambda: preprocess_cloud.run(n=2),
        lambda: leakage.run(seeds=(0,), noise_k=0),
        lambda: image_means.run(seeds=(0,), steps=0),
    ],
)
def test_experiments_reject_bad_arguments(call):
    with pytest.raises(ValueError):
        call()


def test_figures_are_drawn():
    """Every plotting function of the chapter returns a figure (on small runs)."""
    from course_lib import plotting

    figs = [
        plotting.plot_preprocessing_cloud(preprocess_cloud.run(n=50)),
        plotting.plot_all_positive(all_positive.run(seeds=(0,), lrs=(5.0, 50.0), max_steps=20)),
        plotting.plot_image_means(image_means.run(seeds=(0,), lrs=(1.0,), steps=5, n_scenes=20)),
        plotting.plot_whitening_images(whitening_images.run(eps=(1e-2, 1e-1))),
        plotting.plot_leakage(leakage.run(seeds=(0,), steps=10, n_batches=2, noise_repeats=3)),
    ]
    small_ct = ct_window.run(size=64, seeds=(0, 1), n_patches=100, steps=10)
    figs += [plotting.plot_ct_windows(small_ct, zoom=16), plotting.plot_ct_detection(small_ct)]
    import io

    for fig in figs:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=30)  # a low resolution keeps the test fast; drawing errors still show
        assert fig.axes and buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
