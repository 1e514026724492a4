"""Registry of scratch ops for the generic parity and gradient-check tests.

One :class:`OpCase` per scratch op (a class with static ``forward`` and ``backward``).
Adding an op to the library = adding one entry to :data:`CASES`; ``tests/test_parity.py``
then checks it four ways and fails while an op has no entry.

``make_inputs(rng)`` returns the op's positional inputs: float64 arrays are differentiated,
integer arrays (labels) are passed through. Inputs are kept away from kinks (ReLU at 0,
hinge margins at 0) so that central differences with h = 1e-5 are valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.scratch import activations as s_act
from course_lib.scratch import linear as s_linear
from course_lib.scratch import losses as s_losses
from course_lib.torch_impl import activations as t_act
from course_lib.torch_impl import linear as t_linear
from course_lib.torch_impl import losses as t_losses


@dataclass(frozen=True)
class OpCase:
    name: str  # test id
    op: type  # scratch class with static forward/backward
    twin: Callable[..., torch.Tensor]  # torch_impl function with the same inputs and hyper
    make_inputs: Callable[[np.random.Generator], tuple[Any, ...]]
    hyper: dict[str, Any] = field(default_factory=dict)
    reference: Callable[..., torch.Tensor] | None = None  # torch built-in, adapted to our signature


def away_from_zero(x: np.ndarray, gap: float = 1e-2) -> np.ndarray:
    """Push every entry at least ``gap`` away from 0 (keeps the sign)."""
    return np.where(x >= 0, 1.0, -1.0) * (np.abs(x) + gap)


def _linear_inputs(rng: np.random.Generator) -> tuple[Any, ...]:
    return rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)


def _class_inputs(rng: np.random.Generator, n: int = 6, c: int = 4) -> tuple[Any, ...]:
    return 2.0 * rng.standard_normal((n, c)), rng.integers(0, c, size=n)


def _svm_inputs(rng: np.random.Generator, margin: float = 1.0, n: int = 6, c: int = 4) -> tuple[Any, ...]:
    """Scores whose hinge margins s_j - s_y + margin are all at least 1e-2 away from 0."""
    y = rng.integers(0, c, size=n)
    for _ in range(1000):
        scores = 2.0 * rng.standard_normal((n, c))
        m = scores - scores[np.arange(n), y][:, None] + margin
        m[np.arange(n), y] = 1.0  # the correct class has no hinge
        if np.all(np.abs(m) > 1e-2) and np.any(m > 0) and np.any(m < 0):
            return scores, y
    raise RuntimeError("could not draw SVM inputs away from the kinks")


def _prelu_inputs(rng: np.random.Generator, shape: tuple[int, ...], n_slopes: int) -> tuple[Any, ...]:
    """x away from the kink at 0 and slopes near torch's initial 0.25."""
    return away_from_zero(rng.standard_normal(shape)), 0.25 + 0.1 * rng.standard_normal(n_slopes)


def _maxout_inputs(rng: np.random.Generator, n: int = 4, d: int = 5, k: int = 3, m: int = 3) -> tuple[Any, ...]:
    """x, w (k, D, M), b (k, M) whose winning piece beats the runner-up by at least 1e-2 everywhere."""
    for _ in range(1000):
        x, w, b = rng.standard_normal((n, d)), rng.standard_normal((k, d, m)), rng.standard_normal((k, m))
        z = np.sort(np.matmul(x, w) + b[:, None, :], axis=0)
        if np.all(z[-1] - z[-2] > 1e-2):
            return x, w, b
    raise RuntimeError("could not draw maxout inputs without near-ties")


CASES: list[OpCase] = [
    OpCase(
        name="linear",
        op=s_linear.Linear,
        twin=t_linear.linear,
        make_inputs=_linear_inputs,
        reference=lambda x, w, b: F.linear(x, w.T, b),
    ),
    OpCase(
        name="softmax_cross_entropy",
        op=s_losses.SoftmaxCrossEntropy,
        twin=t_losses.cross_entropy,
        make_inputs=_class_inputs,
        reference=lambda s, y: F.cross_entropy(s, y),
    ),
    OpCase(
        name="multiclass_svm",
        op=s_losses.MulticlassSVM,
        twin=t_losses.multiclass_svm,
        make_inputs=_svm_inputs,
        reference=lambda s, y, margin=1.0: s.shape[1] * F.multi_margin_loss(s, y, margin=margin),
    ),
    OpCase(
        name="multiclass_svm_margin_0.5",
        op=s_losses.MulticlassSVM,
        twin=t_losses.multiclass_svm,
        make_inputs=lambda rng: _svm_inputs(rng, margin=0.5),
        hyper={"margin": 0.5},
        reference=lambda s, y, margin=1.0: s.shape[1] * F.multi_margin_loss(s, y, margin=margin),
    ),
    OpCase(
        name="sigmoid",
        op=s_act.Sigmoid,
        twin=t_act.sigmoid,
        make_inputs=lambda rng: (3.0 * rng.standard_normal((4, 5)),),
        reference=torch.sigmoid,
    ),
    OpCase(
        name="relu",
        op=s_act.ReLU,
        twin=t_act.relu,
        make_inputs=lambda rng: (away_from_zero(rng.standard_normal((4, 5))),),
        reference=F.relu,
    ),
    OpCase(
        name="tanh",
        op=s_act.Tanh,
        twin=t_act.tanh,
        make_inputs=lambda rng: (2.0 * rng.standard_normal((4, 5)),),
        reference=torch.tanh,
    ),
    OpCase(
        name="lecun_tanh",
        op=s_act.LeCunTanh,
        twin=t_act.lecun_tanh,
        make_inputs=lambda rng: (2.0 * rng.standard_normal((4, 5)),),
        reference=lambda x: 1.7159 * torch.tanh(2.0 * x / 3.0),
    ),
    OpCase(
        name="leaky_relu",
        op=s_act.LeakyReLU,
        twin=t_act.leaky_relu,
        make_inputs=lambda rng: (away_from_zero(rng.standard_normal((4, 5))),),
        reference=F.leaky_relu,
    ),
    OpCase(
        name="leaky_relu_slope_0.1",
        op=s_act.LeakyReLU,
        twin=t_act.leaky_relu,
        make_inputs=lambda rng: (away_from_zero(rng.standard_normal((4, 5))),),
        hyper={"negative_slope": 0.1},
        reference=lambda x, negative_slope=0.01: F.leaky_relu(x, negative_slope=negative_slope),
    ),
    OpCase(
        name="prelu_shared",
        op=s_act.PReLU,
        twin=t_act.prelu,
        make_inputs=lambda rng: _prelu_inputs(rng, (4, 3, 2), 1),
        reference=F.prelu,
    ),
    OpCase(
        name="prelu_per_channel",
        op=s_act.PReLU,
        twin=t_act.prelu,
        make_inputs=lambda rng: _prelu_inputs(rng, (4, 3, 2), 3),
        reference=F.prelu,
    ),
    OpCase(
        name="prelu_per_feature",
        op=s_act.PReLU,
        twin=t_act.prelu,
        make_inputs=lambda rng: _prelu_inputs(rng, (6, 4), 4),
        reference=F.prelu,
    ),
    OpCase(
        name="elu",
        op=s_act.ELU,
        twin=t_act.elu,
        make_inputs=lambda rng: (away_from_zero(2.0 * rng.standard_normal((4, 5))),),
        reference=F.elu,
    ),
    OpCase(
        name="elu_alpha_0.5",
        op=s_act.ELU,
        twin=t_act.elu,
        make_inputs=lambda rng: (away_from_zero(2.0 * rng.standard_normal((4, 5))),),
        hyper={"alpha": 0.5},
        reference=lambda x, alpha=1.0: F.elu(x, alpha=alpha),
    ),
    OpCase(
        name="maxout",
        op=s_act.Maxout,
        twin=t_act.maxout,
        make_inputs=_maxout_inputs,
    ),
]


def is_differentiable(a: Any) -> bool:
    return isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating)


def to_torch(inputs: tuple[Any, ...], requires_grad: bool = False) -> list[Any]:
    """float64 arrays -> float64 tensors (optionally requiring grad); int arrays -> long tensors."""
    out = []
    for a in inputs:
        if is_differentiable(a):
            out.append(torch.tensor(a, dtype=torch.float64, requires_grad=requires_grad))
        elif isinstance(a, np.ndarray):
            out.append(torch.as_tensor(a, dtype=torch.long))
        else:
            out.append(a)
    return out
