"""Run the test suite again under simulated machines (``make test`` calls this after the main run).

Floating-point results differ between CPUs: numpy's OpenBLAS picks its kernels when it loads, torch
picks its vectorized kernels and MKL its instruction set, and the thread count changes the order of
reductions. Each profile below sets the environment variables that make this machine behave like
another one in those respects, then runs every test except the browser tests (the notebooks are
executed once, by the main run). A claim that holds only on the machine it was written on fails here.

    python tools/test_profiles.py                 # every profile
    python tools/test_profiles.py sse-1thread     # one profile
    python tools/test_profiles.py --list

A profile whose instruction set this CPU lacks is skipped, with a message saying so.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Profile:
    name: str
    env: dict[str, str]
    needs: tuple[str, ...]  # CPU flags (as in /proc/cpuinfo) the profile's kernels require
    what: str


PROFILES = [
    Profile(
        "sse-1thread",
        {
            "OPENBLAS_CORETYPE": "Prescott",
            "ATEN_CPU_CAPABILITY": "default",
            "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
            "OMP_NUM_THREADS": "1",
        },
        (),
        "an old x86-64 CPU: SSE kernels everywhere, one thread",
    ),
    Profile(
        "avx2-2threads",
        {
            "OPENBLAS_CORETYPE": "Haswell",
            "ATEN_CPU_CAPABILITY": "avx2",
            "MKL_ENABLE_INSTRUCTIONS": "AVX2",
            "OMP_NUM_THREADS": "2",
        },
        ("avx2", "fma"),
        "a common laptop/desktop CPU: AVX2 kernels, two threads",
    ),
]

PYTEST_ARGS = [
    "-m", "pytest", "-n", "2", "--dist", "loadfile", "-p", "no:cacheprovider", "-q",
    "tests", "--ignore=tests/test_book_html.py",
]


def cpu_flags() -> set[str] | None:
    """The CPU's feature flags from /proc/cpuinfo, or None where that file does not exist."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return None


def run_profile(profile: Profile, python: str) -> int | None:
    """Run the suite under ``profile``; None when skipped, else pytest's exit code."""
    flags = cpu_flags()
    missing = [f for f in profile.needs if flags is not None and f not in flags]
    if profile.needs and flags is None:
        print(f"[profile {profile.name}] SKIPPED: cannot read this CPU's flags to check {profile.needs}")
        return None
    if missing:
        print(f"[profile {profile.name}] SKIPPED: this CPU lacks {', '.join(missing)}")
        return None
    settings = " ".join(f"{k}={v}" for k, v in profile.env.items())
    print(f"[profile {profile.name}] {profile.what}\n[profile {profile.name}] {settings}", flush=True)
    env = os.environ | profile.env | {"COURSE_TEST_PROFILE": profile.name}
    start = time.perf_counter()
    code = subprocess.call([python, *PYTEST_ARGS], cwd=ROOT, env=env)
    print(f"[profile {profile.name}] exit code {code} after {time.perf_counter() - start:.0f} s", flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="profiles to run (default: all)")
    parser.add_argument("--list", action="store_true", help="print the profiles and exit")
    args = parser.parse_args(argv)
    by_name = {p.name: p for p in PROFILES}
    if args.list:
        for p in PROFILES:
            print(f"{p.name:<15} {' '.join(f'{k}={v}' for k, v in p.env.items())}   ({p.what})")
        return 0
    unknown = [n for n in args.names if n not in by_name]
    if unknown:
        parser.error(f"unknown profile(s) {unknown}; known: {sorted(by_name)}")
    chosen = [by_name[n] for n in args.names] or PROFILES
    results = {p.name: run_profile(p, sys.executable) for p in chosen}
    failed = [name for name, code in results.items() if code not in (0, None)]
    ran = [name for name, code in results.items() if code is not None]
    print(f"profiles run: {', '.join(ran) or 'none'}; failed: {', '.join(failed) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
