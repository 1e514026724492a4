"""Hidden checks of exercise set 10, "Dropout" (``solutions/10_dropout.md``).

Every case is seeded; expected values come from the reference solution in the solution
notebook, computed by the grader process (see :mod:`course_lib.grading.spec`). The reference
agrees with :mod:`course_lib.scratch.dropout` (``Dropout``, ``ScaledDropout``,
``scale_weights``, ``mc_predict``, ``max_norm``), with its torch twin and ``torch.renorm``, and,
for the expectation over masks, with a Monte-Carlo estimate (``tests/test_grading_10_dropout.py``).

Masks are bool keep masks drawn as ``sample_mask`` draws them. The random passes of
Monte-Carlo dropout are graded deterministically: each case hands both sides a fresh generator
with the same seed (an :class:`Expr`), and the network ``forward(x, mask)`` is an :class:`Expr`
that embeds its weights as literal lists (``repr`` of a float round-trips exactly).

The cases are chosen so that the usual slips change the answer: drop probabilities other than
0.5 (p taken as the keep probability, a uniform average over masks), test-time calls with and
without a mask (scaling at test time), non-zero biases (the bias scaled with the weights),
scores near 1000 (a softmax without the max shift overflows), weight matrices with columns
inside, outside and exactly at zero norm, and non-square (rows projected instead of columns).
"""

import numpy as np

from course_lib.grading.spec import Case, Expr, Question


def _lit(a) -> str:
    """An array as a Python literal evaluated with ``np`` in scope."""
    return f"np.array({np.asarray(a, dtype=np.float64).tolist()!r})"


def _rng(seed):
    return Expr(f"np.random.default_rng({seed})")


def _mask(rng, shape, p):
    """A keep mask as course_lib.scratch.dropout.sample_mask draws it."""
    return rng.random(shape) >= p


def _forward_cases():
    rng = np.random.default_rng(10001)
    x1, x2, x3 = rng.normal(size=(6, 5)), rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 7))
    return [
        Case(x1, _mask(rng, x1.shape, 0.5), 0.5, note="p=0.5, (6, 5)"),
        Case(x2, _mask(rng, x2.shape, 0.2), 0.2, note="p=0.2 (the usual input dropout), (N, C, L) input"),
        Case(x3, _mask(rng, x3.shape, 0.8), 0.8, True, note="p=0.8, training given positionally"),
        Case(x1, None, 0.3, training=False, note="test time without a mask"),
        Case(x3, _mask(rng, x3.shape, 0.6), 0.6, training=False, note="test time with a mask (not used)"),
        Case(x1, np.ones(x1.shape, dtype=bool), 0.0, note="p=0: the identity"),
    ]


def _backward_cases():
    rng = np.random.default_rng(10002)
    d1, d2 = rng.normal(size=(5, 4)), rng.normal(size=(3, 2, 5))
    return [
        Case(d1, _mask(rng, d1.shape, 0.5), 0.5, note="p=0.5, (5, 4)"),
        Case(d2, _mask(rng, d2.shape, 0.25), 0.25, note="p=0.25, (N, C, L)"),
        Case(d1, _mask(rng, d1.shape, 0.9), p=0.9, note="p=0.9 by keyword"),
        Case(d2, None, 0.4, training=False, note="test time: the gradient passes unchanged"),
    ]


def _scaled_cases():
    rng = np.random.default_rng(10003)
    cases = []
    for n, d_in, d_out, p, training, note in (
        (6, 5, 3, 0.5, True, "training, p=0.5"),
        (4, 7, 2, 0.2, True, "training, p=0.2"),
        (6, 5, 3, 0.5, False, "test time, p=0.5"),
        (3, 4, 6, 0.3, False, "test time, p=0.3, D_out > D_in"),
    ):
        x = rng.normal(size=(n, d_in))
        mask = _mask(rng, x.shape, p) if training else None
        cases.append(Case(x, mask, rng.normal(size=(d_in, d_out)), rng.normal(size=d_out) + 2.0, p,
                          training=training, note=note))
    x = rng.normal(size=(2, 3))
    cases.append(Case(x, _mask(rng, x.shape, 0.6), rng.normal(size=(3, 2)), np.array([1.0, -3.0]), 0.6, False,
                      note="test time with a mask (not used), training given positionally"))
    return cases


def _expectation_cases():
    rng = np.random.default_rng(10004)
    cases = []
    for n, d, d_out, p, inverted, note in (
        (3, 4, 2, 0.25, False, "D=4, p=0.25"),
        (5, 6, 3, 0.7, False, "D=6, p=0.7"),
        (2, 8, 4, 0.2, True, "D=8, p=0.2, inverted"),
        (1, 1, 3, 0.4, True, "a single unit, inverted"),
        (4, 10, 1, 0.1, False, "D=10, p=0.1"),
        (2, 3, 2, 0.0, False, "p=0: a single mask has probability 1"),
    ):
        cases.append(Case(rng.normal(size=(n, d)), rng.normal(size=(d, d_out)), rng.normal(size=d_out), p,
                          inverted=inverted, note=note))
    cases.append(Case(rng.normal(size=(3, 5)), rng.normal(size=(5, 2)), rng.normal(size=2), 0.35, True,
                      note="D=5, p=0.35, inverted given positionally"))
    return cases


def _two_layer(rng, d, h, c, p, scale=1.0) -> Expr:
    """forward(x, mask): ReLU hidden layer of h units, inverted dropout on it, linear scores."""
    w1, b1 = rng.normal(size=(d, h)) / np.sqrt(d), rng.normal(size=h) * 0.1
    w2, b2 = scale * rng.normal(size=(h, c)) / np.sqrt(h), rng.normal(size=c) * 0.1
    return Expr(
        f"(lambda W1, b1, W2, b2, p: lambda x, mask: (np.maximum(x @ W1 + b1, 0.0) * mask / (1.0 - p)) @ W2 + b2)"
        f"({_lit(w1)}, {_lit(b1)}, {_lit(w2)}, {_lit(b2)}, {p!r})"
    )


def _input_dropout(rng, d, c, p) -> Expr:
    """forward(x, mask): inverted dropout on the inputs, then a linear layer."""
    w, b = rng.normal(size=(d, c)), rng.normal(size=c)
    return Expr(f"(lambda W, b, p: lambda x, mask: (x * mask / (1.0 - p)) @ W + b)({_lit(w)}, {_lit(b)}, {p!r})")


def _mc_cases():
    rng = np.random.default_rng(10005)
    x1, x2, x3 = rng.normal(size=(5, 4)), rng.normal(size=(3, 6)), rng.normal(size=(4, 3))
    return [
        Case(_two_layer(rng, 4, 8, 3, 0.5), x1, (5, 8), 0.5, 20, _rng(1001), note="hidden dropout, p=0.5, k=20"),
        Case(_input_dropout(rng, 6, 4, 0.2), x2, (3, 6), 0.2, 7, _rng(1002), note="input dropout, p=0.2, k=7"),
        Case(_two_layer(rng, 3, 5, 2, 0.3), x3, (4, 5), 0.3, 1, _rng(1003), note="a single pass (k=1)"),
        Case(_two_layer(rng, 4, 8, 3, 0.5, scale=2000.0), x1, (5, 8), 0.5, 5, _rng(1004),
             note="scores of several hundred: the softmax must subtract the maximum"),
        Case(_two_layer(rng, 4, 6, 5, 0.0), x1, (5, 6), p=0.0, k=3, rng=_rng(1005),
             note="p=0 by keyword: every pass is the full network"),
    ]


def _max_norm_cases():
    rng = np.random.default_rng(10006)
    mixed = rng.normal(size=(6, 5)) * np.array([0.2, 2.0, 0.5, 3.0, 1.0])
    with_zero = rng.normal(size=(4, 3))
    with_zero[:, 1] = 0.0
    return [
        Case(mixed, 2.0, note="(6, 5), columns inside and outside the ball, c=2"),
        Case(rng.normal(size=(3, 8)) * 2.0, 1.5, note="(3, 8): more units than inputs"),
        Case(with_zero, 0.5, note="a column of zeros stays zero"),
        Case(rng.normal(size=(10, 2)), c=100.0, note="c=100 by keyword: nothing changes"),
        Case(rng.normal(size=(1, 4)), 0.3, note="a single input per unit"),
        Case(5.0 * rng.normal(size=(4, 4)), 3.0, note="a square matrix, c=3"),
    ]


QUESTIONS = [
    Question(
        "q1_dropout_forward",
        function="dropout_forward",
        points=2,
        cases=_forward_cases,
        outputs=(),
        rtol=1e-10,
        atol=1e-12,
        title="inverted dropout, forward pass",
    ),
    Question(
        "q2_dropout_backward",
        function="dropout_backward",
        points=1,
        cases=_backward_cases,
        outputs=(),
        rtol=1e-10,
        atol=1e-12,
        title="inverted dropout, backward pass",
    ),
    Question(
        "q3_scaled_dropout_linear",
        function="scaled_dropout_linear",
        points=2,
        cases=_scaled_cases,
        outputs=(),
        rtol=1e-9,
        atol=1e-12,
        title="the slides' dropout: weights scaled at test time",
    ),
    Question(
        "q4_dropout_expectation",
        function="dropout_expectation",
        points=3,
        cases=_expectation_cases,
        outputs=("mean_train", "test_out"),
        rtol=1e-8,
        atol=1e-10,
        title="the expectation over all masks equals the test-time output",
    ),
    Question(
        "q5_mc_dropout_predict",
        function="mc_dropout_predict",
        points=2,
        cases=_mc_cases,
        outputs=(),
        rtol=1e-9,
        atol=1e-12,
        title="Monte-Carlo dropout prediction",
    ),
    Question(
        "q6_max_norm",
        function="max_norm",
        points=2,
        cases=_max_norm_cases,
        outputs=(),
        rtol=1e-10,
        atol=1e-12,
        title="max-norm projection of each unit's incoming weights",
    ),
]
