r"""Babysitting the learning process: the checks to run before and while training.

The recipe (a network, a data set, a loss; before any hyperparameter search):

1. **Initial loss.** With small random weights and no regularization the scores are
   nearly equal, the softmax is nearly uniform and the cross-entropy is
   :math:`-\ln(1/C) = \ln C` (:func:`expected_initial_loss`); a multiclass SVM with margin 1
   starts at :math:`C - 1`. Then turn regularization on: the loss must go up
   (:func:`initial_loss_check`).
2. **Overfit a tiny subset** (e.g. 20 examples) without regularization: the training
   accuracy must reach 100 % (:func:`overfit_small_subset`). If it does not, the model, the
   gradient or the optimizer is broken, and no amount of data will help.
3. **Find a learning rate** that makes the loss go down, on the full data with a little
   regularization: the learning-rate range test of Smith (2017, "Cyclical learning rates
   for training neural networks"), :func:`lr_range_test`.
4. **Watch the curves** while training (:func:`diagnose_curves`), with the table below, and
   the update/weight ratios :math:`\|\Delta W\| / \|W\|` of the weight matrices
   (:func:`update_ratio_report`; a rule of thumb puts them near :math:`10^{-3}`).

Loss-curve and accuracy diagnoses (:data:`DIAGNOSES`; checked in this order):

=================  ==============================================  ==========================================
kind               what the curves show                            what to do
=================  ==============================================  ==========================================
lr_too_high        the loss explodes or becomes nan/inf; or it      lower the learning rate
                   drops in the first steps and then sits on a
                   high plateau
bad_init           the loss stays flat, then drops suddenly         check the initialization (weight scale)
lr_too_low         the loss decreases slowly and almost linearly    raise the learning rate
overfitting        training accuracy well above validation          more regularization (L2, dropout), more
                   accuracy (a big gap)                             data, early stopping
no_gap             training and validation accuracy close and      more capacity (wider / deeper network),
                   both below their ceiling                         train longer
healthy            a fast decrease that flattens out, a modest     keep going
                   gap
=================  ==============================================  ==========================================

The thresholds are arguments of :func:`diagnose_curves`; they are rules of thumb, not
theorems: look at the curve too.

Works with scratch models (``loss(x, y) -> (loss, grads)``, ``params``) and, where a
docstring says so, with torch models (``loss(x, y) -> tensor``, ``parameters()``); torch is
imported only for a torch model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from course_lib import checks
from course_lib.scratch.solver import apply_update, epoch_batches, get_data

__all__ = [
    "expected_initial_loss", "InitialLossCheck", "initial_loss_check", "OverfitResult", "overfit_small_subset",
    "LRRangeResult", "lr_range_test", "Diagnosis", "DIAGNOSES", "diagnose_curves", "UpdateRatioRow",
    "update_ratio_report",
]


def expected_initial_loss(num_classes: int, loss: str = "softmax") -> float:
    r"""The loss of a network whose scores are all (nearly) equal: :math:`\ln C` for softmax.

    With equal scores the softmax gives every class probability :math:`1/C`, so the
    cross-entropy is :math:`-\ln(1/C) = \ln C`: 2.30 for C = 10 (the "about 2.5" sometimes
    quoted for 10 classes is this :math:`\ln 10 \approx 2.30`, rounded up for the small
    spread of random scores). A multiclass SVM (hinge, margin 1) starts at :math:`C - 1`:
    every wrong class violates the margin by about 1.
    """
    num_classes = checks.integer(num_classes, "num_classes", "expected_initial_loss", minimum=2)
    if loss == "softmax":
        return math.log(num_classes)
    if loss == "svm":
        return float(num_classes - 1)
    raise ValueError(f"expected_initial_loss: loss must be 'softmax' or 'svm', got {loss!r}")


def _is_torch(model: Any) -> bool:
    return hasattr(model, "parameters") and hasattr(model, "state_dict") and not hasattr(model, "params")


def _loss_value(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    """The model's loss on (x, y) as a float, in eval mode (no dropout; batch norm: running statistics)."""
    was_training = getattr(model, "training", None)
    if was_training is not None:
        model.eval()
    try:
        if _is_torch(model):
            import torch

            with torch.no_grad():
                return float(model.loss(x, y))
        with np.errstate(over="ignore", invalid="ignore"):
            return float(model.loss(x, y)[0])
    finally:
        if was_training is not None:
            model.train(was_training)


@dataclass(frozen=True)
class InitialLossCheck:
    """What :func:`initial_loss_check` measured.

    ``measured``: the loss with reg = 0; ``expected``: ln C (softmax) or C - 1 (SVM);
    ``with_reg``: the loss with the regularization strength ``reg`` turned on.
    """

    measured: float
    expected: float
    with_reg: float
    reg: float
    tolerance: float

    @property
    def ok(self) -> bool:
        """The measured loss lies within ``tolerance`` (relative) of the expected one."""
        return abs(self.measured - self.expected) <= self.tolerance * self.expected

    @property
    def reg_raises(self) -> bool:
        """Turning regularization on raised the loss, as it must."""
        return self.with_reg > self.measured


def initial_loss_check(model: Any, x: Any, y: Any, *, reg: float | None = None,
                       tolerance: float = 0.1) -> InitialLossCheck:
    """Steps 1-2 of the recipe: the loss at initialization, without and with regularization.

    ``model`` is a freshly initialized scratch or torch MLP (anything with a ``reg``
    attribute, ``num_classes`` and ``loss(x, y)``); ``x`` (N, D), ``y`` (N,). The loss is
    computed in eval mode with ``model.reg`` set to 0, then to ``reg`` (None: the model's own
    ``reg`` if positive, else 1.0); ``model.reg`` is restored afterwards.
    """
    for attr in ("reg", "loss", "num_classes"):
        if not hasattr(model, attr):
            raise TypeError(f"initial_loss_check: model has no {attr!r} (an MLP is expected)")
    own = float(model.reg)
    reg = (own if own > 0 else 1.0) if reg is None else checks.real(reg, "reg", "initial_loss_check",
                                                                     exclusive_minimum=True, minimum=0)
    tolerance = checks.real(tolerance, "tolerance", "initial_loss_check", minimum=0)
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y)
    try:
        model.reg = 0.0
        measured = _loss_value(model, x, y)
        model.reg = reg
        with_reg = _loss_value(model, x, y)
    finally:
        model.reg = own
    expected = expected_initial_loss(model.num_classes, getattr(model, "loss_name", "softmax"))
    return InitialLossCheck(measured=measured, expected=expected, with_reg=with_reg, reg=reg, tolerance=tolerance)


# ----- a short training run for both kinds of model ----------------------------------------
def _train_steps(model: Any, x: np.ndarray, y: np.ndarray, lr_at: Callable[[int], float], steps: int,
                 batch_size: int, momentum: float, seed: int,
                 stop: Callable[[list[float]], bool] | None = None) -> list[float]:
    """``steps`` SGD(momentum) steps on shuffled mini-batches; the batch losses (inf once it diverged)."""
    rng = np.random.default_rng(seed)
    losses: list[float] = []
    torch_model = _is_torch(model)
    if torch_model:
        import torch

        ref = next(model.parameters())
        xt = torch.as_tensor(x, dtype=ref.dtype, device=ref.device)
        yt = torch.as_tensor(y, dtype=torch.long, device=ref.device)
        opt = torch.optim.SGD(model.parameters(), lr=lr_at(0), momentum=momentum)
        model.train()
    else:
        from course_lib.scratch.optim import SGD

        opt = SGD(lr=lr_at(0), momentum=momentum)
        states = {name: opt.init(w) for name, w in model.params.items()}
    while len(losses) < steps:
        for idx in epoch_batches(rng, x.shape[0], batch_size):
            t = len(losses)
            if t >= steps:
                break
            lr = float(lr_at(t))
            if torch_model:
                for group in opt.param_groups:
                    group["lr"] = lr
                opt.zero_grad()
                i = torch.as_tensor(idx, device=xt.device)
                loss = model.loss(xt[i], yt[i])
                value = float(loss.detach())
                if not math.isfinite(value):
                    return losses + [math.inf]
                loss.backward()
                opt.step()
            else:
                with np.errstate(over="ignore", invalid="ignore"):
                    value, grads = model.loss(x[idx], y[idx])
                if not math.isfinite(value):
                    return losses + [math.inf]
                apply_update(model, opt, grads, states, lr=lr)
            losses.append(float(value))
            if stop is not None and stop(losses):
                return losses
    return losses


def _accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    was_training = getattr(model, "training", None)
    if was_training is not None:
        model.eval()
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            return float(model.accuracy(x, y))
    finally:
        if was_training is not None:
            model.train(was_training)


@dataclass(frozen=True)
class OverfitResult:
    """What :func:`overfit_small_subset` reached: accuracy and loss on the n training examples."""

    n: int
    steps: int
    train_acc: float
    final_loss: float
    loss: list[float] = field(repr=False)

    @property
    def passed(self) -> bool:
        """Every one of the n examples is classified correctly."""
        return self.train_acc == 1.0


def overfit_small_subset(model_factory: Callable[[], Any], data: Any, n: int = 20, *, steps: int = 200,
                         lr: float = 0.1, momentum: float = 0.9, seed: int = 0) -> OverfitResult:
    """Step 3 of the recipe: can the model drive the training loss to ~0 on ``n`` examples?

    ``model_factory()`` returns a fresh scratch or torch model (use ``reg=0``: regularization
    keeps the loss from reaching zero); ``n`` training examples are drawn with
    ``np.random.default_rng(seed)``, then ``steps`` full-batch SGD steps with ``momentum``.
    A healthy model reaches training accuracy 1.0 within a few hundred steps; a model that
    cannot has a bug (a wrong gradient, a frozen layer) or far too little capacity.
    """
    n = checks.integer(n, "n", "overfit_small_subset", minimum=1)
    steps = checks.integer(steps, "steps", "overfit_small_subset", minimum=1)
    lr = checks.real(lr, "lr", "overfit_small_subset", minimum=0)
    momentum = checks.real(momentum, "momentum", "overfit_small_subset", minimum=0)
    arrays = get_data(data)
    x, y = arrays["x_train"], arrays["y_train"]
    if n > x.shape[0]:
        raise ValueError(f"overfit_small_subset: n must be <= {x.shape[0]} (the training set), got {n}")
    idx = np.sort(np.random.default_rng(seed).choice(x.shape[0], size=n, replace=False))
    x, y = x[idx], y[idx]
    model = model_factory()
    losses = _train_steps(model, x, y, lambda t: lr, steps, n, momentum, seed)
    return OverfitResult(n=n, steps=len(losses), train_acc=_accuracy(model, x, y), final_loss=losses[-1],
                         loss=losses)


@dataclass(frozen=True)
class LRRangeResult:
    """The outcome of :func:`lr_range_test`.

    ``mode="grid"``: ``lrs`` (K,) the learning rates tried, ``loss`` (K,) the mean training
    loss of each short run's last steps (inf where it diverged), ``initial_loss`` the loss
    before training. ``mode="exponential"``: ``lrs`` (T,) the learning rate of each step of the
    one run and ``loss`` (T,) the smoothed batch loss at that step.
    """

    mode: str
    lrs: np.ndarray
    loss: np.ndarray
    initial_loss: float

    @property
    def diverged(self) -> np.ndarray:
        """Bool (K,): the run blew up (grid), or the loss rose above 4x its minimum (exponential)."""
        if self.mode == "grid":
            return ~np.isfinite(self.loss)
        finite = np.where(np.isfinite(self.loss), self.loss, np.inf)
        return finite > 4 * np.min(finite)

    @property
    def best_lr(self) -> float:
        """The learning rate with the lowest loss (grid); exponential: a tenth of the lr at the minimum.

        Smith (2017) reads the range off the curve: where the loss starts to fall (lower bound)
        and where it stops falling (upper bound); one tenth of the minimum's lr is a common
        single pick in the exponential sweep.
        """
        i = int(np.argmin(np.where(np.isfinite(self.loss), self.loss, np.inf)))
        return float(self.lrs[i]) if self.mode == "grid" else float(self.lrs[i]) / 10

    @property
    def decreasing(self) -> np.ndarray:
        """Bool (K,) (grid): the run ended below the initial loss."""
        return self.loss < self.initial_loss


def lr_range_test(model_factory: Callable[[], Any], data: Any, lrs: Sequence[float], *, steps: int = 30,
                  batch_size: int = 64, momentum: float = 0.9, tail: int = 5, mode: str = "grid",
                  seed: int = 0) -> LRRangeResult:
    r"""The learning-rate range test of Smith (2017), "Cyclical learning rates for training neural networks".

    ``mode="grid"``: for every lr of ``lrs`` (use a log grid, ``np.geomspace(1e-4, 1, 9)``),
    a fresh ``model_factory()`` model (make the factory seeded so that every run starts from
    the same weights) takes ``steps`` SGD steps; the result is the mean batch loss of the last
    ``tail`` steps (inf if the loss became nan/inf). Too small an lr barely moves the loss,
    too large one makes it explode; the useful range lies between.

    ``mode="exponential"``: one run of ``steps`` steps whose lr grows geometrically from
    ``lrs[0]`` to ``lrs[-1]``, :math:`\eta_t = \eta_0 (\eta_1/\eta_0)^{t/(T-1)}`; the batch loss
    is smoothed (exponential average, 0.9, bias-corrected) and the run stops once it exceeds
    4x its minimum.

    Scratch and torch models; ``data`` a Splits or dict (the training split is used).
    """
    lrs = np.asarray(lrs, dtype=np.float64)
    if lrs.ndim != 1 or lrs.size < 2 or not np.all(np.isfinite(lrs)) or np.any(lrs <= 0):
        raise ValueError(f"lr_range_test: lrs must be at least 2 positive finite learning rates, got {lrs}")
    steps = checks.integer(steps, "steps", "lr_range_test", minimum=2)
    batch_size = checks.integer(batch_size, "batch_size", "lr_range_test", minimum=1)
    tail = checks.integer(tail, "tail", "lr_range_test", minimum=1, maximum=steps)
    momentum = checks.real(momentum, "momentum", "lr_range_test", minimum=0)
    arrays = get_data(data)
    x, y = arrays["x_train"], arrays["y_train"]
    initial = _loss_value(model_factory(), x, y)
    if mode == "grid":
        out = []
        for lr in lrs:
            losses = _train_steps(model_factory(), x, y, lambda t, lr=lr: lr, steps, batch_size, momentum, seed)
            out.append(math.inf if len(losses) < steps or not np.all(np.isfinite(losses))
                       else float(np.mean(losses[-tail:])))
        return LRRangeResult(mode=mode, lrs=lrs, loss=np.array(out), initial_loss=initial)
    if mode != "exponential":
        raise ValueError(f"lr_range_test: mode must be 'grid' or 'exponential', got {mode!r}")
    lo, hi = float(lrs[0]), float(lrs[-1])
    schedule = lambda t: lo * (hi / lo) ** (t / (steps - 1))  # noqa: E731
    smooth: list[float] = []
    beta, running = 0.9, [0.0]

    def stop(losses: list[float]) -> bool:
        running[0] = beta * running[0] + (1 - beta) * losses[-1]
        smooth.append(running[0] / (1 - beta ** len(losses)))  # bias-corrected average
        return smooth[-1] > 4 * min(smooth)

    losses = _train_steps(model_factory(), x, y, schedule, steps, batch_size, momentum, seed, stop=stop)
    if losses and not math.isfinite(losses[-1]):
        smooth.append(math.inf)
    t = np.arange(len(smooth))
    return LRRangeResult(mode=mode, lrs=np.array([schedule(i) for i in t]), loss=np.array(smooth),
                         initial_loss=initial)


# ----- reading the curves -------------------------------------------------------------------
DIAGNOSES: dict[str, tuple[str, str]] = {
    "lr_too_high": ("the loss explodes (nan/inf, or far above its start), or it drops at once and then stays on "
                    "a high plateau", "lower the learning rate"),
    "bad_init": ("the loss stays flat for a while, then drops suddenly", "check the initialization (weight scale)"),
    "lr_too_low": ("the loss decreases slowly and almost linearly", "raise the learning rate"),
    "overfitting": ("training accuracy far above validation accuracy (a big gap)",
                    "increase regularization (L2, dropout), get more data, stop early"),
    "no_gap": ("training and validation accuracy close together, both below their ceiling",
               "increase model capacity (wider or deeper network), or train longer"),
    "healthy": ("the loss falls fast, then flattens; a modest train/validation gap", "keep going"),
}
"""kind -> (symptom, advice): the table of :mod:`course_lib.babysit`'s docstring."""


@dataclass(frozen=True)
class Diagnosis:
    """One row of :data:`DIAGNOSES` with the reason it applies to these curves."""

    kind: str
    reason: str

    @property
    def symptom(self) -> str:
        return DIAGNOSES[self.kind][0]

    @property
    def advice(self) -> str:
        return DIAGNOSES[self.kind][1]

    def __str__(self) -> str:
        return f"{self.kind}: {self.reason} -> {self.advice}"


def diagnose_curves(train_loss: Sequence[float], val_acc: Sequence[float] | None = None,
                    train_acc: Sequence[float] | None = None, *, explode: float = 1.5, high: float = 0.4,
                    linear: float = 0.65, gap: float = 0.1, no_gap: float = 0.03,
                    ceiling: float = 0.99) -> Diagnosis:
    r"""Which row of the loss-curve table (:data:`DIAGNOSES`) these curves match, and why.

    ``train_loss`` (T,) per-step (or per-epoch) training loss, T >= 8; ``val_acc`` and
    ``train_acc`` per evaluation (the last entries are compared). With :math:`\bar L` the
    loss smoothed over windows of T/20 steps, :math:`L_0` its first value, :math:`L_T` its last,
    :math:`D = L_0 - L_T` the total drop and :math:`f(s)` the fraction of D achieved by step s:

    1. ``lr_too_high`` -- a nan/inf loss, or :math:`L_T > \text{explode}\cdot L_0`; or a
       plateau high up: :math:`f(T/10) > 0.9`, the last half flat and
       :math:`L_T > \text{high}\cdot L_0`;
    2. ``bad_init`` -- :math:`f(T/4) < 0.1` while the loss does drop later (by > 10 % of L_0);
    3. ``lr_too_low`` -- :math:`D < 0.1\,L_0` (hardly moved), or :math:`f(T/2) < \text{linear}`
       (the second half still brings a good part of the drop: a straight line has f = 0.5);
    4. with both accuracies: ``overfitting`` when train - val > ``gap``; ``no_gap`` when
       train - val < ``no_gap`` and train < ``ceiling``;
    5. otherwise ``healthy``.
    """
    for name, value in (("explode", explode), ("high", high), ("linear", linear), ("gap", gap), ("no_gap", no_gap),
                        ("ceiling", ceiling)):
        checks.real(value, name, "diagnose_curves")
    loss = np.asarray(train_loss, dtype=np.float64)
    if loss.ndim != 1 or loss.size < 8:
        raise ValueError(f"diagnose_curves: train_loss must be a 1-D sequence of at least 8 values, got shape "
                         f"{loss.shape}")
    bad = np.flatnonzero(~np.isfinite(loss))
    if bad.size:
        return Diagnosis("lr_too_high", f"the loss is {loss[bad[0]]} at step {bad[0]}")
    n = loss.size
    w = max(1, n // 20)
    smooth = np.convolve(loss, np.ones(w) / w, mode="valid")
    m = smooth.size
    l0, lt = float(smooth[0]), float(smooth[-1])
    if lt > explode * l0 or smooth.max() > 2 * explode * l0:
        return Diagnosis("lr_too_high", f"the loss rose from {l0:.3g} to {lt:.3g} (max {smooth.max():.3g})")
    drop = l0 - lt

    def frac(s: float) -> float:
        return (l0 - float(smooth[min(m - 1, int(s * (m - 1)))])) / drop

    if drop > 0.1 * abs(l0):
        if frac(0.1) > 0.9 and (float(smooth[(m - 1) // 2]) - lt) < 0.05 * drop and lt > high * l0:
            return Diagnosis("lr_too_high", f"the loss fell from {l0:.3g} to {lt:.3g} within the first tenth of the "
                                            "run and then stayed on that plateau")
        if frac(0.25) < 0.1:
            early = max(0.0, frac(0.25))
            return Diagnosis("bad_init", f"only {early:.0%} of the drop happened in the first quarter of the run; "
                                         "the rest came later, suddenly")
        if frac(0.5) < linear:
            return Diagnosis("lr_too_low", f"the first half of the run gave only {frac(0.5):.0%} of the drop: "
                                           "a slow, nearly linear decrease")
    else:
        return Diagnosis("lr_too_low", f"the loss hardly moved: from {l0:.3g} to {lt:.3g}")
    if val_acc is not None and train_acc is not None and len(val_acc) and len(train_acc):
        tr, va = float(train_acc[-1]), float(val_acc[-1])
        if tr - va > gap:
            return Diagnosis("overfitting", f"training accuracy {tr:.3f} vs validation {va:.3f}: a gap of "
                                            f"{tr - va:.3f} > {gap}")
        if tr - va < no_gap and tr < ceiling:
            return Diagnosis("no_gap", f"training accuracy {tr:.3f} vs validation {va:.3f}: no gap, and training "
                                       f"accuracy below {ceiling}")
    return Diagnosis("healthy", f"the loss fell from {l0:.3g} to {lt:.3g}, mostly early")


# ----- update/weight ratios ------------------------------------------------------------------
@dataclass(frozen=True)
class UpdateRatioRow:
    """One weight array's update/weight ratios over a run: median, largest, and the verdict."""

    name: str
    median: float
    max: float
    verdict: str  # "too low", "ok" or "too high"


def update_ratio_report(history: Any, *, low: float = 1e-4, high: float = 5e-2,
                        weights_only: bool = True) -> list[UpdateRatioRow]:
    r"""Read ``history.update_ratio`` (a Solver run with ``update_ratio_every=k``).

    For every weight array (names starting with "W", as the MLPs call them; all parameters
    with ``weights_only=False``): the median and the largest finite ratio
    :math:`\|\Delta W\| / \|W\|` and a verdict: below ``low`` the learning rate is too low,
    above ``high`` too high, the rule of thumb being about :math:`10^{-3}`. Biases are left
    out by default: they start at zero, so their ratio is huge at first and means little.
    A median taken after a blow-up can look fine (the weights grew): read ``max`` too.
    """
    ratios = getattr(history, "update_ratio", None)
    if not ratios:
        raise ValueError("update_ratio_report: the history has no update ratios; train with update_ratio_every=k")
    low = checks.real(low, "low", "update_ratio_report", exclusive_minimum=True, minimum=0)
    high = checks.real(high, "high", "update_ratio_report", exclusive_minimum=True, minimum=low)
    rows = []
    for name, values in ratios.items():
        if weights_only and not name.startswith("W"):
            continue
        finite = np.array([v for v in values if math.isfinite(v)])
        if finite.size == 0:
            continue
        med = float(np.median(finite))
        verdict = "too low" if med < low else "too high" if med > high else "ok"
        rows.append(UpdateRatioRow(name=name, median=med, max=float(finite.max()), verdict=verdict))
    return rows
