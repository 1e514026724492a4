"""The scratch side never imports torch (checked in a fresh interpreter per module)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import course_lib.scratch

SCRATCH_MODULES = ["course_lib", "course_lib.checks", "course_lib.gradcheck", "course_lib.scratch"] + sorted(
    f"course_lib.scratch.{m.name}" for m in pkgutil.iter_modules(course_lib.scratch.__path__)
)


@pytest.mark.parametrize("module", SCRATCH_MODULES)
def test_module_does_not_import_torch(module: str) -> None:
    code = (
        "import importlib, sys\n"
        f"importlib.import_module({module!r})\n"
        "loaded = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"importing {module} loaded torch: {result.stdout.strip()[:200]}"


def test_scratch_modules_were_found() -> None:
    assert "course_lib.scratch.linear" in SCRATCH_MODULES
    assert "course_lib.scratch.solver" in SCRATCH_MODULES
