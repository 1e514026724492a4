r"""Adam's algebra, checked exactly (Kingma & Ba 2015, Secs. 2-3).

Three properties of the update

.. math::

    m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \quad
    \Delta w_t = -\eta\, \frac{m_t / (1-\beta_1^t)}{\sqrt{v_t / (1-\beta_2^t)} + \epsilon}

(elementwise; every array has the parameter's shape):

1. **The first step has size** :math:`\eta` **on every coordinate**: :math:`\hat m_1 = g_1`,
   :math:`\hat v_1 = g_1^2`, so :math:`\Delta w_1 = -\eta\, g_1 / (|g_1| + \epsilon)
   \to -\eta\,\mathrm{sign}(g_1)` as :math:`\epsilon \to 0`, whatever the gradient's scale.
2. **Invariance to rescaling the gradient**: multiplying every gradient by :math:`c > 0` multiplies
   :math:`m` by :math:`c` and :math:`\sqrt v` by :math:`c`; with :math:`\epsilon \to 0` the
   trajectory does not change. Plain SGD's steps scale with :math:`c`.
3. **Bias correction matters early**: averages started at 0 are too small by the factors
   :math:`1-\beta_1^t` and :math:`1-\beta_2^t`. Without any correction the step is
   :math:`(1-\beta_1^t)/\sqrt{1-\beta_2^t}` times the corrected one, too LARGE at first
   (:math:`0.1/\sqrt{0.001} \approx 3.16` at t = 1 for the defaults);
   correcting :math:`v` only makes it :math:`(1-\beta_1^t)` times too small; correcting
   :math:`m` only, :math:`1/\sqrt{1-\beta_2^t}` times too large. All factors tend to 1.

The steps come from :class:`course_lib.scratch.optim.Adam` (and SGD for the contrast); the
uncorrected variants are computed from its state ``exp_avg``, ``exp_avg_sq``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.scratch.optim import SGD, Adam

__all__ = ["AdamAlgebraResult", "run"]

VARIANTS = ("corrected", "none", "m only", "v only")


@dataclass(frozen=True, eq=False)
class AdamAlgebraResult:
    grad_scales: np.ndarray  # (D,) scale of each coordinate's gradient in the first-step test
    first_step: np.ndarray  # (D,) |Delta w_1| of Adam for g_1 = grad_scales * random signs
    lr: float
    scale_factors: tuple  # the constants c multiplying every gradient
    adam_paths: np.ndarray  # (len(c), steps + 1, 2) Adam on a quadratic with gradients times c
    sgd_paths: np.ndarray  # (len(c), steps + 1, 2) SGD, same
    adam_scale_spread: float  # max |w_c - w_1| over c and steps (Adam): ~0
    sgd_final_norm: np.ndarray  # (len(c),) |w| after the last SGD step (inf: diverged)
    adam_final_norm: np.ndarray  # (len(c),) the same for Adam (all equal)
    steps: np.ndarray  # (T,) t = 1..T
    step_ratio: dict  # variant -> (T,) |uncorrected step| / |corrected step| on a constant gradient
    betas: tuple


def _quadratic_grad(w: np.ndarray, h: np.ndarray) -> np.ndarray:
    return h * w


def run(lr: float = 0.01, betas: tuple = (0.9, 0.999), eps: float = 1e-12, dim: int = 8,
        scale_factors: tuple = (1e-3, 1.0, 1e3), steps: int = 200, ratio_steps: int = 3000,
        seed: int = 0) -> AdamAlgebraResult:
    """All three checks; ``eps`` tiny so that the eps -> 0 statements hold to rounding."""
    rng = np.random.default_rng(seed)
    b1, b2 = betas
    # 1. first step: gradients of very different scales
    scales = 10.0 ** rng.uniform(-6, 4, size=dim)
    g1 = scales * rng.choice([-1.0, 1.0], size=dim)
    adam = Adam(lr=lr, betas=betas, eps=eps)
    w0 = rng.normal(size=dim)
    w1, _ = adam.step(w0, g1, adam.init(w0))
    first = np.abs(w1 - w0)
    # 2. rescaled gradients on an ill-conditioned quadratic f = 0.5 * sum(h * w^2)
    h = np.array([1.0, 25.0])
    start = np.array([-2.0, 1.0])
    sgd = SGD(lr=0.02)
    paths = {"adam": [], "sgd": []}
    for c in scale_factors:
        for name, opt in (("adam", adam), ("sgd", sgd)):
            w, state, path = start.copy(), opt.init(start), [start.copy()]
            for _ in range(steps):
                with np.errstate(over="ignore", invalid="ignore"):
                    w, state = opt.step(w, c * _quadratic_grad(w, h), state)
                path.append(w)
            paths[name].append(np.array(path))
    adam_paths, sgd_paths = np.array(paths["adam"]), np.array(paths["sgd"])
    ref = list(scale_factors).index(1.0) if 1.0 in scale_factors else 0
    with np.errstate(over="ignore", invalid="ignore"):
        adam_spread = float(np.max(np.abs(adam_paths - adam_paths[ref])))
        sgd_final = np.linalg.norm(sgd_paths[:, -1], axis=-1)
    sgd_final = np.where(np.isfinite(sgd_final), sgd_final, np.inf)
    # 3. bias correction on a constant gradient g = 1 (the corrected step is exactly lr)
    t = np.arange(1, ratio_steps + 1)
    m = 1.0 - b1**t  # uncorrected m_t for g = 1
    v = 1.0 - b2**t  # uncorrected v_t
    corrected = (m / (1 - b1**t)) / np.sqrt(v / (1 - b2**t))
    ratio = {
        "corrected": corrected / corrected,
        "none": (m / np.sqrt(v)) / corrected,
        "m only": ((m / (1 - b1**t)) / np.sqrt(v)) / corrected,
        "v only": (m / np.sqrt(v / (1 - b2**t))) / corrected,
    }
    # the library's Adam on g = 1 gives the corrected step lr at every t
    w, state = np.zeros(1), adam.init(np.zeros(1))
    for _ in range(5):
        w_new, state = adam.step(w, np.ones(1), state)
        assert abs(abs(w_new[0] - w[0]) - lr) < 1e-9 * lr
        w = w_new
    return AdamAlgebraResult(
        grad_scales=scales, first_step=first, lr=lr, scale_factors=tuple(scale_factors),
        adam_paths=adam_paths, sgd_paths=sgd_paths, adam_scale_spread=adam_spread,
        sgd_final_norm=sgd_final, adam_final_norm=np.linalg.norm(adam_paths[:, -1], axis=-1),
        steps=t, step_ratio=ratio, betas=tuple(betas),
    )
