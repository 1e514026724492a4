"""Command line: ``python -m course_lib.grading {assign,grade,nbgrader-source} ...``.

Exit codes
----------
assign:  0 done / up to date; 1 (``--check``) stale, missing or extra exercises;
         2 an invalid solution notebook (nothing written).
nbgrader-source: 0 written; 2 unknown set or unwritable folder.
grade:   0 grading ran (whatever the scores); 1 some notebook could not be graded
         (no such path, no notebooks, unknown exercise set); 2 bad usage;
         3 internal grader error (see GRADE_EXIT_CODES).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

GRADE_EXIT_CODES = """\
exit codes:
  0  grading ran, whatever the scores (a crash, a timeout or a missing function in a
     submission costs that question's points and is not an error)
  1  some notebook could not be graded (no such path, no notebooks found, unknown
     exercise set); the others were graded
  2  bad usage
  3  internal grader error: the grader itself failed on some question or notebook (a
     checks file or reference solution that cannot be loaded or build its cases, an
     exception while judging, a sandbox that could not start); those questions score 0
     and are marked "error": "internal" in the JSON, with the traceback in "notes".
     Fix the grader or its checks and grade again. (3 wins over 1.)

Each notebook's JSON object also has "isolation": what was really in force while its
code ran (Landlock ABI, resource limits, timeout, temporary working directory), as
reported by the sandboxed process.

A class: give a folder with one subfolder (or one file) per student; the notebooks are
graded in parallel (--jobs), the CSV has a "student" column (the subfolder name or the
file stem), and when several notebooks were graded a class summary follows: per exercise
set, the mean points and the share of full marks per question, and a histogram of the
totals.

Private checks: --checks DIR adds the checks files NN_topic.py found in DIR on top of the
built-in ones (a private question named like a built-in one replaces it, the others are
added); with --checks-only, DIR's checks replace the built-in ones."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m course_lib.grading",
        description="Generate exercises from solutions, and grade submissions.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser(
        "assign",
        help="generate exercises/NN_name.ipynb from solutions/NN_name.md (or .ipynb)",
        description="Generate the student exercises from the solution notebooks.",
    )
    a.add_argument("--check", action="store_true", help="only check that the exercises are current (exit 1 if not)")
    a.add_argument("--source", default="solutions", help="folder of solution notebooks (default: solutions)")
    a.add_argument("--dest", default="exercises", help="folder of generated exercises (default: exercises)")
    a.add_argument("--checks", default=None, help="folder of checks files (default: the package's)")

    n = sub.add_parser(
        "nbgrader-source",
        help="write the solution notebooks as nbgrader source notebooks (COURSE/source/NN/NN.ipynb)",
        description="Write nbgrader source notebooks (cell metadata added) for `nbgrader generate_assignment`.",
    )
    n.add_argument("--source", default="solutions", help="folder of solution notebooks (default: solutions)")
    n.add_argument("--dest", required=True, metavar="COURSE_DIR", help="the nbgrader course directory")
    n.add_argument("sets", nargs="*", metavar="NN_topic", help="only these exercise sets (default: all)")

    g = sub.add_parser(
        "grade",
        help="grade notebooks (.ipynb or MyST .md) or folders of them",
        description="Grade notebooks; prints points per question and the total.",
        epilog=GRADE_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g.add_argument("paths", nargs="+", metavar="PATH", help="a notebook, or a folder searched recursively")
    g.add_argument("--json", metavar="FILE", help="write the JSON report to FILE ('-' for stdout)")
    g.add_argument("--csv", metavar="FILE", help="write a gradebook CSV (one row per notebook)")
    g.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="wall-clock limit in seconds for running the notebook's cells, "
                        "and for each question (default 30)")
    g.add_argument("--memory-mb", type=int, default=2048, metavar="M",
                   help="address-space limit of the sandbox (default 2048)")
    g.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="sandboxes run at once: notebooks graded in parallel, and with --isolate the "
                        "questions of one notebook (default: the number of CPUs)")
    g.add_argument("--isolate", action="store_true",
                   help="one sandbox per question (slower; default: one per notebook)")
    g.add_argument("--solutions", default=None,
                   help="folder of solution notebooks (default: ./solutions, else the source tree's)")
    g.add_argument("--checks", default=None, metavar="DIR",
                   help="folder of private checks files NN_topic.py, added on top of the built-in ones "
                        "(a question of the same name replaces the built-in one)")
    g.add_argument("--checks-only", action="store_true",
                   help="with --checks: grade with DIR's checks files only, not the built-in ones")
    g.add_argument("--quiet", action="store_true", help="print only the totals (and the class summary)")
    g.add_argument("--no-summary", action="store_true", help="no class summary after several notebooks")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "assign":
        from .assign import main_assign

        return main_assign(args.source, args.dest, args.check, args.checks)
    if args.command == "nbgrader-source":
        from .nbgrader_export import export_nbgrader

        try:
            written = export_nbgrader(args.source, args.dest, args.sets or None)
        except (ValueError, OSError) as exc:
            print(f"nbgrader-source: {exc}", file=sys.stderr)
            return 2
        for path in written:
            print(f"wrote   {path}")
        return 0

    from .grade import grade_paths
    from .report import format_table, to_json, write_csv
    from .sandbox import Limits
    from .summary import format_class_summary

    if args.timeout <= 0 or args.memory_mb <= 0:
        print("grade: --timeout and --memory-mb must be positive", file=sys.stderr)
        return 2
    if args.jobs is not None and args.jobs < 1:
        print("grade: --jobs must be at least 1", file=sys.stderr)
        return 2
    if args.checks_only and not args.checks:
        print("grade: --checks-only needs --checks DIR", file=sys.stderr)
        return 2
    if args.checks and not Path(args.checks).is_dir():
        print(f"grade: --checks {args.checks}: no such folder", file=sys.stderr)
        return 2
    reports, errors = grade_paths(
        args.paths,
        solutions_dir=args.solutions,
        checks_dir=args.checks if args.checks_only else None,
        private_checks_dir=None if args.checks_only else args.checks,
        limits=Limits(timeout=args.timeout, memory_mb=args.memory_mb),
        jobs=args.jobs,
        isolate=args.isolate,
    )
    out = sys.stderr if args.json == "-" else sys.stdout
    for r in reports:
        if args.quiet:
            status = f"NOT GRADED: {r.error}" if r.error else f"{r.score:g}/{r.max_score:g}"
            if r.internal_error and not r.error:
                status += "  (INTERNAL GRADER ERROR: see the notes in the JSON report)"
            print(f"{r.notebook}: {status}", file=out)
        else:
            print(format_table(r), file=out)
            print(file=out)
    for e in errors:
        if not any(r.error and e.endswith(r.error) for r in reports):
            print(f"grade: {e}", file=sys.stderr)
    if len(reports) > 1 and not args.no_summary:
        print(format_class_summary(reports), file=out)
    if reports:
        text = to_json(reports)
        if args.json == "-":
            sys.stdout.write(text)
        elif args.json:
            with open(args.json, "w", encoding="utf-8") as fh:
                fh.write(text)
        if args.csv:
            write_csv(reports, args.csv)
    if any(r.internal_error for r in reports):
        print("grade: INTERNAL GRADER ERROR (exit code 3): see the notes of the reports above", file=sys.stderr)
        return 3
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
