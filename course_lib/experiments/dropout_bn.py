r"""Dropout before batch norm: the "variance shift" between training and test (Li et al. 2019).

Li, Chen, Hu & Yang 2019 ("Understanding the disharmony between dropout and batch normalization
by variance shift", CVPR) point out that a dropout layer placed before a batch-norm layer changes
the VARIANCE of what batch norm sees between training and test. In training the units come
multiplied by :math:`m/(1-p)` (inverted dropout), which keeps each unit's mean but inflates its
second moment; batch norm's running variance is accumulated from those inflated batches; at test
time dropout is off, the actual variance is smaller, and the frozen statistics normalize with the
wrong scale. For one unit :math:`a = \sum_j W_j h_j m_j / (1-p)` with independent masks:

.. math::

    \mathrm{Var}_\text{train}(a) = \mathrm{Var}_\text{test}(a)
        + \frac{p}{1-p} \sum_j W_j^2\, \mathbb{E}[h_j^2],
    \qquad \text{shift} = \frac{\mathrm{Var}_\text{test}(a)}{\mathrm{Var}_\text{train}(a)} < 1 .

Protocol: digits standardized, the scratch :class:`~course_lib.scratch.model.MLP` 64-256-256-10,
ReLU, batch norm before each ReLU (Linear -> BN -> ReLU), SGD momentum 0.9, lr 0.05, batch 64,
``epochs`` epochs, two orders with the same seed:

* ``"dropout -> BN"``: dropout ``p`` on both hidden layers' outputs, so the second layer's batch
  norm sees dropped-out inputs (``MLP(dropout=p)``);
* ``"BN -> dropout"``: dropout ``p`` only on the last hidden layer's output, after the last batch
  norm, right before the readout (Li et al.'s recommendation).

For the first, per unit of the second batch-norm layer: the ratio of the test-time variance of its
input (eval mode, no dropout, test images) to its running variance, and the ratio the formula
above predicts (computed on the training images). Test accuracy of both orders, and of the first
after re-estimating every batch-norm layer's statistics with dropout off (a pass over the training
images, layer by layer, in eval mode), which removes the shift.

What must show (tests, over seeds): the measured shift is below 1 for nearly every unit, and agrees
with the predicted one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib import checks
from course_lib.data import load_digits
from course_lib.scratch.dropout import check_p
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import Solver

from ._threads import one_blas_thread

__all__ = ["VarianceShiftResult", "run", "reestimate_bn", "bn_inputs", "ORDERS"]

ORDERS = ("dropout -> BN", "BN -> dropout")


@dataclass(frozen=True, eq=False)
class VarianceShiftResult:
    p: float
    shift: np.ndarray  # (H,) measured Var_test / running var, second BN layer, "dropout -> BN"
    predicted: np.ndarray  # (H,) the formula's Var_test / Var_train on the training images
    test_acc: dict  # order -> test accuracy with the running statistics
    reestimated_acc: float  # "dropout -> BN" after re-estimating the statistics without dropout
    config: dict

    @property
    def median_shift(self) -> float:
        return float(np.median(self.shift))


def bn_inputs(model: MLP, x: np.ndarray, layer: int) -> np.ndarray:
    """The input of hidden layer ``layer``'s batch norm (1-based), in eval mode: h_{l-1} W_l + b_l."""
    was = model.training
    model.eval()
    try:
        h = x if layer == 1 else model.hidden(x)[layer - 2]
    finally:
        model.train(was)
    return h @ model.params[f"W{layer}"] + model.params[f"b{layer}"]


def reestimate_bn(model: MLP, x: np.ndarray) -> None:
    """Replace every batch-norm layer's running statistics by those of ``x`` with dropout off, layer by layer."""
    n = x.shape[0]
    for layer in range(1, model.num_layers):
        a = bn_inputs(model, x, layer)
        model.running[f"running_mean{layer}"] = a.mean(axis=0)
        model.running[f"running_var{layer}"] = a.var(axis=0) * n / (n - 1)  # unbiased, as torch's running var


def _train(data, p: float, order: str, seed: int, epochs: int, lr: float) -> MLP:
    model = MLP([64, 256, 256, 10], activation="relu", init="he_normal", rng=seed, norm="batch", dropout=p)
    if order == "BN -> dropout":  # only the readout's input: after the last batch norm
        model.dropout_p = (0.0, 0.0, p)
    Solver(model, data, SGD(lr=lr, momentum=0.9), batch_size=64, epochs=epochs, seed=seed, progress=False).train()
    return model.eval()


def run(p: float = 0.5, epochs: int = 10, lr: float = 0.05, seed: int = 0) -> VarianceShiftResult:
    """Train both orders; measure the variance shift of the second batch-norm layer and the accuracies."""
    who = "dropout_bn.run"
    p = check_p(p, who)
    if p == 0:
        raise ValueError(f"{who}: p must be > 0 (no dropout, no shift)")
    epochs = checks.integer(epochs, "epochs", who, minimum=1)
    data = load_digits(seed=0, scale="standard")
    with one_blas_thread():
        models = {order: _train(data, p, order, seed, epochs, lr) for order in ORDERS}
        model = models["dropout -> BN"]
        a_test = bn_inputs(model, data.x_test, 2)
        shift = a_test.var(axis=0, ddof=1) / model.running["running_var2"]
        a_train = bn_inputs(model, data.x_train, 2)
        h1 = model.hidden(data.x_train)[0]
        extra = p / (1 - p) * ((h1 ** 2).mean(axis=0) @ model.params["W2"] ** 2)  # (H,)
        var_clean = a_train.var(axis=0)
        predicted = var_clean / (var_clean + extra)
        test_acc = {order: m.accuracy(data.x_test, data.y_test) for order, m in models.items()}
        reestimate_bn(model, data.x_train)
        reestimated = model.accuracy(data.x_test, data.y_test)
    return VarianceShiftResult(p=p, shift=shift, predicted=predicted, test_acc=test_acc,
                               reestimated_acc=reestimated,
                               config=dict(dims=(64, 256, 256, 10), epochs=epochs, lr=lr, momentum=0.9,
                                           batch_size=64, seed=seed))
