r"""Dropout makes the hidden features sparser: an autoencoder with and without it.

Srivastava et al. 2014 (section 7.1, Figs. 7 and 8) train an autoencoder on MNIST with one hidden
layer of 256 rectified units, with and without dropout 0.5 on the hidden units, and find that
with dropout (a) each unit learns a more local, less "co-adapted" feature and (b) the code is
sparser: the histogram of the units' mean activations moves towards 0, and fewer units are active
on any one input.

Protocol (the book's size): scikit-learn's digits scaled to [0, 1] (pixels/16), the 1077
training images; an autoencoder 64-256-64, ReLU hidden layer, linear output, squared error
:math:`\frac{1}{2}\|\hat x - x\|^2` per image, He-normal weights, built from the scratch ops
(:class:`~course_lib.scratch.linear.Linear`, :class:`~course_lib.scratch.activations.ReLU`,
:class:`~course_lib.scratch.dropout.Dropout`); SGD with momentum 0.9, lr 0.01, batch 32,
``epochs`` epochs; the same initial weights and batches with ``p`` = 0 and ``p`` = 0.5 (dropout on
the hidden units only). At the end, on the 360 test images in evaluation mode (no dropout), the
hidden activations :math:`h = \mathrm{relu}(x W_1 + b_1)`: each unit's mean activation, the
fraction of units active (``h > 0``) per image, and the reconstruction error.

What must show (tests over seeds): with dropout the mean activation and the fraction of active
units are lower. The digits have only 64 pixels and the code is four times wider: in both nets
many of the 256 units end up dead (0 on every test image); dropout kills more of them, and the
units still alive are active on fewer images too (:attr:`AutoencoderRun.alive_active`).
Full protocol: ``run(epochs=200)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib import checks
from course_lib.data import load_digits
from course_lib.scratch.activations import ReLU
from course_lib.scratch.dropout import Dropout, check_p, sample_mask
from course_lib.scratch.init import he_normal
from course_lib.scratch.linear import Linear
from course_lib.scratch.optim import SGD

from ._threads import one_blas_thread

__all__ = ["AutoencoderRun", "SparsityResult", "run", "train_autoencoder"]


@dataclass(frozen=True, eq=False)
class AutoencoderRun:
    p: float  # drop probability of the hidden units
    hidden: np.ndarray  # (N_test, H) hidden activations on the test images (eval mode)
    w1: np.ndarray  # (64, H) the encoder's weights: each column is a feature (an 8x8 image)
    test_mse: float  # mean squared reconstruction error per pixel on the test images
    loss: np.ndarray  # (epochs,) mean training loss per epoch

    @property
    def unit_mean(self) -> np.ndarray:
        """(H,) mean activation of every hidden unit over the test images."""
        return self.hidden.mean(axis=0)

    @property
    def dead_fraction(self) -> float:
        """Fraction of hidden units that are 0 on every test image (dead ReLUs)."""
        return float(np.mean(self.hidden.max(axis=0) <= 0))

    @property
    def alive_active(self) -> float:
        """Among the units alive (active on some test image): the fraction of (image, unit) pairs active."""
        alive = self.hidden.max(axis=0) > 0
        return float(np.mean(self.hidden[:, alive] > 0)) if alive.any() else 0.0

    @property
    def active_fraction(self) -> np.ndarray:
        """(N_test,) fraction of hidden units with h > 0, per image."""
        return (self.hidden > 0).mean(axis=1)


@dataclass(frozen=True, eq=False)
class SparsityResult:
    runs: dict  # p -> AutoencoderRun
    config: dict

    @property
    def ps(self) -> tuple:
        return tuple(self.runs)

    def mean_activation(self, p: float) -> float:
        return float(self.runs[p].hidden.mean())

    def active(self, p: float) -> float:
        """Mean fraction of active hidden units per image."""
        return float(self.runs[p].active_fraction.mean())


def train_autoencoder(x_train: np.ndarray, x_test: np.ndarray, p: float, hidden: int = 256, epochs: int = 30,
                      lr: float = 0.01, momentum: float = 0.9, batch_size: int = 32,
                      seed: int = 0) -> AutoencoderRun:
    """One autoencoder D-H-D with dropout ``p`` on the H hidden units (initial weights and batches from ``seed``)."""
    p = check_p(p, "train_autoencoder")
    d = x_train.shape[1]
    rng = np.random.default_rng(seed)
    params = {"W1": he_normal(rng, d, hidden), "b1": np.zeros(hidden),
              "W2": he_normal(rng, hidden, d), "b2": np.zeros(d)}
    order_rng = np.random.default_rng(seed + 1)  # the batches: the same for every p
    mask_rng = np.random.default_rng(seed + 2)
    opt = SGD(lr=lr, momentum=momentum)
    states = {k: opt.init(v) for k, v in params.items()}
    losses = []
    for _ in range(epochs):
        order = order_rng.permutation(x_train.shape[0])
        total = 0.0
        for start in range(0, len(order), batch_size):
            xb = x_train[order[start:start + batch_size]]
            z, c1 = Linear.forward(xb, params["W1"], params["b1"])
            h, c2 = ReLU.forward(z)
            if p > 0:
                h, c3 = Dropout.forward(h, sample_mask(mask_rng, h.shape, p), p)
            out, c4 = Linear.forward(h, params["W2"], params["b2"])
            diff = out - xb
            n = xb.shape[0]
            total += 0.5 * float(np.sum(diff * diff))
            grads = {}
            dh, grads["W2"], grads["b2"] = Linear.backward(diff / n, c4)
            if p > 0:
                (dh,) = Dropout.backward(dh, c3)
            (dz,) = ReLU.backward(dh, c2)
            _, grads["W1"], grads["b1"] = Linear.backward(dz, c1)
            for k in params:
                params[k], states[k] = opt.step(params[k], grads[k], states[k])
        losses.append(total / x_train.shape[0])
    h_test = np.maximum(x_test @ params["W1"] + params["b1"], 0.0)
    recon = h_test @ params["W2"] + params["b2"]
    return AutoencoderRun(p=p, hidden=h_test, w1=params["W1"].copy(),
                          test_mse=float(np.mean((recon - x_test) ** 2)), loss=np.array(losses))


def run(ps=(0.0, 0.5), hidden: int = 256, epochs: int = 30, lr: float = 0.01, seed: int = 0) -> SparsityResult:
    """Train the autoencoder once per drop probability in ``ps`` (same initial weights and batches)."""
    who = "dropout_sparsity.run"
    epochs = checks.integer(epochs, "epochs", who, minimum=1)
    hidden = checks.integer(hidden, "hidden", who, minimum=1)
    ps = tuple(check_p(p, who, "ps") for p in ps)
    if not ps:
        raise ValueError(f"{who}: ps must hold at least one drop probability")
    data = load_digits(seed=0, scale="unit")
    with one_blas_thread():
        runs = {p: train_autoencoder(data.x_train, data.x_test, p, hidden=hidden, epochs=epochs, lr=lr, seed=seed)
                for p in ps}
    return SparsityResult(runs=runs, config=dict(dims=(64, hidden, 64), epochs=epochs, lr=lr, momentum=0.9,
                                                 batch_size=32, seed=seed))
