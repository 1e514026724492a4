"""The scratch MLP and Solver, and their torch twins."""

from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from course_lib.gradcheck import numerical_grad, rel_error
from course_lib.scratch import activations as A
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import History, Solver, apply_update
from course_lib.torch_impl import activations as T
from course_lib.torch_impl.model import MLP as TorchMLP
from course_lib.torch_impl.optim import SGD as TwinSGD
from course_lib.torch_impl.solver import Solver as TorchSolver


def blobs(rng: np.random.Generator, n_per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated Gaussian blobs in 2-D."""
    centers = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    x = np.concatenate([c + 0.7 * rng.standard_normal((n_per_class, 2)) for c in centers])
    y = np.repeat(np.arange(3), n_per_class)
    return x, y


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    x_train, y_train = blobs(rng, 40)
    x_val, y_val = blobs(rng, 15)
    return dict(x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val)


def copy_to_torch(model: MLP, **kwargs) -> TorchMLP:
    twin = TorchMLP(model.dims, activation=model.activation, loss=model.loss_name, reg=model.reg,
                    activation_kwargs=model.activation_kwargs, pieces=model.pieces, **kwargs)
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.params.items()})
    return twin


NETS = [
    dict(dims=[4, 6, 3], activation="relu", loss="softmax", reg=0.0),
    dict(dims=[4, 5, 6, 3], activation="relu", loss="softmax", reg=0.3),
    dict(dims=[4, 6, 5, 3], activation="sigmoid", loss="svm", reg=0.1),
    dict(dims=[4, 3], activation="relu", loss="svm", reg=0.05),
    dict(dims=[4, 6, 5, 3], activation=A.LeakyReLU, activation_kwargs={"negative_slope": 0.3}, loss="softmax", reg=0.1),
    dict(dims=[4, 6, 3], activation="elu", activation_kwargs={"alpha": 0.5}, loss="svm", reg=0.0),
    dict(dims=[4, 5, 6, 3], activation="maxout", pieces=3, loss="softmax", reg=0.2),
]
NET_IDS = ["relu_softmax", "relu_softmax_reg_deep", "sigmoid_svm_reg", "linear_svm", "leaky_slope_0.3",
           "elu_alpha_0.5_svm", "maxout_3_pieces_reg"]


def _batch(seed: int = 0, n: int = 7, d: int = 4, c: int = 3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, c, size=n)


# ----- MLP --------------------------------------------------------------------------------------
@pytest.mark.parametrize("net", NETS, ids=NET_IDS)
def test_mlp_gradients_match_central_differences(net: dict) -> None:
    model = MLP(weight_scale=0.5, rng=1, **net)
    x, y = _batch()
    _, grads = model.loss(x, y)
    assert list(grads) == list(model.params)
    for name, w in model.params.items():
        numeric = numerical_grad(lambda _w: model.loss(x, y)[0], w, 1.0)
        assert rel_error(grads[name], numeric) < 1e-6, name


@pytest.mark.parametrize("net", NETS, ids=NET_IDS)
def test_scratch_and_torch_mlp_agree(net: dict) -> None:
    model = MLP(weight_scale=0.5, rng=2, **net)
    twin = copy_to_torch(model)
    x, y = _batch(3)
    loss, grads = model.loss(x, y)
    t_loss = twin.loss(torch.as_tensor(x), torch.as_tensor(y))
    t_loss.backward()
    torch.testing.assert_close(torch.tensor(loss, dtype=torch.float64), t_loss.detach())
    for name, p in twin.named_parameters():
        torch.testing.assert_close(torch.as_tensor(grads[name]), p.grad)
    torch.testing.assert_close(torch.as_tensor(model.scores(x)), twin.scores(torch.as_tensor(x)).detach())
    np.testing.assert_array_equal(model.predict(x), twin.predict(x).numpy())
    assert model.accuracy(x, y) == twin.accuracy(x, y)
    assert model.error(x, y) == twin.error(x, y) == pytest.approx(1 - model.accuracy(x, y))
    assert model.num_params == twin.num_params
    for h, th in zip(model.hidden(x), twin.hidden(x)):
        torch.testing.assert_close(torch.as_tensor(h), th.detach())
    for z, tz in zip(model.pre_activations(x), twin.pre_activations(x)):
        torch.testing.assert_close(torch.as_tensor(z), tz.detach())


def test_mlp_parameter_layout_and_init() -> None:
    model = MLP([5, 7, 3], rng=0)
    assert list(model.params) == ["W1", "b1", "W2", "b2"]
    assert model.params["W1"].shape == (5, 7) and model.params["b2"].shape == (3,)
    assert model.params["W1"].dtype == np.float64
    assert np.all(model.params["b1"] == 0)
    assert 0.005 < model.params["W1"].std() < 0.015  # default weight_scale 1e-2
    assert MLP([5, 7, 3], weight_scale=2.0, rng=0).params["W1"].std() > 1.0
    np.testing.assert_array_equal(MLP([5, 7, 3], rng=0).params["W1"], model.params["W1"])
    np.testing.assert_array_equal(MLP([5, 7, 3], rng=np.random.default_rng(0)).params["W1"], model.params["W1"])
    twin = TorchMLP([5, 7, 3], rng=0)
    assert [n for n, _ in twin.named_parameters()] == ["W1", "b1", "W2", "b2"]
    assert twin.W1.shape == (5, 7) and twin.W1.dtype == torch.float64
    torch.testing.assert_close(TorchMLP([5, 7, 3], rng=0).W1, twin.W1)


def test_activation_by_class_or_name_with_hyperparameters() -> None:
    """A class and its name build the same net; the hyperparameters reach every hidden layer."""
    x, _ = _batch(0, n=20)
    slope = {"negative_slope": 0.2}
    by_name = MLP([4, 6, 5, 3], activation="leaky_relu", activation_kwargs=slope, rng=0, weight_scale=1.0)
    by_class = MLP([4, 6, 5, 3], activation=A.LeakyReLU, activation_kwargs=slope, rng=0, weight_scale=1.0)
    assert by_class.activation == "leaky_relu" and by_class.activation_kwargs == {"negative_slope": 0.2}
    np.testing.assert_array_equal(by_name.scores(x), by_class.scores(x))
    trace = by_class.trace(x)
    for z, h in zip(trace.pre_activations[:-1], trace.activations):
        np.testing.assert_array_equal(h, np.where(z > 0, z, 0.2 * z))
    np.testing.assert_array_equal(by_class.act.forward(trace.pre_activations[0])[0], trace.activations[0])
    assert "negative_slope" in repr(by_class)
    default = MLP([4, 6, 3], activation=A.LeakyReLU, rng=0, weight_scale=1.0)  # the op's own default, 0.01
    z = default.pre_activations(x)[0]
    np.testing.assert_array_equal(default.hidden(x)[0], np.where(z > 0, z, 0.01 * z))
    twin = TorchMLP([4, 6, 5, 3], activation=T.leaky_relu, activation_kwargs={"negative_slope": 0.2})
    assert twin.activation == "leaky_relu" and TorchMLP([4, 3], activation=A.ELU).activation == "elu"


def test_maxout_layers_have_k_pieces() -> None:
    model = MLP([4, 6, 5, 3], activation="maxout", pieces=3, rng=0, bias=0.1)
    assert model.act is None and model.pieces == 3
    assert model.params["W1"].shape == (3, 4, 6) and model.params["b1"].shape == (3, 6)
    assert model.params["W2"].shape == (3, 6, 5) and model.params["W3"].shape == (5, 3)
    assert np.all(model.params["b2"] == 0.1)
    assert model.num_params == 3 * (4 * 6 + 6) + 3 * (6 * 5 + 5) + (5 * 3 + 3)
    x, _ = _batch(1, n=9)
    h1, _ = A.Maxout.forward(x, model.params["W1"], model.params["b1"])
    np.testing.assert_array_equal(model.hidden(x)[0], h1)
    np.testing.assert_array_equal(model.pre_activations(x)[0], h1)  # maxout: z is the layer's output
    assert MLP([4, 6, 3], activation=A.Maxout, rng=0).pieces == 2  # the default k
    # the k pieces are drawn one after the other, like k separate layers
    he = MLP([4, 6, 3], activation="maxout", pieces=2, init="he_normal", rng=5).params["W1"]
    rng = np.random.default_rng(5)
    from course_lib.scratch import init as S
    np.testing.assert_array_equal(he, np.stack([S.he_normal(rng, 4, 6), S.he_normal(rng, 4, 6)]))
    twin = TorchMLP([4, 6, 5, 3], activation="maxout", pieces=3, rng=0, init="he_normal")
    assert twin.W1.shape == (3, 4, 6) and twin.b2.shape == (3, 5) and twin.W3.shape == (5, 3)
    assert twin.W1[0].std() > 0 and not torch.equal(twin.W1[0], twin.W1[1])


def test_tools_that_need_an_elementwise_activation_refuse_maxout() -> None:
    from course_lib.diagnostics import record_forward
    from course_lib.scratch.init import lsuv
    from course_lib.torch_impl.init import lsuv as twin_lsuv

    x, _ = _batch(0, n=16)
    model = MLP([4, 6, 3], activation="maxout", rng=0)
    for call in (lambda: record_forward(model, x), lambda: lsuv(model, x, np.random.default_rng(0)),
                 lambda: twin_lsuv(TorchMLP([4, 6, 3], activation="maxout", rng=0), x)):
        with pytest.raises(ValueError, match="maxout"):
            call()
    leaky = MLP([4, 6, 5, 3], activation="leaky_relu", activation_kwargs={"negative_slope": 0.5},
                weight_scale=1.0, rng=0)
    pre, act = record_forward(leaky, x)  # the model's slope, not the op's default
    np.testing.assert_array_equal(act[1], np.where(pre[1] > 0, pre[1], 0.5 * pre[1]))


def test_mlp_error_is_the_misclassified_fraction() -> None:
    x, y = _batch(2, n=40)
    model = MLP([4, 6, 3], weight_scale=1.0, rng=0)
    assert model.error(x, y) == np.mean(model.predict(x) != y)
    with pytest.raises(ValueError, match="0..2"):
        model.error(x, np.full(40, 3))


def test_mlp_initial_loss_is_log_c() -> None:
    """With tiny weights the scores are ~0, so the softmax loss starts at ln(C)."""
    x, y = _batch(0, n=50, c=3)
    assert MLP([4, 10, 3], weight_scale=1e-4, rng=0).loss(x, y)[0] == pytest.approx(np.log(3), abs=1e-3)


def test_reg_adds_half_lambda_sum_of_squares() -> None:
    x, y = _batch()
    plain = MLP([4, 6, 3], rng=0, weight_scale=0.3)
    reg = MLP([4, 6, 3], rng=0, weight_scale=0.3, reg=0.7)
    extra = 0.5 * 0.7 * sum(np.sum(plain.params[k] ** 2) for k in ("W1", "W2"))
    assert reg.loss(x, y)[0] == pytest.approx(plain.loss(x, y)[0] + extra, rel=1e-12)
    np.testing.assert_allclose(reg.loss(x, y)[1]["b1"], plain.loss(x, y)[1]["b1"])  # biases not regularized


@pytest.mark.parametrize(
    "make_call, match",
    [
        (lambda m: m.loss(np.ones((3, 5)), np.zeros(3, dtype=int)), "shape"),
        (lambda m: m.loss(np.ones((3, 4)), np.zeros(2, dtype=int)), "labels"),
        (lambda m: m.loss(np.ones((3, 4)), np.array([0, 1, 3])), "0..2"),
        (lambda m: m.loss(np.ones((3, 4)), np.array([0, -1, 2])), "0..2"),
        (lambda m: m.loss(np.ones((3, 4)), np.array([0.0, 1.5, 2.0])), "integer"),
        (lambda m: m.loss(np.ones(4), np.array([0])), "shape"),
        (lambda m: m.accuracy(np.ones((3, 4)), np.array([0, 1, 9])), "0..2"),
    ],
)
def test_mlp_bad_inputs_raise_clear_errors(make_call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_call(MLP([4, 5, 3], rng=0))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(dims=[4]), "dims"),
        (dict(dims=[4, 0, 3]), "positive"),
        (dict(dims=[4, 3], activation="swish"), "activation"),
        (dict(dims=[4, 3], loss="mse"), "loss"),
        (dict(dims=[4, 3], reg=-1.0), "reg"),
        (dict(dims=[4, 3], weight_scale=-0.1), "weight_scale"),
        (dict(dims=[4, 3], activation=A.PReLU), "activation"),
        (dict(dims=[4, 3], activation=None), "activation"),
        (dict(dims=[4, 3], activation="relu", activation_kwargs={"negative_slope": 0.1}), "negative_slope"),
        (dict(dims=[4, 3], activation="leaky_relu", activation_kwargs={"slope": 0.1}), "slope"),
        (dict(dims=[4, 3], activation="leaky_relu", activation_kwargs={"negative_slope": np.nan}), "negative_slope"),
        (dict(dims=[4, 3], activation="elu", activation_kwargs=[("alpha", 1.0)]), "activation_kwargs"),
        (dict(dims=[4, 3], activation="relu", pieces=2), "pieces"),
        (dict(dims=[4, 3], activation="maxout", pieces=0), "pieces"),
        (dict(dims=[4, 3], activation="maxout", activation_kwargs={"alpha": 1.0}), "alpha"),
    ],
)
def test_mlp_bad_constructor_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MLP(**kwargs)
    with pytest.raises(ValueError, match=match):
        TorchMLP(**kwargs)


# ----- Solver -----------------------------------------------------------------------------------
def test_solver_trains_a_small_mlp(data) -> None:
    model = MLP([2, 16, 3], rng=0)
    history = Solver(model, data, SGD(lr=0.1, momentum=0.9), batch_size=16, epochs=4, progress=False).train()
    assert history.train_acc[-1] > 0.95
    assert model.accuracy(data["x_train"], data["y_train"]) > 0.95
    assert history.best_val_acc > 0.95
    assert np.mean(history.loss[-5:]) < 0.5 * history.loss[0]


def test_torch_solver_trains_a_small_mlp(data) -> None:
    model = TorchMLP([2, 16, 3], rng=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    history = TorchSolver(model, data, opt, batch_size=16, epochs=4, progress=False).train()
    assert isinstance(history, History)
    assert history.train_acc[-1] > 0.95


def test_apply_update_is_one_optimizer_step_on_every_parameter() -> None:
    x, y = _batch(0, n=12)
    model = MLP([4, 6, 3], activation="maxout", pieces=2, weight_scale=0.5, rng=0)
    before = {k: v.copy() for k, v in model.params.items()}
    opt = SGD(lr=0.3, momentum=0.9)
    states = {k: opt.init(v) for k, v in model.params.items()}
    _, grads = model.loss(x, y)
    apply_update(model, opt, grads, states, lr=0.1)  # lr overrides the optimizer's
    for k in model.params:
        np.testing.assert_array_equal(model.params[k], before[k] - 0.1 * grads[k])  # first momentum step: b = g
        assert states[k].step == 1
    apply_update(model, opt, grads, states)
    for k in model.params:
        np.testing.assert_array_equal(states[k].momentum_buffer, 0.9 * grads[k] + grads[k])


def test_history_lengths(data) -> None:
    n = len(data["y_train"])  # 120
    model = MLP([2, 8, 3], rng=0)
    sched = lambda t: 0.05 / (1 + 0.1 * t)  # noqa: E731
    solver = Solver(model, data, SGD(lr=1.0), sched, batch_size=32, epochs=3, progress=False)
    h = solver.train()
    steps = 3 * int(np.ceil(n / 32))
    assert h.steps_per_epoch == int(np.ceil(n / 32)) == 4
    assert h.epochs == 3
    assert len(h.loss) == len(h.lr) == h.steps == steps
    assert len(h.train_acc) == len(h.val_acc) == len(h.eval_step) == 3
    assert h.eval_step == [4, 8, 12]
    assert h.lr == [pytest.approx(sched(t)) for t in range(steps)]
    assert h.best_val_acc == max(h.val_acc)
    assert np.isnan(History().best_val_acc)
    # train() again continues: 3 more epochs appended, schedule index keeps counting
    h2 = solver.train()
    assert h2 is h and h.epochs == 6 and len(h.loss) == 2 * steps and len(h.val_acc) == 6
    assert h.lr[steps] == pytest.approx(sched(steps))


def test_eval_every_and_max_eval(data) -> None:
    model = MLP([2, 8, 3], rng=0)
    h = Solver(model, data, SGD(lr=0.1), batch_size=32, epochs=2, eval_every=3, max_eval=10, progress=False).train()
    assert h.eval_step == [3, 6, 8]  # every 3rd step, plus the end
    assert len(h.train_acc) == len(h.val_acc) == 3
    for acc in h.train_acc + h.val_acc:
        assert round(acc * 10) == pytest.approx(acc * 10)  # measured on 10 examples


def test_solver_is_deterministic_and_accepts_splits_objects(data) -> None:
    runs = []
    for d in (data, SimpleNamespace(**data)):
        model = MLP([2, 8, 3], rng=0)
        runs.append(Solver(model, d, SGD(lr=0.1, momentum=0.5), batch_size=16, epochs=2, seed=3,
                           progress=False).train())
    assert runs[0].loss == runs[1].loss
    other = Solver(MLP([2, 8, 3], rng=0), data, SGD(lr=0.1, momentum=0.5), batch_size=16, epochs=2, seed=4,
                   progress=False)
    assert other.train().loss != runs[0].loss  # another seed, another batch order


@pytest.mark.parametrize("twin_optimizer", [False, True], ids=["torch.optim.SGD", "twin_SGD"])
def test_torch_solver_reproduces_the_scratch_loss_curve(data, twin_optimizer: bool) -> None:
    model = MLP([2, 12, 8, 3], activation="relu", weight_scale=0.3, reg=1e-3, rng=5)
    twin = copy_to_torch(model)
    sched = lambda t: 0.05 * 0.98**t  # noqa: E731
    settings = dict(batch_size=16, epochs=3, seed=7, progress=False)
    h_np = Solver(model, data, SGD(lr=0.05, momentum=0.9, nesterov=True), sched, **settings).train()
    opt_cls = TwinSGD if twin_optimizer else torch.optim.SGD
    opt = opt_cls(twin.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    h_t = TorchSolver(twin, data, opt, sched, **settings).train()
    np.testing.assert_allclose(h_t.loss, h_np.loss, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h_t.lr, h_np.lr, rtol=1e-15)
    assert h_t.val_acc == h_np.val_acc and h_t.eval_step == h_np.eval_step
    for name, p in twin.named_parameters():
        np.testing.assert_allclose(p.detach().numpy(), model.params[name], rtol=1e-9, atol=1e-12)


def test_torch_solver_accepts_an_lr_scheduler(data) -> None:
    base = MLP([2, 8, 3], weight_scale=0.3, rng=0)
    runs = []
    for use_scheduler in (False, True):
        twin = copy_to_torch(base)
        opt = torch.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9)
        if use_scheduler:
            schedule = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
        else:
            schedule = lambda t: 0.1 * 0.5 ** (t // 5)  # noqa: E731
        runs.append(TorchSolver(twin, data, opt, schedule, batch_size=32, epochs=2, progress=False).train())
    np.testing.assert_allclose(runs[0].lr, runs[1].lr, rtol=1e-15)
    np.testing.assert_allclose(runs[0].loss, runs[1].loss, rtol=1e-12)


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(y_train=None), "y_train"),
        (dict(x_train=lambda d: d["x_train"][:-1]), "examples"),
        (dict(y_val=lambda d: d["y_val"] + 3), "0..2"),
        (dict(y_train=lambda d: d["y_train"] - 1), "labels"),
        (dict(y_train=lambda d: d["y_train"] + 0.5), "integer"),
        (dict(x_val=lambda d: np.where(d["x_val"] > 2, np.nan, d["x_val"])), "nan"),
        (dict(x_val=lambda d: d["x_val"][:, :1]), "shape"),
    ],
)
def test_solver_rejects_bad_data(data, change: dict, match: str) -> None:
    bad = dict(data)
    for key, fn in change.items():
        if fn is None:
            del bad[key]
        else:
            bad[key] = fn(data)
    with pytest.raises(ValueError, match=match):
        Solver(MLP([2, 4, 3], rng=0), bad, SGD(lr=0.1), progress=False)
    twin = TorchMLP([2, 4, 3], rng=0)
    with pytest.raises(ValueError, match=match):
        TorchSolver(twin, bad, torch.optim.SGD(twin.parameters(), lr=0.1), progress=False)


@pytest.mark.parametrize("kwargs", [dict(batch_size=0), dict(epochs=-1), dict(eval_every=0), dict(max_eval=2.5)])
def test_solver_rejects_bad_settings(data, kwargs: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        Solver(MLP([2, 4, 3], rng=0), data, SGD(lr=0.1), progress=False, **kwargs)


def test_divergence_raises_floating_point_error() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((120, 2)), rng.integers(0, 3, size=120)  # random labels: large gradients
    data = dict(x_train=x, y_train=y, x_val=x, y_val=y)
    model = MLP([2, 32, 32, 3], weight_scale=1.0, rng=0)
    solver = Solver(model, data, SGD(lr=1e8, momentum=0.9), batch_size=16, epochs=5, progress=False)
    with pytest.raises(FloatingPointError, match=r"step \d+"):
        solver.train()
    assert len(solver.history.loss) >= 1 and all(np.isfinite(solver.history.loss))

    twin = TorchMLP([2, 32, 32, 3], weight_scale=1.0, rng=0)
    opt = torch.optim.SGD(twin.parameters(), lr=1e8, momentum=0.9)
    t_solver = TorchSolver(twin, data, opt, batch_size=16, epochs=5, progress=False)
    with pytest.raises(FloatingPointError, match=r"step \d+"):
        t_solver.train()


def test_progress_bar_runs(data, capsys) -> None:
    Solver(MLP([2, 4, 3], rng=0), data, SGD(lr=0.1), epochs=1, progress=True).train()
    err = capsys.readouterr().err
    assert "step" in err or os.environ.get("TQDM_DISABLE")
    Solver(MLP([2, 4, 3], rng=0), data, SGD(lr=0.1), epochs=1, progress=False).train()
    assert capsys.readouterr().err == ""


def test_tqdm_disable_env_silences_the_bar() -> None:
    """tqdm reads TQDM_DISABLE when it is imported, so check in a fresh interpreter."""
    code = (
        "import numpy as np\n"
        "from course_lib.scratch.model import MLP\n"
        "from course_lib.scratch.optim import SGD\n"
        "from course_lib.scratch.solver import Solver\n"
        "x = np.random.default_rng(0).standard_normal((20, 2)); y = np.arange(20) % 3\n"
        "d = dict(x_train=x, y_train=y, x_val=x, y_val=y)\n"
        "Solver(MLP([2, 3], rng=0), d, SGD(lr=0.1), epochs=2, progress=True).train()\n"
    )
    env = {**os.environ, "TQDM_DISABLE": "1"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


# ----- MLP with batch norm ----------------------------------------------------------------------
BN_NETS = [
    dict(dims=[4, 6, 5, 3], activation="relu", loss="softmax", reg=0.1, norm="batch", norm_position="before"),
    dict(dims=[4, 6, 5, 3], activation="tanh", loss="svm", reg=0.0, norm="batch", norm_position="after"),
]
BN_IDS = ["relu_bn_before", "tanh_bn_after_svm"]


def copy_bn_to_torch(model: MLP) -> TorchMLP:
    twin = TorchMLP(model.dims, activation=model.activation, loss=model.loss_name, reg=model.reg,
                    norm=model.norm, norm_position=model.norm_position)
    state = {**model.params, **model.running}
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
    return twin


@pytest.mark.parametrize("net", BN_NETS, ids=BN_IDS)
def test_mlp_with_batch_norm_gradients_match_central_differences(net: dict) -> None:
    model = MLP(weight_scale=0.5, rng=1, bias=0.1, **net)
    rng = np.random.default_rng(4)
    for i in (1, 2):  # gamma and beta away from (1, 0), so that a swapped gradient shows
        model.params[f"gamma{i}"] = 1.0 + 0.3 * rng.standard_normal(model.dims[i])
        model.params[f"beta{i}"] = 0.3 * rng.standard_normal(model.dims[i])
    x, y = _batch(n=8)
    _, grads = model.loss(x, y)
    assert list(grads) == list(model.params)
    for name, w in model.params.items():
        numeric = numerical_grad(lambda _w: model.loss(x, y)[0], w, 1.0)
        if net["norm_position"] == "before" and name in ("b1", "b2"):
            # BN subtracts the batch mean: the bias before it has no effect, its gradient is rounding
            assert np.abs(grads[name]).max() < 1e-12 and np.abs(numeric).max() < 1e-7, name
            continue
        assert rel_error(grads[name], numeric) < 1e-6, name


def test_mlp_batch_norm_layout_modes_and_running_statistics() -> None:
    model = MLP([4, 6, 3], norm="batch", rng=0)
    assert list(model.params) == ["W1", "b1", "gamma1", "beta1", "W2", "b2"]
    assert list(model.running) == ["running_mean1", "running_var1"]
    assert model.training and model.eval() is model and not model.training
    x, y = _batch(n=8)
    before = dict(model.running)
    model.loss(x, y)  # eval mode: the running statistics are used, and left alone
    assert all(model.running[k] is before[k] for k in before)
    model.train()
    h = x @ model.params["W1"] + model.params["b1"]
    model.loss(x, y)
    np.testing.assert_allclose(model.running["running_mean1"], 0.1 * h.mean(axis=0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(model.running["running_var1"], 0.9 + 0.1 * h.var(axis=0, ddof=1), rtol=1e-12)
    model.eval()
    alone = model.scores(x[:1])  # eval mode: each example on its own
    np.testing.assert_allclose(alone, model.scores(x)[:1], rtol=1e-12, atol=1e-15)
    assert MLP([4, 6, 3], rng=0).running == {}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(norm="layer"), "norm must be None or 'batch'"),
        (dict(norm="batch", norm_position="inside"), "norm_position must be"),
        (dict(norm="batch", activation="maxout"), "not supported with activation='maxout'"),
    ],
)
def test_mlp_bad_norm_arguments(kwargs: dict, match: str) -> None:
    for cls in (MLP, TorchMLP):
        with pytest.raises(ValueError, match=match):
            cls([4, 6, 3], **kwargs)


@pytest.mark.parametrize("net", BN_NETS, ids=BN_IDS)
def test_scratch_and_torch_mlp_with_batch_norm_agree_in_train_and_eval_mode(net: dict, data) -> None:
    model = MLP(weight_scale=0.5, rng=2, **{**net, "dims": [2, 6, 5, 3]})  # the blobs are 2-D
    twin = copy_bn_to_torch(model)
    x, y = _batch(3, d=2)
    loss, grads = model.loss(x, y)
    t_loss = twin.loss(torch.as_tensor(x), torch.as_tensor(y))
    t_loss.backward()
    torch.testing.assert_close(torch.tensor(loss, dtype=torch.float64), t_loss.detach())
    for name, p in twin.named_parameters():
        torch.testing.assert_close(torch.as_tensor(grads[name]), p.grad)
    for name in model.running:
        torch.testing.assert_close(torch.as_tensor(model.running[name]), getattr(twin, name))
    # a few Solver steps on both sides (same batches), then eval mode with the running statistics
    settings = dict(batch_size=16, epochs=2, seed=7, progress=False)
    h_np = Solver(model, data, SGD(lr=0.05, momentum=0.9), **settings).train()
    h_t = TorchSolver(twin, data, torch.optim.SGD(twin.parameters(), lr=0.05, momentum=0.9), **settings).train()
    np.testing.assert_allclose(h_t.loss, h_np.loss, rtol=1e-10, atol=1e-12)
    assert h_t.val_acc == h_np.val_acc and model.training and twin.training
    for name in model.running:
        torch.testing.assert_close(torch.as_tensor(model.running[name]), getattr(twin, name))
    model.eval()
    twin.eval()
    xv = data["x_val"]
    torch.testing.assert_close(torch.as_tensor(model.scores(xv)), twin.scores(torch.as_tensor(xv)).detach())
    assert h_np.val_acc[-1] == model.accuracy(xv, data["y_val"])  # the Solver evaluated in eval mode
    for z, tz in zip(model.pre_activations(xv), twin.pre_activations(xv)):
        torch.testing.assert_close(torch.as_tensor(z), tz.detach())
    # eval-mode loss and gradients: the running statistics are constants on both sides
    twin.zero_grad()
    loss, grads = model.loss(x, y)
    t_loss = twin.loss(torch.as_tensor(x), torch.as_tensor(y))
    t_loss.backward()
    torch.testing.assert_close(torch.tensor(loss, dtype=torch.float64), t_loss.detach())
    for name, p in twin.named_parameters():
        torch.testing.assert_close(torch.as_tensor(grads[name]), p.grad)


def test_solver_evaluates_in_eval_mode_and_restores_training_mode(data) -> None:
    """With batch norm, eval-mode accuracy (running statistics) is what the history records."""
    model = MLP([2, 8, 3], norm="batch", weight_scale=0.5, rng=3)
    seen = []
    accuracy = model.accuracy
    model.accuracy = lambda x, y: (seen.append(model.training), accuracy(x, y))[1]
    Solver(model, data, SGD(lr=0.05), batch_size=16, epochs=1, progress=False).train()
    assert seen == [False, False] and model.training


def test_drop_last_skips_the_incomplete_batch_on_both_sides():
    """With drop_last every mini-batch is full (a BN model never sees a batch of one), scratch and torch alike."""
    from course_lib.torch_impl.solver import Solver as TorchSolver

    rng = np.random.default_rng(0)
    data = {"x_train": rng.normal(size=(9, 3)), "y_train": rng.integers(0, 2, 9),
            "x_val": rng.normal(size=(4, 3)), "y_val": rng.integers(0, 2, 4)}
    model = MLP([3, 4, 2], norm="batch", rng=0)
    solver = Solver(model, data, SGD(lr=0.1), batch_size=4, epochs=3, progress=False, drop_last=True)
    history = solver.train()
    assert history.steps_per_epoch == 2 and len(history.loss) == 6
    with pytest.raises(ValueError, match="per channel|batch of one|more than 1"):
        Solver(MLP([3, 4, 2], norm="batch", rng=0), data, SGD(lr=0.1), batch_size=4, epochs=1,
               progress=False).train()
    twin = TorchMLP([3, 4, 2], norm="batch", rng=0)
    torch_solver = TorchSolver(twin, data, torch.optim.SGD(twin.parameters(), lr=0.1), batch_size=4,
                               epochs=3, progress=False, drop_last=True)
    assert len(torch_solver.train().loss) == 6
    with pytest.raises(ValueError, match="drop_last"):
        Solver(MLP([3, 4, 2], rng=0), data, SGD(lr=0.1), batch_size=16, drop_last=True)
