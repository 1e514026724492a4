"""The house style of every figure in the book: palette, font sizes, and a PNG-rendering Figure.

Figures are built with :class:`matplotlib.figure.Figure` directly, not through ``pyplot``:
they are not registered with pyplot's global figure list, so a notebook shows a figure once
(when it is the value of a cell) and a test that makes hundreds of them leaks nothing. They are
:class:`HouseFigure` instances, which know how to render themselves as PNG for Jupyter
(``_repr_png_``), whatever the matplotlib backend.

House style: the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies), one font size scale, light grids, no top/right spines. :data:`STYLE` holds it;
every function applies it locally; :func:`use_house_style` applies it globally (for your own
``pyplot`` figures).
"""
from __future__ import annotations

import io
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

__all__ = [
    "HouseFigure",
    "PALETTE",
    "CLASS_COLORS",
    "FORWARD_COLOR",
    "BACKWARD_COLOR",
    "STYLE",
    "use_house_style",
    "figure",
    "subplots",
    "moving_average",
]

# Okabe & Ito (2008), "Color Universal Design": safe for deuteranopia, protanopia, tritanopia.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
    "grey": "#7F7F7F",
}
CLASS_COLORS = (PALETTE["blue"], PALETTE["orange"], PALETTE["green"], PALETTE["purple"], PALETTE["sky"],
                PALETTE["vermillion"], PALETTE["yellow"], PALETTE["black"])
"""Colour of class k is ``CLASS_COLORS[k]``."""
FORWARD_COLOR = PALETTE["green"]  # forward values in graph drawings
BACKWARD_COLOR = PALETTE["vermillion"]  # gradients in graph drawings

STYLE: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.8,
    "axes.prop_cycle": mpl.cycler(
        color=[PALETTE[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky", "black")]
    ),
    "image.cmap": "viridis",
}
"""The house style as matplotlib rcParams."""


def use_house_style() -> None:
    """Apply :data:`STYLE` to matplotlib's global rcParams (affects figures made afterwards)."""
    mpl.rcParams.update(STYLE)


class HouseFigure(Figure):
    """A matplotlib Figure that Jupyter displays as a PNG image even when pyplot is never used."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", bbox_inches="tight", facecolor="white")
        return buf.getvalue()


def figure(width: float, height: float, **kwargs) -> HouseFigure:
    """A new :class:`HouseFigure` of ``width`` x ``height`` inches in the house style."""
    with mpl.rc_context(STYLE):
        return HouseFigure(figsize=(width, height), layout="constrained", **kwargs)


def subplots(fig: Figure, *args, **kwargs):
    """``fig.subplots(...)`` with the house style applied to the new axes."""
    with mpl.rc_context(STYLE):
        return fig.subplots(*args, **kwargs)


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` values (display smoothing of a noisy mini-batch curve)."""
    if window <= 1 or len(values) < window:
        return values
    c = np.cumsum(np.insert(values, 0, 0.0))
    out = np.empty_like(values)
    out[window - 1:] = (c[window:] - c[:-window]) / window
    out[: window - 1] = c[1:window] / np.arange(1, window)
    return out
