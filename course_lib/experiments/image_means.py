r"""Centring images: the per-pixel mean image (AlexNet) vs the per-channel mean (VGG).

Two image sets, both fitted on their training part:

* sklearn **digits**, as ``(N, 1, 8, 8)`` grey images in [0, 1];
* synthetic **colour scenes** ``(N, 3, S, S)``: a bluish sky above a greenish-brown ground, the
  horizon at a random height, one disc of random colour somewhere, a random exposure (global
  brightness) per image and pixel noise -- small "CIFAR-like" pictures whose mean image has
  structure (bright sky on top, ground below), made by :func:`make_scenes` from a Generator.

Measured: the mean image and the per-channel means, how far from zero the per-pixel means stay
after centring with each (the mean image centres every pixel; the channel mean only every channel),
how many numbers each stores, and the spread of per-image brightness before and after per-image
centring. Then what centring buys a linear softmax classifier on digits: test accuracy with raw,
per-channel-centred, mean-image-centred and standardized inputs, full-batch gradient descent with
the best learning rate of a small grid chosen on the validation split, several seeds
(:func:`train_linear`: the scratch ``MLP([64, 10])`` and ``SGD``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.data import load_digits
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.preprocessing import (
    fit_channel_mean,
    fit_mean_image,
    fit_standardize,
    subtract_image_mean,
)
from course_lib.scratch.solver import apply_update

from ._threads import single_blas_thread

__all__ = ["ImageSetStats", "ImageMeansResult", "make_scenes", "train_linear", "run", "INPUTS"]

INPUTS = ("raw", "channel mean", "mean image", "standardized")


@dataclass(frozen=True, eq=False)
class ImageSetStats:
    name: str
    examples: np.ndarray  # (k, C, H, W) a few training images
    mean_image: np.ndarray  # (C, H, W)
    channel_mean: np.ndarray  # (C,)
    residual_after_channel: float  # max over pixels of |per-pixel mean| after per-channel centring
    residual_after_mean_image: float  # the same after mean-image centring (~0)
    brightness_spread: float  # std over images of the per-image mean
    brightness_spread_after: float  # the same after subtract_image_mean (~0)

    @property
    def n_stats(self) -> dict:
        """How many numbers each statistic stores."""
        return {"mean image": int(self.mean_image.size), "channel mean": int(self.channel_mean.size)}


@dataclass(frozen=True, eq=False)
class ImageMeansResult:
    sets: dict  # "digits" / "scenes" -> ImageSetStats
    accuracy: dict  # input name -> (S,) test accuracy per seed
    best_lr: dict  # input name -> (S,) chosen learning rate per seed
    seeds: tuple
    config: dict

    def table(self) -> str:
        rows = [f"{'input':<14} {'test accuracy per seed':<30} mean"]
        for name in INPUTS:
            acc = self.accuracy[name]
            rows.append(f"{name:<14} {', '.join(f'{a:.1%}' for a in acc):<30} {acc.mean():.1%}")
        return "\n".join(rows)


def make_scenes(rng: np.random.Generator, n: int, size: int = 16, noise: float = 0.03) -> np.ndarray:
    """``n`` synthetic colour scenes, float64 ``(n, 3, size, size)`` in [0, 1] (RGB, NCHW)."""
    rows = (np.arange(size) + 0.5) / size  # 0 at the top, 1 at the bottom
    cols = (np.arange(size) + 0.5) / size
    horizon = rng.uniform(0.35, 0.65, n)[:, None, None]
    sky = np.array([0.45, 0.65, 0.95])[None, :, None, None] * (1.0 - 0.35 * rows[None, None, :, None])
    ground = np.array([0.40, 0.45, 0.20])[None, :, None, None] * np.ones((1, 3, size, 1))
    is_sky = (rows[None, :, None] < horizon)[:, None, :, :]  # (n, 1, size, 1)
    img = np.where(is_sky, sky, ground) * np.ones((n, 3, size, size))
    cy, cx = rng.uniform(0.15, 0.85, (2, n))
    radius = rng.uniform(0.08, 0.2, n)
    disc = ((rows[None, :, None] - cy[:, None, None]) ** 2 + (cols[None, None, :] - cx[:, None, None]) ** 2
            <= radius[:, None, None] ** 2)[:, None]
    colour = rng.uniform(0.0, 1.0, (n, 3, 1, 1))
    img = np.where(disc, colour, img)
    img = img * rng.uniform(0.6, 1.3, (n, 1, 1, 1)) + noise * rng.standard_normal(img.shape)
    return np.clip(img, 0.0, 1.0)


def train_linear(x: np.ndarray, y: np.ndarray, n_classes: int, lr: float, steps: int) -> MLP:
    r"""A linear softmax classifier ``MLP([D, K])`` after ``steps`` steps of full-batch gradient descent.

    .. math::

        (W, b) \leftarrow (W, b) - \eta\, \nabla J(W, b), \qquad (W, b) = (0, 0) \text{ at the start}

    ``x`` (N, D), ``y`` (N,) labels in ``0..n_classes-1``; the scratch :class:`~course_lib.scratch.optim.SGD`
    takes the steps. No randomness: the same data give the same model.
    """
    model = MLP([x.shape[1], n_classes], init="zeros", rng=0)
    sgd = SGD(lr=lr)
    states = {name: sgd.init(p) for name, p in model.params.items()}
    for _ in range(steps):
        _, grads = model.loss(x, y)
        apply_update(model, sgd, grads, states)
    return model


def _set_stats(name: str, x: np.ndarray) -> ImageSetStats:
    mean_image, channel = fit_mean_image(x), fit_channel_mean(x)
    brightness = x.mean(axis=(1, 2, 3))
    return ImageSetStats(
        name=name, examples=x[:8], mean_image=mean_image.mean, channel_mean=channel.mean,
        residual_after_channel=float(np.abs(channel.transform(x).mean(axis=0)).max()),
        residual_after_mean_image=float(np.abs(mean_image.transform(x).mean(axis=0)).max()),
        brightness_spread=float(brightness.std()),
        brightness_spread_after=float(subtract_image_mean(x).mean(axis=(1, 2, 3)).std()),
    )


@single_blas_thread
def run(seeds=(0, 1, 2), lrs=(0.3, 1.0, 3.0), steps: int = 100, n_scenes: int = 600, scene_size: int = 16,
        seed: int = 0) -> ImageMeansResult:
    """Statistics of both image sets (with ``seed``), then the digits classifier for every seed of ``seeds``."""
    if steps < 1 or not lrs:
        raise ValueError("need steps >= 1 and at least one learning rate")
    rng = np.random.default_rng(seed)
    digits = load_digits(seed=seed)
    sets = {
        "digits": _set_stats("digits", digits.x_train.reshape(-1, 1, 8, 8)),
        "scenes": _set_stats("scenes", make_scenes(rng, n_scenes, scene_size)),
    }

    test_acc = {name: [] for name in INPUTS}
    best_lr = {name: [] for name in INPUTS}
    for s in seeds:
        split = load_digits(seed=s)
        images = [a.reshape(-1, 1, 8, 8) for a in (split.x_train, split.x_val, split.x_test)]
        channel, mean_image = fit_channel_mean(images[0]), fit_mean_image(images[0])
        standard = fit_standardize(split.x_train)
        variants = {
            "raw": [a.reshape(len(a), -1) for a in images],
            "channel mean": [channel.transform(a).reshape(len(a), -1) for a in images],
            "mean image": [mean_image.transform(a).reshape(len(a), -1) for a in images],
            "standardized": [standard.transform(a) for a in (split.x_train, split.x_val, split.x_test)],
        }
        for name in INPUTS:
            x_train, x_val, x_test = variants[name]
            best = None
            for lr in lrs:  # the learning rate is chosen on the validation split, never on test
                model = train_linear(x_train, split.y_train, split.n_classes, lr, steps)
                val_acc = model.accuracy(x_val, split.y_val)
                if best is None or val_acc > best[0]:
                    best = (val_acc, lr, model.accuracy(x_test, split.y_test))
            test_acc[name].append(best[2])
            best_lr[name].append(best[1])
    return ImageMeansResult(
        sets=sets, accuracy={k: np.array(v) for k, v in test_acc.items()},
        best_lr={k: np.array(v) for k, v in best_lr.items()}, seeds=tuple(int(s) for s in seeds),
        config=dict(seeds=tuple(seeds), lrs=tuple(lrs), steps=steps, n_scenes=n_scenes, scene_size=scene_size,
                    seed=seed),
    )
