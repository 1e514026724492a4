"""Test-suite configuration.

Hypothesis runs derandomized: every run of the suite draws the same examples, so a property
test cannot pass on one machine and fail on the next by luck of the draw. (Set
``HYPOTHESIS_PROFILE=explore`` to search with fresh random examples while developing.)
"""

import os

from hypothesis import settings

settings.register_profile("course", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "course"))


def machine_profile() -> dict[str, str]:
    """What this process really computes with: numpy's BLAS kernels, torch's kernels and threads."""
    import threadpoolctl
    import torch

    info = {"numpy BLAS": "?", "torch CPU capability": torch.backends.cpu.get_cpu_capability(),
            "torch threads": str(torch.get_num_threads())}
    for lib in threadpoolctl.threadpool_info():
        if lib["user_api"] == "blas" and "numpy" in lib["filepath"]:
            info["numpy BLAS"] = f"{lib['internal_api']} {lib.get('architecture')} x{lib['num_threads']}"
    return info


def pytest_report_header(config):
    profile = os.environ.get("COURSE_TEST_PROFILE", "this machine")
    details = ", ".join(f"{k}: {v}" for k, v in machine_profile().items())
    return f"machine profile: {profile} ({details})"
