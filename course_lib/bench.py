"""Speed of the scratch ops against PyTorch's CPU eager mode, forward plus backward, in float64.

Run ``python -m course_lib.bench`` for the table (``--quick`` for small shapes, ``--json FILE`` to keep
the numbers). For each op it times, on the same float64 inputs:

- scratch: ``out, cache = Op.forward(...)`` then ``Op.backward(dout, cache)``;
- torch:   the twin's forward, then ``out.backward(dout)`` through autograd.

and reports the median time of each over several repeats and the ratio scratch / torch. The budget of
the course is a ratio of at most 3 (5 for convolution through im2col). Timing is measurement, not a
test: the test suite only checks that the benchmark runs and reports sane numbers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from course_lib.scratch import activations, linear, losses

BUDGET = 3.0


@dataclass(frozen=True)
class BenchRow:
    """One line of the table: median seconds per forward+backward, and their ratio."""

    op: str
    shape: str
    scratch_s: float
    torch_s: float
    budget: float

    @property
    def ratio(self) -> float:
        return self.scratch_s / self.torch_s

    @property
    def within_budget(self) -> bool:
        return self.ratio <= self.budget


def _median_time(fn: Callable[[], object], repeats: int, number: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


def _cases(n: int, d: int, c: int, rng: np.random.Generator):
    """(name, shape text, scratch fn, torch fn) for every benchmarked op, float64 inputs."""
    import torch
    import torch.nn.functional as F

    x = rng.standard_normal((n, d))
    w = rng.standard_normal((d, d)) / np.sqrt(d)
    b = rng.standard_normal(d)
    dout = rng.standard_normal((n, d))
    scores = rng.standard_normal((n, c))
    y = rng.integers(0, c, n)

    def torch_unary(op):
        xt = torch.tensor(x, requires_grad=True)
        dt = torch.tensor(dout)

        def run():
            xt.grad = None
            op(xt).backward(dt)

        return run

    def scratch_unary(op):
        def run():
            out, cache = op.forward(x)
            op.backward(dout, cache)

        return run

    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    dt = torch.tensor(dout)

    def torch_linear():
        for t in (xt, wt, bt):
            t.grad = None
        (xt @ wt + bt).backward(dt)

    def scratch_linear():
        out, cache = linear.Linear.forward(x, w, b)
        linear.Linear.backward(dout, cache)

    st = torch.tensor(scores, requires_grad=True)
    yt = torch.tensor(y)

    def torch_ce():
        st.grad = None
        F.cross_entropy(st, yt).backward()

    def scratch_ce():
        loss, cache = losses.SoftmaxCrossEntropy.forward(scores, y)
        losses.SoftmaxCrossEntropy.backward(1.0, cache)

    def torch_svm():
        st.grad = None
        (c * F.multi_margin_loss(st, yt)).backward()

    def scratch_svm():
        loss, cache = losses.MulticlassSVM.forward(scores, y)
        losses.MulticlassSVM.backward(1.0, cache)

    return [
        ("Linear", f"({n},{d})x({d},{d})", scratch_linear, torch_linear),
        ("Sigmoid", f"({n},{d})", scratch_unary(activations.Sigmoid), torch_unary(torch.sigmoid)),
        ("ReLU", f"({n},{d})", scratch_unary(activations.ReLU), torch_unary(torch.relu)),
        ("Tanh", f"({n},{d})", scratch_unary(activations.Tanh), torch_unary(torch.tanh)),
        ("LeakyReLU", f"({n},{d})", scratch_unary(activations.LeakyReLU), torch_unary(F.leaky_relu)),
        ("ELU", f"({n},{d})", scratch_unary(activations.ELU), torch_unary(F.elu)),
        ("SoftmaxCrossEntropy", f"({n},{c})", scratch_ce, torch_ce),
        ("MulticlassSVM", f"({n},{c})", scratch_svm, torch_svm),
    ]


def run(n: int = 512, d: int = 512, c: int = 10, repeats: int = 7, number: int = 5, seed: int = 0) -> list[BenchRow]:
    """Time every op; returns one :class:`BenchRow` per op (shapes: batch ``n``, width ``d``, ``c`` classes)."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, shape, scratch_fn, torch_fn in _cases(n, d, c, rng):
        rows.append(
            BenchRow(
                op=name,
                shape=shape,
                scratch_s=_median_time(scratch_fn, repeats, number),
                torch_s=_median_time(torch_fn, repeats, number),
                budget=BUDGET,
            )
        )
    return rows


def format_table(rows: list[BenchRow]) -> str:
    header = f"{'op':<20}{'shape':<20}{'scratch ms':>11}{'torch ms':>10}{'ratio':>7}  budget"
    lines = [header, "-" * len(header)]
    for r in rows:
        mark = "ok" if r.within_budget else "OVER"
        lines.append(
            f"{r.op:<20}{r.shape:<20}{r.scratch_s * 1e3:>11.3f}{r.torch_s * 1e3:>10.3f}{r.ratio:>7.2f}  {mark} (<= {r.budget:g})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes, few repeats (a smoke run)")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    rows = run(n=64, d=64, repeats=3, number=3) if args.quick else run()
    print(format_table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([asdict(r) | {"ratio": r.ratio} for r in rows], f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
