"""Hidden checks of exercise set 07, "What batch norm fixes" (``solutions/07_batchnorm_fixes.md``).

Every case is seeded; expected values come from the reference solution in the solution
notebook, computed by the grader process (see :mod:`course_lib.grading.spec`).

The training-mode cases include batches of two and three examples (where keeping the biased
variance in the running estimate is far off), momenta other than torch's 0.1 (so that swapping
the weights of the old and the new statistics shows) and a large ``eps`` (so that ``eps`` outside
the square root shows). The backward cases get their cache from the course library
(:class:`~course_lib.scratch.linear.Linear`, :class:`~course_lib.scratch.batchnorm.BatchNorm`),
with no batch-norm output close to 0, so the ReLU mask is unambiguous. The saturation cases put
values exactly on the threshold (strictly beyond it counts).
"""

import math

import numpy as np

from course_lib.grading.spec import Case, Question
from course_lib.scratch.batchnorm import BatchNorm
from course_lib.scratch.linear import Linear


def _block_args(rng, n, d, m, scale=1.0):
    """x (n, d), w (d, m), b, gamma, beta, running_mean, running_var (m,)."""
    return (
        scale * rng.normal(size=(n, d)) + rng.normal(size=d),
        rng.normal(size=(d, m)) / math.sqrt(d),
        rng.normal(size=m),
        rng.uniform(0.5, 2.0, size=m) * rng.choice([-1.0, 1.0], size=m),
        rng.normal(size=m),
        rng.normal(size=m),
        rng.uniform(0.5, 3.0, size=m),
    )


def _forward_cases():
    rng = np.random.default_rng(7001)
    return [
        Case(*_block_args(rng, 8, 5, 4), note="N=8, D=5, M=4, default momentum and eps"),
        Case(*_block_args(rng, 2, 3, 3), momentum=0.5, note="a batch of 2 (unbiased running variance), momentum 0.5"),
        Case(*_block_args(rng, 3, 4, 6), 0.9, note="a batch of 3, momentum 0.9 given positionally"),
        Case(*_block_args(rng, 16, 6, 5, scale=30.0), momentum=0.2, eps=0.1,
             note="inputs of scale 30, eps = 0.1 (inside the square root)"),
        Case(*_block_args(rng, 5, 1, 2), momentum=0.0, note="momentum 0: the running statistics stay"),
        Case(*_block_args(rng, 12, 7, 3), momentum=1.0, eps=1e-3,
             note="momentum 1: the running statistics are the batch's"),
    ]


def _eval_cases():
    rng = np.random.default_rng(7002)
    return [
        Case(*_block_args(rng, 6, 4, 5), note="N=6, D=4, M=5, default eps"),
        Case(*_block_args(rng, 1, 5, 3), note="a single example"),
        Case(*_block_args(rng, 4, 3, 4, scale=20.0), eps=0.5, note="inputs of scale 20, eps = 0.5"),
        Case(*_block_args(rng, 7, 2, 6), 1e-2, note="eps = 1e-2 given positionally"),
    ]


def _cache(rng, n, d, m, eps=1e-5, beta_shift=0.0):
    """A cache of the reference layout built with the course library, with no |y| below 0.05."""
    while True:
        x, w, b, gamma, beta, _, _ = _block_args(rng, n, d, m)
        beta = beta + beta_shift
        z, _ = Linear.forward(x, w, b)
        y, c = BatchNorm.forward(z, gamma, beta, eps=eps)
        if np.abs(y).min() > 0.05:
            return {"x": x, "w": w, "xhat": c.xhat, "inv_std": c.inv_std, "gamma": gamma, "y": y}


def _backward_cases():
    rng = np.random.default_rng(7003)
    cases = []
    for n, d, m, note in ((6, 4, 3, "N=6, D=4, M=3"), (2, 3, 5, "a batch of 2"), (10, 8, 6, "N=10, D=8, M=6")):
        cases.append(Case(rng.normal(size=(n, m)), _cache(rng, n, d, m), note=note))
    dead = _cache(rng, 7, 5, 4, eps=1e-3, beta_shift=np.array([0.0, -12.0, 0.0, 12.0]))
    cases.append(Case(rng.normal(size=(7, 4)), dead,
                      note="a unit whose ReLU is off on the whole batch and one that is always on"))
    return cases


def _percentile_cases():
    rng = np.random.default_rng(7004)
    ints = rng.integers(-5, 6, size=(9, 3)).astype(np.float64)  # ties
    return [
        Case(rng.normal(size=(6, 4)), note="N=6, D=4, default 15/50/85"),
        Case(3.0 * rng.normal(size=(40, 7)) + 2.0, note="N=40, D=7"),
        Case(rng.normal(size=(5, 3)), q=[0, 10, 50, 90, 100], note="five percentages, 0 and 100 included"),
        Case(ints, np.array([25.0, 75.0]), note="integer values with ties, quartiles as an array"),
        Case(rng.normal(size=(1, 5)), note="a single example: every percentile is that value"),
        Case(rng.exponential(size=(11, 2)), (33,), note="a skewed distribution, one percentage"),
    ]


def _saturation_cases():
    rng = np.random.default_rng(7005)
    t = math.log(19.0)
    on_threshold = np.array([[t, -t, 2.0, -2.0], [t + 1e-9, -t - 1e-9, 0.0, 5.0]])
    return [
        Case(4.0 * rng.normal(size=(20, 10)), note="a 20 x 10 batch of spread 4, default threshold ln 19"),
        Case(on_threshold, note="values exactly at +-ln 19 do not count"),
        Case(on_threshold, 2.0, note="threshold 2 given positionally: exactly +-2 does not count"),
        Case(-np.abs(6.0 * rng.normal(size=(3, 4, 5))), threshold=3.0,
             note="only negative inputs (the lower tail), a 3-D array"),
        Case(rng.integers(-6, 7, size=(8, 8)), threshold=4, note="integer inputs and threshold"),
        Case(0.1 * rng.normal(size=50), note="inputs near 0: nothing saturated"),
    ]


QUESTIONS = [
    Question(
        "q1_bn_block_forward",
        function="bn_block_forward",
        points=3,
        cases=_forward_cases,
        outputs=("out", "cache", "new_running_mean", "new_running_var"),
        rtol=1e-7,
        atol=1e-9,
        title="Linear -> BatchNorm -> ReLU, training mode, running statistics",
    ),
    Question(
        "q2_bn_block_eval",
        function="bn_block_eval",
        points=1,
        cases=_eval_cases,
        outputs=(),
        rtol=1e-7,
        atol=1e-9,
        title="Linear -> BatchNorm -> ReLU, evaluation mode",
    ),
    Question(
        "q3_bn_block_backward",
        function="bn_block_backward",
        points=3,
        cases=_backward_cases,
        outputs=("dx", "dw", "db", "dgamma", "dbeta"),
        rtol=1e-6,
        atol=1e-8,
        title="backward pass of the block",
    ),
    Question(
        "q4_input_percentiles",
        function="input_percentiles",
        points=2,
        cases=_percentile_cases,
        outputs=(),
        rtol=1e-9,
        atol=1e-12,
        title="percentiles of every unit's input over the batch",
    ),
    Question(
        "q5_saturated_fraction",
        function="saturated_fraction",
        points=1,
        cases=_saturation_cases,
        outputs=(),
        rtol=1e-12,
        atol=1e-12,
        title="fraction of saturated sigmoid inputs",
    ),
]
