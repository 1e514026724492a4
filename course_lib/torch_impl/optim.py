r"""Twin of :mod:`course_lib.scratch.optim`: the optimizers as ``torch.optim.Optimizer`` subclasses.

The update rules are written out with torch ops (they do not call ``torch.optim.SGD``), so
tests can compare three things: the scratch update, this twin and ``torch.optim``. Use them
like any torch optimizer (``zero_grad()``, ``loss.backward()``, ``step()``); learning-rate
schedulers work on them because the lr lives in ``param_groups``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import torch

from course_lib.scratch.optim import _check_lr, check_betas, check_eps, check_nonnegative, check_rate

__all__ = ["SGD", "Momentum", "Nesterov", "Adagrad", "RMSProp", "Adadelta", "Adam", "AdamW"]


def _closure_loss(closure: Callable[[], Any] | None) -> Any:
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


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
        _check_lr(lr)
        check_nonnegative(momentum, "momentum")
        check_nonnegative(weight_decay, "weight_decay")
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


class Momentum(torch.optim.Optimizer):
    r"""Twin of `course_lib.scratch.optim.Momentum`: the slides' form, velocity with the lr inside.

    .. math::

        v \leftarrow \mu v - \eta g, \qquad w \leftarrow w + v \qquad (v = 0 \text{ at the start})

    ``Momentum(params, lr, momentum=0.9)``; the velocity is ``self.state[p]["velocity"]``.
    Same iterates as ``torch.optim.SGD(momentum=mu)`` at a constant lr, different ones when the
    lr changes (torch's buffer :math:`b = \mu b + g` is multiplied by the current lr).
    """

    _nesterov = False

    def __init__(self, params: Iterable[Any], lr: float, momentum: float = 0.9):
        _check_lr(lr)
        check_rate(momentum, "momentum")
        super().__init__(params, dict(lr=lr, momentum=momentum))

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = _closure_loss(closure)
        for group in self.param_groups:
            lr, mu = group["lr"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "velocity" not in state:
                    state["velocity"] = torch.zeros_like(p)
                    state["step"] = 0
                v = state["velocity"]
                v_prev = v.clone() if self._nesterov else None
                v.mul_(mu).sub_(lr * p.grad)
                if self._nesterov:
                    p.add_(-mu * v_prev + (1.0 + mu) * v)
                else:
                    p.add_(v)
                state["step"] += 1
        return loss


class Nesterov(Momentum):
    r"""Twin of `course_lib.scratch.optim.Nesterov`: the slides' "v_prev" form of Nesterov momentum.

    .. math::

        v_{\text{prev}} = v, \quad v \leftarrow \mu v - \eta g, \quad
        w \leftarrow w - \mu v_{\text{prev}} + (1 + \mu) v

    (Sutskever et al. 2013; the stored parameters are the look-ahead point). Same iterates as
    ``torch.optim.SGD(momentum=mu, nesterov=True)`` at a constant lr only.
    """

    _nesterov = True


class Adagrad(torch.optim.Optimizer):
    r"""Twin of `course_lib.scratch.optim.Adagrad`, the update of ``torch.optim.Adagrad``.

    .. math::

        g = \nabla f + \lambda w, \quad s \leftarrow s + g^2, \quad
        w \leftarrow w - \frac{\eta}{1 + (t-1)\delta} \frac{g}{\sqrt{s} + \epsilon}

    ``Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10)``;
    state ``"sum"`` and ``"step"`` as in torch.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ):
        _check_lr(lr)
        check_nonnegative(lr_decay, "lr_decay")
        check_nonnegative(weight_decay, "weight_decay")
        check_nonnegative(initial_accumulator_value, "initial_accumulator_value")
        check_eps(eps)
        defaults = dict(
            lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, eps=eps,
        )  # fmt: skip
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = _closure_loss(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "sum" not in state:
                    s0 = group["initial_accumulator_value"]
                    state["sum"] = torch.full_like(p, s0)
                    state["step"] = 0
                state["step"] += 1
                g = p.grad
                if group["weight_decay"] != 0:
                    g = g + group["weight_decay"] * p
                clr = group["lr"] / (1.0 + (state["step"] - 1) * group["lr_decay"])
                state["sum"].add_(g * g)
                p.sub_(clr * g / (state["sum"].sqrt() + group["eps"]))
        return loss


class RMSProp(torch.optim.Optimizer):
    r"""Twin of `course_lib.scratch.optim.RMSProp`, the update of ``torch.optim.RMSprop`` (torch's spelling).

    .. math::

        g = \nabla f + \lambda w, \quad s \leftarrow \alpha s + (1-\alpha) g^2, \quad
        w \leftarrow w - \eta \frac{g}{\sqrt{s} + \epsilon}

    plus torch's ``centered`` and ``momentum`` options. ``RMSProp(params, lr=1e-2, alpha=0.99,
    eps=1e-8, weight_decay=0, momentum=0, centered=False)``; state ``"square_avg"``,
    ``"grad_avg"``, ``"momentum_buffer"``, ``"step"`` as in torch.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ):
        _check_lr(lr)
        check_rate(alpha, "alpha")
        check_eps(eps)
        check_nonnegative(weight_decay, "weight_decay")
        check_nonnegative(momentum, "momentum")
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = _closure_loss(closure)
        for group in self.param_groups:
            a, mu = group["alpha"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "square_avg" not in state:
                    state["step"] = 0
                    state["square_avg"] = torch.zeros_like(p)
                    state["grad_avg"] = torch.zeros_like(p)
                    state["momentum_buffer"] = torch.zeros_like(p)
                state["step"] += 1
                g = p.grad
                if group["weight_decay"] != 0:
                    g = g + group["weight_decay"] * p
                sq = state["square_avg"].mul_(a).add_((1.0 - a) * g * g)
                if group["centered"]:
                    m = state["grad_avg"].mul_(a).add_((1.0 - a) * g)
                    avg = (sq - m * m).sqrt() + group["eps"]
                else:
                    avg = sq.sqrt() + group["eps"]
                if mu > 0:
                    buf = state["momentum_buffer"].mul_(mu).add_(g / avg)
                    p.sub_(group["lr"] * buf)
                else:
                    p.sub_(group["lr"] * g / avg)
        return loss


class Adadelta(torch.optim.Optimizer):
    r"""Twin of `course_lib.scratch.optim.Adadelta`, the update of ``torch.optim.Adadelta``.

    .. math::

        s \leftarrow \rho s + (1-\rho) g^2, \quad
        \Delta = \frac{\sqrt{u + \epsilon}}{\sqrt{s + \epsilon}} g, \quad
        u \leftarrow \rho u + (1-\rho) \Delta^2, \quad w \leftarrow w - \eta \Delta

    ``Adadelta(params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0)``; state ``"square_avg"``,
    ``"acc_delta"``, ``"step"`` as in torch.
    """

    def __init__(
        self, params: Iterable[Any], lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0
    ):
        _check_lr(lr)
        check_rate(rho, "rho")
        check_eps(eps)
        check_nonnegative(weight_decay, "weight_decay")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = _closure_loss(closure)
        for group in self.param_groups:
            rho, eps = group["rho"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "square_avg" not in state:
                    state["step"] = 0
                    state["square_avg"] = torch.zeros_like(p)
                    state["acc_delta"] = torch.zeros_like(p)
                state["step"] += 1
                g = p.grad
                if group["weight_decay"] != 0:
                    g = g + group["weight_decay"] * p
                sq = state["square_avg"].mul_(rho).add_((1.0 - rho) * g * g)
                delta = (state["acc_delta"] + eps).sqrt() / (sq + eps).sqrt() * g
                state["acc_delta"].mul_(rho).add_((1.0 - rho) * delta * delta)
                p.sub_(group["lr"] * delta)
        return loss


class Adam(torch.optim.Optimizer):
    r"""Twin of `course_lib.scratch.optim.Adam`, the update of ``torch.optim.Adam``.

    .. math::

        m \leftarrow \beta_1 m + (1-\beta_1) g, \quad v \leftarrow \beta_2 v + (1-\beta_2) g^2, \quad
        w \leftarrow w - \frac{\eta}{1-\beta_1^t} \frac{m}{\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon}

    with :math:`g = \nabla f + \lambda w` (L2). ``Adam(params, lr=1e-3, betas=(0.9, 0.999),
    eps=1e-8, weight_decay=0, amsgrad=False)``; state ``"exp_avg"``, ``"exp_avg_sq"``,
    ``"max_exp_avg_sq"`` (amsgrad), ``"step"`` as in torch.
    """

    _decoupled = False

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ):
        _check_lr(lr)
        betas = check_betas(betas)
        check_eps(eps)
        check_nonnegative(weight_decay, "weight_decay")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad))

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = _closure_loss(closure)
        for group in self.param_groups:
            lr, (b1, b2) = group["lr"], group["betas"]
            wd, eps = group["weight_decay"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "exp_avg" not in state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                g = p.grad
                if wd != 0:
                    if self._decoupled:
                        p.mul_(1.0 - lr * wd)
                    else:
                        g = g + wd * p
                m = state["exp_avg"].mul_(b1).add_((1.0 - b1) * g)
                v = state["exp_avg_sq"].mul_(b2).add_((1.0 - b2) * g * g)
                if group["amsgrad"]:
                    v_max = state["max_exp_avg_sq"]
                    v = torch.maximum(v_max, v, out=v_max)
                denom = v.sqrt() / (1.0 - b2**t) ** 0.5 + eps
                p.sub_(lr / (1.0 - b1**t) * (m / denom))
        return loss


class AdamW(Adam):
    r"""Twin of `course_lib.scratch.optim.AdamW`, the update of ``torch.optim.AdamW``.

    .. math::

        w \leftarrow (1 - \eta\lambda) w, \quad \text{then the Adam step with } g = \nabla f

    (decoupled weight decay, Loshchilov & Hutter 2019). ``AdamW(params, lr=1e-3,
    betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False)``.
    """

    _decoupled = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
