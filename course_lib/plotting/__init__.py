"""Results -> matplotlib Figures, in one house style.

Every ``plot_*`` function takes the result of an experiment
(``course_lib.experiments.<name>.run(...)``) and returns a :class:`matplotlib.figure.Figure`.
Nothing here trains, samples or computes a quantity the reader is meant to learn from: the
numbers are already in the result.

The functions live in one module per chapter (``backprop``, ...) next to :mod:`.style`, the
house style they share; every public name of every module is re-exported here, so the book
writes ``plotting.plot_loss_curve(result)`` whatever module holds it. A new chapter adds a
module with an ``__all__``; nothing else changes.
"""
from __future__ import annotations

import importlib
import pkgutil

__all__: list[str] = []

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: (m.name != "style", m.name)):
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    for _name in getattr(_module, "__all__", ()):
        if _name in globals() and globals()[_name] is not getattr(_module, _name):
            raise ImportError(f"course_lib.plotting: {_name!r} is defined in two modules")
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)

del _info, _module, _name
