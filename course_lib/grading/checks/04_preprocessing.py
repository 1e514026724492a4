"""Hidden checks of exercise set 04, "Data preprocessing" (``solutions/04_preprocessing.md``).

Every case is seeded; expected values come from the reference solution in the solution
notebook, computed by the grader process (see :mod:`course_lib.grading.spec`).  The PCA cases are
drawn so that no two eigenvalues are close and no eigenvector has two entries of nearly the same
magnitude: the sign rule and the order of the components are then unambiguous, and any correct
eigensolver (``eigh``, ``svd``) gives the same answer to far better than the tolerance.
"""

import numpy as np

from course_lib.grading.spec import Case, Question


def _standardize_cases():
    rng = np.random.default_rng(4001)
    with_constant = rng.normal(size=(12, 4))
    with_constant[:, 2] = 3.5
    shifted = 50.0 * rng.normal(size=(20, 3)) + np.array([1000.0, -7.0, 0.01])
    return [
        Case(rng.normal(size=(10, 3)), rng.normal(size=(4, 3)), note="a random train / test pair"),
        Case(with_constant, rng.normal(size=(5, 4)), note="a constant training column (std 0 -> 1)"),
        Case(shifted, shifted[:3] + rng.normal(size=(3, 3)), note="very different scales and offsets"),
        Case(rng.normal(size=(6, 2)), 5.0 + rng.normal(size=(9, 2)),
             note="a test set whose mean is far from the training mean"),
        Case(rng.uniform(0, 16, size=(30, 8)), rng.uniform(0, 16, size=(1, 8)), note="one test row"),
    ]


def _well_separated(x: np.ndarray) -> bool:
    """Distinct eigenvalues and a clear largest-magnitude entry in every eigenvector."""
    xc = x - x.mean(axis=0)
    values, vectors = np.linalg.eigh(xc.T @ xc / len(x))
    gaps = np.diff(np.sort(values))
    if values.min() <= 1e-3 * values.max() or gaps.min() <= 1e-2 * values.max():
        return False
    top2 = np.sort(np.abs(vectors), axis=0)[-2:]
    return bool(np.all(top2[1] - top2[0] > 1e-3))


def _correlated(rng, n, d):
    while True:
        x = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + rng.normal(scale=3.0, size=d)
        if _well_separated(x):
            return x


def _whiten_cases():
    rng = np.random.default_rng(4002)
    cases = []
    for n, d, m, eps, note in (
        (30, 2, 4, 0.0, "2 features, eps = 0"),
        (40, 3, 5, 0.0, "3 features, eps = 0"),
        (50, 5, 3, 1e-3, "5 features, eps = 1e-3"),
        (25, 4, 6, 0.5, "4 features, a large eps = 0.5"),
    ):
        x = _correlated(rng, n, d)
        cases.append(Case(x, x[:m] + rng.normal(size=(m, d)), eps, note=note))
    x = _correlated(rng, 60, 3)
    cases.append(Case(x, x[:7] * 2.0, eps=1e-2, note="eps given by keyword"))
    return cases


def _window_cases():
    rng = np.random.default_rng(4003)
    return [
        Case(rng.uniform(-1100, 2000, size=(6, 7)), 40.0, 400.0, note="soft-tissue window on random HU"),
        Case(rng.integers(-1024, 3071, size=(5, 5)).astype(np.int16), -600.0, 1500.0, note="int16 input, lung window"),
        Case(np.array([200.0, 400.0, 600.0, 1400.0, -600.0, -601.0]), 400.0, 2000.0, note="values at the window edges"),
        Case(rng.normal(50.0, 30.0, size=(2, 3, 4)), 50.0, 80.0, note="a narrow window on a 3-D array"),
        Case(np.linspace(-5.0, 5.0, 11), 0.0, 1.0, note="width 1 around 0"),
    ]


QUESTIONS = [
    Question(
        "q1_standardize_train_test",
        function="standardize_train_test",
        points=3,
        cases=_standardize_cases,
        outputs=("z_train", "z_test"),
        rtol=1e-7,
        atol=1e-9,
        title="standardize with training statistics",
    ),
    Question(
        "q2_pca_whiten",
        function="pca_whiten",
        points=4,
        cases=_whiten_cases,
        outputs=("z_train", "z_test"),
        rtol=1e-6,
        atol=1e-8,
        title="PCA whitening with canonical signs",
    ),
    Question(
        "q3_window_level",
        function="window_level",
        points=3,
        cases=_window_cases,
        outputs=(),
        rtol=1e-9,
        atol=1e-12,
        title="window/level of Hounsfield units",
    ),
]
