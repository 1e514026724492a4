"""Optimizers: scratch and torch twins vs ``torch.optim``, K steps with a changing lr.

The lr halves (SGD) or shrinks by 0.7 (the adaptive methods) every step, so a slip between
torch's momentum convention (b = mu b + g, w -= lr b) and the slides' (v = mu v - lr g,
w += v) would show (TOOLCHAIN.md measured 0.16 after 5 steps); weight decay, Nesterov,
non-default eps / betas / alpha / rho / momentum are switched on in some configurations, and
negative controls show that a misplaced eps or a missing bias correction would fail.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import FrozenInstanceError

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from course_lib.scratch import optim as scratch_optim
from course_lib.scratch.optim import SGD, SGDState
from course_lib.torch_impl import optim as twin_optim
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


# ----- the adaptive methods vs torch.optim ---------------------------------------------------------
ADAPTIVE_LR0 = 0.1
# (scratch / twin name, torch.optim name, non-default hyperparameters)
ADAPTIVE = [
    ("Adagrad", "Adagrad", dict(lr_decay=0.01, eps=1e-3, initial_accumulator_value=0.1, weight_decay=0.05)),
    ("Adagrad", "Adagrad", dict()),
    ("RMSProp", "RMSprop", dict(alpha=0.9, eps=1e-3)),
    ("RMSProp", "RMSprop", dict(alpha=0.8, eps=1e-3, momentum=0.7, centered=True, weight_decay=0.01)),
    ("RMSProp", "RMSprop", dict(alpha=0.95, eps=1e-4, momentum=0.5)),
    ("Adadelta", "Adadelta", dict(rho=0.8, eps=1e-3, weight_decay=0.01)),
    ("Adadelta", "Adadelta", dict()),  # torch's defaults (the lr comes from the schedule)
    ("Adam", "Adam", dict(betas=(0.8, 0.95), eps=1e-3, weight_decay=0.01)),
    ("Adam", "Adam", dict(betas=(0.5, 0.9), eps=1e-2, amsgrad=True)),
    ("Adam", "Adam", dict()),
    ("AdamW", "AdamW", dict(betas=(0.8, 0.95), eps=1e-3, weight_decay=0.1)),
    ("AdamW", "AdamW", dict(betas=(0.7, 0.99), eps=1e-3, weight_decay=0.3, amsgrad=True)),
]
ADAPTIVE_IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(ADAPTIVE)]


def _lr_adaptive(t: int) -> float:
    return ADAPTIVE_LR0 * 0.7**t


def _torch_run_lr(opt_cls, w0: np.ndarray, kw: dict, lr_of_t, k: int = K) -> np.ndarray:
    """K steps of a torch optimizer with the lr written into the param group before each step."""
    p = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    opt = opt_cls([p], **kw)
    for t in range(k):
        if lr_of_t is not None:
            for group in opt.param_groups:
                group["lr"] = lr_of_t(t)
        opt.zero_grad()
        p.grad = torch.as_tensor(_grad(p.detach().numpy().copy(), t))
        opt.step()
    return p.detach().numpy().copy()


def _scratch_run_lr(opt, w0: np.ndarray, lr_of_t, k: int = K, scale: float = 1.0) -> np.ndarray:
    w, state = w0.copy(), opt.init(w0)
    for t in range(k):
        w, state = opt.step(w, scale * _grad(w, t), state, lr=None if lr_of_t is None else lr_of_t(t))
    return w


@pytest.mark.parametrize("name, torch_name, kw", ADAPTIVE, ids=ADAPTIVE_IDS)
def test_scratch_adaptive_matches_torch(name: str, torch_name: str, kw: dict) -> None:
    w0 = np.random.default_rng(4).standard_normal((3, 4))
    kw = {"lr": ADAPTIVE_LR0, **kw}
    expected = _torch_run_lr(getattr(torch.optim, torch_name), w0, kw, _lr_adaptive)
    assert np.max(np.abs(expected - w0)) > 1e-3  # the run moves: the comparison is not vacuous
    got = _scratch_run_lr(getattr(scratch_optim, name)(**kw), w0, _lr_adaptive)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name, torch_name, kw", ADAPTIVE, ids=ADAPTIVE_IDS)
def test_twin_adaptive_matches_torch(name: str, torch_name: str, kw: dict) -> None:
    w0 = np.random.default_rng(5).standard_normal((3, 4))
    kw = {"lr": ADAPTIVE_LR0, **kw}
    expected = _torch_run_lr(getattr(torch.optim, torch_name), w0, kw, _lr_adaptive)
    got = _torch_run_lr(getattr(twin_optim, name), w0, kw, _lr_adaptive)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_the_adam_check_is_sharp() -> None:
    """Negative controls: eps inside the square root, or no bias correction, would fail the check above."""
    w0 = np.random.default_rng(6).standard_normal((3, 4))
    b1, b2, eps = 0.8, 0.95, 1e-3
    expected = _torch_run_lr(torch.optim.Adam, w0, dict(lr=ADAPTIVE_LR0, betas=(b1, b2), eps=eps), _lr_adaptive)

    def variant(eps_inside: bool, bias_correction: bool) -> np.ndarray:
        w, m, v = w0.copy(), np.zeros_like(w0), np.zeros_like(w0)
        for t in range(K):
            g = _grad(w, t)
            m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
            c1, c2 = (1 - b1 ** (t + 1), 1 - b2 ** (t + 1)) if bias_correction else (1.0, 1.0)
            denom = np.sqrt(v / c2 + eps) if eps_inside else np.sqrt(v / c2) + eps
            w = w - _lr_adaptive(t) * (m / c1) / denom
        return w

    np.testing.assert_allclose(variant(False, True), expected, rtol=1e-12, atol=1e-14)  # the formula, written out
    assert np.max(np.abs(variant(True, True) - expected)) > 1e-4
    assert np.max(np.abs(variant(False, False) - expected)) > 1e-4


def test_adamw_decouples_the_decay() -> None:
    """AdamW(wd=0) == Adam(wd=0); with wd > 0, decoupled decay (AdamW) and L2 (Adam) differ."""
    w0 = np.random.default_rng(7).standard_normal(6)
    same = [_scratch_run_lr(cls(lr=0.1, weight_decay=0.0), w0, _lr_adaptive) for cls in (scratch_optim.Adam,
                                                                                         scratch_optim.AdamW)]
    np.testing.assert_array_equal(same[0], same[1])
    a, b = (_scratch_run_lr(cls(lr=0.1, weight_decay=0.2), w0, _lr_adaptive) for cls in (scratch_optim.Adam,
                                                                                          scratch_optim.AdamW))
    assert np.max(np.abs(a - b)) > 1e-3
    assert scratch_optim.AdamW().weight_decay == 1e-2 == torch.optim.AdamW([torch.zeros(1)]).defaults["weight_decay"]


ALL_NAMES = ["SGD", "Momentum", "Nesterov", "Adagrad", "RMSProp", "Adadelta", "Adam", "AdamW"]
TORCH_NAME = {"RMSProp": "RMSprop", "Momentum": None, "Nesterov": None}


@pytest.mark.parametrize("name", ALL_NAMES)
def test_defaults_and_names_are_torchs(name: str) -> None:
    """Every constructor argument has torch's name and torch's default; the twin has the scratch signature."""
    scratch_sig = inspect.signature(getattr(scratch_optim, name))
    twin_params = list(inspect.signature(getattr(twin_optim, name)).parameters.values())
    assert twin_params[0].name == "params"
    assert [(p.name, p.default) for p in twin_params[1:]] == [(p.name, p.default) for p in
                                                              scratch_sig.parameters.values()]
    torch_name = TORCH_NAME.get(name, name)
    if torch_name is None:
        return
    torch_params = inspect.signature(getattr(torch.optim, torch_name)).parameters
    for p in scratch_sig.parameters.values():
        assert p.name in torch_params, f"{name}: torch.optim.{torch_name} has no argument {p.name!r}"
        if p.default is not inspect.Parameter.empty and torch_params[p.name].default is not inspect.Parameter.empty:
            assert p.default == torch_params[p.name].default, f"{name}.{p.name}"


# ----- the slides' momentum forms -------------------------------------------------------------------
@pytest.mark.parametrize("nesterov", [False, True], ids=["momentum", "nesterov"])
def test_slides_momentum_equals_torch_sgd_at_constant_lr_only(nesterov: bool) -> None:
    """torch's b = mu b + g; w -= lr b is the slides' v = mu v - lr g; w += v with v = -lr b, at a
    constant lr; with a changing lr the trajectories differ (both asserted, scratch and twin)."""
    w0 = np.random.default_rng(8).standard_normal((3, 4))
    mu = 0.8
    cls, twin = (scratch_optim.Nesterov, twin_optim.Nesterov) if nesterov else (scratch_optim.Momentum,
                                                                                twin_optim.Momentum)
    sgd_kw = dict(lr=LR0, momentum=mu, nesterov=nesterov)
    torch_const = _torch_run_lr(torch.optim.SGD, w0, sgd_kw, None)
    torch_sched = _torch_run_lr(torch.optim.SGD, w0, sgd_kw, _lr)
    slides_const = _scratch_run_lr(cls(lr=LR0, momentum=mu), w0, None)
    slides_sched = _scratch_run_lr(cls(lr=LR0, momentum=mu), w0, _lr)
    np.testing.assert_allclose(slides_const, torch_const, rtol=1e-12, atol=1e-14)
    assert np.max(np.abs(slides_sched - torch_sched)) > 1e-2
    # the twin is the slides' form too, with the schedule
    np.testing.assert_allclose(
        _torch_run_lr(twin, w0, dict(lr=LR0, momentum=mu), _lr), slides_sched, rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(_torch_run_lr(twin, w0, dict(lr=LR0, momentum=mu), None), torch_const,
                               rtol=1e-12, atol=1e-14)


def test_nesterov_v_prev_form_is_the_look_ahead_gradient() -> None:
    """The stored point of the v_prev form is w + mu v of Nesterov's original look-ahead update."""
    w0 = np.random.default_rng(9).standard_normal(5)
    mu = 0.9
    w, v = w0.copy(), np.zeros_like(w0)  # the original form: gradient at the look-ahead point
    opt = scratch_optim.Nesterov(lr=LR0, momentum=mu)
    wt, state = w0.copy(), opt.init(w0)  # stores w~ = w + mu v; with v_0 = 0 it starts at w0
    for t in range(K):
        v = mu * v - _lr(t) * _grad(w + mu * v, t)
        w = w + v
        wt, state = opt.step(wt, _grad(wt, t), state, lr=_lr(t))
        np.testing.assert_allclose(wt, w + mu * v, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(state.velocity, v, rtol=1e-12, atol=1e-14)


# ----- purity, state and validation for every optimizer -------------------------------------------
def _make(name: str):
    kw = dict(lr=0.1)
    if name == "SGD":
        kw.update(momentum=0.9, nesterov=True, weight_decay=0.01)
    if name == "RMSProp":
        kw.update(momentum=0.5, centered=True)
    if name in ("Adam", "AdamW"):
        kw.update(amsgrad=True, weight_decay=0.1)
    return getattr(scratch_optim, name)(**kw)


def _arrays(state) -> dict:
    return {f.name: getattr(state, f.name) for f in dataclasses.fields(state)
            if isinstance(getattr(state, f.name), np.ndarray)}


@pytest.mark.parametrize("name", ALL_NAMES)
def test_every_step_is_pure(name: str) -> None:
    opt = _make(name)
    w, dw = np.linspace(-1.0, 1.0, 6).reshape(2, 3), np.linspace(0.5, -0.3, 6).reshape(2, 3)
    w_copy, dw_copy = w.copy(), dw.copy()
    s0 = opt.init(w)
    s0_copy = {k: a.copy() for k, a in _arrays(s0).items()}
    w1, s1 = opt.step(w, dw, s0)
    s1_copy = {k: a.copy() for k, a in _arrays(s1).items()}
    w2, s2 = opt.step(w1, dw, s1)
    np.testing.assert_array_equal(w, w_copy)
    np.testing.assert_array_equal(dw, dw_copy)
    for before, state in ((s0_copy, s0), (s1_copy, s1)):
        for k, a in _arrays(state).items():
            np.testing.assert_array_equal(a, before[k])
    assert s2.step == 2 and w2.shape == w.shape and w2.dtype == np.float64
    assert not np.array_equal(w2, w1)
    with pytest.raises(FrozenInstanceError):
        s1.step = 7
    assert name in repr(opt)


@pytest.mark.parametrize("name", ALL_NAMES[1:])
def test_step_rejects_a_foreign_or_misshaped_state(name: str) -> None:
    opt = _make(name)
    w = np.ones(3)
    with pytest.raises(TypeError, match="state"):
        opt.step(w, w, SGDState())
    with pytest.raises(ValueError, match="shape"):
        opt.step(w, w, opt.init(np.ones(4)))
    with pytest.raises(ValueError, match="shape"):
        opt.step(w, np.ones(4), opt.init(w))
    with pytest.raises(ValueError, match="learning rate"):
        opt.step(w, w, opt.init(w), lr=-0.5)


BAD = [
    ("Momentum", dict(lr=-0.1), ValueError, "lr=-0.1"),
    ("Momentum", dict(lr=0.1, momentum=1.0), ValueError, "momentum=1.0"),
    ("Nesterov", dict(lr=0.1, momentum=-0.2), ValueError, "momentum=-0.2"),
    ("Adagrad", dict(lr=-1.0), ValueError, "lr=-1.0"),
    ("Adagrad", dict(eps=0.0), ValueError, "eps=0.0"),
    ("Adagrad", dict(lr_decay=-0.1), ValueError, "lr_decay=-0.1"),
    ("Adagrad", dict(initial_accumulator_value=-1.0), ValueError, "initial_accumulator_value"),
    ("RMSProp", dict(alpha=1.0), ValueError, "alpha=1.0"),
    ("RMSProp", dict(eps=-1e-8), ValueError, "eps=-1e-08"),
    ("RMSProp", dict(momentum=-0.5), ValueError, "momentum=-0.5"),
    ("Adadelta", dict(rho=1.5), ValueError, "rho=1.5"),
    ("Adadelta", dict(eps=0.0), ValueError, "eps=0.0"),
    ("Adam", dict(betas=(1.0, 0.999)), ValueError, r"betas\[0\]=1.0"),
    ("Adam", dict(betas=(0.9, -0.1)), ValueError, r"betas\[1\]=-0.1"),
    ("Adam", dict(betas=0.9), TypeError, "betas"),
    ("Adam", dict(eps=0.0), ValueError, "eps=0.0"),
    ("Adam", dict(lr="0.1"), TypeError, "lr must be a real number"),
    ("AdamW", dict(weight_decay=-0.01), ValueError, "weight_decay=-0.01"),
    ("AdamW", dict(betas=(0.9, 1.0)), ValueError, r"betas\[1\]=1.0"),
    ("SGD", dict(lr=float("nan")), ValueError, "learning rate"),
]


@pytest.mark.parametrize("name, kwargs, exc, match", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_hyperparameters_are_named(name: str, kwargs: dict, exc: type, match: str) -> None:
    kwargs = dict(kwargs)
    if name in ("Momentum", "Nesterov", "SGD"):
        kwargs.setdefault("lr", 0.1)
    with pytest.raises(exc, match=match):
        getattr(scratch_optim, name)(**kwargs)
    with pytest.raises(exc, match=match):
        getattr(twin_optim, name)([torch.nn.Parameter(torch.zeros(2))], **kwargs)


# ----- properties ------------------------------------------------------------------------------------
_grads = arrays(
    np.float64,
    st.integers(1, 6),
    elements=st.floats(1e-3, 1e3).flatmap(lambda x: st.sampled_from([x, -x])),
)


@settings(max_examples=50, deadline=None)
@given(g=_grads, lr=st.floats(1e-4, 1.0), b1=st.floats(0.0, 0.99), b2=st.floats(0.0, 0.999))
def test_adam_first_step_has_size_lr(g: np.ndarray, lr: float, b1: float, b2: float) -> None:
    """With eps -> 0 Adam's first step is -lr * sign(g): size lr on every coordinate, whatever |g|."""
    opt = scratch_optim.Adam(lr=lr, betas=(b1, b2), eps=1e-30)
    w0 = np.zeros_like(g)
    w1, _ = opt.step(w0, g, opt.init(w0))
    np.testing.assert_allclose(w1, -lr * np.sign(g), rtol=1e-12, atol=0)


@settings(max_examples=30, deadline=None)
@given(
    name=st.sampled_from(["Adam", "AdamW", "Adagrad", "RMSProp"]),
    c=st.floats(1e-3, 1e3),
    seed=st.integers(0, 2**16),
)
def test_adaptive_methods_ignore_the_scale_of_the_gradient(name: str, c: float, seed: int) -> None:
    """Multiplying every gradient by c > 0 leaves the trajectory unchanged (eps -> 0, no weight decay)."""
    kw = dict(lr=0.05, eps=1e-30)
    if name == "AdamW":
        kw["weight_decay"] = 0.0
    opt = getattr(scratch_optim, name)(**kw)
    w0 = np.random.default_rng(seed).standard_normal(5)
    np.testing.assert_allclose(
        _scratch_run_lr(opt, w0, _lr_adaptive, k=5, scale=c), _scratch_run_lr(opt, w0, _lr_adaptive, k=5),
        rtol=1e-9, atol=1e-12,
    )


def test_sgd_is_not_scale_invariant() -> None:
    """The control for the property above: plain SGD's step grows with the gradient."""
    opt = SGD(lr=0.05)
    w0 = np.random.default_rng(0).standard_normal(5)
    assert np.max(np.abs(_scratch_run_lr(opt, w0, None, k=5, scale=3.0) - _scratch_run_lr(opt, w0, None, k=5))) > 1e-2


def test_step_rejects_a_state_made_for_other_hyperparameters() -> None:
    w = np.ones(3)
    with pytest.raises(ValueError, match="max_exp_avg_sq"):
        scratch_optim.Adam(amsgrad=True).step(w, w, scratch_optim.Adam().init(w))
    with pytest.raises(ValueError, match="grad_avg"):
        scratch_optim.RMSProp().step(w, w, scratch_optim.RMSProp(centered=True).init(w))
    with pytest.raises(ValueError, match="momentum_buffer"):
        scratch_optim.RMSProp(momentum=0.9).step(w, w, scratch_optim.RMSProp().init(w))
