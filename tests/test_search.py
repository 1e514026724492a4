"""Hyperparameter search: axes, grid and random search, the golden rule, edge warnings, coarse to fine."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from course_lib import search as S
from course_lib.data import load_digits
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import Solver


def bowl(params: dict) -> float:
    """A validation 'accuracy' peaking at lr = 1e-2, reg = 0.3 (higher is better)."""
    return 1.0 - (np.log10(params["lr"]) + 2.0) ** 2 / 10 - (params["reg"] - 0.3) ** 2


def test_axes_sample_inside_their_ranges_and_log_uniform_is_uniform_in_the_exponent() -> None:
    rng = np.random.default_rng(0)
    lr = S.log_uniform(1e-5, 1e-1)
    draws = np.array([lr.sample(rng) for _ in range(4000)])
    assert draws.min() >= 1e-5 and draws.max() <= 1e-1
    assert abs(np.log10(draws).mean() - (-3.0)) < 0.1  # the middle decade, not the middle value
    assert np.mean(draws < 1e-3) == pytest.approx(0.5, abs=0.05)
    p = S.uniform(0.0, 0.5)
    assert all(0.0 <= p.sample(rng) <= 0.5 for _ in range(100))
    assert {S.choice("sgd", "adam").sample(rng) for _ in range(50)} == {"sgd", "adam"}
    assert S.choice([32, 64]).options == (32, 64)
    for bad in (lambda: S.log_uniform(0.0, 1.0), lambda: S.log_uniform(1.0, 0.1), lambda: S.uniform(1, 1),
                lambda: S.choice()):
        with pytest.raises(ValueError):
            bad()


def test_grid_search_tries_every_combination_and_finds_the_best() -> None:
    space = {"lr": [1e-4, 1e-3, 1e-2, 1e-1, 1.0], "reg": [0.0, 0.3, 0.6]}
    seen = []
    result = S.grid_search(lambda p: seen.append(p) or bowl(p), space)
    assert len(result.trials) == len(seen) == 15
    assert {(t["lr"], t["reg"]) for t in result.trials} == {(a, b) for a in space["lr"] for b in space["reg"]}
    assert result.best_params == {"lr": 1e-2, "reg": 0.3} and result.best["score"] == pytest.approx(1.0)
    table = result.format_table()
    lines = table.splitlines()
    assert "rank" in lines[0] and "lr" in lines[0] and "score (val)" in lines[0]
    assert len(lines) == 2 + 15 and lines[2].split()[:3] == ["1", "0.01", "0.3"]
    assert len(result.format_table(top=3).splitlines()) == 5 and str(result) == table
    low = S.grid_search(lambda p: -bowl(p), space, maximize=False)  # a loss: lower is better
    assert low.best_params == result.best_params


def test_continuous_axes_on_a_grid_need_points() -> None:
    space = {"lr": S.log_uniform(1e-4, 1.0), "reg": S.choice(0.0, 0.3)}
    result = S.grid_search(bowl, space, points=5)
    assert sorted({t["lr"] for t in result.trials}) == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    with pytest.raises(ValueError, match="points"):
        S.grid_search(bowl, space)


def test_the_test_split_is_refused() -> None:
    """The golden rule: hyperparameters are chosen on the validation split, never on the test split."""
    space = {"lr": [1e-3, 1e-2, 1e-1], "reg": [0.3]}
    with pytest.raises(ValueError, match="split='test' is refused"):
        S.grid_search(bowl, space, split="test")
    with pytest.raises(ValueError, match="split='test' is refused"):
        S.random_search(bowl, {"lr": S.log_uniform(1e-4, 1.0), "reg": [0.3]}, 3, split="test")
    with pytest.raises(ValueError, match="split='test' is refused"):
        S.grid_search(lambda p: S.Score(bowl(p), split="test"), space)
    result = S.grid_search(lambda p: S.Score(bowl(p), split="val"), space)
    assert result.best_params["lr"] == 1e-2
    with pytest.raises(ValueError, match="split must be"):
        S.grid_search(bowl, space, split="train")
    with pytest.raises(TypeError, match="float"):
        S.grid_search(lambda p: "good", space)


def test_random_search_is_seeded() -> None:
    space = {"lr": S.log_uniform(1e-4, 1.0), "reg": S.uniform(0.0, 1.0), "opt": ["sgd", "adam"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", S.EdgeOfRangeWarning)
        a = S.random_search(bowl, space, 12, seed=1)
        b = S.random_search(bowl, space, 12, seed=1)
        c = S.random_search(bowl, space, 12, seed=2)
    assert a.trials == b.trials and a.trials != c.trials
    assert len(a.trials) == 12 and set(a.trials[0]) == {"lr", "reg", "opt", "score"}


def test_random_beats_grid_when_one_axis_matters() -> None:
    """Bergstra & Bengio (2012): 9 random points try 9 values of the important axis, a 3x3 grid only 3."""
    def objective(p: dict) -> float:
        return -(p["x"] - 0.37) ** 2 + 0.0 * p["y"]  # y does not matter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", S.EdgeOfRangeWarning)
        grid = S.grid_search(objective, {"x": [0.0, 0.5, 1.0], "y": [0.0, 0.5, 1.0]})
        randoms = [S.random_search(objective, {"x": S.uniform(0, 1), "y": S.uniform(0, 1)}, 9, seed=s)
                   for s in range(10)]
    assert len({t["x"] for t in grid.trials}) == 3
    assert all(len({t["x"] for t in r.trials}) == 9 for r in randoms)
    wins = sum(r.best["score"] > grid.best["score"] for r in randoms)
    assert wins >= 8


def test_edge_of_range_warning() -> None:
    """A best value at the edge of the range says: the optimum may lie outside, widen the range."""
    def rising(p: dict) -> float:
        return float(np.log10(p["lr"]))  # always better at a larger lr

    with pytest.warns(S.EdgeOfRangeWarning, match="upper edge"):
        S.grid_search(rising, {"lr": [1e-4, 1e-3, 1e-2]})
    with pytest.warns(S.EdgeOfRangeWarning, match="lr="):
        S.random_search(rising, {"lr": S.log_uniform(1e-4, 1e-2)}, 20, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", S.EdgeOfRangeWarning)
        S.grid_search(bowl, {"lr": [1e-4, 1e-2, 1.0], "reg": [0.0, 0.3, 0.6]})  # the best is inside: silent
        S.grid_search(rising, {"lr": [1e-4, 1e-3, 1e-2]}, warn_edges=False)
        S.grid_search(rising, {"opt": ["a", "b", "c"], "lr": [1e-3]})  # categorical and single values: silent


def test_refine_narrows_around_the_best_and_coarse_to_fine_improves() -> None:
    space = {"lr": S.log_uniform(1e-5, 1.0), "reg": S.uniform(0.0, 1.0), "opt": S.choice("sgd", "adam")}

    def objective(p: dict) -> float:
        return bowl(p) + (0.0 if p["opt"] == "adam" else -0.5)

    coarse = S.random_search(objective, space, 15, seed=0)
    fine_space = S.refine(coarse, factor=4)
    best = coarse.best_params
    lr_axis, reg_axis = fine_space["lr"], fine_space["reg"]
    assert lr_axis.lo < best["lr"] < lr_axis.hi
    assert math.log(lr_axis.hi / lr_axis.lo) == pytest.approx(math.log(1e5) / 4)
    assert 0.0 <= reg_axis.lo <= best["reg"] <= reg_axis.hi <= 1.0 and reg_axis.hi - reg_axis.lo <= 0.25 + 1e-12
    assert fine_space["opt"] == S.Choice(("adam",))
    fine = S.random_search(objective, fine_space, 15, seed=1)
    assert fine.best["score"] >= coarse.best["score"]
    grid = S.grid_search(bowl, {"lr": [1e-4, 1e-3, 1e-2, 1e-1, 1.0], "reg": [0.0, 0.3, 0.6]})
    refined = S.refine(grid)
    assert refined["lr"] == pytest.approx(list(np.geomspace(10**-2.5, 10**-1.5, 5)))  # log-spaced, halfway
    assert refined["reg"] == pytest.approx([0.15, 0.3, 0.45])
    widths = S.grid_search(lambda p: -abs(p["width"] - 60), {"width": [16, 32, 64, 128]}, warn_edges=False)
    new = S.refine(widths)["width"]
    assert all(isinstance(w, int) for w in new) and 32 < min(new) < 64 < max(new) < 128
    edge = S.grid_search(lambda p: -p["p"], {"p": [0.0, 0.25, 0.5]}, warn_edges=False)
    assert S.refine(edge)["p"] == pytest.approx([0.0, 0.0625, 0.125])  # clipped at 0: mirrored, non-negative
    with pytest.raises(ValueError, match="factor"):
        S.refine(coarse, factor=1.0)


def test_a_diverged_trial_scores_nan_and_ranks_last() -> None:
    def objective(p: dict) -> float:
        if p["lr"] > 0.5:
            raise FloatingPointError("training diverged")
        return bowl(p)

    result = S.grid_search(objective, {"lr": [1e-3, 1e-2, 1.0], "reg": [0.3]})
    assert math.isnan(result.trials[-1]["score"]) and result.best_params["lr"] == 1e-2
    assert result.format_table().splitlines()[-1].split()[-1] == "nan"
    with pytest.raises(ValueError, match="finite"):
        _ = S.grid_search(lambda p: math.nan, {"lr": [1e-3]}).best


def test_random_search_on_digits_scores_on_the_validation_split() -> None:
    """A real search: an MLP on digits, lr and L2 strength log-uniform, validation accuracy."""
    d = load_digits(seed=0)
    data = dict(x_train=d.x_train[:300], y_train=d.y_train[:300], x_val=d.x_val, y_val=d.y_val)

    def objective(p: dict) -> S.Score:
        model = MLP([64, 32, 10], weight_scale=0.1, reg=p["reg"], rng=0)
        h = Solver(model, data, SGD(p["lr"], momentum=0.9), batch_size=50, epochs=3, progress=False).train()
        return S.Score(h.val_acc[-1], split="val")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", S.EdgeOfRangeWarning)
        result = S.random_search(objective, {"lr": S.log_uniform(1e-4, 1.0), "reg": S.log_uniform(1e-5, 1e-1)}, 6,
                                 seed=0)
    scores = result.scores
    assert scores.max() > 0.7 and scores.min() < scores.max() - 0.2  # the lr matters
    assert result.best["lr"] > 1e-3


def test_practice_modules_do_not_import_torch() -> None:
    """babysit, search and ensembles are NumPy modules: torch is imported only for a torch model."""
    import subprocess
    import sys

    code = ("import sys, course_lib.babysit, course_lib.search, course_lib.ensembles\n"
            "print(','.join(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
