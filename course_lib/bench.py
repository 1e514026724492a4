"""Speed of the scratch ops against PyTorch's CPU eager mode, forward plus backward, in float64.

Run ``python -m course_lib.bench`` for the table (``--quick`` for small shapes, ``--json FILE`` to keep
the numbers, ``--check`` to exit with status 1 when an op is over its budget). For each op it times,
on the same float64 inputs, three ways to compute the same forward AND backward pass:

- scratch:  ``out, cache = Op.forward(...)`` then ``Op.backward(dout, cache)``;
- twin:     the :mod:`course_lib.torch_impl` function, then ``out.backward(dout)`` through autograd;
- built-in: torch's own op (``torch.sigmoid``, ``F.leaky_relu``, ``F.linear``, ``F.cross_entropy``...,
  or the closest composition of built-ins when torch has none), then ``out.backward(dout)``.

Dropout is timed with its random mask, since ``F.dropout`` draws its own inside the call: each way
draws a fresh mask of the input's shape in every timed call, then runs forward and backward
(scratch: ``sample_mask(rng, shape, p)`` (float64 uniforms compared with p) + ``Dropout.forward`` +
``Dropout.backward``; twin: ``sample_mask(generator, ...)`` + ``dropout`` + autograd; built-in:
``F.dropout(x, p)`` + autograd, which draws from torch's global generator, inside
``torch.random.fork_rng`` so that the caller's random stream is left as it was; that costs a few
microseconds per call, included in the built-in's time). ``ScaledDropout`` (no built-in of its
own) is compared with ``(1 - p) * F.dropout(x, p)``.

The table gives two ratios, scratch / twin and scratch / built-in. The course's budget is on the
second: at most 3 for every elementwise op, the losses and the linear layer (5 for convolution
through im2col). The twin column is for information: the twins are written for reading, not speed.

The budget compares core against core: the three ways are timed with one thread each (torch's
intra-op threads and the BLAS threads of numpy both held to 1). NumPy runs every elementwise
operation on one core whatever the machine has, while torch splits a large tensor over all its
threads; with two threads a built-in does twice the work per unit of time, and the ratio would
measure the thread count rather than the code. The table also shows, for information, the ratio
with every library at its default thread count ("all cores").

How the timing stays honest on a busy machine. Other processes only ever ADD time to a call
(they take the core, evict the caches, delay one of torch's threads); nothing makes an op run
faster than its own cost. So each way keeps its FASTEST call, not the median: the median moves with
the load (it is itself a disturbed call when the machine is busy half of the time), the minimum is
the call that was disturbed least. The three ways are called in turn (scratch, twin, built-in,
scratch, ...), so that a burst of load falls on all three alike, and every op is measured in
several sweeps spread over the whole run, so that each gets several chances at a quiet moment.
One limit remains: a built-in that runs on two threads needs both cores at once, and when another
process holds one core for the whole run even its fastest call is slowed. Its ratio then looks
better than it is; :func:`environment` records the load average and torch's thread count, so
compare tables measured on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace

import numpy as np

from course_lib.scratch import activations, batchnorm, conv, dropout, linear, losses

BUDGET = 3.0
"""Largest allowed ratio scratch / built-in for elementwise ops, losses and the linear layer."""

BUDGET_IM2COL = 5.0
"""Largest allowed ratio for convolution through im2col (``Conv2d`` against ``F.conv2d``)."""

WAYS = ("scratch", "twin", "builtin")


@dataclass(frozen=True)
class Case:
    """One op to time: three zero-argument callables that each run a forward and a backward pass."""

    op: str
    shape: str
    scratch: Callable[[], object]
    twin: Callable[[], object]
    builtin: Callable[[], object]
    budget: float = BUDGET


@dataclass(frozen=True)
class BenchRow:
    """One line of the table: seconds of the fastest forward+backward call of each way."""

    op: str
    shape: str
    scratch_s: float
    twin_s: float
    builtin_s: float
    budget: float
    scratch_all_s: float | None = None  # the same calls with every library at its default thread count
    builtin_all_s: float | None = None

    @property
    def ratio_twin(self) -> float:
        """Scratch time over twin time (for information)."""
        return self.scratch_s / self.twin_s

    @property
    def ratio_builtin(self) -> float:
        """Scratch time over built-in time: the number the budget applies to."""
        return self.scratch_s / self.builtin_s

    @property
    def ratio_builtin_all(self) -> float | None:
        """Scratch over built-in with every library on all its threads (for information)."""
        if self.scratch_all_s is None or self.builtin_all_s is None:
            return None
        return self.scratch_all_s / self.builtin_all_s

    @property
    def within_budget(self) -> bool:
        return self.ratio_builtin <= self.budget

    def to_dict(self) -> dict:
        return asdict(self) | {
            "ratio_twin": self.ratio_twin,
            "ratio_builtin": self.ratio_builtin,
            "ratio_builtin_all_cores": self.ratio_builtin_all,
            "within_budget": self.within_budget,
        }


# ----- timing ------------------------------------------------------------------------------------
def _call_time(fn: Callable[[], object]) -> float:
    """Seconds taken by one call of ``fn``."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_case(case: Case, repeats: int = 5, target_s: float = 0.2) -> list[float]:
    """Seconds of the fastest call of each way of ``case`` (scratch, twin, built-in), called in turn.

    Runs at least ``repeats`` rounds (one call of each way per round), more if they fit in about
    ``target_s`` seconds, so that fast ops get hundreds of tries at an undisturbed call.
    """
    fns = [getattr(case, way) for way in WAYS]
    for fn in fns:
        fn()  # warm-up: first-call costs (lazy imports, caches) are not the op's
    best = [_call_time(fn) for fn in fns]
    rounds = max(repeats, min(10_000, int(target_s / max(sum(best), 1e-9))))
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            best[i] = min(best[i], _call_time(fn))
    return best


# ----- the ops -----------------------------------------------------------------------------------
def cases(n: int = 512, d: int = 512, c: int = 10, k: int = 2, seed: int = 0) -> list[Case]:
    """Every benchmarked op on float64 inputs: batch ``n``, width ``d``, ``c`` classes, ``k`` maxout pieces."""
    import torch
    import torch.nn.functional as F

    from course_lib.torch_impl import activations as tact
    from course_lib.torch_impl import batchnorm as tbn
    from course_lib.torch_impl import conv as tconv
    from course_lib.torch_impl import dropout as tdrop
    from course_lib.torch_impl import linear as tlin
    from course_lib.torch_impl import losses as tloss

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    dout = rng.standard_normal((n, d))
    w = rng.standard_normal((d, d)) / np.sqrt(d)
    b = rng.standard_normal(d)
    a = np.full(d, 0.25)  # PReLU: one slope per feature
    wk = rng.standard_normal((k, d, d)) / np.sqrt(d)  # Maxout: k pieces
    bk = rng.standard_normal((k, d))
    scores = rng.standard_normal((n, c))
    y = rng.integers(0, c, n)

    def leaf(arr: np.ndarray) -> torch.Tensor:
        """A tensor that needs a gradient and SHARES the array's memory: the three ways read the same
        bytes, so none of them finds its inputs in the cache just because another way used them."""
        return torch.from_numpy(arr).requires_grad_(True)

    def torch_step(f: Callable, *args, grad: torch.Tensor | None = None) -> Callable[[], None]:
        """forward f(*args) then backward; the leaves' gradients are reset before each call."""
        leaves = [t for t in args if isinstance(t, torch.Tensor) and t.requires_grad]

        def step():
            for t in leaves:
                t.grad = None
            f(*args).backward(grad)

        return step

    def scratch_step(op, *args, grad=1.0) -> Callable[[], None]:
        def step():
            _, cache = op.forward(*args)
            op.backward(grad, cache)

        return step

    xt, dt, yt, st = leaf(x), torch.from_numpy(dout), torch.from_numpy(y), leaf(scores)
    # torch keeps a linear layer's weight as (D_out, D_in); maxout's k pieces become k*M outputs, grouped
    # by unit so that a max-pool of width k takes the max over one unit's pieces
    wt_linear = leaf(np.ascontiguousarray(w.T))
    wt_maxout = leaf(np.ascontiguousarray(wk.transpose(2, 0, 1).reshape(d * k, d)))
    bt_maxout = leaf(np.ascontiguousarray(bk.T.reshape(d * k)))

    def lecun_tanh_builtin(t):
        return activations.LECUN_SCALE * torch.tanh(activations.LECUN_SLOPE * t)

    def maxout_builtin(t, wt, bt):
        return F.max_pool1d(F.linear(t, wt, bt)[:, None, :], k)[:, 0, :]

    # images: a batch of n // 16 (32 at the default n = 512), 16 channels of 16x16; 16 filters 3x3
    n_img = max(1, n // 16)
    img, d_img = rng.standard_normal((n_img, 16, 16, 16)), rng.standard_normal((n_img, 16, 16, 16))
    filters, filter_bias = rng.standard_normal((16, 16, 3, 3)) / 12.0, rng.standard_normal(16)
    d_pooled = rng.standard_normal((n_img, 16, 8, 8))
    img_t, d_img_t, d_pooled_t = leaf(img), torch.from_numpy(d_img), torch.from_numpy(d_pooled)

    def conv_step(f) -> Callable[[], None]:
        """f(x, w, b, stride=1, padding=1) then backward, on leaves of its own over the same memory."""
        return torch_step(f, img_t, leaf(filters), leaf(filter_bias), 1, 1, grad=d_img_t)

    def unary(name, op, twin, builtin, *params):
        p_np = [np.asarray(p) for p in params]
        p_twin = [leaf(p) for p in p_np]
        p_builtin = [leaf(p) for p in p_np]  # a leaf of its own, on the same memory
        return Case(
            name,
            f"({n},{d})",
            scratch_step(op, x, *p_np, grad=dout),
            torch_step(twin, xt, *p_twin, grad=dt),
            torch_step(builtin, xt, *p_builtin, grad=dt),
        )

    def norm_case(name, op, twin, builtin, shape, axis=1, *hyper):
        """A normalization layer on ``shape``, one (gamma, beta) entry per index of ``axis``; ``hyper`` follows."""
        x_bn, d_bn = rng.standard_normal(shape), rng.standard_normal(shape)
        g_bn, b_bn = 1.0 + 0.1 * rng.standard_normal(shape[axis]), rng.standard_normal(shape[axis])
        xt_bn, dt_bn = leaf(x_bn), torch.from_numpy(d_bn)
        return Case(
            name, str(shape).replace(" ", ""),
            scratch_step(op, x_bn, g_bn, b_bn, *hyper, grad=d_bn),
            torch_step(twin, xt_bn, leaf(g_bn), leaf(b_bn), *hyper, grad=dt_bn),
            torch_step(builtin, xt_bn, leaf(g_bn), leaf(b_bn), *hyper, grad=dt_bn),
        )

    def batch_norm_builtin(t, g, bias):
        return F.batch_norm(t, None, None, g, bias, training=True)

    def layer_norm_builtin(t, g, bias):
        return F.layer_norm(t, (t.shape[-1],), g, bias)

    def group_norm_builtin(t, g, bias, groups):
        return F.group_norm(t, groups, g, bias)

    # (1024, 512), (512, 512) and (32, 16, 16, 16) maps at the default n = 512, d = 512
    maps = (max(1, n // 16), 4 * max(1, d // 128), 16, 16)  # channels: a multiple of GroupNorm's 4 groups
    norm_cases = [
        norm_case("BatchNorm", batchnorm.BatchNorm, tbn.batch_norm, batch_norm_builtin, (2 * n, d)),
        norm_case("SpatialBatchNorm", batchnorm.SpatialBatchNorm, tbn.spatial_batch_norm, batch_norm_builtin, maps),
        norm_case("LayerNorm", batchnorm.LayerNorm, tbn.layer_norm, layer_norm_builtin, (n, d), 1),
        norm_case("GroupNorm", batchnorm.GroupNorm, tbn.group_norm, group_norm_builtin, maps, 1, 4),
    ]

    # dropout on (1024, 512) at the default n = 512, d = 512, drop probability 1/2; a fresh mask in every call
    p_drop, drop_shape = 0.5, (2 * n, d)
    x_drop, d_drop = rng.standard_normal(drop_shape), rng.standard_normal(drop_shape)
    xt_drop, dt_drop = leaf(x_drop), torch.from_numpy(d_drop)
    mask_rng, mask_gen = np.random.default_rng(seed + 1), torch.Generator().manual_seed(seed + 1)

    def dropout_case(name, op, twin, builtin):
        def scratch():
            _, cache = op.forward(x_drop, dropout.sample_mask(mask_rng, drop_shape, p_drop), p_drop)
            op.backward(d_drop, cache)

        def twin_step():
            xt_drop.grad = None
            twin(xt_drop, tdrop.sample_mask(mask_gen, drop_shape, p_drop), p_drop).backward(dt_drop)

        def builtin_step():
            xt_drop.grad = None
            with torch.random.fork_rng(devices=[]):
                out = builtin(xt_drop, p_drop)
            out.backward(dt_drop)

        return Case(name, str(drop_shape).replace(" ", ""), scratch, twin_step, builtin_step)

    drop_cases = [
        dropout_case("Dropout", dropout.Dropout, tdrop.dropout, F.dropout),
        dropout_case("ScaledDropout", dropout.ScaledDropout, tdrop.scaled_dropout,
                     lambda t, q: (1.0 - q) * F.dropout(t, q)),
    ]

    return [
        Case(
            "Linear", f"({n},{d})@({d},{d})",
            scratch_step(linear.Linear, x, w, b, grad=dout),
            torch_step(tlin.linear, xt, leaf(w), leaf(b), grad=dt),
            torch_step(F.linear, xt, wt_linear, leaf(b), grad=dt),
        ),
        *norm_cases,
        *drop_cases,
        unary("Sigmoid", activations.Sigmoid, tact.sigmoid, torch.sigmoid),
        unary("Tanh", activations.Tanh, tact.tanh, torch.tanh),
        unary("LeCunTanh", activations.LeCunTanh, tact.lecun_tanh, lecun_tanh_builtin),
        unary("ReLU", activations.ReLU, tact.relu, torch.relu),
        unary("LeakyReLU", activations.LeakyReLU, tact.leaky_relu, F.leaky_relu),
        unary("PReLU", activations.PReLU, tact.prelu, F.prelu, a),
        unary("ELU", activations.ELU, tact.elu, F.elu),
        Case(
            "Maxout", f"({n},{d})@({k},{d},{d})",
            scratch_step(activations.Maxout, x, wk, bk, grad=dout),
            torch_step(tact.maxout, xt, leaf(wk), leaf(bk), grad=dt),
            torch_step(maxout_builtin, xt, wt_maxout, bt_maxout, grad=dt),
        ),
        Case(
            "SoftmaxCrossEntropy", f"({n},{c})",
            scratch_step(losses.SoftmaxCrossEntropy, scores, y),
            torch_step(tloss.cross_entropy, st, yt),
            torch_step(F.cross_entropy, st, yt),
        ),
        Case(
            "MulticlassSVM", f"({n},{c})",
            scratch_step(losses.MulticlassSVM, scores, y),
            torch_step(tloss.multiclass_svm, st, yt),
            torch_step(lambda s, t: c * F.multi_margin_loss(s, t), st, yt),
        ),
        Case(
            "Conv2d", f"({n_img},16,16,16)*3x3",
            scratch_step(conv.Conv2d, img, filters, filter_bias, 1, 1, grad=d_img),  # stride 1, padding 1
            conv_step(tconv.conv2d),
            conv_step(F.conv2d),
            budget=BUDGET_IM2COL,
        ),
        Case(
            "MaxPool2d", f"({n_img},16,16,16)/2x2",
            scratch_step(conv.MaxPool2d, img, 2, grad=d_pooled),
            torch_step(tconv.max_pool2d, img_t, 2, grad=d_pooled_t),
            torch_step(F.max_pool2d, img_t, 2, grad=d_pooled_t),
        ),
    ]


@contextmanager
def threads(count: int | None):
    """Hold torch's intra-op threads and numpy's BLAS threads to ``count`` (None: leave them)."""
    if count is None:
        yield
        return
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        with threadpool_limits(limits=count):
            yield
    finally:
        torch.set_num_threads(before)


def measure(
    all_cases: list[Case], repeats: int = 5, target_s: float = 0.2, sweeps: int = 3, n_threads: int | None = 1
) -> list[BenchRow]:
    """One :class:`BenchRow` per case: the fastest call of each way over ``sweeps`` passes over all cases.

    Each sweep times every case with :func:`time_case`; spreading an op's calls over the whole run
    (instead of one burst) gives it more chances to meet a quiet moment of a busy machine. The
    libraries run with ``n_threads`` threads (1 for the budget; None leaves their defaults).
    """
    best = {case.op: [float("inf")] * len(WAYS) for case in all_cases}
    with threads(n_threads):
        for _ in range(sweeps):
            for case in all_cases:
                best[case.op] = [min(a, b) for a, b in zip(best[case.op], time_case(case, repeats, target_s))]
    return [BenchRow(case.op, case.shape, *best[case.op], budget=case.budget) for case in all_cases]


def measure_both(all_cases: list[Case], repeats: int = 5, target_s: float = 0.2, sweeps: int = 3) -> list[BenchRow]:
    """Rows timed core against core (the budget), with the all-cores times added for information."""
    per_core = measure(all_cases, repeats, target_s, sweeps, n_threads=1)
    all_cores = measure(all_cases, repeats, target_s, sweeps, n_threads=None)
    return [
        replace(row, scratch_all_s=full.scratch_s, builtin_all_s=full.builtin_s)
        for row, full in zip(per_core, all_cores)
    ]


def run(
    n: int = 512, d: int = 512, c: int = 10, repeats: int = 5, target_s: float = 0.2, sweeps: int = 3, seed: int = 0
) -> list[BenchRow]:
    """Time every op of :func:`cases` (batch ``n``, width ``d``, ``c`` classes); one row per op."""
    return measure_both(cases(n, d, c, seed=seed), repeats, target_s, sweeps)


def over_budget(rows: list[BenchRow]) -> list[BenchRow]:
    """The rows whose ratio scratch / built-in exceeds their budget."""
    return [r for r in rows if not r.within_budget]


# ----- report ------------------------------------------------------------------------------------
def format_table(rows: list[BenchRow], split: bool = False) -> str:
    """The rows as a fixed-width text table: times in ms (one thread), the ratios, ok/OVER.

    ``split=True`` gives the same numbers as two narrower tables (the times, then the ratios), each
    at most 88 characters wide for shapes of up to 21 characters, as the book prints them.
    """
    if split:
        return _format_split(rows)
    header = (
        f"{'op':<20}{'shape':<22}{'scratch':>9}{'twin':>8}{'built-in':>9}"
        f"{'/twin':>7}{'/built-in':>10}  {'budget':<14}{'/built-in, all cores':>21}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        mark = f"{'ok' if r.within_budget else 'OVER'} (<= {r.budget:g})"
        all_cores = "" if r.ratio_builtin_all is None else f"{r.ratio_builtin_all:.2f}"
        lines.append(
            f"{r.op:<20}{r.shape:<22}{r.scratch_s * 1e3:>9.3f}{r.twin_s * 1e3:>8.3f}{r.builtin_s * 1e3:>9.3f}"
            f"{r.ratio_twin:>7.2f}{r.ratio_builtin:>10.2f}  {mark:<14}{all_cores:>21}"
        )
    lines.append("times in ms, every library on one thread (core against core); the budget applies to /built-in")
    return "\n".join(lines)


def _format_split(rows: list[BenchRow]) -> str:
    op_w = max([len("op"), *(len(r.op) for r in rows)]) + 1
    shape_w = max([len("shape"), *(len(r.shape) for r in rows)]) + 1
    times = f"{'op':<{op_w}}{'shape':<{shape_w}}{'scratch':>9}{'twin':>9}{'built-in':>10}"
    lines = [times, "-" * len(times)]
    for r in rows:
        lines.append(f"{r.op:<{op_w}}{r.shape:<{shape_w}}{r.scratch_s * 1e3:>9.3f}{r.twin_s * 1e3:>9.3f}"
                     f"{r.builtin_s * 1e3:>10.3f}")
    lines.append("times in ms, every library on one thread (core against core)")
    ratios = f"{'op':<{op_w}}{'/twin':>7}{'/built-in':>10}  {'budget':<14}{'/built-in, all cores':>21}"
    lines += ["", ratios, "-" * len(ratios)]
    for r in rows:
        mark = f"{'ok' if r.within_budget else 'OVER'} (<= {r.budget:g})"
        all_cores = "" if r.ratio_builtin_all is None else f"{r.ratio_builtin_all:.2f}"
        lines.append(f"{r.op:<{op_w}}{r.ratio_twin:>7.2f}{r.ratio_builtin:>10.2f}  {mark:<14}{all_cores:>21}")
    lines.append("scratch time / twin or built-in time; the budget applies to /built-in")
    return "\n".join(lines)


def environment() -> dict:
    """What the numbers depend on: versions, torch's kernels and threads, the allocator, the load."""
    import torch

    from course_lib import allocator

    return {
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch_threads": torch.get_num_threads(),
        "malloc_tuned": allocator.TUNED,
        "cpus": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def format_environment(env: dict) -> str:
    """Two lines under the table: torch's kernels and threads, numpy; the allocator, the load."""
    load = env["load_average_1min"]
    return (
        f"torch {env['torch']} ({env['torch_cpu_capability']}, {env['torch_threads']} threads), "
        f"numpy {env['numpy']},\nmalloc tuned: {'yes' if env['malloc_tuned'] else 'no'}, "
        f"load average {'n/a' if load is None else f'{load:.1f}'} on {env['cpus']} CPUs"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes, few repeats (a smoke run)")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    parser.add_argument("--check", action="store_true", help="exit with status 1 if an op is over its budget")
    args = parser.parse_args(argv)
    if args.quick:
        rows = measure_both(cases(n=64, d=64, c=10), repeats=3, target_s=0.01, sweeps=1)
    else:
        rows = measure_both(cases())
    env = environment()
    print(format_table(rows))
    print(format_environment(env))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": env, "rows": [r.to_dict() for r in rows]}, f, indent=2)
    over = over_budget(rows)
    if args.check and over:
        for r in over:
            print(
                f"over budget: {r.op} takes {r.ratio_builtin:.2f}x the built-in, core against core "
                f"(budget {r.budget:g}x)",
                file=sys.stderr,
            )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
