"""Registry of scratch ops for the generic parity and gradient-check tests.

One :class:`OpCase` per scratch op (a class with static ``forward`` and ``backward``).
Adding an op to the library = adding one entry to :data:`CASES`; ``tests/test_parity.py``
then checks it four ways and fails while an op has no entry.

``make_inputs(rng)`` returns the op's positional inputs: float64 arrays are differentiated,
integer and bool arrays (labels, dropout keep masks) are passed through. Inputs are kept away from kinks (ReLU at 0,
hinge margins at 0) so that central differences with h = 1e-5 are valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.scratch import activations as s_act
from course_lib.scratch import batchnorm as s_bn
from course_lib.scratch import conv as s_conv
from course_lib.scratch import dropout as s_drop
from course_lib.scratch import linear as s_linear
from course_lib.scratch import losses as s_losses
from course_lib.torch_impl import activations as t_act
from course_lib.torch_impl import batchnorm as t_bn
from course_lib.torch_impl import conv as t_conv
from course_lib.torch_impl import dropout as t_drop
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


def _conv_inputs(rng: np.random.Generator, x_shape: tuple[int, ...], w_shape: tuple[int, ...]) -> tuple[Any, ...]:
    """x (N, C, H, W), w (F, C, kH, kW), b (F,): a convolution is linear in each, so no kinks to avoid."""
    return rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])


def _pool_inputs(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[Any, ...]:
    """x whose entries are all distinct, at least 0.05 apart: every window has one clear maximum."""
    size = int(np.prod(shape))
    values = 0.1 * (rng.permutation(size) + 0.5 * rng.random(size)) - 0.05 * size
    return (values.reshape(shape),)


def _builtin_max_pool2d(x, kernel_size=2, stride=None):
    return F.max_pool2d(x, kernel_size, stride)  # torch's kernel_size has no default; ours is 2


def _norm_inputs(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[Any, ...]:
    """x with a nonzero mean and a spread far from 1 per channel (axis 1), gamma away from 1, beta away from 0."""
    c = shape[1]
    loc = 2.0 * rng.standard_normal(c).reshape((1, c) + (1,) * (len(shape) - 2))
    x = loc + 3.0 * rng.standard_normal(shape)
    return x, 1.0 + 0.5 * rng.standard_normal(c), rng.standard_normal(c)


def _layer_norm_inputs(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[Any, ...]:
    """x whose rows have different means and spreads, gamma and beta over the last axis."""
    d = shape[-1]
    x = 2.0 * rng.standard_normal(shape[:-1] + (1,)) + 3.0 * rng.standard_normal(shape)
    return x, 1.0 + 0.5 * rng.standard_normal(d), rng.standard_normal(d)


def _builtin_batch_norm(x, gamma, beta, eps=1e-5):
    return F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)


DROPOUT_TORCH_SEED = 1234
"""The torch seed under which the dropout cases' masks are drawn BY ``F.dropout`` itself."""


def _torch_dropout_mask(shape: tuple[int, ...], p: float) -> np.ndarray:
    """The keep mask ``F.dropout`` draws under :data:`DROPOUT_TORCH_SEED`: drop out a tensor of ones."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(DROPOUT_TORCH_SEED)
        return (F.dropout(torch.ones(shape, dtype=torch.float64), p, training=True) != 0).numpy()


def _dropout_inputs(rng: np.random.Generator, shape: tuple[int, ...], p: float) -> tuple[Any, ...]:
    """x (float64) and the bool keep mask F.dropout draws for this shape and p (not differentiated)."""
    return rng.standard_normal(shape), _torch_dropout_mask(shape, p)


def _builtin_dropout(x, mask, p=0.5, training=True):
    """``F.dropout`` under the seed that drew ``mask``: the registry checks it is that mask."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(DROPOUT_TORCH_SEED)
        recovered = F.dropout(torch.ones_like(x), p, training=True) != 0
        if not torch.equal(recovered, mask.bool()):
            raise AssertionError("this mask was not drawn by F.dropout under DROPOUT_TORCH_SEED")
        torch.manual_seed(DROPOUT_TORCH_SEED)
        return F.dropout(x, p, training=training)


def _builtin_scaled_dropout(x, mask, p=0.5, training=True):
    """The slides' form from the built-in: ``(1 - p) * F.dropout(x, p, training)`` with the same mask."""
    return (1.0 - p) * _builtin_dropout(x, mask, p, training)


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
    OpCase(
        name="conv2d",
        op=s_conv.Conv2d,
        twin=t_conv.conv2d,
        make_inputs=lambda rng: _conv_inputs(rng, (2, 3, 5, 5), (4, 3, 3, 3)),
        reference=F.conv2d,
    ),
    OpCase(
        name="conv2d_stride_2_padding_1",  # 7 + 2 - 3 = 6 is even: every pixel is reached
        op=s_conv.Conv2d,
        twin=t_conv.conv2d,
        make_inputs=lambda rng: _conv_inputs(rng, (2, 3, 7, 7), (4, 3, 3, 3)),
        hyper={"stride": 2, "padding": 1},
        reference=F.conv2d,
    ),
    OpCase(
        name="conv2d_stride_2_not_fitting",  # (6 - 3) / 2 is floored: the last row and column get no gradient
        op=s_conv.Conv2d,
        twin=t_conv.conv2d,
        make_inputs=lambda rng: _conv_inputs(rng, (2, 2, 6, 6), (3, 2, 3, 3)),
        hyper={"stride": 2},
        reference=F.conv2d,
    ),
    OpCase(
        name="conv2d_rectangular",  # kH != kW, stride and padding given per axis
        op=s_conv.Conv2d,
        twin=t_conv.conv2d,
        make_inputs=lambda rng: _conv_inputs(rng, (2, 3, 6, 5), (2, 3, 3, 2)),
        hyper={"stride": (2, 1), "padding": (1, 0)},
        reference=F.conv2d,
    ),
    OpCase(
        name="max_pool2d",
        op=s_conv.MaxPool2d,
        twin=t_conv.max_pool2d,
        make_inputs=lambda rng: _pool_inputs(rng, (2, 3, 6, 6)),
        reference=_builtin_max_pool2d,
    ),
    OpCase(
        name="max_pool2d_3x3_stride_2",  # overlapping windows (AlexNet's): a pixel can win twice
        op=s_conv.MaxPool2d,
        twin=t_conv.max_pool2d,
        make_inputs=lambda rng: _pool_inputs(rng, (2, 2, 7, 7)),
        hyper={"kernel_size": 3, "stride": 2},
        reference=_builtin_max_pool2d,
    ),
    OpCase(
        name="max_pool2d_rectangular_not_fitting",
        op=s_conv.MaxPool2d,
        twin=t_conv.max_pool2d,
        make_inputs=lambda rng: _pool_inputs(rng, (2, 2, 5, 7)),
        hyper={"kernel_size": (2, 3), "stride": (2, 2)},
        reference=_builtin_max_pool2d,
    ),
    OpCase(
        name="batch_norm",
        op=s_bn.BatchNorm,
        twin=t_bn.batch_norm,
        make_inputs=lambda rng: _norm_inputs(rng, (6, 4)),
        reference=_builtin_batch_norm,
    ),
    OpCase(
        name="batch_norm_eps_0.5",  # a large eps shows where it enters (and that it is not squared)
        op=s_bn.BatchNorm,
        twin=t_bn.batch_norm,
        make_inputs=lambda rng: _norm_inputs(rng, (5, 3)),
        hyper={"eps": 0.5},
        reference=_builtin_batch_norm,
    ),
    OpCase(
        name="spatial_batch_norm",
        op=s_bn.SpatialBatchNorm,
        twin=t_bn.spatial_batch_norm,
        make_inputs=lambda rng: _norm_inputs(rng, (2, 3, 2, 3)),
        reference=_builtin_batch_norm,
    ),
    OpCase(
        name="spatial_batch_norm_one_example",  # N = 1 is fine: the H*W pixels are the samples
        op=s_bn.SpatialBatchNorm,
        twin=t_bn.spatial_batch_norm,
        make_inputs=lambda rng: _norm_inputs(rng, (1, 2, 3, 2)),
        hyper={"eps": 1e-3},
        reference=_builtin_batch_norm,
    ),
    OpCase(
        name="layer_norm",
        op=s_bn.LayerNorm,
        twin=t_bn.layer_norm,
        make_inputs=lambda rng: _layer_norm_inputs(rng, (4, 5)),
        reference=lambda x, g, b, eps=1e-5: F.layer_norm(x, (x.shape[-1],), g, b, eps=eps),
    ),
    OpCase(
        name="layer_norm_3d_eps_0.5",
        op=s_bn.LayerNorm,
        twin=t_bn.layer_norm,
        make_inputs=lambda rng: _layer_norm_inputs(rng, (2, 3, 4)),
        hyper={"eps": 0.5},
        reference=lambda x, g, b, eps=1e-5: F.layer_norm(x, (x.shape[-1],), g, b, eps=eps),
    ),
    OpCase(
        name="group_norm",
        op=s_bn.GroupNorm,
        twin=t_bn.group_norm,
        make_inputs=lambda rng: _norm_inputs(rng, (2, 6, 2, 3)),
        hyper={"num_groups": 3},
        reference=lambda x, g, b, num_groups, eps=1e-5: F.group_norm(x, num_groups, g, b, eps=eps),
    ),
    OpCase(
        name="group_norm_one_group_eps_0.1",
        op=s_bn.GroupNorm,
        twin=t_bn.group_norm,
        make_inputs=lambda rng: _norm_inputs(rng, (3, 4, 5)),
        hyper={"num_groups": 1, "eps": 0.1},
        reference=lambda x, g, b, num_groups, eps=1e-5: F.group_norm(x, num_groups, g, b, eps=eps),
    ),
    OpCase(
        name="dropout",
        op=s_drop.Dropout,
        twin=t_drop.dropout,
        make_inputs=lambda rng: _dropout_inputs(rng, (6, 5), 0.5),
        hyper={"p": 0.5},
        reference=_builtin_dropout,
    ),
    OpCase(
        name="dropout_p_0.2_maps",  # any shape: one mask entry per example, channel and pixel
        op=s_drop.Dropout,
        twin=t_drop.dropout,
        make_inputs=lambda rng: _dropout_inputs(rng, (2, 3, 4, 4), 0.2),
        hyper={"p": 0.2},
        reference=_builtin_dropout,
    ),
    OpCase(
        name="dropout_test_time",  # the identity; the mask is ignored
        op=s_drop.Dropout,
        twin=t_drop.dropout,
        make_inputs=lambda rng: _dropout_inputs(rng, (6, 5), 0.5),
        hyper={"p": 0.5, "training": False},
        reference=_builtin_dropout,
    ),
    OpCase(
        name="dropout_p_0",  # the identity in training too
        op=s_drop.Dropout,
        twin=t_drop.dropout,
        make_inputs=lambda rng: _dropout_inputs(rng, (6, 5), 0.0),
        hyper={"p": 0.0},
        reference=_builtin_dropout,
    ),
    OpCase(
        name="scaled_dropout",
        op=s_drop.ScaledDropout,
        twin=t_drop.scaled_dropout,
        make_inputs=lambda rng: _dropout_inputs(rng, (6, 5), 0.3),
        hyper={"p": 0.3},
        reference=_builtin_scaled_dropout,
    ),
    OpCase(
        name="scaled_dropout_test_time",  # times the keep probability 1 - p
        op=s_drop.ScaledDropout,
        twin=t_drop.scaled_dropout,
        make_inputs=lambda rng: _dropout_inputs(rng, (6, 5), 0.3),
        hyper={"p": 0.3, "training": False},
        reference=_builtin_scaled_dropout,
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
