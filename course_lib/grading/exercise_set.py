"""The trusted side of grading: one exercise set's reference outputs.

:func:`load_exercise_set` reads, BEFORE any submission is looked at:

* ``solutions/NN_name.md`` (or ``.ipynb``) -- its code cells, minus self-check cells
  (tagged ``raises-exception``) and hidden-test regions, are executed in a fresh
  namespace of the grader process: that is the reference implementation;
* ``course_lib/grading/checks/NN_name.py`` -- the questions and their cases;

and computes, for every case, the reference's return value and its arguments after the
call.  Those expected values never leave the grader process.  A question whose cases
cannot be built (a bug in the checks file, the reference raising) keeps the traceback in
``PreparedQuestion.error`` and is reported as an internal grader error; the other
questions are graded as usual.  Results are cached per
(set, solutions dir, checks files), so grading a folder of submissions computes them once;
loading is serialised by a lock, so submissions may be graded from several threads.

Private checks (``private_checks_dir``, the command line's ``--checks DIR``): an
instructor's folder of checks files in the same format.  When it holds ``NN_name.py``,
its questions are merged with the built-in ones (:func:`merge_questions`): a private
question with the name of a built-in one replaces it (in place), the others are added
after the built-in ones.  Sets without a private file are graded with the built-in checks
only, and a set with only a private file with the private checks only.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import math
import re
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import codec
from .markers import MarkerError, find_regions
from .notebook_io import Notebook, read_source
from .spec import CHECKS_DIR, ChecksError, Question, load_checks

__all__ = [
    "ExerciseSet",
    "PreparedCase",
    "PreparedQuestion",
    "load_exercise_set",
    "find_source",
    "merge_questions",
    "strip_magics",
    "source_stems",
    "SOURCE_STEM_RE",
]

SOURCE_STEM_RE = re.compile(r"^\d\d[_-]\w[\w-]*$")
"""Exercise sets are named ``NN_topic`` (two digits, then a name)."""

_MAGIC_RE = re.compile(r"^(\s*)[%!]")


def strip_magics(source: str) -> str:
    """Replace IPython magic (``%...``) and shell (``!...``) lines by ``pass``."""
    return "\n".join(
        (m.group(1) + "pass  # IPython magic removed by the grader") if (m := _MAGIC_RE.match(line)) else line
        for line in source.splitlines()
    )


def source_stems(solutions_dir: Path) -> dict[str, Path]:
    """``{stem: path}`` of the exercise sources in ``solutions_dir`` (``NN_name.md|.ipynb``)."""
    found: dict[str, Path] = {}
    if not solutions_dir.is_dir():
        return found
    for path in sorted(solutions_dir.iterdir()):
        if path.suffix in (".md", ".ipynb") and SOURCE_STEM_RE.match(path.stem) and path.is_file():
            if path.stem in found:
                raise ChecksError(
                    f"{solutions_dir}: both {found[path.stem].name} and {path.name} define exercise set {path.stem}"
                )
            found[path.stem] = path
    return found


def find_source(name: str, solutions_dir: Path) -> Path:
    stems = source_stems(solutions_dir)
    if name not in stems:
        raise ChecksError(f"no solution notebook for exercise set {name!r} in {solutions_dir}")
    return stems[name]


@dataclass
class PreparedCase:
    note: str
    args_json: dict  # encoded arguments, sent to the sandbox
    kwargs_json: dict
    expected: dict  # decoded reference values: result, args_after, kwargs_after
    arg_names: list[str]
    expr_args: set[int]
    expr_kwargs: set[str]


@dataclass
class PreparedQuestion:
    """A question ready to grade; ``error`` holds the traceback when its checks could not be
    prepared (a case maker or the reference raised): an internal grader error, reported on
    that question only."""

    question: Question
    cases: list[PreparedCase]
    error: str = ""


@dataclass
class ExerciseSet:
    name: str
    source: Path
    notebook: Notebook
    questions: list[PreparedQuestion]

    @property
    def max_score(self) -> float:
        return float(sum(q.question.points for q in self.questions))


def _expr_namespace() -> dict:
    return {"np": np, "numpy": np, "math": math}


def reference_cells(nb: Notebook, source_name: str) -> list[tuple[int, str]]:
    """Code cells that make up the reference: not self-checks, hidden regions removed."""
    out = []
    for cell in nb.code_cells():
        if "raises-exception" in cell.tags:
            continue
        try:
            regions = find_regions(cell.source)
        except MarkerError as exc:
            raise ChecksError(f"{source_name}, cell {cell.index + 1}: {exc}") from None
        lines = cell.source.splitlines()
        keep = [True] * len(lines)
        for r in regions:
            if r.kind == "hidden":
                for i in range(r.begin, r.end + 1):
                    keep[i] = False
        src = "\n".join(line for line, k in zip(lines, keep) if k)
        if src.strip():
            out.append((cell.index, strip_magics(src)))
    return out


def _run_reference(nb: Notebook, source: Path) -> dict:
    namespace: dict = {"__name__": f"__reference_{source.stem}__"}
    sink = io.StringIO()
    for index, src in reference_cells(nb, str(source)):
        try:
            code = compile(src, f"<{source.name} cell {index + 1}>", "exec")
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                exec(code, namespace)  # noqa: S102 - the instructor's own solution
        except Exception as exc:
            raise ChecksError(
                f"{source}: cell {index + 1} of the reference solution raised {type(exc).__name__}: {exc}"
            ) from exc
    return namespace


def _arg_names(fn, n_args: int) -> list[str]:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = []
    for i in range(n_args):
        if i < len(params) and params[i].kind in (params[i].POSITIONAL_ONLY, params[i].POSITIONAL_OR_KEYWORD):
            names.append(params[i].name)
        else:
            names.append(f"argument {i + 1}")
    return names


def _prepare_or_report(question: Question, reference: dict, source: Path) -> PreparedQuestion:
    """:func:`_prepare`, or a question carrying the traceback of why it could not be prepared
    (so that one broken question does not stop the others from being graded)."""
    try:
        return _prepare(question, reference, source)
    except Exception:
        return PreparedQuestion(question, [], error=traceback.format_exc())


def _prepare(question: Question, reference: dict, source: Path) -> PreparedQuestion:
    fn = reference.get(question.function)
    if not callable(fn):
        raise ChecksError(f"{source}: the reference solution does not define `{question.function}`")
    prepared = []
    for k, case in enumerate(question.get_cases()):
        try:
            args_json = codec.encode(list(case.args))
            kwargs_json = codec.encode(dict(case.kwargs))
        except codec.CodecError as exc:
            raise ChecksError(f"question {question.name}, case {k + 1}: {exc}") from exc
        expr_args = {i for i, a in enumerate(case.args) if isinstance(a, codec.Expr)}
        expr_kwargs = {key for key, a in case.kwargs.items() if isinstance(a, codec.Expr)}
        args = codec.decode(args_json, expr_namespace=_expr_namespace())
        kwargs = codec.decode(kwargs_json, expr_namespace=_expr_namespace())
        try:
            value = fn(*args, **kwargs)
        except Exception as exc:
            raise ChecksError(
                f"question {question.name}, case {k + 1}: the reference raised {type(exc).__name__}: {exc}"
            ) from exc
        args_after = [None if i in expr_args else a for i, a in enumerate(args)]
        kwargs_after = {key: (None if key in expr_kwargs else a) for key, a in kwargs.items()}
        # Through the codec, so that expected and actual values have the same types.
        expected = {
            "result": codec.decode(codec.encode(value)),
            "args_after": codec.decode(codec.encode(args_after)),
            "kwargs_after": codec.decode(codec.encode(kwargs_after)),
        }
        prepared.append(
            PreparedCase(
                note=case.note,
                args_json=args_json,
                kwargs_json=kwargs_json,
                expected=expected,
                arg_names=_arg_names(fn, len(case.args)),
                expr_args=expr_args,
                expr_kwargs=expr_kwargs,
            )
        )
    return PreparedQuestion(question, prepared)


_CACHE: dict[tuple, ExerciseSet] = {}
_LOCK = threading.Lock()  # one reference at a time: it runs in this process (and redirects stdout)


def merge_questions(builtin: list[Question], private: list[Question]) -> list[Question]:
    """The built-in questions with the private ones on top: a private question named like a
    built-in one replaces it where it stood; the other private questions follow, in their order."""
    by_name = {q.name: q for q in private}
    merged = [by_name.pop(q.name, q) for q in builtin]
    return merged + [q for q in private if q.name in by_name]


def _mtime(path: Path) -> int:
    return path.stat().st_mtime_ns if path.exists() else 0


def load_exercise_set(
    name: str,
    solutions_dir: str | Path,
    checks_dir: str | Path | None = None,
    private_checks_dir: str | Path | None = None,
) -> ExerciseSet:
    """Load (and cache) the trusted material of exercise set ``name``; see the module docstring.

    ``checks_dir`` replaces the package's checks folder; ``private_checks_dir`` adds an
    instructor's checks on top of it (see the module docstring).  Raises
    :class:`~course_lib.grading.spec.ChecksError` for instructor-side problems.
    """
    solutions_dir = Path(solutions_dir).resolve()
    checks_dir = Path(checks_dir or CHECKS_DIR).resolve()
    source = find_source(name, solutions_dir)
    checks_file = checks_dir / f"{name}.py"
    private_file = Path(private_checks_dir).resolve() / f"{name}.py" if private_checks_dir else None
    if private_checks_dir and not Path(private_checks_dir).is_dir():
        raise ChecksError(f"the private checks folder {private_checks_dir} does not exist")
    key = (name, str(source), source.stat().st_mtime_ns, str(checks_file), _mtime(checks_file))
    if private_file is not None:
        key += (str(private_file), _mtime(private_file))
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        if private_file is not None and private_file.is_file():
            private = load_checks(name, private_file.parent)
            builtin = load_checks(name, checks_dir) if checks_file.is_file() else []
            questions = merge_questions(builtin, private)
        else:
            questions = load_checks(name, checks_dir)
        nb = read_source(source)
        reference = _run_reference(nb, source)
        prepared = [_prepare_or_report(q, reference, source) for q in questions]
        ex = ExerciseSet(name=name, source=source, notebook=nb, questions=prepared)
        _CACHE[key] = ex
        return ex
