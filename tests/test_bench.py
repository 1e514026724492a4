"""The benchmark runs and reports sane numbers (timing itself is measured, never asserted)."""

import math

from course_lib import bench


def test_bench_reports_every_op_with_positive_times():
    rows = bench.run(n=16, d=8, c=4, repeats=1, number=1)
    assert [r.op for r in rows] == [
        "Linear", "Sigmoid", "ReLU", "Tanh", "LeakyReLU", "ELU", "SoftmaxCrossEntropy", "MulticlassSVM"
    ]
    for r in rows:
        assert r.scratch_s > 0 and r.torch_s > 0
        assert math.isfinite(r.ratio)
        assert r.within_budget == (r.ratio <= r.budget)
    table = bench.format_table(rows)
    assert table.count("\n") == len(rows) + 1
    assert "Linear" in table and "ratio" in table


def test_bench_cli_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--json", str(out)]) == 0
    assert "SoftmaxCrossEntropy" in capsys.readouterr().out
    import json

    rows = json.loads(out.read_text())
    assert {r["op"] for r in rows} >= {"Linear", "ReLU"}
    assert all(r["ratio"] > 0 for r in rows)
