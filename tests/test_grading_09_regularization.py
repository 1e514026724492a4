"""Exercise set 09 (overfitting and regularization): the reference solution scores full marks, the
blank exercise 0, and each planted bug costs exactly the question it is planted in.

Bugs in DIFFERENT questions are planted together in one submission (a question is graded on its
own function only) to keep the suite fast. The grader's expected values come from the reference
solution; tests here check that on every hidden case they agree with direct definitions, with
torch's autograd (the two penalties) and with the early-stopping bookkeeping of the course's
``Solver``. The shared contract is in ``tests/exercise_contract.py``.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from course_lib.grading.exercise_set import load_exercise_set
from exercise_contract import (
    EXERCISES,
    SOLUTIONS,
    assert_same,
    contract_tests,
    execute_solution_and_blank,
)

SET = "09_regularization"
SOLUTION = SOLUTIONS / f"{SET}.md"
EXERCISE = EXERCISES / f"{SET}.ipynb"
QUESTIONS = {
    "q1_bias_variance_decomposition": 3,
    "q2_l2_penalty": 2,
    "q3_l1_activation_penalty": 2,
    "q4_early_stopping_epoch": 2,
    "q5_add_input_noise": 1,
}

# bug -> (question, text in the solution, replacement)
BUGS = {
    "variance divided by R - 1": (
        "q1_bias_variance_decomposition", "    variance = float(np.mean(predictions.var(axis=0)))\n",
        "    variance = float(np.mean(predictions.var(axis=0, ddof=1)))\n"),
    "bias averaged over the points before it is squared": (
        "q1_bias_variance_decomposition", "    bias2 = float(np.mean((mean_prediction - f_true) ** 2))\n",
        "    bias2 = float(np.mean(mean_prediction - f_true) ** 2)\n"),
    "the slides' + sigma instead of sigma^2": (
        "q1_bias_variance_decomposition", "    expected_error = bias2 + variance + float(noise_var)\n",
        "    expected_error = bias2 + variance + float(np.sqrt(noise_var))\n"),
    "biases penalized too": (
        "q2_l2_penalty", '        if name.startswith("W"):\n', "        if True:\n"),
    "no factor 1/2 (gradient 2 lam W)": (
        "q2_l2_penalty", "            penalty += 0.5 * lam * float(np.sum(value * value))\n"
        "            grads[name] = lam * value\n",
        "            penalty += lam * float(np.sum(value * value))\n"
        "            grads[name] = 2 * lam * value\n"),
    "gradient computed in place, modifying the weights": (
        "q2_l2_penalty", "            grads[name] = lam * value\n",
        "            grads[name] = value\n            grads[name] *= lam\n"),
    "no entries for the biases in grads": (
        "q2_l2_penalty", "            grads[name] = np.zeros_like(value)\n", "            pass\n"),
    "subgradient +lam at 0": (
        "q3_l1_activation_penalty", "    dh = lam * np.sign(h)\n", "    dh = lam * np.where(h >= 0, 1.0, -1.0)\n"),
    "penalty averaged over the entries": (
        "q3_l1_activation_penalty", "    penalty = lam * float(np.sum(np.abs(h)))\n",
        "    penalty = lam * float(np.mean(np.abs(h)))\n"),
    "a tie counts as an improvement": (
        "q4_early_stopping_epoch", "        if best_value is None or sign * value > sign * best_value:\n",
        "        if best_value is None or sign * value >= sign * best_value:\n"),
    "patience off by one": (
        "q4_early_stopping_epoch", "            if wait >= patience:\n", "            if wait > patience:\n"),
    "epochs counted from 0": (
        "q4_early_stopping_epoch", "    for epoch, value in enumerate(val_metric, start=1):\n",
        "    for epoch, value in enumerate(val_metric):\n"),
    "mode ignored (always larger is better)": (
        "q4_early_stopping_epoch", '    sign = 1.0 if mode == "max" else -1.0\n', "    sign = 1.0\n"),
    "noisy input flattened": (
        "q5_add_input_noise", "    noisy = x + rng.normal(0.0, std, size=x.shape)\n",
        "    noisy = x.ravel() + rng.normal(0.0, std, size=x.size)\n"),
    "noise added to x in place": (
        "q5_add_input_noise", "    noisy = x + rng.normal(0.0, std, size=x.shape)\n",
        "    x += rng.normal(0.0, std, size=x.shape)\n    noisy = x\n"),
    "std used as a variance": (
        "q5_add_input_noise", "    noisy = x + rng.normal(0.0, std, size=x.shape)\n",
        "    noisy = x + rng.normal(0.0, np.sqrt(std), size=x.shape)\n"),
}

# never two bugs of one question in the same submission
GROUPS = [
    ["variance divided by R - 1", "biases penalized too", "subgradient +lam at 0", "a tie counts as an improvement",
     "noisy input flattened"],
    ["bias averaged over the points before it is squared", "no factor 1/2 (gradient 2 lam W)",
     "penalty averaged over the entries", "patience off by one", "noise added to x in place"],
    ["the slides' + sigma instead of sigma^2", "gradient computed in place, modifying the weights",
     "epochs counted from 0", "std used as a variance"],
    ["no entries for the biases in grads", "mode ignored (always larger is better)"],
]

# The right numbers in the wrong shape: the message must name both shapes.
SHAPE_BUGS = {
    "noisy input flattened": "`add_input_noise` has shape (20,), expected (5, 4)",
}


# the contract's tests; tagged: the cells tagged raises-exception (five self-checks and the demo);
# leaked: what the blank exercise must not show
globals().update(contract_tests(SET, QUESTIONS, BUGS, GROUPS, SHAPE_BUGS, tagged=6, leaked=(
    "predictions.var(axis=0)", "np.zeros_like(value)", "lam * np.sign(h)", "wait >= patience",
    "noisy = x + rng", "import torch",
)))


def test_the_in_place_bugs_are_reported_as_modified_inputs(tmp_path):
    """A function that changes its arguments fails with a message that says so."""
    from exercise_contract import by_name, grade, plant

    edits = [BUGS["gradient computed in place, modifying the weights"][1:], BUGS["noise added to x in place"][1:]]
    report = by_name(grade(plant(SOLUTION, tmp_path, edits)))
    for name in ("q2_l2_penalty", "q5_add_input_noise"):
        assert not report[name].passed and "changed its input" in report[name].message, report[name].message


# -- the expected values are the definitions', torch's and the Solver's --------------------------
def _solver_stopping(values, patience, mode="max"):
    """Replay a validation curve through the early-stopping bookkeeping of the course's Solver
    (a 'min' curve is negated: the Solver maximizes validation accuracy)."""
    from course_lib.scratch.solver import TrainingLoop

    class Replay(TrainingLoop):
        def __init__(self):
            self.history = SimpleNamespace(val_acc=[], best_step=None, best_epoch=None, steps=0, epochs=0)
            self._init_extras(None, patience, 0.0, False, ())

    loop = Replay()
    h = loop.history
    for epoch, value in enumerate(values, start=1):
        h.steps = h.epochs = epoch
        h.val_acc.append(float(value) if mode == "max" else -float(value))
        if loop._after_evaluate():
            return epoch, h.best_epoch
    return len(values), h.best_epoch


def _library_answers():
    """Direct definitions, torch's autograd and the Solver, with the exercise's signatures."""
    import torch

    def decomposition(predictions, f_true, noise_var):
        r, m = predictions.shape
        bias2 = variance = 0.0
        for j in range(m):  # one test point at a time, the textbook formulas
            mean = sum(predictions[i, j] for i in range(r)) / r
            bias2 += (mean - f_true[j]) ** 2 / m
            variance += sum((predictions[i, j] - mean) ** 2 for i in range(r)) / r / m
        np.testing.assert_allclose(bias2 + variance, np.mean((predictions - f_true) ** 2), rtol=1e-10)
        return bias2, variance, bias2 + variance + noise_var

    def l2(params, lam):
        tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
        penalty = 0.5 * lam * sum((w ** 2).sum() for k, w in tensors.items() if k.startswith("W"))
        if torch.is_tensor(penalty):
            penalty.backward()
        grads = {k: (t.grad.numpy() if t.grad is not None else np.zeros_like(params[k])) for k, t in tensors.items()}
        return float(penalty.detach()) if torch.is_tensor(penalty) else float(penalty), grads

    def l1(h, lam):
        t = torch.tensor(h, requires_grad=True)
        penalty = lam * t.abs().sum()
        penalty.backward()
        return float(penalty.detach()), t.grad.numpy()

    def noise(rng, x, std):
        return x + std * rng.standard_normal(x.shape)

    return {"bias_variance_decomposition": decomposition, "l2_penalty": l2, "l1_activation_penalty": l1,
            "early_stopping_epoch": _solver_stopping, "add_input_noise": noise}


def test_hidden_cases_agree_with_the_definitions_torch_and_the_solver():
    """Every value the grader expects is what the definitions, torch's autograd and the Solver's
    early stopping compute."""
    library = _library_answers()
    exercise = load_exercise_set(SET, SOLUTIONS)
    namespace = {"np": np}
    for prepared in exercise.questions:
        assert not prepared.error, prepared.error
        q = prepared.question
        for case, ready in zip(q.get_cases(), prepared.cases):
            args = [eval(a.src, namespace) if type(a).__name__ == "Expr" else a for a in case.args]  # noqa: S307
            got = library[q.function](*args, **case.kwargs)
            assert_same(ready.expected["result"], got, f"{q.name}: {case.note}", rtol=1e-9, atol=1e-12)


def test_notebooks_execute_top_to_bottom():
    """The solution runs without error; the blank exercise runs to the end and only its tagged
    cells raise, with NotImplementedError."""
    text = execute_solution_and_blank(SOLUTION, EXERCISE)
    assert text.count("all self-checks passed") == 5
    assert "degree 9, lambda" in text and "patience 10:" in text  # the demo ran
