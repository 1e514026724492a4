"""Optimizers: scratch SGD and the torch twin vs ``torch.optim.SGD``, K steps with a changing lr.

The lr halves every step, so a slip between torch's momentum convention (b = mu b + g,
w -= lr b) and the slides' (v = mu v - lr g, w += v) would show (TOOLCHAIN.md measured 0.16
after 5 steps); weight decay and Nesterov are switched on in some configurations.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import numpy as np
import pytest
import torch

from course_lib.scratch.optim import SGD, SGDState
from course_lib.torch_impl.optim import SGD as TwinSGD

K = 8
LR0 = 0.4
CONFIGS = [
    dict(momentum=0.0, nesterov=False, weight_decay=0.0),
    dict(momentum=0.0, nesterov=False, weight_decay=0.1),
    dict(momentum=0.9, nesterov=False, weight_decay=0.0),
    dict(momentum=0.9, nesterov=True, weight_decay=0.0),
    dict(momentum=0.9, nesterov=False, weight_decay=0.05),
    dict(momentum=0.5, nesterov=True, weight_decay=0.05),
]
IDS = ["plain", "wd", "momentum", "nesterov", "momentum_wd", "nesterov_wd"]


def _grad(w: np.ndarray, t: int) -> np.ndarray:
    """A gradient that depends on w and on t: d/dw of sum(cos(w) * c_t) + 0.5 |w|^2."""
    c = np.cos(np.arange(w.size).reshape(w.shape) + t)
    return -np.sin(w) * c + w


def _lr(t: int) -> float:
    return LR0 * 0.5**t


def _torch_run(opt_cls, w0: np.ndarray, cfg: dict) -> np.ndarray:
    p = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    opt = opt_cls([p], lr=LR0, **cfg)
    for t in range(K):
        for group in opt.param_groups:
            group["lr"] = _lr(t)
        opt.zero_grad()
        p.grad = torch.as_tensor(_grad(p.detach().numpy().copy(), t))
        opt.step()
    return p.detach().numpy().copy()


def _scratch_run(w0: np.ndarray, cfg: dict) -> np.ndarray:
    opt = SGD(lr=LR0, **cfg)
    w, state = w0.copy(), opt.init(w0)
    for t in range(K):
        w, state = opt.step(w, _grad(w, t), state, lr=_lr(t))
    return w


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_scratch_sgd_matches_torch(cfg: dict) -> None:
    w0 = np.random.default_rng(0).standard_normal((3, 4))
    expected = _torch_run(torch.optim.SGD, w0, cfg)
    np.testing.assert_allclose(_scratch_run(w0, cfg), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_twin_sgd_matches_torch(cfg: dict) -> None:
    w0 = np.random.default_rng(1).standard_normal((3, 4))
    expected = _torch_run(torch.optim.SGD, w0, cfg)
    np.testing.assert_allclose(_torch_run(TwinSGD, w0, cfg), expected, rtol=1e-12, atol=1e-14)


def test_the_slides_momentum_form_differs_under_a_schedule() -> None:
    """The check above is sharp: v = mu v - lr g; w += v agrees at constant lr only."""
    w0 = np.random.default_rng(0).standard_normal((3, 4))
    cfg = dict(momentum=0.9, nesterov=False, weight_decay=0.0)

    def slides(lr_of_t):
        w, v = w0.copy(), np.zeros_like(w0)
        for t in range(K):
            v = 0.9 * v - lr_of_t(t) * _grad(w, t)
            w = w + v
        return w

    opt = SGD(lr=LR0, **cfg)
    w, s = w0.copy(), opt.init(w0)
    for t in range(K):
        w, s = opt.step(w, _grad(w, t), s)  # constant lr
    np.testing.assert_allclose(slides(lambda t: LR0), w, rtol=1e-12, atol=1e-14)
    assert np.max(np.abs(slides(_lr) - _scratch_run(w0, cfg))) > 1e-2


def test_step_is_pure() -> None:
    opt = SGD(lr=0.1, momentum=0.9, weight_decay=0.01)
    w, dw = np.ones(3), np.full(3, 0.5)
    state = opt.init(w)
    w1, s1 = opt.step(w, dw, state)
    w2, s2 = opt.step(w1, dw, s1)
    np.testing.assert_array_equal(w, np.ones(3))
    np.testing.assert_array_equal(dw, np.full(3, 0.5))
    assert state.momentum_buffer is None and state.step == 0
    buf1 = s1.momentum_buffer.copy()
    opt.step(w2, dw, s2)
    np.testing.assert_array_equal(s1.momentum_buffer, buf1)
    assert isinstance(s2, SGDState) and s2.step == 2
    with pytest.raises(FrozenInstanceError):
        s1.step = 5  # frozen


def test_first_momentum_step_uses_the_gradient() -> None:
    """torch's convention: the buffer starts as g (not (1 - mu) g, not 0)."""
    opt = SGD(lr=1.0, momentum=0.9)
    w, s = opt.step(np.zeros(2), np.array([1.0, -2.0]), opt.init(np.zeros(2)))
    np.testing.assert_array_equal(w, [-1.0, 2.0])
    np.testing.assert_array_equal(s.momentum_buffer, [1.0, -2.0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(lr=-0.1), "learning rate"),
        (dict(lr=0.1, momentum=-0.5), "momentum"),
        (dict(lr=0.1, weight_decay=-1.0), "weight_decay"),
        (dict(lr=0.1, nesterov=True), "Nesterov"),
    ],
)
def test_validation_like_torch(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SGD(**kwargs)
    with pytest.raises(ValueError, match=match):
        TwinSGD([torch.nn.Parameter(torch.zeros(2))], **kwargs)
    with pytest.raises(ValueError, match=match):
        torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], **kwargs)


def test_step_rejects_bad_lr_and_shapes() -> None:
    opt = SGD(lr=0.1)
    with pytest.raises(ValueError, match="learning rate"):
        opt.step(np.ones(2), np.ones(2), opt.init(np.ones(2)), lr=-1.0)
    with pytest.raises(ValueError, match="shape"):
        opt.step(np.ones(2), np.ones(3), opt.init(np.ones(2)))


def test_twin_works_with_torch_lr_scheduler() -> None:
    w0 = np.random.default_rng(3).standard_normal(5)
    finals = []
    for cls in (TwinSGD, torch.optim.SGD):
        p = torch.nn.Parameter(torch.tensor(w0))
        opt = cls([p], lr=0.3, momentum=0.9, nesterov=True)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        for t in range(K):
            opt.zero_grad()
            p.grad = torch.as_tensor(_grad(p.detach().numpy().copy(), t))
            opt.step()
            sched.step()
        finals.append(p.detach().numpy().copy())
    np.testing.assert_allclose(finals[0], finals[1], rtol=1e-12, atol=1e-14)
