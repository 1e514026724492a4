"""Ensembles: averaged probabilities of independent models, averaged checkpoints, running parameter averages."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_lib import ensembles as E
from course_lib.data import load_digits
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import Solver
from course_lib.torch_impl.model import MLP as TorchMLP
from course_lib.torch_impl.solver import Solver as TorchSolver


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


@pytest.fixture(scope="module")
def members(digits) -> list[MLP]:
    """Four small MLPs trained independently (different initializations and batch orders)."""
    out = []
    for s in range(4):
        model = MLP([64, 32, 10], weight_scale=0.1, rng=s)
        Solver(model, digits, SGD(0.1, momentum=0.9), batch_size=64, epochs=3, seed=s, progress=False).train()
        out.append(model)
    return out


def to_torch(model: MLP) -> TorchMLP:
    twin = TorchMLP(model.dims, rng=0)
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.params.items()})
    return twin


def test_probabilities_and_their_average(members, digits) -> None:
    x = digits.x_val
    p = E.predict_proba(members[0], x)
    assert p.shape == (len(x), 10) and np.allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(E.average_probabilities(members[:1], x), p)
    np.testing.assert_allclose(E.predict_proba(to_torch(members[0]), x), p, rtol=1e-10, atol=1e-13)  # twin
    avg = E.average_probabilities(members, x)
    np.testing.assert_allclose(avg, np.mean([E.predict_proba(m, x) for m in members], axis=0), rtol=1e-12)
    np.testing.assert_allclose(E.average_probabilities(members[::-1], x), avg, rtol=1e-12)
    weighted = E.average_probabilities(members[:2], x, weights=[3.0, 1.0])
    np.testing.assert_allclose(weighted, 0.75 * p + 0.25 * E.predict_proba(members[1], x), rtol=1e-12)
    with pytest.raises(ValueError, match="weights"):
        E.average_probabilities(members[:2], x, weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="at least one"):
        E.average_probabilities([], x)


def test_an_ensemble_of_independent_models_beats_its_average_member(members, digits) -> None:
    """'Train multiple independent models, average their results at test time': better than a typical member."""
    x, y = digits.x_val, digits.y_val
    member_loss = [E.log_loss(E.predict_proba(m, x), y) for m in members]
    member_acc = [m.accuracy(x, y) for m in members]
    ens_loss = E.log_loss(E.average_probabilities(members, x), y)
    assert ens_loss <= np.mean(member_loss)  # Jensen: -ln is convex, so this holds for any members
    assert ens_loss < np.mean(member_loss) - 0.01  # and the gain is not nothing
    assert E.ensemble_accuracy(members, x, y) >= np.mean(member_acc)
    mixed = [members[0], to_torch(members[1])]  # scratch and torch members in one ensemble
    np.testing.assert_allclose(E.average_probabilities(mixed, x), E.average_probabilities(members[:2], x),
                               rtol=1e-10, atol=1e-13)


def test_average_checkpoints_values_and_checks() -> None:
    a = {"W": np.array([[1.0, 2.0]]), "b": np.array([0.0])}
    b = {"W": np.array([[3.0, 6.0]]), "b": np.array([2.0])}
    avg = E.average_checkpoints([a, b])
    np.testing.assert_allclose(avg["W"], [[2.0, 4.0]])
    np.testing.assert_allclose(avg["b"], [1.0])
    np.testing.assert_allclose(E.average_checkpoints([a, b], weights=[1, 3])["W"], [[2.5, 5.0]])
    assert a["W"][0, 0] == 1.0  # inputs untouched
    t = {k: torch.from_numpy(v) for k, v in b.items()}  # torch state_dicts are accepted too
    np.testing.assert_allclose(E.average_checkpoints([a, t])["W"], avg["W"])
    with pytest.raises(ValueError, match="names"):
        E.average_checkpoints([a, {"W": a["W"]}])
    with pytest.raises(ValueError, match="shape"):
        E.average_checkpoints([a, {"W": np.zeros((2, 2)), "b": a["b"]}])


def test_ema_and_polyak_updates_are_values() -> None:
    rng = np.random.default_rng(0)
    seq = [{"w": rng.standard_normal(3)} for _ in range(6)]
    avg = E.ema_update(None, seq[0], 0.9)
    assert avg["w"] is not seq[0]["w"]
    np.testing.assert_array_equal(avg["w"], seq[0]["w"])
    new = E.ema_update(avg, seq[1], 0.9)
    np.testing.assert_allclose(new["w"], 0.9 * seq[0]["w"] + 0.1 * seq[1]["w"])
    np.testing.assert_array_equal(avg["w"], seq[0]["w"])  # the old average is unchanged
    np.testing.assert_allclose(E.ema_update(avg, seq[1], 0.0)["w"], seq[1]["w"])
    np.testing.assert_allclose(E.ema_update(avg, seq[1], 1.0)["w"], avg["w"])
    mean = None
    for n, p in enumerate(seq):
        mean = E.polyak_update(mean, p, n)
    np.testing.assert_allclose(mean["w"], np.mean([p["w"] for p in seq], axis=0), rtol=1e-12)
    with pytest.raises(ValueError, match="decay"):
        E.ema_update(avg, seq[1], 1.5)


NOISY = dict(lr=0.1, momentum=0.9, batch_size=16, epochs=6)  # small batches, a large step: SGD rattles


@pytest.mark.parametrize("seed", [0, 1])
def test_running_averages_and_checkpoint_averages_beat_the_last_iterate(digits, seed) -> None:
    """'Keep a running average parameter vector and use it at test time' (Polyak & Juditsky 1992)."""
    model = MLP([64, 32, 10], weight_scale=0.1, rng=seed)
    spe = math.ceil(len(digits.y_train) / NOISY["batch_size"])
    ema, polyak = E.EMACallback(0.98), E.EMACallback(None, start=3 * spe)
    snaps = []

    def keep_epoch_ends(solver) -> None:
        if solver.history.steps % spe == 0:
            snaps.append(solver.param_arrays())

    Solver(model, digits, SGD(NOISY["lr"], momentum=NOISY["momentum"]), batch_size=NOISY["batch_size"],
           epochs=NOISY["epochs"], seed=seed, progress=False, callbacks=[ema, polyak, keep_epoch_ends]).train()
    assert ema.count == 6 * spe and polyak.count == 3 * spe

    def val_loss(params) -> float:
        with E.with_params(model, params):
            return E.log_loss(E.predict_proba(model, digits.x_val), digits.y_val)

    last = val_loss(model.params)
    assert val_loss(ema.average) < last - 0.02
    assert val_loss(polyak.average) < last - 0.02
    assert val_loss(E.average_checkpoints(snaps[-3:])) < np.mean([val_loss(s) for s in snaps[-3:]])
    assert val_loss(model.params) == last  # with_params put the last iterate back


def test_ema_callback_on_the_torch_solver_matches_the_scratch_one(digits) -> None:
    model = MLP([64, 16, 10], weight_scale=0.1, rng=0)
    twin = to_torch(model)
    settings = dict(batch_size=64, epochs=2, seed=0, progress=False)
    ema_np, ema_t = E.EMACallback(0.9, every=2), E.EMACallback(0.9, every=2)
    Solver(model, digits, SGD(0.1, momentum=0.9), callbacks=[ema_np], **settings).train()
    TorchSolver(twin, digits, torch.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9), callbacks=[ema_t],
                **settings).train()
    assert ema_np.count == ema_t.count > 0
    for k in ema_np.average:
        np.testing.assert_allclose(ema_t.average[k], ema_np.average[k], rtol=1e-9, atol=1e-12)
    with E.with_params(twin, ema_t.average):
        acc_t = twin.accuracy(digits.x_val, digits.y_val)
    with E.with_params(model, ema_np.average):
        assert model.accuracy(digits.x_val, digits.y_val) == acc_t
    np.testing.assert_allclose(E.get_params(twin)["W1"], model.params["W1"], rtol=1e-9, atol=1e-12)  # restored
    with pytest.raises(TypeError, match="None"):
        E.set_params(model, E.EMACallback().average)
