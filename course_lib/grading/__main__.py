"""Command line: ``python -m course_lib.grading {assign,grade} ...``.

Exit codes
----------
assign:  0 done / up to date; 1 (``--check``) stale, missing or extra exercises;
         2 an invalid solution notebook (nothing written).
grade:   0 grading ran (whatever the scores); 1 some notebook could not be graded
         (no such path, no notebooks, unknown exercise set); 2 bad usage;
         3 internal grader error (see GRADE_EXIT_CODES).
"""

from __future__ import annotations

import argparse
import sys

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
reported by the sandboxed process."""


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
    g.add_argument("--jobs", type=int, default=None,
                   help="with --isolate, sandboxes run in parallel (default: CPUs, at most 4)")
    g.add_argument("--isolate", action="store_true",
                   help="one sandbox per question (slower; default: one per notebook)")
    g.add_argument("--solutions", default=None,
                   help="folder of solution notebooks (default: ./solutions, else the source tree's)")
    g.add_argument("--checks", default=None, help="folder of checks files (default: the package's)")
    g.add_argument("--quiet", action="store_true", help="print only the totals")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "assign":
        from .assign import main_assign

        return main_assign(args.source, args.dest, args.check, args.checks)

    from .grade import grade_paths
    from .report import format_table, to_json, write_csv
    from .sandbox import Limits

    if args.timeout <= 0 or args.memory_mb <= 0:
        print("grade: --timeout and --memory-mb must be positive", file=sys.stderr)
        return 2
    reports, errors = grade_paths(
        args.paths,
        solutions_dir=args.solutions,
        checks_dir=args.checks,
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
