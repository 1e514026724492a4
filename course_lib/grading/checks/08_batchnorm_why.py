"""Hidden checks of exercise set 08, "Why batch norm works" (``solutions/08_batchnorm_why.md``).

Every case is seeded; expected values come from the reference solution in the solution
notebook, computed by the grader process (see :mod:`course_lib.grading.spec`).

Functions handed to the student's code (a Hessian-vector product, a loss and its gradient) are
:class:`Expr` sources that embed their matrices as literal lists (``repr`` of a float round-trips
exactly), so both sides evaluate the same function. The power-iteration cases use symmetric
matrices with a known spectrum whose leading eigenvalue is well separated (ratio at most 0.7)
and whose leading eigenvector has a clear largest entry, except for the cases that pin the
stopping rule: a fixed number of updates (``tol = 0``) and slow spectra (ratio 0.9) stopped by
``tol``, where the exact rule of the docstring decides the answer.
"""

import numpy as np

from course_lib.grading.spec import Case, Expr, Question


def _lit(a) -> str:
    """An array as a Python literal evaluated with ``np`` in scope."""
    return f"np.array({np.asarray(a, dtype=np.float64).tolist()!r})"


def _matrix_hvp(h) -> Expr:
    return Expr(f"(lambda H: lambda v: H @ v)({_lit(h)})")


def _spectrum_matrix(rng, values):
    """A symmetric matrix with eigenvalues ``values`` and a leading eigenvector whose largest
    entry stands out (so the sign rule is unambiguous)."""
    p = len(values)
    while True:
        q, _ = np.linalg.qr(rng.normal(size=(p, p)))
        top = np.sort(np.abs(q[:, 0]))
        if top[-1] - top[-2] > 0.05:
            return q @ np.diag(values) @ q.T


def _similarity_cases():
    rng = np.random.default_rng(8001)
    g = rng.normal(size=(4, 3))
    return [
        Case(rng.normal(size=7), rng.normal(size=7), note="two random vectors"),
        Case(g, 1.5 * g + 0.01 * rng.normal(size=(4, 3)), note="a weight gradient and a rescaled, nudged copy"),
        Case(rng.normal(size=(2, 3, 2, 2)), rng.normal(size=(2, 3, 2, 2)), note="4-D convolution-kernel gradients"),
        Case(g, -g, note="opposite gradients"),
        Case(1e-6 * rng.normal(size=5), 1e3 * rng.normal(size=5), note="very different scales"),
        Case(np.arange(1, 7).reshape(2, 3), np.array([[1, 0, -1], [2, 2, 2]]), note="integer arrays"),
    ]


def _power_cases():
    rng = np.random.default_rng(8002)
    cases = []
    h = _spectrum_matrix(rng, [6.0, 3.0, 2.0, -1.0, 0.5, 0.1])
    cases.append(Case(_matrix_hvp(h), rng.normal(size=6), note="a 6 x 6 matrix with eigenvalues 6, 3, 2, -1, ..."))
    h = _spectrum_matrix(rng, [-4.0, 2.5, 1.0, 0.3])
    cases.append(Case(_matrix_hvp(h), rng.normal(size=4), n_iter=300, tol=1e-12,
                      note="a NEGATIVE leading eigenvalue -4 (v flips sign at every update)"))
    h = _spectrum_matrix(rng, [5.0, 2.0, 1.0, 0.5, 0.25])
    cases.append(Case(_matrix_hvp(h), rng.normal(size=5), 3, 0.0,
                      note="exactly 3 updates (n_iter = 3, tol = 0): the iterate H^3 v0 / |H^3 v0|"))
    # The Hessian-vector product of a quadratic 0.5 w.A.w + c.w at w0, by central differences of
    # its gradient A w + c: exact up to rounding.
    a = _spectrum_matrix(rng, [10.0, 4.0, 3.0, 1.0, 0.5, 0.2, 0.1, 0.05])
    c, w0 = rng.normal(size=8), rng.normal(size=8)
    grad = f"(lambda A, c: lambda w: A @ w + c)({_lit(a)}, {_lit(c)})"
    hvp = Expr(f"(lambda g, w0: lambda v: (g(w0 + 1e-3 * v) - g(w0 - 1e-3 * v)) / 2e-3)({grad}, {_lit(w0)})")
    cases.append(Case(hvp, rng.normal(size=8), n_iter=500, note="a quadratic's HVP from its gradient, 8 parameters"))
    h = _spectrum_matrix(rng, [2.0, 1.8, 1.0, 0.4])
    cases.append(Case(_matrix_hvp(h), rng.normal(size=4), n_iter=1000, tol=1e-4,
                      note="a slow spectrum (ratio 0.9) stopped by tol = 1e-4: the stopping rule decides"))
    h = _spectrum_matrix(rng, [-3.0, 2.7, 1.0, 0.5, 0.2])
    cases.append(Case(_matrix_hvp(h), rng.normal(size=5), 2000, 1e-5,
                      note="a slow spectrum with a negative leading eigenvalue, stopped by tol = 1e-5"))
    x = rng.normal(size=(30, 5)) + np.array([2.0, 0.0, 0.0, 1.0, 0.0])
    s = rng.uniform(0.05, 0.25, size=30)
    hvp = Expr(f"(lambda X, s: lambda v: X.T @ (s * (X @ v)) / 30 + 0.01 * v)({_lit(x)}, {_lit(s)})")
    cases.append(Case(hvp, -np.ones(5), n_iter=400, tol=1e-11,
                      note="a logistic-regression Hessian on uncentred inputs, v0 = -1"))
    return cases


def _overlap_cases():
    rng = np.random.default_rng(8003)
    vectors = rng.normal(size=(3, 10))
    inside = rng.normal(size=3) @ vectors
    q, _ = np.linalg.qr(vectors.T, mode="complete")
    outside = q[:, 3:] @ rng.normal(size=7)
    near = vectors[0] + 1e-3 * rng.normal(size=10)
    return [
        Case(rng.normal(size=10), vectors, note="a random vector against 3 random directions in 10-D"),
        Case(7.0 * inside / np.linalg.norm(inside), vectors, note="a vector of length 7 inside the span"),
        Case(outside, vectors, note="a vector orthogonal to the span"),
        Case(rng.normal(size=6), rng.normal(size=(6, 6)), note="6 directions in 6-D: the whole space"),
        Case(3.0 * rng.normal(size=5), rng.normal(size=(1, 5)), note="a single direction, u of length about 6"),
        Case(near, vectors[[1, 2, 0]] * np.array([[1.0], [100.0], [0.01]]),
             note="rows of very different lengths"),
    ]


def _quadratic(a, c):
    loss = Expr(f"(lambda A, c: lambda w: 0.5 * float(w @ A @ w) + float(c @ w))({_lit(a)}, {_lit(c)})")
    grad = Expr(f"(lambda A, c: lambda w: A @ w + c)({_lit(a)}, {_lit(c)})")
    return loss, grad


def _walk_cases():
    rng = np.random.default_rng(8004)
    cases = []
    a = np.diag([50.0, 5.0, 1.0, 0.1])
    c = rng.normal(size=4)
    w = rng.normal(size=4)
    loss, grad = _quadratic(a, c)
    g = a @ w + c
    cases.append(Case(loss, grad, w, g, [0.005, 0.01, 0.02, 0.04], note="a narrow quadratic valley, 4 steps"))
    b = rng.normal(size=(5, 5))
    a = b @ b.T / 5 + 0.1 * np.eye(5)
    c, w = rng.normal(size=5), rng.normal(size=5)
    loss, grad = _quadratic(a, c)
    cases.append(Case(loss, grad, w, a @ w + c, np.array([0.0, 0.1, 0.3]), note="step 0 included, steps as an array"))
    cases.append(Case(loss, grad, w, rng.normal(size=5), (0.2,), note="one step along a random direction"))
    x, y = rng.normal(size=(20, 3)), np.where(rng.random(20) < 0.5, 1.0, -1.0)
    loss = Expr(f"(lambda X, y: lambda w: float(np.mean(np.logaddexp(0.0, -y * (X @ w)))))({_lit(x)}, {_lit(y)})")
    grad = Expr(f"(lambda X, y: lambda w: X.T @ (-y / (1.0 + np.exp(y * (X @ w)))) / 20)({_lit(x)}, {_lit(y)})")
    w = rng.normal(size=3)
    cases.append(Case(loss, grad, w, rng.normal(size=3), [0.5, 1.0, 2.0, 4.0, -1.0],
                      note="logistic regression, a negative step too"))
    loss = Expr("lambda w: float(np.sum(np.cosh(w)) + w[0, 1] * w[1, 2])")
    grad = Expr("lambda w: np.sinh(w) + np.array([[0.0, w[1, 2], 0.0], [0.0, 0.0, w[0, 1]]])")
    w = rng.normal(size=(2, 3))
    cases.append(Case(loss, grad, w, rng.normal(size=(2, 3)), [0.1, 0.5, 1.5],
                      note="parameters shaped (2, 3): gradient differences over all entries"))
    return cases


QUESTIONS = [
    Question(
        "q1_gradient_similarity",
        function="gradient_similarity",
        points=2,
        cases=_similarity_cases,
        outputs=("cosine", "distance"),
        rtol=1e-9,
        atol=1e-12,
        title="cosine similarity and l2 distance of two gradients",
    ),
    Question(
        "q2_power_iteration",
        function="power_iteration",
        points=4,
        cases=_power_cases,
        outputs=("eigenvalue", "eigenvector"),
        rtol=1e-6,
        atol=1e-8,
        title="leading Hessian eigenpair by power iteration",
    ),
    Question(
        "q3_subspace_overlap",
        function="subspace_overlap",
        points=2,
        cases=_overlap_cases,
        outputs=(),
        rtol=1e-8,
        atol=1e-10,
        title="overlap of a vector with a subspace",
    ),
    Question(
        "q4_walk_loss_and_gradient",
        function="walk_loss_and_gradient",
        points=2,
        cases=_walk_cases,
        outputs=("loss_range", "grad_change"),
        rtol=1e-8,
        atol=1e-10,
        title="loss range and gradient change along a gradient step",
    ),
]
