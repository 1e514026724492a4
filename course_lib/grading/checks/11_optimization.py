"""Hidden checks of exercise set 11, "Optimization" (``solutions/11_optimization.md``).

Every case is seeded; expected values come from the reference solution in the solution
notebook, computed by the grader process (see :mod:`course_lib.grading.spec`). The reference
agrees with :mod:`course_lib.scratch.optim` (``SGD``, ``Momentum``, ``RMSProp``, ``Adam``), with
``torch.optim`` (``SGD``, ``RMSprop``, ``Adam``) stepped from the same state, and, for the
schedule, with :mod:`course_lib.scratch.schedules` and torch's ``LinearLR`` + ``CosineAnnealingLR``
(``tests/test_grading_11_optimization.py``).

Most cases start from a state in the MIDDLE of a run: the course library's optimizer is run for
K steps with random gradients and a learning rate that changes at every step, and the state it
reaches (buffers and step count) is handed to the exercise's function. The hyperparameters are
mostly not the defaults, and the cases are chosen so that the usual slips change the answer:
weight decay applied after the momentum buffer or forgotten, a dampened buffer, the slides'
velocity with the wrong sign, alpha or the betas on the wrong term, eps inside the square root
(or, for Adam, added to the uncorrected root: eps of 1e-3 to 0.1 with small gradients), no bias
correction or a step count off by one, a state updated in place; for the schedule, a warmup that
starts at 0, a cosine over t_max instead of t_max - W, and steps given as 2-D arrays; for the
stability limit, rotated Hessians (whose largest diagonal entry is not the largest eigenvalue),
momentum (the limit 2 (1 + mu) / L), flat directions and a saddle (the smallest eigenvalue taken).
"""

import numpy as np

from course_lib.grading.spec import Case, Question
from course_lib.scratch import optim as lib


def _lrs(rng, k):
    """A learning rate that changes at every step."""
    return rng.uniform(0.01, 0.2, size=k)


def _mid_run(opt, w, rng, k, scale=1.0):
    """Run the library optimizer ``opt`` for k steps with random gradients and changing lrs;
    returns (w, state) after them."""
    state = opt.init(w)
    for lr in _lrs(rng, k):
        w, state = opt.step(w, scale * rng.normal(size=w.shape), state, lr=float(lr))
    return w, state


def _sgd_cases():
    rng = np.random.default_rng(11001)
    cases = []
    for shape, k, momentum, wd, note in (
        ((4, 3), 0, 0.9, 0.0, "first step (zero buffer), defaults"),
        ((5,), 6, 0.8, 0.0, "after 6 steps, momentum=0.8, no weight decay"),
        ((3, 2, 2), 9, 0.5, 0.05, "after 9 steps, momentum=0.5, weight_decay=0.05, (3, 2, 2)"),
        ((6, 4), 4, 0.0, 0.1, "momentum=0 (plain SGD), weight_decay=0.1"),
    ):
        w, state = _mid_run(lib.SGD(lr=0.1, momentum=momentum, weight_decay=wd), rng.normal(size=shape), rng, k)
        buf = np.zeros(shape) if state.momentum_buffer is None else state.momentum_buffer
        cases.append(Case(w, rng.normal(size=shape), {"momentum_buffer": buf, "step": state.step},
                          float(rng.uniform(0.01, 0.2)), momentum=momentum, weight_decay=wd, note=note))
    w, state = _mid_run(lib.SGD(lr=0.1, momentum=0.95, weight_decay=0.2), 3.0 * rng.normal(size=(2, 5)), rng, 5)
    cases.append(Case(w, rng.normal(size=(2, 5)), {"momentum_buffer": state.momentum_buffer, "step": state.step},
                      0.03, 0.95, 0.2, note="large weights, momentum and weight_decay given positionally"))
    return cases


def _slides_cases():
    rng = np.random.default_rng(11002)
    cases = []
    for shape, k, momentum, note in (
        ((4, 3), 0, 0.9, "first step (zero velocity), default momentum"),
        ((5,), 7, 0.5, "after 7 steps with changing lrs, momentum=0.5"),
        ((2, 3, 2), 3, 0.99, "after 3 steps, momentum=0.99, (2, 3, 2)"),
    ):
        w, state = _mid_run(lib.Momentum(lr=0.1, momentum=momentum), rng.normal(size=shape), rng, k)
        cases.append(Case(w, rng.normal(size=shape), {"velocity": state.velocity, "step": state.step},
                          float(rng.uniform(0.01, 0.2)), momentum=momentum, note=note))
    w, state = _mid_run(lib.Momentum(lr=0.1, momentum=0.7), rng.normal(size=(3, 3)), rng, 4)
    cases.append(Case(w, rng.normal(size=(3, 3)), {"velocity": state.velocity, "step": state.step}, 0.5, 0.7,
                      note="momentum given positionally"))
    return cases


def _rmsprop_cases():
    rng = np.random.default_rng(11003)
    cases = []
    for shape, k, alpha, eps, wd, scale, note in (
        ((4, 3), 0, 0.99, 1e-8, 0.0, 1.0, "first step, defaults"),
        ((5,), 8, 0.9, 1e-3, 0.0, 0.01, "after 8 steps, alpha=0.9, eps=1e-3, gradients of size 0.01"),
        ((3, 2, 2), 5, 0.5, 1e-6, 0.05, 1.0, "after 5 steps, alpha=0.5, weight_decay=0.05, (3, 2, 2)"),
        ((6, 2), 3, 0.95, 0.1, 0.1, 0.1, "eps=0.1 (far from the square root), weight_decay=0.1"),
    ):
        w, state = _mid_run(lib.RMSProp(lr=0.1, alpha=alpha, eps=eps, weight_decay=wd), rng.normal(size=shape),
                            rng, k, scale)
        cases.append(Case(w, scale * rng.normal(size=shape), {"square_avg": state.square_avg, "step": state.step},
                          float(rng.uniform(0.01, 0.2)), alpha=alpha, eps=eps, weight_decay=wd, note=note))
    w, state = _mid_run(lib.RMSProp(lr=0.1, alpha=0.8, eps=1e-4), rng.normal(size=(2, 4)), rng, 6)
    cases.append(Case(w, rng.normal(size=(2, 4)), {"square_avg": state.square_avg, "step": state.step}, 0.05, 0.8,
                      1e-4, note="alpha and eps given positionally"))
    return cases


def _adam_cases():
    rng = np.random.default_rng(11004)
    cases = []
    for shape, k, betas, eps, wd, scale, note in (
        ((4, 3), 0, (0.9, 0.999), 1e-8, 0.0, 1.0, "first step (t = 1), defaults"),
        ((5,), 1, (0.9, 0.999), 1e-8, 0.0, 1.0, "second step (t = 2): the bias correction still matters"),
        ((3, 2, 2), 10, (0.8, 0.95), 1e-3, 0.0, 0.01,
         "after 10 steps, betas=(0.8, 0.95), eps=1e-3, gradients of size 0.01"),
        ((6, 2), 4, (0.5, 0.9), 0.1, 0.05, 0.1, "eps=0.1, weight_decay=0.05"),
        ((3, 3), 25, (0.95, 0.99), 1e-6, 0.01, 1.0, "after 25 steps, betas=(0.95, 0.99), weight_decay=0.01"),
    ):
        w, state = _mid_run(lib.Adam(lr=0.1, betas=betas, eps=eps, weight_decay=wd), rng.normal(size=shape),
                            rng, k, scale)
        cases.append(Case(w, scale * rng.normal(size=shape),
                          {"exp_avg": state.exp_avg, "exp_avg_sq": state.exp_avg_sq, "step": state.step},
                          float(rng.uniform(0.01, 0.2)), betas=betas, eps=eps, weight_decay=wd, note=note))
    w, state = _mid_run(lib.Adam(lr=0.1, betas=(0.7, 0.9), eps=1e-2), rng.normal(size=(2, 4)), rng, 2, 0.1)
    cases.append(Case(w, 0.1 * rng.normal(size=(2, 4)),
                      {"exp_avg": state.exp_avg, "exp_avg_sq": state.exp_avg_sq, "step": state.step}, 0.05,
                      (0.7, 0.9), 1e-2, note="betas and eps given positionally, third step"))
    return cases


def _schedule_cases():
    return [
        Case(np.arange(40).reshape(5, 8), 0.3, 5, 30, 0.01, note="steps 0..39 as a (5, 8) array, W=5, t_max=30"),
        Case(np.arange(12), 1.0, 4, 12, note="steps 0..11, W=4, t_max=12, lr_min=0 by default"),
        Case(np.array([0, 3, 7, 20, 99, 100, 150]), 0.1, 0, 100, 1e-3, note="no warmup (W=0), t past t_max"),
        Case(0, 0.5, 10, 110, note="t=0 (an int): lr0 / W"),
        Case(9, 0.5, 10, 110, note="t=W-1: the end of the warmup"),
        Case(60, 0.5, 10, 110, lr_min=0.05, note="halfway through the cosine, lr_min by keyword"),
        Case(np.array([[2], [1]]), 0.2, warmup_steps=3, t_max=4, lr_min=0.1, note="a (2, 1) array, keywords"),
        Case(np.arange(9), 2.0, 1, 8, 0.5, note="W=1: no warmup to speak of"),
    ]


def _spd(rng, eigenvalues):
    """A symmetric matrix with the given eigenvalues and random eigenvectors (not diagonal)."""
    q, _ = np.linalg.qr(rng.normal(size=(len(eigenvalues), len(eigenvalues))))
    h = q @ np.diag(eigenvalues) @ q.T
    return (h + h.T) / 2.0


def _stability_cases():
    rng = np.random.default_rng(11006)
    return [
        Case(_spd(rng, [0.5, 3.0, 40.0]), note="a rotated Hessian, eigenvalues 0.5, 3, 40: no diagonal entry is L"),
        Case(_spd(rng, [1.0, 2.0, 7.0, 9.0]), 0.9, note="momentum 0.9"),
        Case(np.diag([1.0, 25.0]), note="the chapter's diag(1, 25)"),
        Case(_spd(rng, [0.0, 0.0, 4.0]), momentum=0.5, note="a singular Hessian (flat directions), momentum=0.5"),
        Case([[3.0]], 0.99, note="a 1 x 1 Hessian given as a list, momentum 0.99"),
        Case(_spd(rng, [-0.5, 2.0, 6.0]), note="an indefinite Hessian (a saddle): the largest eigenvalue counts"),
    ]


QUESTIONS = [
    Question(
        "q1_sgd_momentum_step",
        function="sgd_momentum_step",
        points=3,
        cases=_sgd_cases,
        outputs=("w_new", "state_new"),
        rtol=1e-9,
        atol=1e-12,
        title="SGD with momentum and weight decay, torch's form",
    ),
    Question(
        "q2_slides_momentum_step",
        function="slides_momentum_step",
        points=2,
        cases=_slides_cases,
        outputs=("w_new", "state_new"),
        rtol=1e-9,
        atol=1e-12,
        title="momentum in the slides' velocity form",
    ),
    Question(
        "q3_rmsprop_step",
        function="rmsprop_step",
        points=2,
        cases=_rmsprop_cases,
        outputs=("w_new", "state_new"),
        rtol=1e-9,
        atol=1e-12,
        title="RMSProp, torch's form",
    ),
    Question(
        "q4_adam_step",
        function="adam_step",
        points=3,
        cases=_adam_cases,
        outputs=("w_new", "state_new"),
        rtol=1e-9,
        atol=1e-12,
        title="Adam with bias correction, torch's placement of eps",
    ),
    Question(
        "q5_cosine_with_warmup",
        function="cosine_with_warmup",
        points=2,
        cases=_schedule_cases,
        outputs=(),
        rtol=1e-9,
        atol=1e-12,
        title="linear warmup, then cosine annealing",
    ),
    Question(
        "q6_max_stable_lr",
        function="max_stable_lr",
        points=1,
        cases=_stability_cases,
        outputs=(),
        rtol=1e-9,
        atol=1e-12,
        title="the stability limit of gradient descent with momentum",
    ),
]
