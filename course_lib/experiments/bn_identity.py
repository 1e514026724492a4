r"""Three exact facts of batch norm, measured: the identity, the gradient, and folding.

1. **gamma and beta can undo the normalization** (:func:`run`). For a batch ``x`` (N, D) whose
   features have batch mean :math:`\mu` and (biased) batch variance :math:`\sigma^2`, training-mode
   batch norm with :math:`\gamma = \sqrt{\sigma^2 + \epsilon}` and :math:`\beta = \mu` returns ``x``
   to rounding. The slides (CS231n's deck) write :math:`\gamma = \mathrm{Var}[x]`, which does not:
   it multiplies each centred feature by :math:`\sqrt{\mathrm{Var}[x]}`. The experiment also tries
   :math:`\gamma = \sqrt{\mathrm{Var}[x]}` without :math:`\epsilon` (off by an :math:`\epsilon`-sized
   amount) and the unbiased variance (off by the factor :math:`\sqrt{N/(N-1)}`).
2. **The backward pass is right** (:func:`gradient_check`): the library's compact backward pass
   against central differences, against autograd on the torch twin, and against the staged
   computational graph of :mod:`~course_lib.experiments.readable_batchnorm`.
3. **Folding is exact** (:func:`folding`): a test-time batch norm after a Linear layer or a
   convolution, folded into its weights and bias, gives the same outputs to rounding.

Protocol: features with means between -5 and 5 and standard deviations between 0.3 and 4 (so
that :math:`\sigma^2` and :math:`\sigma` differ), N = 64 examples, float64.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.gradcheck import numerical_grad, rel_error
from course_lib.scratch import batchnorm as bn
from course_lib.scratch.conv import Conv2d

from . import readable_batchnorm

__all__ = ["IdentityResult", "GradientCheck", "FoldingResult", "run", "gradient_check", "folding"]

EPS = 1e-5


@dataclass(frozen=True, eq=False)
class IdentityResult:
    x: np.ndarray  # (N, D) the batch
    mean: np.ndarray  # (D,) batch mean
    var: np.ndarray  # (D,) biased batch variance (what BN divides by)
    max_diff: dict  # choice of gamma -> max |BN(x) - x| over the batch
    std_ratio: dict  # choice of gamma -> (D,) std of BN(x) / std of x per feature
    outputs: dict  # choice of gamma -> (N, D) BN(x)


CHOICES = ("sqrt(var + eps)", "sqrt(var)", "sqrt(unbiased var + eps)", "var (slides)")
"""The values of gamma tried by :func:`run` (beta is the batch mean in every case)."""


def _batch(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    means = rng.uniform(-5.0, 5.0, size=d)
    stds = np.geomspace(0.3, 4.0, d)
    return means + stds * rng.standard_normal((n, d))


def run(n: int = 64, d: int = 6, seed: int = 0) -> IdentityResult:
    """Batch norm with beta = the batch mean and each gamma of :data:`CHOICES`, compared with x."""
    rng = np.random.default_rng(seed)
    x = _batch(rng, n, d)
    mean, var = x.mean(axis=0), x.var(axis=0)
    gammas = {
        CHOICES[0]: np.sqrt(var + EPS),
        CHOICES[1]: np.sqrt(var),
        CHOICES[2]: np.sqrt(x.var(axis=0, ddof=1) + EPS),
        CHOICES[3]: var,
    }
    outputs, max_diff, ratio = {}, {}, {}
    for name, gamma in gammas.items():
        out, _ = bn.BatchNorm.forward(x, gamma, mean, eps=EPS)
        outputs[name] = out
        max_diff[name] = float(np.max(np.abs(out - x)))
        ratio[name] = out.std(axis=0) / x.std(axis=0)
    return IdentityResult(x=x, mean=mean, var=var, max_diff=max_diff, std_ratio=ratio, outputs=outputs)


@dataclass(frozen=True)
class GradientCheck:
    numeric: dict  # "x"/"gamma"/"beta" -> rel. error, library backward vs central differences
    autograd: dict  # same, max |library - autograd on the torch twin|
    staged: dict  # same, max |library - staged graph|
    compact: dict  # same, max |library - readable compact formula|
    scale: dict  # same, max |library gradient| (for scale)


def gradient_check(n: int = 8, d: int = 4, h: float = 1e-5, seed: int = 0) -> GradientCheck:
    """The library's backward pass against finite differences, autograd, and the readable versions."""
    import torch

    from course_lib.torch_impl import batchnorm as tbn

    rng = np.random.default_rng(seed)
    x = _batch(rng, n, d)
    gamma, beta = rng.uniform(0.5, 2.0, d), rng.standard_normal(d)
    dout = rng.standard_normal((n, d))
    out, cache = bn.BatchNorm.forward(x, gamma, beta)
    grads = dict(zip(("x", "gamma", "beta"), bn.BatchNorm.backward(dout, cache)))
    inputs = {"x": x, "gamma": gamma, "beta": beta}

    numeric = {}
    for name in inputs:
        def f(v, name=name):
            args = dict(inputs, **{name: v})
            return bn.BatchNorm.forward(args["x"], args["gamma"], args["beta"])[0]
        numeric[name] = rel_error(grads[name], numerical_grad(f, inputs[name].copy(), dout, h=h))

    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in inputs.items()}
    tbn.batch_norm(tensors["x"], tensors["gamma"], tensors["beta"]).backward(torch.tensor(dout))
    autograd = {k: float(np.max(np.abs(grads[k] - t.grad.numpy()))) for k, t in tensors.items()}

    def versus(op) -> dict:
        _, c = op.forward(x, gamma, beta)
        return {k: float(np.max(np.abs(grads[k] - g))) for k, g in zip(inputs, op.backward(dout, c))}

    return GradientCheck(numeric=numeric, autograd=autograd, staged=versus(readable_batchnorm.BatchNormStaged),
                         compact=versus(readable_batchnorm.BatchNorm),
                         scale={k: float(np.max(np.abs(g))) for k, g in grads.items()})


@dataclass(frozen=True)
class FoldingResult:
    linear_diff: float  # max |inference(x W + b) - (x W' + b')|
    linear_scale: float  # max |inference(x W + b)|
    conv_diff: float  # max |inference(conv(x; w, b)) - conv(x; w', b')|
    conv_scale: float  # max |inference(conv(x; w, b))|


def folding(train_batches: int = 20, seed: int = 0) -> FoldingResult:
    """Fold a test-time BN into the Linear layer / convolution before it; compare the outputs.

    Running statistics come from ``train_batches`` batches through the layer (momentum 0.1), and
    gamma and beta are random, so that nothing is an identity by accident.
    """
    rng = np.random.default_rng(seed)
    # Linear 20 -> 8, then BN(8)
    w, b = rng.standard_normal((20, 8)) * 0.3, rng.standard_normal(8)
    gamma, beta = rng.uniform(0.5, 2.0, 8), rng.standard_normal(8)
    mean, var = np.zeros(8), np.ones(8)
    for _ in range(train_batches):
        z = (rng.standard_normal((32, 20)) + 1.0) @ w + b
        _, c = bn.BatchNorm.forward(z, gamma, beta)
        mean, var = bn.update_running(mean, var, c.mean, c.var, c.n)
    x = rng.standard_normal((50, 20)) + 1.0
    ref = bn.inference(x @ w + b, mean, var, gamma, beta)
    wf, bf = bn.fold_into_linear(w, b, mean, var, gamma, beta)
    lin_diff, lin_scale = float(np.max(np.abs(ref - (x @ wf + bf)))), float(np.max(np.abs(ref)))
    # Conv 3 -> 4 channels, 3x3, then spatial BN(4)
    wc, bc = rng.standard_normal((4, 3, 3, 3)) * 0.3, rng.standard_normal(4)
    gamma, beta = rng.uniform(0.5, 2.0, 4), rng.standard_normal(4)
    mean, var = np.zeros(4), np.ones(4)
    for _ in range(train_batches):
        z, _ = Conv2d.forward(rng.standard_normal((8, 3, 8, 8)) + 1.0, wc, bc, padding=1)
        _, c = bn.SpatialBatchNorm.forward(z, gamma, beta)
        mean, var = bn.update_running(mean, var, c.mean, c.var, c.n)
    x = rng.standard_normal((10, 3, 8, 8)) + 1.0
    ref = bn.inference(Conv2d.forward(x, wc, bc, padding=1)[0], mean, var, gamma, beta)
    wf, bf = bn.fold_into_conv(wc, bc, mean, var, gamma, beta)
    folded = Conv2d.forward(x, wf, bf, padding=1)[0]
    return FoldingResult(linear_diff=lin_diff, linear_scale=lin_scale,
                         conv_diff=float(np.max(np.abs(ref - folded))), conv_scale=float(np.max(np.abs(ref))))
