r"""Glorot & Bengio (2010), Sec. 4.2 and Figs. 6-8: standard vs normalized initialization of a deep tanh net.

Five tanh layers of width 1000 and a softmax output layer (10 classes) get one batch of
:math:`\mathcal{N}(0, 1)` inputs with random labels. Two initializations are compared:

.. math::

    \text{standard: } W_{ij} \sim U\Big[-\tfrac{1}{\sqrt{n}}, \tfrac{1}{\sqrt{n}}\Big], \quad
    \text{Var} = \frac{1}{3n};
    \qquad
    \text{normalized: } W_{ij} \sim U\Big[-\sqrt{\tfrac{6}{n_\text{in} + n_\text{out}}},
    \sqrt{\tfrac{6}{n_\text{in} + n_\text{out}}}\Big]

(``n`` the fan-in; the standard one is also PyTorch's default ``nn.Linear`` init). The forward
pass records the activations :math:`h_\ell = \tanh(z_\ell)`; the backward pass, written out with
the scratch ops, records the back-propagated gradients :math:`\partial J / \partial z_\ell` and
the weight gradients :math:`\partial J / \partial W_\ell` of every layer. In the linear regime
each layer multiplies the forward std by :math:`\sqrt{n\,\mathrm{Var}(W)}`: :math:`\sqrt{1/3}
\approx 0.58` for the standard init, 1 for the normalized one (less, because tanh compresses);
the backward pass multiplies by :math:`\sqrt{n_\text{out}\mathrm{Var}(W)}`, the same numbers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from course_lib.scratch import init as init_mod
from course_lib.scratch.activations import Tanh
from course_lib.scratch.linear import Linear
from course_lib.scratch.losses import SoftmaxCrossEntropy

__all__ = ["GlorotTanhResult", "run", "standard_init", "INITS"]


def standard_init(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    r"""Glorot & Bengio's "standard" initialization, :math:`U[-1/\sqrt{n}, 1/\sqrt{n}]` with n = fan_in.

    The same distribution as PyTorch's default ``nn.Linear`` weight
    (``kaiming_uniform_(w, a=math.sqrt(5))``). Shape (fan_in, fan_out).
    """
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


INITS = {"standard": standard_init, "normalized": init_mod.xavier_uniform}
"""The two initializations compared, by the paper's names."""


@dataclass(frozen=True, eq=False)
class GlorotTanhResult:
    inits: tuple  # ("standard", "normalized")
    width: int
    hidden_layers: int
    batch: int
    act_std: dict  # init -> (L,) std of h_l = tanh(z_l), l = 1..L
    act_samples: dict  # init -> (L, k) a random subset of the entries of each h_l (histograms, Fig. 6)
    back_std: dict  # init -> (L,) std of dJ/dz_l, the gradient back-propagated to layer l
    back_samples: dict  # init -> (L, k) a subset of the entries of each dJ/dz_l (Fig. 7)
    weight_grad_std: dict  # init -> (L,) std of dJ/dW_l (Fig. 8)
    saturated: dict  # init -> (L,) fraction of |h| > 0.95 per layer
    config: dict

    def forward_ratio(self, init: str) -> float:
        """Geometric-mean ratio std(h_{l+1}) / std(h_l) over the hidden layers."""
        s = self.act_std[init]
        return float((s[-1] / s[0]) ** (1.0 / (len(s) - 1)))

    def backward_ratio(self, init: str) -> float:
        """Geometric-mean ratio std(dJ/dz_l) / std(dJ/dz_{l+1}): below 1 = shrinks toward the input."""
        s = self.back_std[init]
        return float((s[0] / s[-1]) ** (1.0 / (len(s) - 1)))

    def weight_grad_spread(self, init: str) -> float:
        """max / min over layers of std(dJ/dW_l): 1 means layer-independent."""
        s = self.weight_grad_std[init]
        return float(s.max() / s.min())

    def table(self) -> str:
        layers = range(1, self.hidden_layers + 1)
        lines = []
        for name, field in (("std of activations h_l", self.act_std), ("std of back-propagated dJ/dz_l", self.back_std),
                            ("std of weight gradients dJ/dW_l", self.weight_grad_std)):
            lines.append(f"{name:<33}" + "".join(f"{'layer ' + str(layer):>11}" for layer in layers))
            for init in self.inits:
                lines.append(f"  {init:<31}" + "".join(f"{v:>11.3e}" for v in field[init]))
        lines.append("")
        for init in self.inits:
            lines.append(f"{init:<11} ratio/layer: forward {self.forward_ratio(init):.3f}, "
                         f"backward {self.backward_ratio(init):.3f}; "
                         f"dJ/dW_l spread max/min {self.weight_grad_spread(init):.2f}")
        return "\n".join(lines)


def _forward_backward(params: list, x: np.ndarray, y: np.ndarray):
    """Tanh hidden layers, a linear output layer, the softmax loss: forward, backward.

    Returns the activations h_l, and dJ/dz_l and dJ/dW_l of every hidden layer.
    """
    caches, acts = [], []
    h = x
    for w, b in params[:-1]:
        z, lin_cache = Linear.forward(h, w, b)
        h, act_cache = Tanh.forward(z)
        caches.append((lin_cache, act_cache))
        acts.append(h)
    scores, out_cache = Linear.forward(h, *params[-1])
    _, loss_cache = SoftmaxCrossEntropy.forward(scores, y)
    (dscores,) = SoftmaxCrossEntropy.backward(1.0, loss_cache)
    dh, _, _ = Linear.backward(dscores, out_cache)
    back, wgrads = [], []
    for lin_cache, act_cache in reversed(caches):
        (dz,) = Tanh.backward(dh, act_cache)
        dh, dw, _ = Linear.backward(dz, lin_cache)
        back.append(dz)
        wgrads.append(dw)
    return acts, back[::-1], wgrads[::-1]


def run(width: int = 1000, hidden_layers: int = 5, batch: int = 1000, classes: int = 10, input_std: float = 1.0,
        n_samples: int = 5000, seed: int = 0) -> GlorotTanhResult:
    r"""Record activations and gradients at initialization for both inits (same input and labels).

    The input is :math:`\mathcal{N}(0, \text{input\_std}^2)`; a small ``input_std`` keeps every
    tanh in its linear regime, where the per-layer ratios approach the linear theory.
    """
    if hidden_layers < 2 or width < 1 or batch < 2 or classes < 2 or not input_std > 0:
        raise ValueError(
            "glorot_tanh.run: need hidden_layers >= 2, width >= 1, batch >= 2, classes >= 2, input_std > 0"
        )
    rng = np.random.default_rng(seed)
    x = input_std * rng.standard_normal((batch, width))
    y = rng.integers(0, classes, size=batch)
    pick = rng.choice(batch * width, size=min(n_samples, batch * width), replace=False)
    dims = [width] * (hidden_layers + 1) + [classes]
    out = {k: {} for k in ("act_std", "act_samples", "back_std", "back_samples", "weight_grad_std", "saturated")}
    for k, (name, init) in enumerate(INITS.items()):
        wrng = np.random.default_rng([seed, k])
        params = [(init(wrng, a, b), np.zeros(b)) for a, b in zip(dims[:-1], dims[1:])]
        acts, back, wgrads = _forward_backward(params, x, y)
        out["act_std"][name] = np.array([h.std() for h in acts])
        out["act_samples"][name] = np.stack([h.ravel()[pick] for h in acts])
        out["back_std"][name] = np.array([g.std() for g in back])
        out["back_samples"][name] = np.stack([g.ravel()[pick] for g in back])
        out["weight_grad_std"][name] = np.array([g.std() for g in wgrads])
        out["saturated"][name] = np.array([np.mean(np.abs(h) > 0.95) for h in acts])
    return GlorotTanhResult(
        inits=tuple(INITS), width=width, hidden_layers=hidden_layers, batch=batch, **out,
        config=dict(width=width, hidden_layers=hidden_layers, batch=batch, classes=classes, input_std=input_std,
                    n_samples=n_samples, seed=seed),
    )
