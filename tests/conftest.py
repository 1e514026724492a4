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
