"""Hidden checks of exercise set 06, "Batch normalization" (``solutions/06_batchnorm.md``).

Every case is seeded; expected values come from the reference solution in the solution
notebook, computed by the grader process (see :mod:`course_lib.grading.spec`). The reference
itself agrees with :mod:`course_lib.scratch.batchnorm` (``BatchNorm``, ``update_running``,
``inference``, ``SpatialBatchNorm``, ``fold_into_linear``), with ``torch.nn.functional.batch_norm``
and, for the backward pass, with central differences on every case below
(``tests/test_grading_06_batchnorm.py``).

The caches handed to the backward pass are built by the course library's forward pass, in the
dictionary form the exercise prescribes. The cases are chosen so that the usual slips change
the answer: a large ``eps`` (the root taken before adding it), batches of 2 (biased against
unbiased variance), momentum 0 and 1 (which side it weights), channels with very different
means and scales (statistics over the wrong axes), non-square weights (rows scaled instead of
columns).
"""

import numpy as np

from course_lib.grading.spec import Case, Question
from course_lib.scratch.batchnorm import BatchNorm


def _features(rng, n, d, spread=3.0):
    """(N, D) features whose columns have different means and scales."""
    return rng.normal(size=(n, d)) * rng.uniform(0.5, spread, size=d) + rng.normal(scale=spread, size=d)


def _forward_cases():
    rng = np.random.default_rng(6001)
    return [
        Case(_features(rng, 8, 4), rng.normal(size=4), rng.normal(size=4), note="N=8, D=4, random gamma and beta"),
        Case(_features(rng, 2, 3), rng.normal(size=3), rng.normal(size=3), note="a batch of 2"),
        Case(_features(rng, 32, 6), np.ones(6), np.zeros(6), eps=0.1, note="a large eps=0.1, by keyword"),
        Case(rng.normal(size=(16, 2)) + 1e3, np.array([2.0, -1.0]), np.array([0.5, 0.0]), 1e-3,
             note="features near 1000, eps given positionally"),
        Case(_features(rng, 5, 1), np.array([3.0]), np.array([-2.0]), note="a single feature"),
    ]


def _cache_dict(x, gamma, eps=1e-5):
    """The cache of the exercise's batchnorm_forward, computed by the course library."""
    cache = BatchNorm.forward(x, gamma, np.zeros_like(gamma), eps=eps)[1]
    return {"x_hat": cache.xhat, "gamma": cache.gamma, "inv_std": cache.inv_std, "mean": cache.mean, "var": cache.var}


def _backward_cases():
    rng = np.random.default_rng(6002)
    cases = []
    for n, d, eps, note in (
        (6, 5, 1e-5, "N=6, D=5"),
        (2, 3, 1e-5, "a batch of 2"),
        (40, 4, 0.5, "N=40 with a large eps=0.5"),
        (10, 1, 1e-5, "a single feature"),
    ):
        cache = _cache_dict(_features(rng, n, d), rng.normal(size=d), eps)
        cases.append(Case(rng.normal(size=(n, d)), cache, note=note))
    x = _features(rng, 7, 3)
    cases.append(Case(np.tile(rng.normal(size=3), (7, 1)), _cache_dict(x, rng.normal(size=3)),
                      note="the same upstream gradient for every example: dx = 0"))
    return cases


def _running_cases():
    rng = np.random.default_rng(6003)
    return [
        Case(np.zeros(4), np.ones(4), _features(rng, 8, 4), note="the first update, from mean 0 and variance 1"),
        Case(rng.normal(size=3), rng.uniform(0.5, 3.0, size=3), _features(rng, 2, 3),
             note="a batch of 2: the unbiased variance is twice the biased one"),
        Case(rng.normal(size=3), rng.uniform(0.5, 3.0, size=3), _features(rng, 16, 3), momentum=0.9,
             note="momentum=0.9 weights the new batch"),
        Case(rng.normal(size=2), rng.uniform(0.5, 3.0, size=2), _features(rng, 5, 2), 1.0,
             note="momentum 1 (positional): the batch statistics alone"),
        Case(rng.normal(size=2), rng.uniform(0.5, 3.0, size=2), _features(rng, 5, 2), momentum=0.0,
             note="momentum 0: the estimates do not move"),
    ]


def _inference_cases():
    rng = np.random.default_rng(6004)
    cases = []
    for n, d, note in ((6, 4, "N=6, D=4"), (1, 5, "a single example"), (20, 3, "N=20, D=3")):
        cases.append(Case(_features(rng, n, d), rng.normal(scale=2.0, size=d), rng.uniform(0.1, 4.0, size=d),
                          rng.normal(size=d), rng.normal(size=d), note=note))
    cases.append(Case(_features(rng, 4, 2), rng.normal(size=2), rng.uniform(0.1, 4.0, size=2), rng.normal(size=2),
                      rng.normal(size=2), eps=0.2, note="a large eps=0.2, by keyword"))
    return cases


def _maps(rng, n, c, h, w):
    """(N, C, H, W) maps whose channels have very different means and scales."""
    scale = rng.uniform(0.5, 5.0, size=c)[:, None, None]
    shift = rng.normal(scale=4.0, size=c)[:, None, None]
    return rng.normal(size=(n, c, h, w)) * scale + shift


def _spatial_cases():
    rng = np.random.default_rng(6005)
    return [
        Case(_maps(rng, 2, 3, 4, 5), rng.normal(size=3), rng.normal(size=3), note="N=2, C=3, 4x5 maps"),
        Case(_maps(rng, 1, 4, 3, 3), rng.normal(size=4), rng.normal(size=4), note="a single example (N=1)"),
        Case(_maps(rng, 6, 2, 1, 1), rng.normal(size=2), rng.normal(size=2), note="1x1 maps: plain batch norm"),
        Case(_maps(rng, 3, 5, 2, 7), np.ones(5), np.zeros(5), eps=0.3, note="a large eps=0.3, by keyword"),
        Case(_maps(rng, 4, 1, 6, 3), np.array([-1.5]), np.array([2.0]), note="one channel, negative gamma"),
    ]


def _fold_cases():
    rng = np.random.default_rng(6006)
    cases = []
    for d_in, d_out, eps, note in (
        (5, 3, 1e-5, "D_in=5, D_out=3"),
        (2, 6, 1e-5, "D_in=2, D_out=6"),
        (4, 4, 0.25, "a square weight with a large eps=0.25"),
        (7, 1, 1e-5, "a single output feature"),
    ):
        cases.append(Case(rng.normal(size=(d_in, d_out)), rng.normal(size=d_out), rng.normal(size=d_out),
                          rng.uniform(0.1, 3.0, size=d_out), rng.normal(size=d_out), rng.normal(size=d_out), eps,
                          note=note))
    return cases


QUESTIONS = [
    Question(
        "q1_batchnorm_forward",
        function="batchnorm_forward",
        points=2,
        cases=_forward_cases,
        outputs=("out", "cache"),
        rtol=1e-7,
        atol=1e-9,
        title="batch norm forward pass, training mode",
    ),
    Question(
        "q2_batchnorm_backward",
        function="batchnorm_backward",
        points=3,
        cases=_backward_cases,
        outputs=("dx", "dgamma", "dbeta"),
        rtol=1e-7,
        atol=1e-9,
        title="batch norm backward pass",
    ),
    Question(
        "q3_update_running_stats",
        function="update_running_stats",
        points=2,
        cases=_running_cases,
        outputs=("new_mean", "new_var"),
        rtol=1e-9,
        atol=1e-12,
        title="running mean and unbiased running variance",
    ),
    Question(
        "q4_batchnorm_inference",
        function="batchnorm_inference",
        points=1,
        cases=_inference_cases,
        outputs=(),
        rtol=1e-9,
        atol=1e-12,
        title="batch norm at test time",
    ),
    Question(
        "q5_spatial_batchnorm_forward",
        function="spatial_batchnorm_forward",
        points=2,
        cases=_spatial_cases,
        outputs=(),
        rtol=1e-7,
        atol=1e-9,
        title="spatial batch norm on (N, C, H, W) maps",
    ),
    Question(
        "q6_fold_batchnorm",
        function="fold_batchnorm",
        points=2,
        cases=_fold_cases,
        outputs=("w_folded", "b_folded"),
        rtol=1e-9,
        atol=1e-12,
        title="folding batch norm into the linear layer",
    ),
]
