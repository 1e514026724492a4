"""The simulated-machine profiles take effect (see tools/test_profiles.py).

A profile is a set of environment variables read when the libraries load. If a variable were
misspelled or read too late, a profile run would silently test this machine again; these tests
make that visible. Each check applies only when its variable is set.
"""

from __future__ import annotations

import os

import pytest

from conftest import machine_profile

# OpenBLAS reports the kernel family it loaded, which is not always the requested core name
# (a DYNAMIC_ARCH build without a dedicated Prescott kernel runs the Katmai ones; Zen runs Haswell's).
OPENBLAS_ALIASES = {
    "prescott": {"prescott", "katmai", "core2"},
    "haswell": {"haswell"},
    "zen": {"zen", "haswell"},
    "skylakex": {"skylakex"},
    "sandybridge": {"sandybridge"},
}


def test_openblas_runs_the_requested_kernels():
    requested = os.environ.get("OPENBLAS_CORETYPE", "").lower()
    if requested not in OPENBLAS_ALIASES:
        pytest.skip(f"OPENBLAS_CORETYPE={requested or '(unset)'}: nothing to check")
    blas = machine_profile()["numpy BLAS"].split()
    assert blas[0] == "openblas", f"numpy is not using OpenBLAS here: {blas}"
    assert blas[1].lower() in OPENBLAS_ALIASES[requested], f"asked for {requested}, OpenBLAS runs {blas[1]}"


def test_torch_runs_the_requested_capability():
    requested = os.environ.get("ATEN_CPU_CAPABILITY")
    if not requested:
        pytest.skip("ATEN_CPU_CAPABILITY unset: nothing to check")
    assert machine_profile()["torch CPU capability"].lower() == requested.lower()


def test_thread_count_is_the_requested_one():
    requested = os.environ.get("OMP_NUM_THREADS")
    if not requested:
        pytest.skip("OMP_NUM_THREADS unset: nothing to check")
    assert machine_profile()["torch threads"] == requested
