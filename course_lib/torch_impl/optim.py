r"""Twin of :mod:`course_lib.scratch.optim`: the optimizers as ``torch.optim.Optimizer`` subclasses.

The update rules are written out with torch ops (they do not call ``torch.optim.SGD``), so
tests can compare three things: the scratch update, this twin and ``torch.optim``. Use them
like any torch optimizer (``zero_grad()``, ``loss.backward()``, ``step()``); learning-rate
schedulers work on them because the lr lives in ``param_groups``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import torch

__all__ = ["SGD"]


class SGD(torch.optim.Optimizer):
    r"""Twin of `course_lib.scratch.optim.SGD`.

    .. math::

        g = \nabla f(w) + \lambda w, \quad b \leftarrow \mu b + g \;(b = g \text{ at the first step}), \quad
        w \leftarrow w - \eta \,(b \text{ or, Nesterov, } g + \mu b)

    Same arguments and the same semantics as ``torch.optim.SGD`` with ``dampening=0``:
    ``SGD(params, lr, momentum=0.0, nesterov=False, weight_decay=0.0)``. The momentum
    buffer is kept in ``self.state[p]["momentum_buffer"]``, as torch does.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ):
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not momentum >= 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if wd != 0:
                    g = g + wd * p
                if mu != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = g.clone()
                        state["momentum_buffer"] = buf
                    else:
                        buf.mul_(mu).add_(g)
                    g = g + mu * buf if group["nesterov"] else buf
                p.sub_(lr * g)
        return loss
