"""Hidden checks of the exercise sets, one file per set: ``NN_name.py`` for ``solutions/NN_name.md``.

Each file defines ``QUESTIONS``, a list of :class:`course_lib.grading.spec.Question`
(name, function, points, seeded cases, tolerances); see :mod:`course_lib.grading.spec`.
The files are loaded by path (their names start with digits), only in the trusted grader
process, never inside the sandbox.
"""
