"""Exercise set 08 (why batch norm works): the reference solution scores full marks, the blank
exercise 0, and each planted bug costs exactly the question it is planted in.

Bugs in DIFFERENT questions are planted together in one submission (a question is graded on its
own function only) to keep the suite fast. The shared contract is in
``tests/exercise_contract.py``. The reference itself is checked against NumPy's eigensolver and
SVD, and its errors against their documented messages.
"""

from __future__ import annotations


import numpy as np
import pytest

from course_lib.grading.exercise_set import reference_cells
from course_lib.grading.notebook_io import read_source
from exercise_contract import (
    EXERCISES,
    SOLUTIONS,
    assert_exercise_hides_the_solutions,
    contract_tests,
    execute_solution_and_blank,
)

SOLUTION = SOLUTIONS / "08_batchnorm_why.md"
EXERCISE = EXERCISES / "08_batchnorm_why.ipynb"
QUESTIONS = {
    "q1_gradient_similarity": 2,
    "q2_power_iteration": 4,
    "q3_subspace_overlap": 2,
    "q4_walk_loss_and_gradient": 2,
}

# bug -> (question, text in the solution, replacement)
BUGS = {
    "squared distance": (
        "q1_gradient_similarity", "    distance = float(np.linalg.norm(a - b))\n",
        "    distance = float(np.sum((a - b) ** 2))\n"),
    "cosine divided by one norm squared": (
        "q1_gradient_similarity", "a @ b / (norm_a * norm_b)", "a @ b / norm_a ** 2"),
    "no sign convention": (
        "q2_power_iteration", "    if v[np.argmax(np.abs(v))] < 0:\n        v = -v\n", ""),
    "eigenvalue from the norm of Hv": (
        "q2_power_iteration", "    eigenvalue = float(v @ np.asarray(hvp(v), dtype=np.float64))\n",
        "    eigenvalue = float(np.linalg.norm(hvp(v)))\n"),
    "eigenvector returned as a column": (
        "q2_power_iteration", "    return eigenvalue, v\n", "    return eigenvalue, v[:, None]\n"),
    "v0 normalized in place": (
        "q2_power_iteration", "    v = v / np.linalg.norm(v)\n", "    v /= np.linalg.norm(v)\n"),
    "change measured without aligning signs": (
        "q2_power_iteration", "    change = min(np.linalg.norm(new - v), np.linalg.norm(new + v))\n",
        "    change = np.linalg.norm(new - v)\n"),
    "one update too many": (
        "q2_power_iteration", "    for _ in range(n_iter):\n", "    for _ in range(n_iter + 1):\n"),
    "u not normalized": (
        "q3_subspace_overlap", "    u = u / np.linalg.norm(u)\n", ""),
    "norm of the projection, not squared": (
        "q3_subspace_overlap", "np.sum((q.T @ u) ** 2)", "np.sqrt(np.sum((q.T @ u) ** 2))"),
    "projection on the raw vectors, not an orthonormal basis": (
        "q3_subspace_overlap", "np.sum((q.T @ u) ** 2)", "np.sum((np.asarray(vectors, dtype=np.float64) @ u) ** 2)"),
    "walks uphill": (
        "q4_walk_loss_and_gradient", "        point = w - s * g\n", "        point = w + s * g\n"),
    "gradient change from the first point of the walk": (
        "q4_walk_loss_and_gradient", "    start = np.asarray(grad(w), dtype=np.float64)\n",
        "    start = np.asarray(grad(w - steps[0] * g), dtype=np.float64)\n"),
    "loss range against the loss at w": (
        "q4_walk_loss_and_gradient", "    loss_range = max(losses) - min(losses)\n",
        "    loss_range = max(losses) - float(loss(w))\n"),
}

# never two bugs of one question in the same submission
GROUPS = [
    ["squared distance", "no sign convention", "u not normalized", "walks uphill"],
    ["cosine divided by one norm squared", "eigenvalue from the norm of Hv", "norm of the projection, not squared",
     "gradient change from the first point of the walk"],
    ["eigenvector returned as a column", "projection on the raw vectors, not an orthonormal basis",
     "loss range against the loss at w"],
    ["v0 normalized in place"],
    ["change measured without aligning signs"],
    ["one update too many"],
]

# The right numbers in the wrong shape: the message must name both shapes.
SHAPE_BUGS = {"eigenvector returned as a column": "`eigenvector` has shape (6, 1), expected (6,)"}


def _reference():
    """The solution's functions, run as the grader runs them (self-check cells left out)."""
    namespace: dict = {}
    for _, src in reference_cells(read_source(SOLUTION), str(SOLUTION)):
        exec(compile(src, str(SOLUTION), "exec"), namespace)  # noqa: S102 - our own solution
    return namespace


@pytest.fixture(scope="module")
def ref():
    return _reference()


globals().update(contract_tests("08_batchnorm_why", QUESTIONS, BUGS, GROUPS, SHAPE_BUGS))


@pytest.mark.parametrize("seed", range(5))
def test_reference_power_iteration_agrees_with_eigh(ref, seed):
    """A well-separated spectrum (leading ratio at most 0.5), either sign: the eigenpair of eigh."""
    rng = np.random.default_rng(seed)
    p = 7
    values = rng.uniform(-1.0, 1.0, size=p)
    values[0] = rng.choice([-1.0, 1.0]) * 2.0
    q, _ = np.linalg.qr(rng.normal(size=(p, p)))
    h = q @ np.diag(values) @ q.T
    value, vector = ref["power_iteration"](lambda v: h @ v, rng.normal(size=p), n_iter=2000, tol=1e-13)
    evals, evecs = np.linalg.eigh(h)
    k = int(np.argmax(np.abs(evals)))
    expected = evecs[:, k] * np.sign(evecs[np.argmax(np.abs(evecs[:, k])), k])
    assert value == pytest.approx(evals[k], rel=1e-9)
    np.testing.assert_allclose(vector, expected, atol=1e-8)


def test_reference_overlap_agrees_with_an_svd_projection(ref):
    rng = np.random.default_rng(3)
    for k, p in ((1, 4), (3, 9), (5, 5)):
        vectors, u = rng.normal(size=(k, p)), rng.normal(size=p)
        basis = np.linalg.svd(vectors, full_matrices=False)[2]  # (k, p) orthonormal rows
        expected = float(np.sum((basis @ (u / np.linalg.norm(u))) ** 2))
        assert ref["subspace_overlap"](u, vectors) == pytest.approx(expected, rel=1e-10, abs=1e-12)
        assert 0.0 <= ref["subspace_overlap"](u, vectors) <= 1.0


def test_reference_errors_name_their_arguments(ref):
    with pytest.raises(ValueError, match=r"g1 has shape \(2, 3\) but g2 has shape \(3, 2\)"):
        ref["gradient_similarity"](np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="g1 is zero"):
        ref["gradient_similarity"](np.zeros(4), np.ones(4))
    with pytest.raises(ValueError, match="g2 is zero"):
        ref["gradient_similarity"](np.ones(4), np.zeros(4))
    with pytest.raises(ValueError, match="not linearly independent"):
        ref["subspace_overlap"](np.ones(3), np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]]))
    with pytest.raises(ValueError, match="not linearly independent"):
        ref["subspace_overlap"](np.ones(2), np.eye(3)[:, :2])  # three vectors in 2-D
    with pytest.raises(ValueError, match=r"vectors must have shape \(K, 4\), got \(2, 3\)"):
        ref["subspace_overlap"](np.ones(4), np.ones((2, 3)))


def test_reference_walk_matches_a_direct_computation(ref):
    rng = np.random.default_rng(4)
    a = np.diag([20.0, 1.0, 0.1])
    w, steps = rng.normal(size=3), [0.01, 0.05, 0.2]
    g = a @ w
    points = [w - s * g for s in steps]
    losses = [0.5 * p @ a @ p for p in points]
    changes = [np.linalg.norm(a @ p - a @ w) for p in points]
    result = ref["walk_loss_and_gradient"](lambda v: 0.5 * v @ a @ v, lambda v: a @ v, w, g, steps)
    np.testing.assert_allclose(result, [max(losses) - min(losses), max(changes)], rtol=1e-12)


def test_exercise_hides_the_solutions():
    leaked = ("BEGIN SOLUTION", "HIDDEN TESTS", "np.linalg.norm(new + v)", "np.linalg.qr(np.asarray(vectors",
              "max(losses) - min(losses)", "np.clip(a @ b")
    assert_exercise_hides_the_solutions(EXERCISE, "08_batchnorm_why", leaked, tagged=5)  # four self-checks and the demo


def test_notebooks_execute_top_to_bottom():
    """The solution runs without error; the blank exercise runs to the end and only its tagged
    cells raise, with NotImplementedError."""
    text = execute_solution_and_blank(SOLUTION, EXERCISE)
    assert text.count("all self-checks passed") == 4
    assert "top Hessian eigenvalue" in text  # the demo ran
