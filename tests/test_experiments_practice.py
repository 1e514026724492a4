"""Every numeric claim of the chapter on training in practice (book/12_training_practice.md), asserted
as a band, an ordering or a relation, over several seeds where the claim is statistical.

Training runs amplify rounding differences between BLAS kernels, so no test asserts a machine's
digits. Exact equality is asserted only where it is exact by construction: a resumed run replays
the same operations on the same operands (bit-identical on any one machine), and the probability
1 - 0.95^60 is arithmetic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from course_lib import plotting
from course_lib.experiments import babysitting, curve_diagnosis, ensembles_demo, hparam_search, net_growth

LN10 = math.log(10)


# ----- babysitting --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def baby():
    return babysitting.run(seed=0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_initial_loss_is_ln10_and_regularization_raises_it(seed):
    """'With small random weights the loss at initialization is ln 10 = 2.303 ... He initialization
    starts higher ... turning the L2 penalty on raises the loss.'"""
    r = babysitting.run(seed=seed, overfit_steps=1, range_lrs=(1e-3, 1e-2), range_steps=5, ratio_lrs=(1e-2,),
                        ratio_epochs=1)
    assert r.chance_loss == pytest.approx(LN10)
    assert abs(r.small_init.measured - LN10) < 0.01 * LN10
    assert r.he_init.measured > LN10 + 0.2
    assert r.small_init.reg_raises and r.he_init.reg_raises


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_net_overfits_twenty_examples(seed):
    """'Without regularization the 40-50-10 net learns the 20 examples perfectly: training accuracy 100 %.'"""
    r = babysitting.run(seed=seed, range_lrs=(1e-3, 1e-2), range_steps=5, ratio_lrs=(1e-2,), ratio_epochs=1)
    assert r.overfit.passed
    assert r.overfit.final_loss < 0.05


def test_range_test_is_u_shaped(baby):
    """'The loss after the short run falls as the learning rate grows, reaches its minimum, and blows up
    beyond it: the smallest learning rate barely moves the loss, the largest ends far above its start.'"""
    r = baby.lr_range
    i = int(np.argmin(r.loss))
    assert 0 < i < len(r.lrs) - 1
    assert 1e-2 <= r.best_lr <= 1.0
    assert r.loss[0] > r.initial_loss - 0.2 * r.initial_loss  # the smallest lr barely moved it
    assert r.loss[-1] > r.initial_loss  # the largest lr blew it up
    assert np.all(np.diff(r.loss[: i + 1]) < 0)  # decreasing up to the minimum


@pytest.mark.parametrize("seed", [0, 1])
def test_update_ratio_grows_with_the_learning_rate(seed):
    """'The ratio grows about in proportion to the learning rate ... The rule's 1e-3 falls between 1e-3
    and 1e-2 ... the rate of 1e-1 trains fastest here, and the rate of 1 has ruined the run.'"""
    r = babysitting.run(seed=seed, overfit_steps=1, range_lrs=(1e-3, 1e-2), range_steps=5,
                        ratio_epochs=3 if seed == 0 else 1)
    assert np.all(np.diff(r.ratio_W1) > 0)
    lrs = np.array(r.ratio_lrs)
    assert r.ratio_W1[lrs == 1e-4][0] < 3e-4
    assert 3e-4 < r.ratio_W1[lrs == 1e-2][0] < 1e-2
    assert r.ratio_W1[lrs == 1.0][0] > 3e-2
    assert r.ratio_W1[lrs == 1e-3][0] < 1e-3 < r.ratio_W1[lrs == 1e-2][0]  # the rule's 1e-3 lies between
    if seed == 0:  # the chapter's three-epoch runs: 1e-1 trains fastest, 1 ruins the run
        val = dict(zip(r.ratio_lrs, r.ratio_val_acc))
        assert val[1e-1] > val[1e-2] > val[1e-3]
        assert val[1.0] < 0.3
    # each tenfold step of the learning rate multiplies the ratio by about 3 to 15
    steps = np.diff(np.log10(r.ratio_W1))
    assert np.all((steps > 0.4) & (steps < 1.2))


def test_checkpoint_resume_is_bit_identical_and_early_stopping_restores_the_best():
    """'The resumed run is identical to the uninterrupted one, bit for bit ... training stopped
    patience epochs after the best one, and the model holds the weights of the best epoch.'"""
    c = babysitting.run_checkpointing(seed=0)
    assert c.identical and c.same_losses and c.max_abs_diff == 0.0
    assert c.stopped_early
    assert c.epochs_run == c.best_epoch + c.patience
    assert c.final_val_acc == c.best_val_acc
    assert c.epochs_run < 200


# ----- growing the net ----------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1])
def test_growing_the_net_helps_and_widens_the_gap(seed):
    """'The deeper nets beat the one-layer 50-unit start on the validation split; training accuracy
    grows faster than validation accuracy, so the gap widens.'"""
    archs = ((50,), (200,), (200, 200), (200, 200, 200))
    r = net_growth.run(architectures=archs, seeds=(seed,))
    val, train, gap = r.mean("best_val"), r.mean("final_train"), r.mean("gap")
    assert val[2] > val[0] + 0.03 and val[3] > val[0] + 0.03
    assert train[2] > train[1] > train[0]
    assert gap[2] > gap[0] + 0.1


# ----- the diagnosis table ------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_run_lands_in_its_own_row(seed):
    """'diagnose_curves puts every run in its own row of the table' (for every seed)."""
    r = curve_diagnosis.run(seeds=(seed,))
    for case in curve_diagnosis.CASES:
        assert r.runs[case, seed].kind == case, (case, r.runs[case, seed].diagnosis)


# ----- hyperparameter search ----------------------------------------------------------------
def test_random_search_tries_nine_values_of_the_important_axis():
    """'The grid tries 3 distinct values of a, random search 9; random search's best beats the grid's
    in most repetitions.'"""
    t = hparam_search.run_toy(n_repeats=300)
    assert t.grid_distinct_a == 3 and t.random_distinct_a == 9
    assert t.random_best.mean() > t.grid_best + 0.3
    assert t.random_wins > 0.9


def test_probability_of_a_top_five_percent_trial():
    """'1 - 0.95^60 = 0.954; the simulation agrees.'"""
    p = hparam_search.run_top5()
    exact, sim = p.at(60)
    assert exact == pytest.approx(1 - 0.95**60) and 0.95 < exact < 0.96
    assert abs(sim - exact) < 0.02
    assert np.max(np.abs(p.simulated - p.exact)) < 0.04


def test_log_uniform_spreads_over_the_decades():
    """'Uniform samples land about 90 % of the time in the last decade; log-uniform ones about a quarter
    in each of the four.'"""
    r = hparam_search.run_log_uniform()
    assert abs(r.uniform_frac[-1] - 0.9) < 0.03
    assert np.all(np.abs(r.log_frac - 0.25) < 0.04)


@pytest.fixture(scope="module")
def hsearch():
    return hparam_search.run(seed=0)


def test_search_warns_at_the_edge_and_widening_helps(hsearch):
    """'The coarse grid's best learning rate is its largest, and the search says so ... the widened
    search finds a better validation accuracy; the fine stage better still.'"""
    coarse, widened, fine = hsearch.stages
    assert coarse.best["lr"] == max(hparam_search.COARSE_LRS)
    assert any("best lr" in w and "upper edge" in w for w in coarse.warnings)
    assert widened.best["score"] > coarse.best["score"] + 0.03
    assert fine.best["score"] > widened.best["score"]
    assert 1e-2 < hsearch.final_params["lr"] < 0.5
    assert abs(hsearch.test_acc - hsearch.final_val_acc) < 0.06


def test_search_warns_at_the_edge_for_another_seed():
    """The coarse grid's too-low range is caught for any seed (the grid's values do not depend on it)."""
    r = hparam_search.run(seed=1, n_widened=4, n_fine=2, fine_epochs=2, final_epochs=2)
    coarse = r.stage("coarse")
    assert coarse.best["lr"] == max(hparam_search.COARSE_LRS)
    assert any("best lr" in w for w in coarse.warnings)


def test_search_refuses_the_test_split():
    """'The search functions refuse split="test".'"""
    from course_lib import search

    with pytest.raises(ValueError, match="test"):
        search.random_search(lambda p: 0.0, {"lr": search.log_uniform(1e-3, 1.0)}, 2, split="test")


# ----- ensembles ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ens():
    return {seed: ensembles_demo.run(seed=seed) for seed in (0, 1)}


def test_the_ensemble_beats_its_members(ens):
    """'The ensemble of five beats every one of its members, by several points over their mean; its
    log-loss is below theirs.'"""
    for r in ens.values():
        assert r.ensemble_acc[-1] > r.member_acc.max()
        assert r.gain > 0.02
        assert r.ensemble_logloss < r.member_logloss.mean()
        assert r.ensemble_acc[-1] > r.ensemble_acc[0]


def test_averaging_one_run_helps_the_final_iterate(ens):
    """'Averaging the snapshots (as predictions or as parameters), the EMA and the Polyak average all
    beat the final iterate.'"""
    for r in ens.values():
        for v in (r.snapshot_pred_acc, r.snapshot_param_acc, r.ema_acc, r.polyak_acc):
            assert v > r.final_acc
        assert r.ema_val >= r.final_val - 0.01


def test_ensembles_at_a_smaller_size():
    """The same orderings for a third seed, three members, ten epochs: they do not hinge on the sizes."""
    r = ensembles_demo.run(seed=2, members=3, epochs=10, snapshots=3)
    assert r.ensemble_acc[-1] > r.member_acc.mean()
    assert r.ensemble_logloss < r.member_logloss.mean()
    assert r.ema_acc > r.final_acc - 0.01


# ----- figures ------------------------------------------------------------------------------
def test_figures_draw(baby, hsearch, ens):
    c = curve_diagnosis.run(cases=("healthy", "no_gap"))
    g = net_growth.run(architectures=((50,), (100,)), epochs=2)
    figs = [plotting.plot_babysitting(baby), plotting.plot_curve_diagnosis(c), plotting.plot_net_growth(g),
            plotting.plot_search_toy(hparam_search.run_toy(n_repeats=3)),
            plotting.plot_search_odds(hparam_search.run_top5(n_repeats=50), hparam_search.run_log_uniform(n=100)),
            plotting.plot_hparam_search(hsearch), plotting.plot_ensembles(ens[0]),
            plotting.plot_early_stopping(babysitting.run_checkpointing(max_epochs=20))]
    assert all(isinstance(f, Figure) for f in figs)
