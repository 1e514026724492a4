r"""Batch normalization in its plainest forms: the staged graph and the compact formula.

The library's :class:`course_lib.scratch.batchnorm.BatchNorm` checks its arguments, shares its
code with the spatial version, and works in place to save memory. Here is the same computation
written for reading, in two ways, with the library's contract
``forward(x, gamma, beta, eps) -> (out, cache)`` and ``backward(dout, cache) -> (dx, dgamma, dbeta)``:

* :class:`BatchNormStaged` cuts the forward pass into the smallest steps of the computational
  graph (mean, centring, square, variance, square root, inverse, product, scale and shift) and
  runs back through them one node at a time, each step the chain rule of one node;
* :class:`BatchNorm` is the compact formula the library uses, what the staged backward pass
  simplifies to once the nodes are merged by hand:

  .. math::

      \frac{\partial L}{\partial x} = \frac{\gamma}{N \sqrt{\sigma^2 + \epsilon}}
      \Big(N \delta - \textstyle\sum_n \delta_n - \hat x \sum_n \delta_n \hat x_n\Big)

:func:`batch_norm` is the torch version (tensor methods only, so this module does not import
torch): autograd derives its backward pass. ``tests/test_experiments_batchnorm.py`` checks that
all three give the library's numbers to float64 rounding.

Shapes: ``x`` (N, D), one example per row; ``gamma``, ``beta`` (D,); statistics per column.
"""
from __future__ import annotations

import numpy as np

__all__ = ["BatchNorm", "BatchNormStaged", "batch_norm"]


class BatchNormStaged:
    """The computational graph of batch norm, one node per line, both passes."""

    @staticmethod
    def forward(x, gamma, beta, eps=1e-5):
        n = x.shape[0]
        mu = x.sum(axis=0) / n  # 1. mean (D,)
        xmu = x - mu  # 2. centre (N, D)
        sq = xmu**2  # 3. square (N, D)
        var = sq.sum(axis=0) / n  # 4. biased variance (D,)
        std = np.sqrt(var + eps)  # 5. square root (D,)
        istd = 1.0 / std  # 6. inverse (D,)
        xhat = xmu * istd  # 7. normalize (N, D)
        out = gamma * xhat + beta  # 8. scale and shift (N, D)
        return out, (xhat, xmu, istd, std, gamma)

    @staticmethod
    def backward(dout, cache):
        xhat, xmu, istd, std, gamma = cache
        n = dout.shape[0]
        dbeta = dout.sum(axis=0)  # 8. out = gamma * xhat + beta
        dgamma = (dout * xhat).sum(axis=0)
        dxhat = dout * gamma
        dxmu = dxhat * istd  # 7. xhat = xmu * istd: first path to xmu
        distd = (dxhat * xmu).sum(axis=0)
        dstd = -distd / std**2  # 6. istd = 1 / std
        dvar = dstd * 0.5 / std  # 5. std = sqrt(var + eps)
        dsq = np.ones_like(xmu) * dvar / n  # 4. var = mean of sq
        dxmu = dxmu + 2.0 * xmu * dsq  # 3. sq = xmu**2: second path to xmu
        dx = dxmu.copy()  # 2. xmu = x - mu: first path to x
        dmu = -dxmu.sum(axis=0)
        dx = dx + np.ones_like(dx) * dmu / n  # 1. mu = mean of x: second path
        return dx, dgamma, dbeta


class BatchNorm:
    """The same computation, the backward pass in its compact form (the library's)."""

    @staticmethod
    def forward(x, gamma, beta, eps=1e-5):
        mu = x.mean(axis=0)  # (D,)
        var = x.var(axis=0)  # (D,) biased: divide by N
        istd = 1.0 / np.sqrt(var + eps)  # (D,)
        xhat = (x - mu) * istd  # (N, D)
        out = gamma * xhat + beta  # (N, D)
        return out, (xhat, istd, gamma)

    @staticmethod
    def backward(dout, cache):
        xhat, istd, gamma = cache
        n = dout.shape[0]
        dbeta = dout.sum(axis=0)  # (D,)
        dgamma = (dout * xhat).sum(axis=0)  # (D,)
        dx = gamma * istd / n * (n * dout - dbeta - xhat * dgamma)  # (N, D)
        return dx, dgamma, dbeta


def batch_norm(x, gamma, beta, eps=1e-5):
    """Training-mode batch norm on tensors; autograd derives the backward pass."""
    mu = x.mean(dim=0)
    var = x.var(dim=0, correction=0)  # biased, as in the forward pass above
    return gamma * (x - mu) / (var + eps).sqrt() + beta
