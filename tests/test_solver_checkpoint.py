"""Solver extras on both sides: checkpoint/resume, early stopping, update/weight ratios, callbacks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from course_lib.data import load_digits
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import CHECKPOINT_FORMAT, Solver, load_checkpoint, save_checkpoint
from course_lib.torch_impl.model import MLP as TorchMLP
from course_lib.torch_impl.solver import Solver as TorchSolver


@pytest.fixture(scope="module")
def digits() -> dict[str, np.ndarray]:
    d = load_digits(seed=0)
    return dict(x_train=d.x_train[:400], y_train=d.y_train[:400], x_val=d.x_val, y_val=d.y_val)


def sched(t: int) -> float:
    return 0.1 * 0.99**t


SETTINGS = dict(batch_size=64, seed=3, progress=False, update_ratio_every=4)


def copy_to_torch(model: MLP, **kwargs) -> TorchMLP:
    twin = TorchMLP(model.dims, rng=0, **kwargs)
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.params.items()})
    return twin


@pytest.mark.parametrize("extra", [dict(dropout=0.2), dict(norm="batch")], ids=["dropout", "batchnorm"])
@pytest.mark.parametrize("via_file", [False, True], ids=["dict", "npz"])
def test_scratch_resume_is_bit_identical_to_an_uninterrupted_run(digits, tmp_path, extra, via_file) -> None:
    """Resuming gives exactly the run that was never interrupted: loss curve, accuracies, ratios, parameters."""
    def model(seed: int = 0) -> MLP:
        return MLP([64, 24, 10], weight_scale=0.1, rng=seed, **extra)

    full_model = model()
    full = Solver(full_model, digits, SGD(0.1, momentum=0.9), sched, epochs=4, **SETTINGS).train()

    first = Solver(model(), digits, SGD(0.1, momentum=0.9), sched, epochs=2, **SETTINGS)
    first.train()
    ckpt = first.checkpoint()
    assert ckpt["format"] == CHECKPOINT_FORMAT and ckpt["step"] == 2 * first.history.steps_per_epoch
    if via_file:
        path = first.save_checkpoint(tmp_path / "run.npz")
        ckpt = path  # resume from the file
    first.train()  # the checkpoint holds copies: training on does not change it
    other = model(seed=99)  # different starting values: all replaced by the checkpoint's
    resumed = Solver.resume(ckpt, other, digits, SGD(0.1, momentum=0.9), sched, epochs=2, progress=False)
    h = resumed.train()
    assert h.loss == full.loss and h.lr == full.lr
    assert h.val_acc == full.val_acc and h.train_acc == full.train_acc and h.eval_step == full.eval_step
    assert h.update_ratio == full.update_ratio and h.update_step == full.update_step
    assert h.epochs == full.epochs == 4
    for name in full_model.params:
        np.testing.assert_array_equal(other.params[name], full_model.params[name])
    for name in full_model.running:
        np.testing.assert_array_equal(other.running[name], full_model.running[name])


@pytest.mark.parametrize("use_scheduler", [False, True], ids=["callable", "LRScheduler"])
def test_torch_resume_is_bit_identical_to_an_uninterrupted_run(digits, tmp_path, use_scheduler) -> None:
    """The torch twin resumes exactly too, with torch.optim.Adam (tensor step counts), a scheduler and dropout."""
    base = TorchMLP([64, 24, 10], rng=0, dropout=0.2)

    def fresh(seed: int):
        m = TorchMLP([64, 24, 10], rng=seed, dropout=0.2)
        m.load_state_dict(base.state_dict())
        m.dropout_generator.manual_seed(seed)  # dropout masks follow the generator state, restored by resume
        opt = torch.optim.Adam(m.parameters(), lr=1e-2)
        schedule = torch.optim.lr_scheduler.StepLR(opt, 5, 0.5) if use_scheduler else (lambda t: 1e-2 / (1 + t / 8))
        return m, opt, schedule

    m, opt, schedule = fresh(0)
    full = TorchSolver(m, digits, opt, schedule, epochs=4, **SETTINGS).train()
    m1, opt1, schedule1 = fresh(0)
    first = TorchSolver(m1, digits, opt1, schedule1, epochs=2, **SETTINGS)
    first.train()
    path = first.save_checkpoint(tmp_path / "torch_run.npz")
    m2, opt2, schedule2 = fresh(5)
    h = TorchSolver.resume(path, m2, digits, opt2, schedule2, epochs=2, progress=False).train()
    assert h.loss == full.loss and h.lr == full.lr and h.val_acc == full.val_acc
    assert h.update_ratio == full.update_ratio
    for (k, a), (_, b) in zip(m.state_dict().items(), m2.state_dict().items()):
        assert torch.equal(a, b), k


def test_checkpoint_file_is_pickle_free_and_never_overwritten(digits, tmp_path) -> None:
    solver = Solver(MLP([64, 8, 10], rng=0), digits, SGD(0.05, momentum=0.9), epochs=1, progress=False)
    solver.train()
    path = solver.save_checkpoint(tmp_path / "a.npz")
    with np.load(path, allow_pickle=False) as archive:  # loads without pickle
        meta = json.loads(str(archive["__meta__"]))
    assert meta["kind"] == "scratch" and meta["step"] == solver.history.steps
    with pytest.raises(FileExistsError, match="overwrite=True"):
        solver.save_checkpoint(path)
    solver.train()
    save_checkpoint(solver.checkpoint(), path, overwrite=True)
    assert load_checkpoint(path)["step"] == solver.history.steps
    ckpt = load_checkpoint(path)
    assert ckpt["optimizer"]["states"]["W1"].step == solver.history.steps  # the SGDState came back as itself
    np.save(tmp_path / "plain.npy", np.zeros(3))
    with pytest.raises(ValueError, match="not a Solver checkpoint"):
        load_checkpoint(tmp_path / "plain.npy")


def test_load_checkpoint_rejects_a_mismatched_model_or_data(digits) -> None:
    solver = Solver(MLP([64, 8, 10], rng=0), digits, SGD(0.05), epochs=1, progress=False)
    solver.train()
    ckpt = solver.checkpoint()
    with pytest.raises(ValueError, match="parameters"):
        Solver.resume(ckpt, MLP([64, 9, 10], rng=0), digits, SGD(0.05), progress=False)
    small = {**digits, "x_train": digits["x_train"][:100], "y_train": digits["y_train"][:100]}
    with pytest.raises(ValueError, match="examples"):
        Solver.resume(ckpt, MLP([64, 8, 10], rng=0), small, SGD(0.05), progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        Solver(MLP([64, 8, 10], rng=0), digits, SGD(0.05), batch_size=32, progress=False).load_checkpoint(ckpt)
    twin = TorchMLP([64, 8, 10], rng=0)
    with pytest.raises(ValueError, match="scratch checkpoint"):
        TorchSolver.resume(ckpt, twin, digits, torch.optim.SGD(twin.parameters(), lr=0.05), progress=False)


def _frozen_after(epochs: int, steps_per_epoch: int):
    """lr 0.1 for ``epochs`` epochs, then 0: validation accuracy can no longer improve."""
    return lambda t: 0.1 if t < epochs * steps_per_epoch else 0.0


@pytest.mark.parametrize("side", ["scratch", "torch"])
def test_early_stopping_stops_and_restores_the_best_weights(digits, side) -> None:
    """Training stops after `patience` evaluations without improvement and the best epoch's weights come back."""
    model = MLP([64, 24, 10], weight_scale=0.1, rng=1)
    spe = math.ceil(400 / 64)
    saved = {}

    def keep_epoch_weights(solver) -> None:  # a callback: the weights at every epoch end
        if solver.history.steps % spe == 0:
            saved[solver.history.steps // spe] = solver.param_arrays()

    kw = dict(batch_size=64, epochs=30, patience=3, progress=False, callbacks=[keep_epoch_weights])
    if side == "scratch":
        solver = Solver(model, digits, SGD(0.1, momentum=0.9), _frozen_after(4, spe), **kw)
    else:
        twin = copy_to_torch(model)
        solver = TorchSolver(twin, digits, torch.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9),
                             _frozen_after(4, spe), **kw)
    h = solver.train()
    assert h.stopped_early and h.epochs == h.best_epoch + 3 and h.epochs < 30
    assert h.best_epoch <= 5  # the weights change only during the first four epochs (plus momentum)
    assert h.val_acc[h.best_epoch - 1] == max(h.val_acc) == h.best_val_acc
    assert h.best_step == h.best_epoch * spe
    restored = solver.param_arrays()
    for name, w in saved[h.best_epoch].items():
        np.testing.assert_array_equal(restored[name], w)


def test_patience_none_runs_all_epochs_and_restore_best_weights_on_request(digits) -> None:
    model = MLP([64, 24, 10], weight_scale=0.1, rng=1)
    spe = math.ceil(400 / 64)
    h = Solver(model, digits, SGD(0.1, momentum=0.9), _frozen_after(3, spe), epochs=6, progress=False).train()
    assert not h.stopped_early and h.epochs == 6 and h.val_acc[h.best_epoch - 1] == max(h.val_acc)
    saved = {}

    def keep_epoch_weights(solver) -> None:
        if solver.history.steps % spe == 0:
            saved[solver.history.steps // spe] = solver.param_arrays()

    solver = Solver(MLP([64, 24, 10], weight_scale=0.1, rng=1), digits, SGD(0.3, momentum=0.9), epochs=6,
                    patience=10, progress=False, callbacks=[keep_epoch_weights])
    h = solver.train()
    assert not h.stopped_early and h.epochs == 6
    for name, w in saved[6].items():  # without a stop the weights are the last ones...
        np.testing.assert_array_equal(solver.model.params[name], w)
    solver.restore_best_weights()  # ...until asked for the best
    for name, w in saved[h.best_epoch].items():
        np.testing.assert_array_equal(solver.model.params[name], w)
    assert solver.model.accuracy(digits["x_val"], digits["y_val"]) == h.best_val_acc
    with pytest.raises(RuntimeError, match="patience"):
        Solver(MLP([64, 8, 10], rng=0), digits, SGD(0.1), progress=False).restore_best_weights()


def test_update_ratios_scale_with_the_learning_rate_and_match_the_twin(digits) -> None:
    """||dw|| / ||w|| is recorded every k steps per parameter; at the first step it is proportional to the lr."""
    ratios = {}
    for lr in (0.01, 0.02):
        model = MLP([64, 16, 10], weight_scale=0.1, rng=0)
        h = Solver(model, digits, SGD(lr), batch_size=64, epochs=2, update_ratio_every=3, progress=False).train()
        assert h.update_step == list(range(0, h.steps, 3))
        assert set(h.update_ratio) == {"W1", "b1", "W2", "b2"}
        assert all(len(v) == len(h.update_step) for v in h.update_ratio.values())
        assert h.update_ratio["b1"][0] == math.inf  # zero-initialized bias: ||w|| = 0 at step 0
        assert 0 < h.update_ratio["W1"][0] < 1
        ratios[lr] = h.update_ratio["W1"][0]
    assert ratios[0.02] / ratios[0.01] == pytest.approx(2.0, rel=1e-9)
    model = MLP([64, 16, 10], weight_scale=0.1, rng=0)
    twin = copy_to_torch(model)
    settings = dict(batch_size=64, epochs=1, update_ratio_every=2, progress=False)
    h_np = Solver(model, digits, SGD(0.05, momentum=0.9), **settings).train()
    h_t = TorchSolver(twin, digits, torch.optim.SGD(twin.parameters(), lr=0.05, momentum=0.9), **settings).train()
    assert h_t.update_step == h_np.update_step
    for name in h_np.update_ratio:
        np.testing.assert_allclose(h_t.update_ratio[name], h_np.update_ratio[name], rtol=1e-8)


def test_defaults_keep_the_old_behaviour_and_new_arguments_are_checked(digits) -> None:
    calls = []
    solver = Solver(MLP([64, 8, 10], rng=0), digits, SGD(0.05), epochs=2, progress=False,
                    callbacks=[lambda s: calls.append(s.history.steps)])
    h = solver.train()
    assert h.update_ratio == {} and h.update_step == [] and not h.stopped_early
    assert calls == list(range(1, h.steps + 1))
    for kwargs, err in [(dict(patience=0), ValueError), (dict(update_ratio_every=1.5), ValueError),
                        (dict(min_delta=-1.0), ValueError), (dict(callbacks=[3]), TypeError)]:
        with pytest.raises(err, match=next(iter(kwargs))[:8] if err is ValueError else "callback"):
            Solver(MLP([64, 8, 10], rng=0), digits, SGD(0.05), progress=False, **kwargs)


def test_nan_loss_still_stops_the_run_with_patience(digits) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 2))
    y = rng.integers(0, 3, size=120)
    data = dict(x_train=x, y_train=y, x_val=x, y_val=y)
    solver = Solver(MLP([2, 32, 32, 3], weight_scale=1.0, rng=0), data, SGD(lr=1e8, momentum=0.9),
                    batch_size=16, epochs=5, patience=2, progress=False)
    with pytest.raises(FloatingPointError, match="diverged"):
        solver.train()
