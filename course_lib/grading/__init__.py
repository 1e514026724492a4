"""Exercise generation and grading for the course.

Three commands (``python -m course_lib.grading --help``)::

    python -m course_lib.grading assign [--check] [--source solutions] [--dest exercises]
    python -m course_lib.grading grade PATH [PATH ...] [--json FILE] [--csv FILE]
                                 [--timeout S] [--memory-mb M] [--jobs N]
                                 [--checks DIR [--checks-only]]
    python -m course_lib.grading nbgrader-source --dest COURSE_DIR [NN_topic ...]

Modules, in the order data flows through them:

* :mod:`.markers`      -- ``### BEGIN/END SOLUTION`` and ``### BEGIN/END HIDDEN TESTS``;
* :mod:`.notebook_io`  -- reading ``.md``/``.ipynb`` notebooks, writing exercises;
* :mod:`.assign`       -- solutions -> exercises (and ``--check``);
* :mod:`.spec`         -- ``Question``/``Case``/``Expr``, the vocabulary of checks files in
  :mod:`course_lib.grading.checks`;
* :mod:`.exercise_set` -- the trusted reference outputs of one exercise set;
* :mod:`.sandbox`, ``_sandbox_child.py`` -- running student code in a limited subprocess;
* :mod:`.codec`        -- pickle-free transport of values out of the sandbox;
* :mod:`.compare`      -- expected vs actual, with messages for students;
* :mod:`.grade`        -- putting it together (a class in parallel); :mod:`.report` -- table,
  JSON, CSV; :mod:`.summary` -- the class summary (per question, histogram of totals);
* :mod:`.nbgrader_export` -- the solutions as nbgrader source notebooks.

Isolation, and its limits
-------------------------
* The score is decided in the grader process: each question's function is called on
  seeded hidden cases in a sandboxed subprocess, only the raw return values (and the
  arguments after the call) come back, as JSON -- never pickle -- and they are compared
  with the reference solution's outputs, computed before any student code ran.
  Printing "PASSED", redefining the self-checks, monkeypatching NumPy, builtins or the
  grader inside the sandbox, or forging result lines can therefore not earn a point that
  the functions themselves do not earn.  Test code inside a submission (cells with
  hidden-test markers, self-check cells tagged ``raises-exception``) is never run.
* The subprocess gets a fresh temporary working directory, a minimal environment,
  ``RLIMIT_AS``/``RLIMIT_CPU``/``RLIMIT_FSIZE``, its own process group and a wall-clock
  timeout enforced by the parent.  On Linux >= 5.13, Landlock (kernel-enforced) allows
  writes only under the working directory and blocks TCP and signals to other
  processes; an audit hook adds the same rules portably and refuses subprocesses,
  ctypes and ``setrlimit``.
* What was really in force for a submission (Landlock and its ABI, the resource limits
  read back in the sandbox, the timeout) is recorded in its report's ``isolation`` entry,
  as the sandboxed process reported it before running any student code.  A failure of the
  grader itself is reported as an "internal grader error" (exit code 3), never blamed on
  the submission.
* This is not a container.  Python audit hooks are not a security boundary, and where
  Landlock is unavailable (macOS, old kernels) a determined attacker could still write
  files.  For high-stakes grading, run the grader itself in a container or VM without
  network access.  (In this open course the solutions are public anyway: the sandbox
  protects the grade and the grader's machine, not the answers.)

Importing this package is cheap (no notebook libraries are imported until needed).
"""

from importlib import import_module as _import_module

__all__ = ["grade_notebook", "grade_paths"]


def __getattr__(name):  # lazy, so that `import course_lib.grading` stays light
    if name in __all__:
        return getattr(_import_module(".grade", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
