"""Generic twin-parity and gradient-check tests over the op registry in ``tests/cases.py``.

For every scratch op: scratch forward == torch twin forward; scratch backward == autograd
through the twin; scratch backward == central differences; twin == torch built-in.
Completeness: every public scratch op has an entry, every scratch module has a twin
module, and every twin says whose twin it is.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np
import pytest
import torch

import course_lib.scratch
import course_lib.torch_impl
from cases import CASES, OpCase, is_differentiable, to_torch
from course_lib.gradcheck import check_op, rel_error

IDS = [c.name for c in CASES]


def _inputs(case: OpCase, seed: int = 0) -> tuple:
    return case.make_inputs(np.random.default_rng(seed))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_inputs_are_float64(case: OpCase) -> None:
    floats = [a for a in _inputs(case) if is_differentiable(a)]
    assert floats, "an op case needs at least one differentiable input"
    assert all(a.dtype == np.float64 for a in floats)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_matches_twin(case: OpCase) -> None:
    inputs = _inputs(case)
    out, _ = case.op.forward(*inputs, **case.hyper)
    twin_out = case.twin(*to_torch(inputs), **case.hyper)
    assert twin_out.dtype == torch.float64
    torch.testing.assert_close(torch.as_tensor(np.asarray(out)), twin_out)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_backward_matches_autograd(case: OpCase) -> None:
    inputs = _inputs(case)
    out, cache = case.op.forward(*inputs, **case.hyper)
    dout = np.random.default_rng(1).standard_normal(np.shape(out))
    grads = case.op.backward(dout, cache)
    assert isinstance(grads, tuple), "backward must return a tuple"

    t_inputs = to_torch(inputs, requires_grad=True)
    leaves = [t for t, a in zip(t_inputs, inputs) if is_differentiable(a)]
    t_out = case.twin(*t_inputs, **case.hyper)
    t_grads = torch.autograd.grad(t_out, leaves, grad_outputs=torch.as_tensor(dout))
    assert len(grads) == len(t_grads)
    for g, tg in zip(grads, t_grads):
        assert np.shape(g) == tuple(tg.shape)
        torch.testing.assert_close(torch.as_tensor(np.asarray(g)), tg)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("seed", [0, 1])
def test_backward_matches_central_differences(case: OpCase, seed: int) -> None:
    report = check_op(case.op, *_inputs(case, seed), h=1e-5, seed=seed, **case.hyper)
    assert report.passed, str(report)
    assert report.max_error < 1e-6


WITH_REFERENCE = [c for c in CASES if c.reference is not None]


@pytest.mark.parametrize("case", WITH_REFERENCE, ids=[c.name for c in WITH_REFERENCE])
def test_twin_matches_torch_builtin(case: OpCase) -> None:
    inputs = _inputs(case)
    a = to_torch(inputs, requires_grad=True)
    b = to_torch(inputs, requires_grad=True)
    out_twin = case.twin(*a, **case.hyper)
    out_ref = case.reference(*b, **case.hyper)
    torch.testing.assert_close(out_twin, out_ref)
    # the gradients of the built-in agree too
    dout = torch.as_tensor(np.random.default_rng(2).standard_normal(tuple(out_twin.shape)))
    leaves_a = [t for t, x in zip(a, inputs) if is_differentiable(x)]
    leaves_b = [t for t, x in zip(b, inputs) if is_differentiable(x)]
    for ga, gb in zip(
        torch.autograd.grad(out_twin, leaves_a, grad_outputs=dout),
        torch.autograd.grad(out_ref, leaves_b, grad_outputs=dout),
    ):
        torch.testing.assert_close(ga, gb)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_backward_rejects_wrong_dout_shape(case: OpCase) -> None:
    out, cache = case.op.forward(*_inputs(case), **case.hyper)
    bad = np.ones(np.shape(out) + (2,))
    with pytest.raises(ValueError):
        case.op.backward(bad, cache)


# ----- completeness -------------------------------------------------------------------------
def _public_modules(package) -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))


def _is_op(cls: type) -> bool:
    return all(isinstance(inspect.getattr_static(cls, m, None), staticmethod) for m in ("forward", "backward"))


def _scratch_ops() -> list[tuple[str, type]]:
    ops = []
    for name in _public_modules(course_lib.scratch):
        module = importlib.import_module(f"course_lib.scratch.{name}")
        for attr, obj in vars(module).items():
            if inspect.isclass(obj) and obj.__module__ == module.__name__ and not attr.startswith("_") and _is_op(obj):
                ops.append((f"{name}.{attr}", obj))
    return ops


def test_every_scratch_op_has_a_case() -> None:
    registered = {c.op for c in CASES}
    missing = [name for name, cls in _scratch_ops() if cls not in registered]
    assert not missing, f"scratch ops without an entry in tests/cases.py: {missing}"


def test_registry_finds_known_ops() -> None:
    names = {n for n, _ in _scratch_ops()}
    assert {"linear.Linear", "losses.SoftmaxCrossEntropy", "losses.MulticlassSVM", "activations.ReLU"} <= names


def test_every_scratch_module_has_a_twin() -> None:
    missing = sorted(set(_public_modules(course_lib.scratch)) - set(_public_modules(course_lib.torch_impl)))
    assert not missing, f"scratch modules without a torch_impl twin: {missing}"


# torch_impl modules that are deliberately NOT twins: they have no scratch original, and say so in
# their module docstring. resnet: a ResNet is made of ops whose backward passes the scratch side already
# writes by hand (conv, batch norm, ReLU, Linear); the residual sum adds nothing new to differentiate.
TORCH_ONLY_MODULES = {"resnet"}


def test_torch_only_modules_say_so() -> None:
    for name in TORCH_ONLY_MODULES:
        assert name not in _public_modules(course_lib.scratch), f"{name} now has a scratch original: un-exempt it"
        doc = importlib.import_module(f"course_lib.torch_impl.{name}").__doc__ or ""
        assert "torch only" in doc.lower(), f"torch_impl.{name}: the module docstring must say it is torch only"


def test_twins_name_their_scratch_original() -> None:
    """Every public function/class defined in torch_impl starts its docstring
    "Twin of `course_lib.scratch.<module>.<Op>`" (except in :data:`TORCH_ONLY_MODULES`)."""
    problems = []
    for name in sorted(set(_public_modules(course_lib.torch_impl)) - TORCH_ONLY_MODULES):
        module = importlib.import_module(f"course_lib.torch_impl.{name}")
        has_original = name in _public_modules(course_lib.scratch)
        scratch = importlib.import_module(f"course_lib.scratch.{name}") if has_original else None
        for attr, obj in vars(module).items():
            if attr.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if obj.__module__ != module.__name__:
                continue
            doc = inspect.getdoc(obj) or ""
            prefix = f"Twin of `course_lib.scratch.{name}."
            if not doc.startswith(prefix):
                problems.append(f"{name}.{attr}: docstring does not start with {prefix!r}")
                continue
            target = doc[len(prefix) :].split("`")[0]
            if scratch is None or not hasattr(scratch, target):
                problems.append(f"{name}.{attr}: names course_lib.scratch.{name}.{target}, which does not exist")
    assert not problems, "\n".join(problems)


def test_registry_twins_live_in_the_same_module() -> None:
    for case in CASES:
        scratch_module = case.op.__module__.rsplit(".", 1)[-1]
        twin_module = case.twin.__module__.rsplit(".", 1)[-1]
        assert scratch_module == twin_module, case.name


def test_rel_error_of_parity_is_tiny() -> None:
    """A sanity anchor: the float64 twins agree far beyond the gradient-check threshold."""
    case = CASES[0]
    inputs = _inputs(case)
    out, _ = case.op.forward(*inputs)
    assert rel_error(out, case.twin(*to_torch(inputs)).numpy()) < 1e-12
