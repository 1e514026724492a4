"""Companion library of the course "Training neural networks, from scratch and in PyTorch".

Every technique is written twice, with the same module names and parameter layouts:

* :mod:`course_lib.scratch` -- NumPy only, float64, an explicit ``forward`` AND ``backward``
  for every op (it never imports torch; a test checks that);
* :mod:`course_lib.torch_impl` -- the same ops built from torch operations; autograd does
  the backward pass.

:mod:`course_lib.gradcheck` checks a hand-written backward pass against central
differences. Importing this package is cheap: it does not import torch. It does ask glibc to
keep freed memory for reuse (:mod:`course_lib.allocator`), so that NumPy's temporary arrays do
not page-fault; results are unchanged.
"""

from importlib.metadata import PackageNotFoundError, version

from course_lib.allocator import keep_freed_memory

keep_freed_memory()

try:
    __version__ = version("course_lib")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
