"""The vocabulary of a checks file: :class:`Question`, :class:`Case`, :class:`Expr`.

A checks file ``course_lib/grading/checks/NN_name.py`` belongs to the exercise set
``solutions/NN_name.md``.  It defines ``QUESTIONS``, a list of :class:`Question`::

    from course_lib.grading.spec import Case, Expr, Question

    def _cases():
        rng = np.random.default_rng(0)
        return [
            Case(rng.normal(size=(5, 3)), np.array([0, 2, 1, 1, 0]), note="small batch"),
            Case(..., margin=0.5, note="another margin"),
        ]

    QUESTIONS = [
        Question("q2_svm_loss", function="svm_loss", points=2,
                 outputs=("loss", "dscores"), cases=_cases),
    ]

How a question is graded
------------------------
For every case the grader calls the REFERENCE function (the solution notebook's, in the
trusted grader process) and the STUDENT's function (in a sandboxed subprocess) with the
same arguments, and compares, with ``numpy.allclose(rtol, atol)`` and exact shapes:

* the returned values (a tuple is compared element by element; ``outputs`` names them
  in messages), and
* the arguments after the call, so a function that modifies its inputs in place
  (``params["W1"] -= ...``) or forgets to restore them fails.

A question earns its ``points`` when every case matches, and 0 otherwise.  Cases are
deterministic (seeded) so a grade can be reproduced.  An argument that cannot travel as
data (a function) is written as an :class:`Expr`, evaluated on each side.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from .codec import Expr

__all__ = ["Case", "Expr", "Question", "load_checks", "CHECKS_DIR", "ChecksError"]

CHECKS_DIR = Path(__file__).resolve().parent / "checks"
"""Where the course's checks files live (one per exercise set, named like its stem)."""


class ChecksError(RuntimeError):
    """A checks file is missing or broken (an instructor-side problem)."""


class Case:
    """The arguments of one call: ``Case(*args, note="...", **kwargs)``.

    ``note`` says in the student's report what the case probes ("scores near 1e4:
    numerical stability").
    """

    __slots__ = ("args", "kwargs", "note")

    def __init__(self, *args, note: str = "", **kwargs):
        self.args = tuple(args)
        self.kwargs = dict(kwargs)
        self.note = str(note)

    def __repr__(self) -> str:
        return f"Case(args={len(self.args)}, kwargs={sorted(self.kwargs)}, note={self.note!r})"


@dataclass(frozen=True)
class Question:
    """One graded question.

    name:      identifier in reports, e.g. ``"q1_softmax_loss"``.
    function:  the function the student writes, e.g. ``"softmax_loss"``.
    points:    what a fully correct answer earns.
    cases:     a list of :class:`Case`, or a zero-argument callable returning one.
    outputs:   names of the returned values, for messages (``("loss", "dscores")``).
    rtol/atol: tolerances for ``numpy.allclose``.
    title:     a short human title (optional).
    """

    name: str
    function: str
    points: float
    cases: Sequence[Case] | Callable[[], Sequence[Case]]
    outputs: tuple[str, ...] = ()
    rtol: float = 1e-6
    atol: float = 1e-8
    title: str = ""
    _resolved: list = field(default_factory=list, repr=False, compare=False)

    def get_cases(self) -> list[Case]:
        """The cases, built once (callables are called on first use)."""
        if not self._resolved:
            cases = self.cases() if callable(self.cases) else self.cases
            cases = list(cases)
            if not cases or not all(isinstance(c, Case) for c in cases):
                raise ChecksError(f"question {self.name}: cases must be a non-empty list of Case")
            self._resolved.extend(cases)
        return list(self._resolved)


def load_checks(stem: str, checks_dir: str | Path | None = None) -> list[Question]:
    """Load ``QUESTIONS`` from ``<checks_dir>/<stem>.py`` (by path: stems start with digits)."""
    path = Path(checks_dir or CHECKS_DIR) / f"{stem}.py"
    if not path.is_file():
        raise ChecksError(f"no checks file for exercise set {stem!r} (expected {path})")
    spec = importlib.util.spec_from_file_location(f"course_lib_grading_checks_{stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ChecksError(f"{path}: {type(exc).__name__}: {exc}") from exc
    questions = getattr(module, "QUESTIONS", None)
    if not isinstance(questions, (list, tuple)) or not all(isinstance(q, Question) for q in questions):
        raise ChecksError(f"{path}: QUESTIONS must be a list of Question")
    names = [q.name for q in questions]
    if len(set(names)) != len(names):
        raise ChecksError(f"{path}: question names must be unique")
    return list(questions)
