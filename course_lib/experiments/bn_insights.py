r"""The myrtle.ai "new insights" into batch norm (Page 2018, "How to train your ResNet 7"), on an MLP.

Two probes of a deep ReLU net at (or near) initialization, with and without batch norm
(:mod:`~course_lib.experiments._santurkar_net`: digits standardized, 10 hidden ReLU layers of 128,
He init; BN uses the statistics of the batch it sees).

**1. Weight perturbations of 1% of the parameter norm.** :math:`\theta` is the vector of all
parameters, :math:`P` numbers. A channel mean is the mean over a batch of one output channel,
:math:`m_c(\theta) = \frac1N \sum_n s_{nc}(\theta)` for the class scores :math:`s` (N, C)
(``target_layer=None``), or for the units of a hidden layer :math:`h_k` (``target_layer=k``). Two
perturbations of the same size :math:`\|\delta\| = 0.01\,\|\theta\|`:

* random: :math:`\delta` along a standard Gaussian direction in :math:`\mathbb{R}^P`;
* targeted: :math:`\delta` along :math:`\nabla_\theta m_c` (shape (P,)), the direction that raises
  channel :math:`c`'s mean fastest.

For each, the predicted classes of a batch of validation digits before and after: the fraction of
predictions that change, the fraction now given to class :math:`c`, the histogram of predicted
classes and its entropy (in nats; :math:`\ln 10` = all classes equally often). What must show
(the post's figures): a random perturbation changes little with or without BN; a targeted one sends
most inputs to the target class without BN, and changes much less with BN, because BN removes the
shift of a channel's mean before the next layer sees it. Without BN, a small shift of the weights
moves a hidden layer's distribution (internal covariate shift), and the layers above carry it to
the output, which then shifts as a whole (external covariate shift).

**2. The Hessian's leading eigenvectors.** :math:`H = \nabla^2_\theta J` (P, P) on a batch is never
formed: :func:`hvp` computes :math:`Hv` by differentiating :math:`g(\theta)^\top v` once more
(double backward), and subspace (power) iteration :math:`V \leftarrow \mathrm{orth}(HV)` (P, k)
converges to the eigenvectors of the ``k`` eigenvalues largest in magnitude. The overlap of a unit
eigenvector :math:`v` with the span of the C channel-mean gradients of the output,
:math:`G = [\nabla m_1, \dots, \nabla m_C]` (P, C), is :math:`\|Q^\top v\|^2` with :math:`Q` (P, C)
an orthonormal basis of that span (QR of G): 1 when :math:`v` lies in it, :math:`C/P` on average for
a random direction. The post found the top eigenvectors almost entirely inside this span without
BN (the direction of highest curvature is "move every output channel's mean"), and not with BN.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from . import _santurkar_net as net

__all__ = ["Perturbation", "InsightsNet", "InsightsResult", "run", "hvp", "top_eigenvectors", "span_overlap",
           "channel_mean_grads", "VARIANTS"]

VARIANTS = ("plain", "bn")


@dataclass(frozen=True, eq=False)
class Perturbation:
    kind: str  # "random" or "targeted"
    target: int  # targeted: the channel c (= class for target_layer None); random: -1
    changed: float  # fraction of predictions that changed
    to_target: float  # fraction of inputs now predicted as class `target` (targeted, output channels); else nan
    counts: np.ndarray  # (C,) histogram of predicted classes after
    entropy: float  # entropy of the predicted-class distribution after (nats)


@dataclass(frozen=True, eq=False)
class InsightsNet:
    variant: str
    seed: int
    param_norm: float
    counts: np.ndarray  # (C,) predicted classes before any perturbation
    entropy: float
    random: tuple  # of Perturbation
    targeted: tuple  # of Perturbation, one per target channel
    targeted_hidden: tuple  # of Perturbation: the same, with the output layer's part of the direction set to 0
    eigenvalues: np.ndarray  # (k,) by decreasing magnitude
    overlap: np.ndarray  # (k,) ||Q^T v_i||^2 for each eigenvector
    random_overlap: float  # C / P, the expected overlap of a random direction
    converged: np.ndarray  # (k,) ||H v - lambda v|| / |lambda| at the end

    def mean_changed(self, kind: str) -> float:
        return float(np.mean([p.changed for p in getattr(self, kind)]))

    def mean_to_target(self, kind: str = "targeted") -> float:
        return float(np.mean([p.to_target for p in getattr(self, kind)]))


@dataclass(frozen=True, eq=False)
class InsightsResult:
    variants: tuple
    seeds: tuple
    nets: dict  # (variant, seed) -> InsightsNet
    classes: int
    config: dict = field(default_factory=dict)

    def changed(self, variant: str, kind: str) -> np.ndarray:
        """(seeds,) mean fraction of predictions changed by ``kind`` ("random" or "targeted") perturbations."""
        return np.array([self.nets[variant, s].mean_changed(kind) for s in self.seeds])

    def to_target(self, variant: str, kind: str = "targeted") -> np.ndarray:
        """(seeds,) mean fraction of inputs predicted as the targeted class after a targeted perturbation."""
        return np.array([self.nets[variant, s].mean_to_target(kind) for s in self.seeds])

    def overlap(self, variant: str, which: int = 0) -> np.ndarray:
        """(seeds,) overlap of eigenvector ``which`` (0 = leading) with the channel-mean gradients' span."""
        return np.array([self.nets[variant, s].overlap[which] for s in self.seeds])

    def table(self) -> str:
        # two tables (the perturbations, then the net and its curvature), so each fits 88 characters
        lines = [f"{'variant':<7}{'seed':>5}{'random: changed':>17}{'targeted: changed':>19}{'to target':>11}"
                 f"{'hidden only':>13}"]
        for (v, s), r in self.nets.items():
            lines.append(f"{v:<7}{s:>5}{r.mean_changed('random'):>17.1%}{r.mean_changed('targeted'):>19.1%}"
                         f"{r.mean_to_target():>11.1%}{r.mean_to_target('targeted_hidden'):>13.1%}")
        lines += ["", f"{'variant':<7}{'seed':>5}{'|theta|':>9}{'entropy':>9}{'lambda_1':>11}{'overlap v1':>12}"
                      f"{'C/P':>10}"]
        for (v, s), r in self.nets.items():
            lines.append(f"{v:<7}{s:>5}{r.param_norm:>9.2f}{r.entropy:>9.3f}{r.eigenvalues[0]:>11.3g}"
                         f"{r.overlap[0]:>12.3f}{r.random_overlap:>10.1e}")
        return "\n".join(lines)


def channel_means(params, x: torch.Tensor, target_layer: int | None = None, channels: int = 10) -> torch.Tensor:
    """(channels,) batch means of the output scores (``target_layer`` None) or of hidden layer k's first units."""
    hidden: list = []
    s = net.scores(params, x, hidden=hidden)
    out = s if target_layer is None else hidden[target_layer - 1][:, :channels]
    return out.mean(dim=0)


def channel_mean_grads(params, x: torch.Tensor, target_layer: int | None = None, channels: int = 10) -> torch.Tensor:
    """(P, channels) the gradients of the channel means, flattened over all parameters, one column per channel."""
    means = channel_means(params, x, target_layer, channels)
    cols = [net.flatten(net.layer_grads(params, means[c], retain_graph=True)) for c in range(means.shape[0])]
    return torch.stack(cols, dim=1)


def hvp(params, x: torch.Tensor, y: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """(P,) the Hessian-vector product H v of the batch loss, by double backward."""
    ts = net.tensors(params)
    loss = net.loss(params, x, y)
    g = net.flatten(torch.autograd.grad(loss, ts, create_graph=True))  # keeps a graph
    return net.flatten(torch.autograd.grad(g @ v, ts))  # grad of (g . v) = H v


def top_eigenvectors(params, x: torch.Tensor, y: torch.Tensor, k: int = 1, iters: int = 50,
                     gen: torch.Generator | None = None) -> tuple:
    """(eigenvalues (k,), eigenvectors (P, k), residuals (k,)) by subspace iteration on Hessian-vector products.

    Each iteration: W = H V column by column, then V = Q of the QR of W; the Rayleigh-Ritz step
    (eigendecomposition of the small k x k matrix V^T H V) orders the columns by |eigenvalue|.
    """
    p = net.flatten(params).numel()
    dtype = net.tensors(params)[0].dtype
    v = torch.linalg.qr(torch.randn(p, k, dtype=dtype, generator=gen))[0]
    for _ in range(iters):
        w = torch.stack([hvp(params, x, y, v[:, j]) for j in range(k)], dim=1)
        v = torch.linalg.qr(w)[0]
    hv = torch.stack([hvp(params, x, y, v[:, j]) for j in range(k)], dim=1)
    small = v.T @ hv
    lam, rot = torch.linalg.eigh((small + small.T) / 2)
    order = torch.argsort(lam.abs(), descending=True)
    lam, rot = lam[order], rot[:, order]
    vecs, hvecs = v @ rot, hv @ rot
    resid = (hvecs - vecs * lam).norm(dim=0) / lam.abs()
    return lam.detach(), vecs.detach(), resid.detach()


def span_overlap(vectors: torch.Tensor, spanning: torch.Tensor) -> torch.Tensor:
    """(k,) ||Q^T v||^2 for each column v of ``vectors`` (P, k), made unit length.

    Q (P, C) is an orthonormal basis of the columns of ``spanning`` (P, C).
    """
    q = torch.linalg.qr(spanning)[0]
    v = vectors / vectors.norm(dim=0, keepdim=True)
    return ((q.T @ v) ** 2).sum(dim=0)


@torch.no_grad()
def _predict(params, x: torch.Tensor) -> torch.Tensor:
    return net.scores(params, x).argmax(dim=1)


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def _perturbed(params, direction: torch.Tensor, size: float):
    """A copy of the parameters moved by ``size`` along the unit vector of ``direction`` (P,)."""
    moved = net.clone_params(params)
    step = direction / direction.norm() * size
    k = 0
    with torch.no_grad():
        for t in net.tensors(moved):
            t += step[k:k + t.numel()].reshape(t.shape)
            k += t.numel()
    return moved


def _study(variant: str, seed: int, data, cfg: dict, dtype) -> InsightsNet:
    params = net.init_params(variant == "bn", depth=cfg["depth"], width=cfg["width"], rng=seed, dtype=dtype)
    for idx in net.batches(len(data.y_train), 128, cfg["train_steps"], seed):
        net.sgd_step(params, net.layer_grads(params, net.loss(params, data.x_train[idx], data.y_train[idx])),
                     cfg["lr"])
    gen = torch.Generator().manual_seed(20_000 + seed)
    x_eval = data.x_val
    classes = int(data.y_train.max()) + 1
    before = _predict(params, x_eval)
    counts0 = np.bincount(before.numpy(), minlength=classes)
    norm = net.param_norm(params)
    size = cfg["strength"] * norm
    p_total = net.flatten(params).numel()

    def measure(kind: str, target: int, direction: torch.Tensor) -> Perturbation:
        after = _predict(_perturbed(params, direction, size), x_eval)
        counts = np.bincount(after.numpy(), minlength=classes)
        to_target = float((after == target).double().mean()) if (target >= 0 and cfg["target_layer"] is None) \
            else float("nan")
        return Perturbation(kind=kind, target=target, changed=float((after != before).double().mean()),
                            to_target=to_target, counts=counts, entropy=_entropy(counts))

    random = tuple(measure("random", -1, torch.randn(p_total, dtype=dtype, generator=gen))
                   for _ in range(cfg["random_draws"]))
    grads = channel_mean_grads(params, data.x_train, cfg["target_layer"], classes)
    targeted = tuple(measure("targeted", c, grads[:, c]) for c in range(grads.shape[1]))
    n_out = sum(t.numel() for t in params[-1])
    hidden_only = grads.clone()
    hidden_only[-n_out:] = 0
    targeted_hidden = tuple(measure("targeted_hidden", c, hidden_only[:, c]) for c in range(grads.shape[1]))
    # Hessian on the first hessian_batch training examples, overlap with the OUTPUT channel-mean gradients.
    xh, yh = data.x_train[:cfg["hessian_batch"]], data.y_train[:cfg["hessian_batch"]]
    lam, vecs, resid = top_eigenvectors(params, xh, yh, k=cfg["k"], iters=cfg["iters"], gen=gen)
    out_grads = channel_mean_grads(params, xh, None, classes)
    overlap = span_overlap(vecs, out_grads)
    return InsightsNet(variant=variant, seed=seed, param_norm=norm, counts=counts0, entropy=_entropy(counts0),
                       random=random, targeted=targeted, targeted_hidden=targeted_hidden, eigenvalues=lam.numpy(),
                       overlap=overlap.numpy(),
                       random_overlap=classes / p_total, converged=resid.numpy())


def run(strength: float = 0.01, target_layer: int | None = None, random_draws: int = 5, k: int = 2,
        iters: int = 25, hessian_batch: int = 256, train_steps: int = 0, lr: float = 0.1, seeds: tuple = (0, 1, 2),
        variants: tuple = VARIANTS, depth: int = net.DEPTH, width: int = net.WIDTH,
        dtype: torch.dtype = torch.float32, data_seed: int = 0) -> InsightsResult:
    """Perturbation and Hessian study of each (variant, seed) net after ``train_steps`` SGD steps (0 = at init)."""
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"bn_insights.run: unknown variants {unknown}, choose from {VARIANTS}")
    if not 0 < strength < 1 or k < 1 or iters < 1 or random_draws < 1 or train_steps < 0:
        raise ValueError("bn_insights.run: need 0 < strength < 1, k >= 1, iters >= 1, random_draws >= 1, "
                         "train_steps >= 0")
    if target_layer is not None and not 1 <= target_layer <= depth:
        raise ValueError(f"bn_insights.run: target_layer must be None or in 1..{depth}, got {target_layer}")
    data = net.load_data(data_seed, dtype)
    cfg = dict(strength=strength, target_layer=target_layer, random_draws=random_draws, k=k, iters=iters,
               hessian_batch=hessian_batch, train_steps=train_steps, lr=lr, seeds=tuple(seeds),
               variants=tuple(variants), depth=depth, width=width, data_seed=data_seed)
    with net.one_torch_thread():
        nets = {(v, s): _study(v, s, data, cfg, dtype) for v in variants for s in seeds}
    if any(not math.isfinite(n.eigenvalues[0]) for n in nets.values()):
        raise FloatingPointError("bn_insights.run: non-finite eigenvalue")
    return InsightsResult(variants=tuple(variants), seeds=tuple(seeds), nets=nets,
                          classes=int(data.y_train.max()) + 1, config=cfg)
