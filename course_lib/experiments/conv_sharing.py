r"""A convolution is one small linear layer run at every location; its gradient is a sum over them.

The slides' "second idea" (LeCun et al. 1998): instead of one MLP looking at the whole image,
run the SAME small layer on every receptive field. This module checks numerically, on the
scratch ops, that this is exactly what :class:`~course_lib.scratch.conv.Conv2d` computes:

* forward: for every output location :math:`(h', w')`, the patch
  :math:`x^\text{pad}_{n,:,\,S h' : S h' + k,\; S w' : S w' + k}` flattened to a row of
  :math:`C k^2` numbers, times the filters as a :math:`(C k^2, F)` matrix
  (:class:`~course_lib.scratch.linear.Linear`), gives :math:`\mathrm{out}_{n,:,h',w'}`. The patches
  are cut out here with plain slicing, one location at a time, independently of ``im2col``;
* pooling: the max over all locations of those per-location outputs is a
  :class:`~course_lib.scratch.conv.MaxPool2d` whose window covers the whole map;
* backward: since the weights are shared, :math:`\partial L / \partial W` of the convolution is
  the SUM over locations of the per-location Linear gradients :math:`x_{\text{patch}}^\top \delta`
  (and :math:`\partial L / \partial b` the sum of their bias gradients);
* the slides' layer arithmetic (32x32x3 input, ten 5x5 filters, stride 1, padding 2 -> 32x32x10
  and 760 parameters) with :func:`~course_lib.scratch.conv.conv_output_size` and
  :func:`~course_lib.scratch.conv.conv_param_count`, and what the same layer would cost without
  sharing (one set of filters per location, the slides' "first idea");
* the gradient check of ``Conv2d`` (stride 2, padding 1) and ``MaxPool2d`` against central
  differences in float64 (:func:`course_lib.gradcheck.check_op`). The pooling input holds distinct
  values at least 0.01 apart, far from the kinks of the max at the step h = 1e-5.

What must show: differences at rounding level (about 1e-15) for the three identities, and
relative errors far below 1e-6 in the gradient check.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.gradcheck import check_op
from course_lib.scratch.conv import Conv2d, MaxPool2d, conv_output_size, conv_param_count
from course_lib.scratch.linear import Linear

__all__ = ["ConvSharingResult", "SlidesExample", "run", "slides_example", "per_location_linear"]


@dataclass(frozen=True)
class SlidesExample:
    """The slides' layer: 32x32x3 input, ten 5x5 filters, stride 1, padding 2."""

    size: int  # 32, the input's height and width
    c_in: int  # 3
    c_out: int  # 10
    kernel: int  # 5
    stride: int  # 1
    padding: int  # 2
    out_size: int  # (32 + 2*2 - 5)/1 + 1 = 32
    params: int  # 10 * (5*5*3 + 1) = 760
    params_per_filter: int  # 5*5*3 + 1 = 76
    params_unshared: int  # one set of filters per output location: 32*32*760
    params_fully_connected: int  # a Linear from 32*32*3 inputs to 32*32*10 outputs, with biases


def slides_example(size: int = 32, c_in: int = 3, c_out: int = 10, kernel: int = 5, stride: int = 1,
                   padding: int = 2) -> SlidesExample:
    """Output size and parameter count of the slides' layer, from the library's two formulas."""
    out = conv_output_size(size, kernel, stride, padding)
    params = conv_param_count(c_in, c_out, kernel)
    return SlidesExample(
        size=size, c_in=c_in, c_out=c_out, kernel=kernel, stride=stride, padding=padding, out_size=out,
        params=params, params_per_filter=conv_param_count(c_in, 1, kernel), params_unshared=out * out * params,
        params_fully_connected=(size * size * c_in + 1) * out * out * c_out,
    )


def per_location_linear(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1,
                        padding: int = 0):
    """The convolution as one Linear layer applied at every location, one at a time.

    Returns ``(out, caches)``: ``out`` (N, F, H', W') and the Linear cache of every
    location ``(h', w')``; its patch is the flat (N, C k k) slice of the padded input.
    """
    f, c, k, _ = w.shape  # square filters
    n = x.shape[0]
    ho, wo = (conv_output_size(s, k, stride, padding, exact=False) for s in x.shape[2:])
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    w_lin = w.reshape(f, c * k * k).T  # (C k k, F): one filter per column
    out, caches = np.empty((n, f, ho, wo)), {}
    for i in range(ho):
        for j in range(wo):
            top, left = i * stride, j * stride
            patch = xp[:, :, top:top + k, left:left + k].reshape(n, -1)  # (N, C k k)
            out[:, :, i, j], caches[i, j] = Linear.forward(patch, w_lin, b)
    return out, caches


@dataclass(frozen=True, eq=False)
class ConvSharingResult:
    x_shape: tuple  # (N, C, H, W) of the demonstration input
    w_shape: tuple  # (F, C, k, k)
    out_shape: tuple  # (N, F, H', W')
    patch_shape: tuple  # (N, C k k): what the Linear at one location sees
    linear_w_shape: tuple  # (C k k, F): the shared Linear weight
    n_locations: int  # H' W'
    forward_diff: float  # max |Conv2d - per-location Linear|
    pool_diff: float  # max |MaxPool2d over the whole map - max over locations of the Linear outputs|
    dw_diff: float  # max |dW of Conv2d - sum over locations of the Linear dW|
    db_diff: float  # max |db of Conv2d - sum over locations of the Linear db|
    dw_scale: float  # max |dW|, for scale
    out_scale: float  # max |out|, for scale
    dw_one_location_share: float  # |dW from one location| / |dW| (Frobenius): each location adds only a part
    slides: SlidesExample
    gradcheck_conv: dict  # input name -> relative error (Conv2d, stride 2, padding 1)
    gradcheck_pool: dict  # input name -> relative error (MaxPool2d 2x2)
    config: dict

    def table(self) -> str:
        s = self.slides
        lines = [
            f"input x {self.x_shape}, filters w {self.w_shape} -> out {self.out_shape}",
            f"one location: patch {self.patch_shape} @ W {self.linear_w_shape} + b -> ({self.x_shape[0]}, "
            f"{self.w_shape[0]}); {self.n_locations} locations",
            f"max |Conv2d - Linear at every location|       {self.forward_diff:.1e}  (max |out| {self.out_scale:.2f})",
            f"max |global max pool - max over locations|    {self.pool_diff:.1e}",
            f"max |dW conv - sum of per-location dW|        {self.dw_diff:.1e}  (max |dW| {self.dw_scale:.2f})",
            f"max |db conv - sum of per-location db|        {self.db_diff:.1e}",
            f"slides: {s.size}x{s.size}x{s.c_in}, {s.c_out} {s.kernel}x{s.kernel} filters, stride {s.stride}, "
            f"pad {s.padding} -> {s.out_size}x{s.out_size}x{s.c_out}, {s.params} parameters",
            "gradient check Conv2d:    " + ", ".join(f"d{k} {v:.1e}" for k, v in self.gradcheck_conv.items()),
            "gradient check MaxPool2d: " + ", ".join(f"d{k} {v:.1e}" for k, v in self.gradcheck_pool.items()),
        ]
        return "\n".join(lines)


def run(n: int = 2, c: int = 3, size: int = 6, filters: int = 4, kernel: int = 3, padding: int = 1,
        seed: int = 0) -> ConvSharingResult:
    """Compare Conv2d with a Linear at every location (forward, global max, backward); gradient-check both ops."""
    if min(n, c, size, filters, kernel) < 1 or padding < 0 or kernel > size + 2 * padding:
        raise ValueError(f"conv_sharing.run: invalid sizes n={n}, c={c}, size={size}, filters={filters}, "
                         f"kernel={kernel}, padding={padding}")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, size, size))
    w = rng.standard_normal((filters, c, kernel, kernel)) / np.sqrt(c * kernel * kernel)
    b = rng.standard_normal(filters)

    out, cache = Conv2d.forward(x, w, b, padding=padding)
    out_loc, caches = per_location_linear(x, w, b, padding=padding)
    ho, wo = out.shape[2:]
    pooled, _ = MaxPool2d.forward(out, kernel_size=(ho, wo))  # one window over the whole map
    best = out_loc.reshape(n, filters, -1).max(axis=2)  # the max over locations

    dout = rng.standard_normal(out.shape)
    _, dw, db = Conv2d.backward(dout, cache)
    dw_sum, db_sum, dw_first = np.zeros((c * kernel * kernel, filters)), np.zeros(filters), None
    for (i, j), lin_cache in caches.items():
        _, dw_ij, db_ij = Linear.backward(dout[:, :, i, j], lin_cache)
        dw_sum += dw_ij
        db_sum += db_ij
        dw_first = dw_ij if dw_first is None else dw_first
    dw_sum_conv = dw_sum.T.reshape(w.shape)

    # gradient checks in float64 (stride 2 exercises col2im's strided scatter)
    xg = rng.standard_normal((2, 2, 5, 5))
    wg, bg = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    conv_report = check_op(Conv2d, xg, wg, bg, stride=2, padding=1, seed=seed)
    xpool = (rng.permutation(2 * 2 * 6 * 6).reshape(2, 2, 6, 6) * 0.01).astype(np.float64)  # distinct, 0.01 apart
    pool_report = check_op(MaxPool2d, xpool, kernel_size=2, seed=seed)

    return ConvSharingResult(
        x_shape=x.shape, w_shape=w.shape, out_shape=out.shape, patch_shape=caches[0, 0].x.shape,
        linear_w_shape=caches[0, 0].w.shape, n_locations=ho * wo,
        forward_diff=float(np.abs(out - out_loc).max()), pool_diff=float(np.abs(pooled[:, :, 0, 0] - best).max()),
        dw_diff=float(np.abs(dw - dw_sum_conv).max()), db_diff=float(np.abs(db - db_sum).max()),
        dw_scale=float(np.abs(dw).max()), out_scale=float(np.abs(out).max()),
        dw_one_location_share=float(np.linalg.norm(dw_first) / np.linalg.norm(dw)),
        slides=slides_example(), gradcheck_conv=conv_report.errors_by_name, gradcheck_pool=pool_report.errors_by_name,
        config=dict(n=n, c=c, size=size, filters=filters, kernel=kernel, padding=padding, seed=seed),
    )
