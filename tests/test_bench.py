"""The benchmark runs, covers every op, and its budget check works (timing itself is never asserted).

Real timings depend on the machine and on its load, so no test here compares two measured times.
The budget check is tested with injected timings and with an op that is slow on purpose.
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest

from course_lib import allocator, bench
from course_lib.scratch import activations, batchnorm, conv, dropout, linear, losses


def public_ops() -> set[str]:
    """Every public class with a forward and a backward in the elementwise, loss, linear and conv modules."""
    names = set()
    for module in (activations, linear, losses, conv, batchnorm, dropout):
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type) and hasattr(obj, "forward") and hasattr(obj, "backward"):
                names.add(name)
    return names


@pytest.fixture(scope="module")
def tiny_rows():
    return bench.run(n=16, d=8, c=4, repeats=1, target_s=0.0, sweeps=1)


def test_every_public_op_has_a_row(tiny_rows):
    assert public_ops() <= {r.op for r in tiny_rows}
    assert {"Sigmoid", "LeakyReLU", "ELU", "Linear", "SoftmaxCrossEntropy", "MulticlassSVM"} <= public_ops()
    assert {"Conv2d", "MaxPool2d"} <= public_ops()
    assert {"BatchNorm", "SpatialBatchNorm"} <= public_ops()
    assert {"Dropout", "ScaledDropout"} <= public_ops()


def test_rows_hold_three_times_and_two_ratios(tiny_rows):
    for r in tiny_rows:
        assert r.scratch_s > 0 and r.twin_s > 0 and r.builtin_s > 0
        assert math.isclose(r.ratio_twin, r.scratch_s / r.twin_s)
        assert math.isclose(r.ratio_builtin, r.scratch_s / r.builtin_s)
        assert r.within_budget == (r.ratio_builtin <= r.budget)
        assert r.budget == (bench.BUDGET_IM2COL if r.op == "Conv2d" else bench.BUDGET)
        assert r.scratch_all_s > 0 and r.builtin_all_s > 0
        assert math.isclose(r.ratio_builtin_all, r.scratch_all_s / r.builtin_all_s)
    table = bench.format_table(tiny_rows)
    lines = table.splitlines()
    assert len(lines) == len(tiny_rows) + 3
    assert "/twin" in lines[0] and "/built-in" in lines[0] and "all cores" in lines[0]
    assert all(("ok" in line) or ("OVER" in line) for line in lines[2:-1])
    assert "one thread" in lines[-1]


def test_the_budget_is_timed_core_against_core():
    """Inside ``bench.threads(1)`` torch and numpy's BLAS each run one thread; the defaults come back."""
    import torch
    from threadpoolctl import threadpool_info

    before = torch.get_num_threads()
    with bench.threads(1):
        assert torch.get_num_threads() == 1
        assert all(lib["num_threads"] == 1 for lib in threadpool_info() if lib["user_api"] == "blas")
    assert torch.get_num_threads() == before


def fake_rows(times: dict[str, tuple[float, float, float]]) -> list[bench.BenchRow]:
    return [bench.BenchRow(op, "(1,)", *t, budget=bench.BUDGET) for op, t in times.items()]


def test_over_budget_is_decided_on_the_builtin_column():
    rows = fake_rows({
        "Fast": (1.0, 0.1, 1.0),  # ten times the twin, as fast as the built-in: fine
        "AtBudget": (3.0, 1.0, 1.0),
        "Slow": (3.1, 10.0, 1.0),  # faster than the twin, over budget against the built-in
    })
    assert [r.op for r in bench.over_budget(rows)] == ["Slow"]


@pytest.fixture
def injected(monkeypatch):
    """Make ``main`` time two fake ops whose times are given, instead of measuring the real ones."""

    def inject(times: dict[str, tuple[float, float, float]]):
        fake = [bench.Case(op, "(1,)", *(lambda: None,) * 3) for op in times]
        monkeypatch.setattr(bench, "cases", lambda *args, **kwargs: fake)
        monkeypatch.setattr(bench, "time_case", lambda case, *args, **kwargs: list(times[case.op]))

    return inject


def test_check_fails_when_a_row_is_over_budget(injected, capsys):
    injected({"Quick": (2e-3, 1e-3, 1e-3), "Sluggish": (4e-3, 1e-3, 1e-3)})
    assert bench.main(["--quick", "--check"]) == 1
    out = capsys.readouterr()
    assert "Sluggish" in out.err and "Quick" not in out.err
    assert "OVER" in out.out


def test_check_passes_when_every_row_is_within_budget(injected, capsys):
    injected({"Quick": (2e-3, 1e-3, 1e-3), "Quicker": (3e-3, 1e-3, 1e-3)})
    assert bench.main(["--quick", "--check"]) == 0
    assert "OVER" not in capsys.readouterr().out
    injected({"Sluggish": (4e-3, 1e-3, 1e-3)})
    assert bench.main(["--quick"]) == 0  # without --check the table is only a report


def test_a_deliberately_slow_op_is_caught():
    slow = bench.Case("Sleepy", "(1,)", lambda: time.sleep(0.002), lambda: None, lambda: None)
    fast = bench.Case("Idle", "(1,)", lambda: None, lambda: None, lambda: time.sleep(0.002))
    rows = bench.measure([slow, fast], repeats=2, target_s=0.0, sweeps=2)
    assert [r.op for r in bench.over_budget(rows)] == ["Sleepy"]


def test_json_keeps_the_numbers_and_the_environment(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert bench.main(["--quick", "--json", str(path)]) == 0
    assert "SoftmaxCrossEntropy" in capsys.readouterr().out
    data = json.loads(path.read_text())
    assert {"numpy", "torch", "torch_threads", "torch_cpu_capability", "malloc_tuned"} <= set(data["environment"])
    rows = data["rows"]
    assert public_ops() <= {r["op"] for r in rows}
    for r in rows:
        assert {"scratch_s", "twin_s", "builtin_s", "ratio_twin", "ratio_builtin", "budget", "within_budget"} <= set(r)
        assert r["ratio_builtin"] == pytest.approx(r["scratch_s"] / r["builtin_s"])
        assert r["within_budget"] == (r["ratio_builtin"] <= r["budget"])


# ----- what the speed-ups must not change ----------------------------------------------------------
def test_the_ops_never_write_into_their_inputs():
    """The fast versions work in place, but only on arrays the op itself created."""
    rng = np.random.default_rng(0)
    x, dout = rng.standard_normal((6, 5)), rng.standard_normal((6, 5))
    calls = [(op, (x,)) for op in (activations.Sigmoid, activations.Tanh, activations.LeCunTanh,
                                    activations.ReLU, activations.LeakyReLU, activations.ELU)]
    calls.append((activations.PReLU, (x, np.full(5, 0.25))))
    calls.append((linear.Linear, (x, rng.standard_normal((5, 5)), rng.standard_normal(5))))
    for op, args in calls:
        before = [a.copy() for a in args] + [dout.copy()]
        _, cache = op.forward(*args)
        op.backward(dout, cache)
        for a, b in zip(list(args) + [dout], before):
            np.testing.assert_array_equal(a, b, err_msg=op.__name__)
    scores, y = rng.standard_normal((6, 3)), np.array([0, 1, 2, 0, 1, 2])
    for op in (losses.SoftmaxCrossEntropy, losses.MulticlassSVM):
        s0 = scores.copy()
        _, cache = op.forward(scores, y)
        op.backward(1.0, cache)
        np.testing.assert_array_equal(scores, s0)


def test_rectifier_slopes_are_exact():
    """1 exactly where x > 0 and the given slope exactly elsewhere, as np.where would give."""
    x = np.array([-3.0, -0.0, 0.0, 1e-300, 2.0, -1e300, np.inf, -np.inf])
    for a in (0.01, 0.3, 1.7, -0.5, -1.0000000000000002):
        np.testing.assert_array_equal(activations._slope(x > 0, a), np.where(x > 0, 1.0, a))
    out, _ = activations.ReLU.forward(x)
    np.testing.assert_array_equal(out, np.maximum(x, 0.0))
    assert not np.signbit(out).any()  # max(x, 0) is +0.0 for x <= 0, never -0.0


# ----- the allocator settings --------------------------------------------------------------------
def test_allocator_setting_is_safe_to_repeat_and_respects_the_users_choice(monkeypatch):
    first = allocator.keep_freed_memory()
    assert isinstance(first, bool)
    assert allocator.keep_freed_memory() == first  # calling it twice changes nothing
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "0")
    assert allocator.keep_freed_memory() is False  # the user's own setting wins


def test_allocator_is_a_noop_without_glibc(monkeypatch):
    monkeypatch.setattr(allocator.platform, "libc_ver", lambda: ("", ""))
    assert allocator.keep_freed_memory() is False
