r"""An MLP's weights are templates tied to pixel positions; a CNN shares its filters across positions.

Protocol: scikit-learn digits (8x8, scaled to [0, 1] by /16), the course's fixed split. Two
classifiers trained with the same :class:`~course_lib.scratch.solver.Solver` settings (SGD with
momentum 0.9, learning rate 0.05, batch 32, 20 epochs, L2 strength 1e-3, He initialization):

* an MLP 64-``hidden``-10 with ReLU (:class:`~course_lib.scratch.model.MLP`): each hidden unit's
  64 incoming weights, drawn as an 8x8 image, are a *template* that the unit matches against the
  image pixel by pixel (the slides' "weights act as templates");
* the small CNN :class:`~course_lib.scratch.cnn.SimpleCNN` with two blocks
  [conv 3x3 -> ReLU -> max-pool 2x2] of 8 and 16 filters and a linear readout.

Then the test images are shifted by one pixel (up, down, left, right; the pixels that enter are
zeros, the row or column that leaves is lost) and both nets classify them unchanged.

What must show (honestly measured): both nets lose accuracy under a one-pixel shift, on 8x8
images a shift of an eighth of the width; the MLP loses much more, because a template matched
one pixel off no longer fits, while the CNN's filters find their features wherever they are and
only its pooling windows and the readout of the last (2x2) maps still depend on the position.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.data import load_digits
from course_lib.scratch.cnn import SimpleCNN
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import Solver

from ._threads import one_blas_thread

__all__ = ["ConvTemplatesResult", "run", "shift_images", "SHIFTS"]

SHIFTS = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
"""Name -> (rows, columns) the image content moves by."""


def shift_images(x: np.ndarray, dy: int, dx: int, size: int = 8) -> np.ndarray:
    """Move flat (N, size*size) images by ``dy`` rows and ``dx`` columns, filling with zeros."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != size * size:
        raise ValueError(f"shift_images: x must have shape (N, {size * size}), got {x.shape}")
    if abs(dy) >= size or abs(dx) >= size:
        raise ValueError(f"shift_images: shifts must be smaller than the image size {size}, got ({dy}, {dx})")
    im = x.reshape(-1, size, size)
    out = np.zeros_like(im)
    rows_to, rows_from = slice(max(dy, 0), size + min(dy, 0)), slice(max(-dy, 0), size + min(-dy, 0))
    cols_to, cols_from = slice(max(dx, 0), size + min(dx, 0)), slice(max(-dx, 0), size + min(-dx, 0))
    out[:, rows_to, cols_to] = im[:, rows_from, cols_from]
    return out.reshape(x.shape)


@dataclass(frozen=True, eq=False)
class ConvTemplatesResult:
    templates: np.ndarray  # (hidden, 8, 8) the MLP's first-layer weights, one image per hidden unit
    sample: np.ndarray  # (8, 8) one test digit
    sample_shifted: np.ndarray  # (8, 8) the same digit moved one pixel right
    acc: dict  # model -> {"none": acc, "up": acc, ...} test accuracy without and with each shift
    n_params: dict  # model -> number of trainable parameters
    val_acc: dict  # model -> validation accuracy after training
    seed: int
    config: dict

    @property
    def models(self) -> tuple:
        return tuple(self.acc)

    def shifted_mean(self, model: str) -> float:
        """Mean test accuracy over the four one-pixel shifts."""
        return float(np.mean([self.acc[model][s] for s in SHIFTS]))

    def drop(self, model: str) -> float:
        """Accuracy lost to a one-pixel shift: unshifted minus the mean over the four shifts."""
        return self.acc[model]["none"] - self.shifted_mean(model)

    def table(self) -> str:
        cols = ("none", *SHIFTS)
        lines = [f"{'model':<6}{'params':>8}" + "".join(f"{c:>8}" for c in cols) + f"{'mean shifted':>14}"]
        for m in self.models:
            lines.append(f"{m:<6}{self.n_params[m]:>8}" + "".join(f"{self.acc[m][c]:>8.1%}" for c in cols)
                         + f"{self.shifted_mean(m):>14.1%}")
        return "\n".join(lines)


def run(hidden: int = 64, channels: tuple = (8, 16), epochs: int = 20, lr: float = 0.05, momentum: float = 0.9,
        batch_size: int = 32, reg: float = 1e-3, seed: int = 0, data_seed: int = 0,
        progress: bool = False) -> ConvTemplatesResult:
    """Train the MLP and the CNN on digits (seeded init and batches), then test on shifted images."""
    if hidden < 1 or epochs < 1:
        raise ValueError(f"conv_templates.run: hidden and epochs must be >= 1, got {hidden}, {epochs}")
    data = load_digits(seed=data_seed)
    side = int(round(np.sqrt(data.x_train.shape[1])))
    models = {
        "mlp": MLP([side * side, hidden, 10], activation="relu", init="he_normal", reg=reg,
                   rng=np.random.default_rng([seed, 0])),
        "cnn": SimpleCNN(1, side, 10, channels=channels, reg=reg, rng=np.random.default_rng([seed, 1])),
    }
    acc, n_params, val_acc = {}, {}, {}
    with one_blas_thread():
        for name, model in models.items():
            history = Solver(model, data, SGD(lr, momentum=momentum), batch_size=batch_size, epochs=epochs,
                             seed=seed, progress=progress).train()
            acc[name] = {"none": float(model.accuracy(data.x_test, data.y_test))}
            for shift, (dy, dx) in SHIFTS.items():
                acc[name][shift] = float(model.accuracy(shift_images(data.x_test, dy, dx, side), data.y_test))
            n_params[name] = int(sum(p.size for p in model.params.values()))
            val_acc[name] = float(history.val_acc[-1])
    sample = data.x_test[0]
    return ConvTemplatesResult(
        templates=models["mlp"].params["W1"].T.reshape(hidden, side, side).copy(),
        sample=sample.reshape(side, side), sample_shifted=shift_images(sample[None], 0, 1, side).reshape(side, side),
        acc=acc, n_params=n_params, val_acc=val_acc, seed=seed,
        config=dict(hidden=hidden, channels=tuple(channels), epochs=epochs, lr=lr, momentum=momentum,
                    batch_size=batch_size, reg=reg, seed=seed, data_seed=data_seed),
    )
