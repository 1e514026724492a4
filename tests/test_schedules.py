"""Schedules: scratch ``lr_at(t)`` vs the twin's ``torch.optim.lr_scheduler`` objects over T steps,
the slides' formulas, properties (hypothesis) and argument checks."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.scratch import schedules as ss
from course_lib.scratch.optim import Momentum
from course_lib.torch_impl import optim as twin_optim
from course_lib.torch_impl import schedules as ts

T = 40
LR0 = 0.3


def _torch_lrs(make_scheduler, lr0: float = LR0, steps: int = T, opt_cls=torch.optim.SGD, key: str = "lr") -> list:
    """The value of ``group[key]`` used at each of ``steps`` optimizer steps (scheduler stepped after each)."""
    p = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    opt = opt_cls([p], lr=lr0)
    sched = make_scheduler(opt)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "scheduler.step() before optimizer.step()" or deprecation warnings
        for _ in range(steps):
            out.append(float(opt.param_groups[0][key]))
            p.grad = torch.ones_like(p)
            opt.step()
            sched.step()
    return out


def _scratch_lrs(lr_at, steps: int = T) -> list:
    return [lr_at(t) for t in range(steps)]


CASES = [
    ("constant", lambda: ss.constant(LR0), lambda o: ts.constant(o)),
    ("step_decay", lambda: ss.step_decay(LR0, 7, 0.5), lambda o: ts.step_decay(o, 7, 0.5)),
    ("step_decay_default_gamma", lambda: ss.step_decay(LR0, 10), lambda o: ts.step_decay(o, 10)),
    ("exponential_decay", lambda: ss.exponential_decay(LR0, 0.08), lambda o: ts.exponential_decay(o, 0.08)),
    ("inverse_time_decay", lambda: ss.inverse_time_decay(LR0, 0.25), lambda o: ts.inverse_time_decay(o, 0.25)),
    ("cosine", lambda: ss.cosine(LR0, T - 1, 0.01), lambda o: ts.cosine(o, T - 1, 0.01)),
    ("cosine_to_zero", lambda: ss.cosine(LR0, T - 1), lambda o: ts.cosine(o, T - 1)),
    ("warmup", lambda: ss.linear_warmup(LR0, 6), lambda o: ts.linear_warmup(o, 6)),
    ("warmup_1", lambda: ss.linear_warmup(LR0, 1), lambda o: ts.linear_warmup(o, 1)),
    (
        "warmup_then_cosine",
        lambda: ss.linear_warmup(LR0, 5, after=ss.cosine(LR0, T - 6, 0.02)),
        lambda o: ts.linear_warmup(o, 5, after=ts.cosine(o, T - 6, 0.02)),
    ),
    (
        "warmup_then_step",
        lambda: ss.linear_warmup(LR0, 4, after=ss.step_decay(LR0, 5, 0.5)),
        lambda o: ts.linear_warmup(o, 4, after=ts.step_decay(o, 5, 0.5)),
    ),
]


@pytest.mark.parametrize("name, scratch, twin", CASES, ids=[c[0] for c in CASES])
def test_scratch_schedule_equals_torch_scheduler(name, scratch, twin) -> None:
    expected = _torch_lrs(twin)
    got = _scratch_lrs(scratch())
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert len(set(got)) == 1 if name in ("constant", "warmup_1") else len(set(got)) > 2  # not vacuous


def test_the_slides_formulas() -> None:
    """step: halve every few epochs; exponential: a0 e^{-kt}; 1/t: a0 / (1 + kt)."""
    a0, k = 0.1, 0.05
    halve = ss.step_decay(a0, 3, gamma=0.5)
    assert [halve(t) for t in range(7)] == [a0, a0, a0, a0 / 2, a0 / 2, a0 / 2, a0 / 4]
    for t in (0, 1, 10, 100):
        assert ss.exponential_decay(a0, k)(t) == pytest.approx(a0 * math.exp(-k * t), rel=1e-15)
        assert ss.inverse_time_decay(a0, k)(t) == pytest.approx(a0 / (1 + k * t), rel=1e-15)
        assert ss.constant(a0)(t) == a0


@settings(max_examples=40, deadline=None)
@given(lr0=st.floats(1e-4, 10.0), k=st.floats(0.0, 2.0), t=st.integers(0, 200))
def test_exponential_decay_is_exponential_lr_with_gamma_e_minus_k(lr0: float, k: float, t: int) -> None:
    """torch's ExponentialLR multiplies by gamma each step: alpha0 gamma^t with gamma = e^{-k}."""
    assert ss.exponential_decay(lr0, k)(t) == pytest.approx(lr0 * math.exp(-k) ** t, rel=1e-11, abs=1e-300)


@settings(max_examples=40, deadline=None)
@given(lr0=st.floats(1e-3, 1.0), frac=st.floats(0.0, 1.0), t_max=st.integers(1, 300))
def test_cosine_goes_monotonically_from_lr0_to_lr_min(lr0: float, frac: float, t_max: int) -> None:
    lr_min = frac * lr0
    lr_at = ss.cosine(lr0, t_max, lr_min)
    lrs = np.array([lr_at(t) for t in range(t_max + 5)])
    assert lrs[0] == pytest.approx(lr0, rel=1e-14)
    assert np.all(np.diff(lrs) <= 1e-15 * lr0)
    np.testing.assert_allclose(lrs[t_max:], lr_min, rtol=1e-12, atol=1e-15)
    if t_max % 2 == 0:
        assert lrs[t_max // 2] == pytest.approx((lr0 + lr_min) / 2, rel=1e-12)


def test_cosine_differs_from_torch_after_t_max() -> None:
    """Documented: torch's CosineAnnealingLR climbs back to lr0 at 2 t_max; the scratch one stays at lr_min."""
    t_max = 10
    torch_lrs = _torch_lrs(lambda o: ts.cosine(o, t_max), steps=2 * t_max + 1)
    scratch_lrs = _scratch_lrs(ss.cosine(LR0, t_max), steps=2 * t_max + 1)
    np.testing.assert_allclose(scratch_lrs[: t_max + 1], torch_lrs[: t_max + 1], rtol=1e-12, atol=1e-15)
    assert torch_lrs[2 * t_max] == pytest.approx(LR0, rel=1e-9)
    assert scratch_lrs[2 * t_max] == 0.0


@settings(max_examples=40, deadline=None)
@given(lr0=st.floats(1e-4, 1.0), w=st.integers(1, 50))
def test_warmup_rises_linearly_to_lr0(lr0: float, w: int) -> None:
    lr_at = ss.linear_warmup(lr0, w)
    lrs = np.array([lr_at(t) for t in range(w + 3)])
    assert lrs[0] == pytest.approx(lr0 / w, rel=1e-14) and lrs[0] > 0
    np.testing.assert_allclose(np.diff(lrs[:w]), lr0 / w, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(lrs[w - 1 :], lr0, rtol=1e-14)


def test_warmup_hands_over_to_after_at_its_own_t0() -> None:
    after = ss.step_decay(0.2, 2, 0.5)
    lr_at = ss.linear_warmup(0.2, 3, after=after)
    assert [lr_at(t) for t in range(3, 10)] == [after(t) for t in range(7)]


def test_momentum_annealing_values() -> None:
    mu_at = ss.momentum_annealing(steps=10)
    assert mu_at(0) == 0.5 and mu_at(10) == pytest.approx(0.99) and mu_at(1000) == pytest.approx(0.99)
    assert mu_at(5) == pytest.approx(0.745)
    assert np.all(np.diff([mu_at(t) for t in range(15)]) >= 0)
    assert ss.momentum_annealing(0.9, 0.5, steps=4)(4) == 0.5  # may also go down


def test_momentum_annealing_twin_sets_torch_momentum() -> None:
    """The twin writes mu_at(t) into group["momentum"] before step t, for torch's SGD and the twins."""
    mu_at = ss.momentum_annealing(0.5, 0.95, steps=12)
    expected = _scratch_lrs(mu_at, steps=20)
    for cls in (torch.optim.SGD, twin_optim.Momentum):
        got = _torch_lrs(lambda o: ts.momentum_annealing(o, 0.5, 0.95, steps=12), steps=20, opt_cls=cls,
                         key="momentum")
        np.testing.assert_allclose(got, expected, rtol=1e-15)


def test_annealed_momentum_trajectories_agree_at_constant_lr() -> None:
    """Scratch Momentum stepped with a fresh object per step (momentum=mu_at(t)) == torch SGD with the
    momentum scheduler: at a constant lr, v = -lr b holds whatever mu does."""
    lr, steps = 0.05, 15
    mu_at = ss.momentum_annealing(0.5, 0.99, steps=10)
    w0 = np.random.default_rng(0).standard_normal(4)

    def grad(w: np.ndarray, t: int) -> np.ndarray:
        return np.sin(w + t) + w

    w, state = w0.copy(), Momentum(lr).init(w0)
    for t in range(steps):
        w, state = Momentum(lr, momentum=mu_at(t)).step(w, grad(w, t), state)

    p = torch.nn.Parameter(torch.tensor(w0))
    opt = torch.optim.SGD([p], lr=lr, momentum=0.5)
    sched = ts.momentum_annealing(opt, 0.5, 0.99, steps=10)
    for t in range(steps):
        p.grad = torch.as_tensor(grad(p.detach().numpy().copy(), t))
        opt.step()
        sched.step()
    np.testing.assert_allclose(w, p.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_a_schedule_drives_the_twin_optimizers() -> None:
    """The twin optimizers keep lr in param_groups, so torch schedulers work on them as on torch.optim."""
    for cls, ref in ((twin_optim.Adam, torch.optim.Adam), (twin_optim.RMSProp, torch.optim.RMSprop)):
        finals = []
        for c in (cls, ref):
            p = torch.nn.Parameter(torch.linspace(-1, 1, 5, dtype=torch.float64))
            opt = c([p], lr=0.1)
            sched = ts.linear_warmup(opt, 3, after=ts.cosine(opt, 7))
            for t in range(10):
                p.grad = torch.sin(p.detach() * (t + 1))
                opt.step()
                sched.step()
            finals.append(p.detach().numpy().copy())
        np.testing.assert_allclose(finals[0], finals[1], rtol=1e-12, atol=1e-14)


BAD = [
    (lambda: ss.constant(-0.1), ValueError, "lr0"),
    (lambda: ss.step_decay(0.1, 0), ValueError, "step_size"),
    (lambda: ss.step_decay(0.1, 2.5), TypeError, "step_size"),
    (lambda: ss.step_decay(0.1, 2, gamma=0.0), ValueError, "gamma"),
    (lambda: ss.exponential_decay(0.1, -1.0), ValueError, "k"),
    (lambda: ss.inverse_time_decay(0.1, float("nan")), ValueError, "k"),
    (lambda: ss.cosine(0.1, 0), ValueError, "t_max"),
    (lambda: ss.cosine(0.1, 10, lr_min=0.2), ValueError, "lr_min"),
    (lambda: ss.linear_warmup(0.1, 0), ValueError, "warmup_steps"),
    (lambda: ss.linear_warmup(0.1, 3, after=0.5), TypeError, "after"),
    (lambda: ss.momentum_annealing(1.0, steps=5), ValueError, "mu0"),
    (lambda: ss.momentum_annealing(0.5, -0.1, steps=5), ValueError, "mu_final"),
    (lambda: ss.momentum_annealing(steps=0), ValueError, "steps"),
    (lambda: ss.constant(0.1)(-1), ValueError, "t"),
    (lambda: ss.constant(0.1)(1.5), TypeError, "t"),
]


@pytest.mark.parametrize("make, exc, match", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_arguments_are_named(make, exc, match) -> None:
    with pytest.raises(exc, match=match):
        make()


def test_twin_checks_its_arguments() -> None:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    with pytest.raises(ValueError, match="step_size"):
        ts.step_decay(opt, 0)
    with pytest.raises(TypeError, match="optimizer"):
        ts.cosine("not an optimizer", 10)
    with pytest.raises(TypeError, match="after"):
        ts.linear_warmup(opt, 3, after=ss.cosine(0.1, 5))
    other = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    with pytest.raises(ValueError, match="same optimizer"):
        ts.linear_warmup(opt, 3, after=ts.cosine(other, 5))
    adam = torch.optim.Adam([torch.nn.Parameter(torch.zeros(2))])
    with pytest.raises(ValueError, match="momentum"):
        ts.momentum_annealing(adam, steps=3)


def test_reprs_show_the_arguments() -> None:
    assert repr(ss.step_decay(0.1, 5, 0.5)) == "step_decay(lr0=0.1, step_size=5, gamma=0.5)"
    assert "cosine(lr0=0.1" in repr(ss.linear_warmup(0.1, 2, after=ss.cosine(0.1, 8)))
