r"""The activation zoo: every function and its derivative, computed by the library's own passes.

For each activation of :mod:`course_lib.scratch.activations` the experiment evaluates, on a grid
of inputs,

* the function, with ``forward``;
* its derivative, with ``backward`` and an upstream gradient of ones
  (for an elementwise :math:`f`, the vector-Jacobian product with :math:`\mathbf{1}` is :math:`f'(x)`);

and answers the slides' question "what is the gradient at x = -10, 0 and 10?" the same way,
then asks PyTorch's autograd for the same three numbers through the torch twins. Nothing is
typed in by hand. PReLU is shown with :math:`a = 0.25` (its initial value in He et al. 2015)
and maxout with three fixed one-dimensional pieces, to show the convex piecewise-linear shape a
maxout unit can take.

It also measures, for inputs :math:`x \sim \mathcal{N}(0, 1)`, the mean output (how far from
zero-centred the function is), its standard deviation (does a unit-variance signal keep its
scale?) and the mean derivative (how much gradient passes on average).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.scratch import activations as act

__all__ = ["ZooEntry", "ZooResult", "run", "ZOO", "MAXOUT_PIECES", "PRELU_SLOPE"]

MAXOUT_PIECES = (np.array([-0.5, 0.2, 1.5]), np.array([-1.0, 0.0, -0.5]))
"""(slopes, intercepts) of the three 1-D pieces of the maxout unit shown in the zoo."""


def _maxout_1d(x: np.ndarray):
    """The zoo's maxout unit as a scratch op call on x (any shape): max_j (s_j x + c_j)."""
    slopes, intercepts = MAXOUT_PIECES
    w = slopes.reshape(3, 1, 1)
    b = intercepts.reshape(3, 1)
    flat = np.asarray(x, dtype=np.float64).reshape(-1, 1)
    out, cache = act.Maxout.forward(flat, w, b)
    return out.reshape(np.shape(x)), cache


ZOO: dict[str, tuple] = {
    # label: (scratch op, hyperparameters, torch twin name)
    "sigmoid": (act.Sigmoid, {}, "sigmoid"),
    "tanh": (act.Tanh, {}, "tanh"),
    "LeCun tanh": (act.LeCunTanh, {}, "lecun_tanh"),
    "ReLU": (act.ReLU, {}, "relu"),
    "leaky ReLU (0.01)": (act.LeakyReLU, {"negative_slope": 0.01}, "leaky_relu"),
    "leaky ReLU (0.1, slides)": (act.LeakyReLU, {"negative_slope": 0.1}, "leaky_relu"),
    "PReLU (a = 0.25)": (act.PReLU, {}, "prelu"),
    "ELU (alpha = 1)": (act.ELU, {"alpha": 1.0}, "elu"),
    "maxout (k = 3)": (act.Maxout, {}, "maxout"),
}
"""The activations in the zoo: label -> (scratch op, hyperparameters, torch twin name)."""

PRELU_SLOPE = 0.25


def _forward_backward(label: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f(x) and f'(x) on an array x, through the scratch op's forward and backward."""
    op, hyper, _ = ZOO[label]
    if op is act.Maxout:
        out, cache = _maxout_1d(x)
        dx, _, _ = act.Maxout.backward(np.ones((x.size, 1)), cache)
        return out, dx.reshape(x.shape)
    if op is act.PReLU:
        out, cache = act.PReLU.forward(x, np.array([PRELU_SLOPE]))
        dx, _ = act.PReLU.backward(np.ones_like(out), cache)
        return out, dx
    out, cache = op.forward(x, **hyper)
    (dx,) = op.backward(np.ones_like(out), cache)
    return out, dx


def _autograd(label: str, points: np.ndarray) -> np.ndarray:
    """f'(points) from PyTorch autograd through the torch twin (float64)."""
    import torch

    from course_lib.torch_impl import activations as tact

    _, hyper, twin_name = ZOO[label]
    twin = getattr(tact, twin_name)
    x = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    if twin_name == "prelu":
        y = twin(x, torch.tensor([PRELU_SLOPE], dtype=torch.float64))
    elif twin_name == "maxout":
        slopes, intercepts = MAXOUT_PIECES
        w = torch.tensor(slopes, dtype=torch.float64).reshape(3, 1, 1)
        b = torch.tensor(intercepts, dtype=torch.float64).reshape(3, 1)
        y = twin(x.reshape(-1, 1), w, b).reshape(-1)
    else:
        y = twin(x, **hyper)
    (g,) = torch.autograd.grad(y.sum(), x)
    return g.numpy()


@dataclass(frozen=True, eq=False)
class ZooEntry:
    label: str
    values: np.ndarray  # (G,) f on the grid
    derivative: np.ndarray  # (G,) f' on the grid, from backward with dout = 1
    at_points: np.ndarray  # (P,) f at the probe points
    grad_at_points: np.ndarray  # (P,) f' at the probe points, from backward
    autograd_at_points: np.ndarray | None  # (P,) f' at the probe points from torch autograd (twin), or None
    mean_output: float  # E[f(x)] for x ~ N(0, 1) (Monte-Carlo)
    std_output: float  # std of f(x) for x ~ N(0, 1)
    mean_derivative: float  # E[f'(x)] for x ~ N(0, 1)


@dataclass(frozen=True, eq=False)
class ZooResult:
    grid: np.ndarray  # (G,) inputs
    points: np.ndarray  # (P,) probe inputs, the slides' -10, 0, 10
    entries: dict  # label -> ZooEntry, in ZOO order
    n_samples: int  # Monte-Carlo sample size for mean_output / mean_derivative

    def __getitem__(self, label: str) -> ZooEntry:
        return self.entries[label]

    @property
    def labels(self) -> list[str]:
        return list(self.entries)

    def gradient_table(self) -> str:
        """f'(x) at the probe points for every activation (the slides' question), from the backward passes."""
        head = f"{'activation':<26}" + "".join(f"{'df/dx at ' + format(p, 'g'):>16}" for p in self.points)
        lines = [head]
        for e in self.entries.values():
            lines.append(f"{e.label:<26}" + "".join(f"{g:>16.3g}" for g in e.grad_at_points))
        return "\n".join(lines)

    def summary_table(self) -> str:
        """Range on the grid; mean and std of the output and mean derivative for N(0, 1) inputs."""
        lines = [f"{'activation':<26}{'min f':>8}{'max f':>8}{'mean f(x)':>11}{'std f(x)':>10}{'mean df/dx':>12}"]
        for e in self.entries.values():
            lines.append(f"{e.label:<26}{e.values.min():>8.3f}{e.values.max():>8.3f}{e.mean_output:>11.3f}"
                         f"{e.std_output:>10.3f}{e.mean_derivative:>12.3f}")
        lines.append(f"(mean and std over {self.n_samples:,} inputs x ~ N(0, 1); min and max on the plotted grid)")
        return "\n".join(lines)

    @property
    def max_autograd_difference(self) -> float:
        """Largest |backward - autograd| over every activation and probe point (nan without autograd)."""
        diffs = [np.max(np.abs(e.grad_at_points - e.autograd_at_points)) for e in self.entries.values()
                 if e.autograd_at_points is not None]
        return float(max(diffs)) if diffs else float("nan")


def run(
    x_min: float = -5.0,
    x_max: float = 5.0,
    num: int = 1001,
    points: tuple[float, ...] = (-10.0, 0.0, 10.0),
    n_samples: int = 200_000,
    autograd: bool = True,
    seed: int = 0,
) -> ZooResult:
    """Evaluate every activation of :data:`ZOO` on a grid, at ``points``, and on N(0, 1) samples."""
    if not (x_max > x_min) or num < 2:
        raise ValueError(f"activation_zoo: need x_max > x_min and num >= 2, got {x_min}, {x_max}, {num}")
    grid = np.linspace(x_min, x_max, num)
    probe = np.asarray(points, dtype=np.float64)
    sample = np.random.default_rng(seed).standard_normal(n_samples)
    entries = {}
    for label in ZOO:
        values, derivative = _forward_backward(label, grid)
        at, grad_at = _forward_backward(label, probe)
        s_out, s_grad = _forward_backward(label, sample)
        entries[label] = ZooEntry(
            label=label,
            values=values,
            derivative=derivative,
            at_points=at,
            grad_at_points=grad_at,
            autograd_at_points=_autograd(label, probe) if autograd else None,
            mean_output=float(np.mean(s_out)),
            std_output=float(np.std(s_out)),
            mean_derivative=float(np.mean(s_grad)),
        )
    return ZooResult(grid=grid, points=probe, entries=entries, n_samples=n_samples)
