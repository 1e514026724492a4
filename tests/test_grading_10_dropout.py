"""Exercise set 10 (dropout): the reference solution scores full marks, the blank exercise 0, and
each planted bug costs exactly the question it is planted in.

Bugs in DIFFERENT questions are planted together in one submission (a question is graded on its
own function only) to keep the suite fast. The grader's expected values come from the reference
solution; tests here check that on every hidden case they agree with the course library
(``course_lib.scratch.dropout``), with its torch twin and ``torch.renorm``. The shared contract is
in ``tests/exercise_contract.py``.
"""

from __future__ import annotations


import numpy as np

from course_lib.grading.exercise_set import load_exercise_set
from course_lib.grading.spec import Expr
from exercise_contract import (
    EXERCISES,
    SOLUTIONS,
    assert_same,
    contract_tests,
    execute_solution_and_blank,
)

SET = "10_dropout"
SOLUTION = SOLUTIONS / f"{SET}.md"
EXERCISE = EXERCISES / f"{SET}.ipynb"
QUESTIONS = {
    "q1_dropout_forward": 2,
    "q2_dropout_backward": 1,
    "q3_scaled_dropout_linear": 2,
    "q4_dropout_expectation": 3,
    "q5_mc_dropout_predict": 2,
    "q6_max_norm": 2,
}

_PROBS_LINE = "    probs = np.prod(np.where(masks == 1.0, keep, p), axis=1)  # (2**D,), sums to 1\n"
_SOFTMAX_LINES = (
    "        shifted = scores - scores.max(axis=1, keepdims=True)\n"
    "        probs = np.exp(shifted)\n"
    "        total = total + probs / probs.sum(axis=1, keepdims=True)\n"
    "    mean_probs = total / k\n"
)

# bug -> (question, text in the solution, replacement)
BUGS = {
    "p taken as the keep probability": (
        "q1_dropout_forward", "    out = x * mask / (1.0 - p)\n", "    out = x * mask / p\n"),
    "scaled at test time too": (
        "q1_dropout_forward", "    if not training:\n        return x.copy()\n",
        "    if not training:\n        return x / (1.0 - p)\n"),
    "no scaling in training": (
        "q1_dropout_forward", "    out = x * mask / (1.0 - p)\n", "    out = x * mask\n"),
    "gradient not masked": (
        "q2_dropout_backward", "    dx = dout * mask / (1.0 - p)\n", "    dx = dout / (1.0 - p)\n"),
    "gradient not scaled": (
        "q2_dropout_backward", "    dx = dout * mask / (1.0 - p)\n", "    dx = dout * mask\n"),
    "bias scaled with the weights at test time": (
        "q3_scaled_dropout_linear", "        z = x @ ((1.0 - p) * w) + b\n", "        z = (1.0 - p) * (x @ w + b)\n"),
    "test weights scaled by p": (
        "q3_scaled_dropout_linear", "        z = x @ ((1.0 - p) * w) + b\n", "        z = x @ (p * w) + b\n"),
    "kept units scaled in training": (
        "q3_scaled_dropout_linear", "        z = (x * mask) @ w + b\n", "        z = (x * mask / (1.0 - p)) @ w + b\n"),
    "masks averaged uniformly": (
        "q4_dropout_expectation", _PROBS_LINE,
        "    probs = np.full(len(masks), 1.0 / len(masks))\n"),
    "mask probabilities with p for the kept units": (
        "q4_dropout_expectation", _PROBS_LINE,
        "    probs = np.prod(np.where(masks == 1.0, p, keep), axis=1)\n"),
    "expectation keeps the axis of the masks": (
        "q4_dropout_expectation", "    mean_train = np.tensordot(probs, outputs, axes=1)\n",
        "    mean_train = np.sum(probs[:, None, None] * outputs, axis=0, keepdims=True)\n"),
    "inverted test output scaled too": (
        "q4_dropout_expectation", "    test_out = x @ (w if inverted else keep * w) + b\n",
        "    test_out = x @ (keep * w) + b\n"),
    "softmax of the averaged scores": (
        "q5_mc_dropout_predict", _SOFTMAX_LINES,
        "        total = total + scores\n"
        "    mean_scores = total / k\n"
        "    shifted = mean_scores - mean_scores.max(axis=1, keepdims=True)\n"
        "    mean_probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)\n"),
    "one mask for all passes": (
        "q5_mc_dropout_predict", "    for _ in range(k):\n        mask = rng.random(mask_shape) >= p\n",
        "    mask = rng.random(mask_shape) >= p\n    for _ in range(k):\n"),
    "softmax without the max shift": (
        "q5_mc_dropout_predict", "        shifted = scores - scores.max(axis=1, keepdims=True)\n",
        "        shifted = scores\n"),
    "units kept with probability p": (
        "q5_mc_dropout_predict", "        mask = rng.random(mask_shape) >= p\n",
        "        mask = rng.random(mask_shape) < p\n"),
    "rows projected instead of columns": (
        "q6_max_norm", "    norms = np.sqrt(np.sum(w * w, axis=0))  # (D_out,), one per unit\n",
        "    norms = np.sqrt(np.sum(w * w, axis=1, keepdims=True))\n"),
    "every column rescaled to norm c": (
        "q6_max_norm", "    factor = c / np.maximum(norms, c)  # 1 inside the ball, c / norm outside\n",
        "    factor = c / norms\n"),
    "squared norm compared with c": (
        "q6_max_norm", "    norms = np.sqrt(np.sum(w * w, axis=0))  # (D_out,), one per unit\n",
        "    norms = np.sum(w * w, axis=0)\n"),
}

# never two bugs of one question in the same submission
GROUPS = [
    ["p taken as the keep probability", "gradient not masked", "bias scaled with the weights at test time",
     "masks averaged uniformly", "softmax of the averaged scores", "rows projected instead of columns"],
    ["scaled at test time too", "gradient not scaled", "test weights scaled by p",
     "expectation keeps the axis of the masks", "one mask for all passes", "every column rescaled to norm c"],
    ["no scaling in training", "kept units scaled in training", "mask probabilities with p for the kept units",
     "softmax without the max shift", "squared norm compared with c"],
    ["inverted test output scaled too", "units kept with probability p"],
]

# The right numbers in the wrong shape: the message must name both shapes.
SHAPE_BUGS = {
    "expectation keeps the axis of the masks": "`mean_train` has shape (1, 3, 2), expected (3, 2)",
}


# the contract's tests; tagged: the cells tagged raises-exception (six self-checks and the demo);
# leaked: what the blank exercise must not show
globals().update(contract_tests(SET, QUESTIONS, BUGS, GROUPS, SHAPE_BUGS, tagged=7, leaked=(
    "x * mask / (1.0 - p)", "np.tensordot", "np.maximum(norms, c)", "scores.max(axis=1", "(1.0 - p) * w",
    "import torch", "lib.mc_predict",
)))


# -- the expected values are the library's and torch's ---------------------------------------------
def _library_answers():
    """course_lib.scratch.dropout, its torch twin and torch.renorm, with the exercise's signatures."""
    import torch

    from course_lib.scratch import dropout as lib
    from course_lib.torch_impl import dropout as twin

    def forward(x, mask, p, training=True):
        out = lib.Dropout.forward(x, mask, p, training)[0]
        theirs = twin.dropout(torch.from_numpy(x), None if mask is None else torch.from_numpy(mask), p, training)
        np.testing.assert_allclose(out, theirs.numpy(), rtol=1e-12, atol=1e-14)
        return out

    def backward(dout, mask, p, training=True):
        _, cache = lib.Dropout.forward(np.zeros_like(dout), mask, p, training)
        return lib.Dropout.backward(dout, cache)[0]

    def scaled(x, mask, w, b, p, training=True):
        out = lib.ScaledDropout.forward(x, mask, p, training)[0] @ w + b
        if not training:  # the paper's rule: the outgoing weights times the keep probability
            np.testing.assert_allclose(out, x @ lib.scale_weights(w, p) + b, rtol=1e-12, atol=1e-12)
        return out

    def expectation(x, w, b, p, inverted=False):
        n, d = x.shape
        layer = lib.Dropout if inverted else lib.ScaledDropout
        mean = 0.0
        for code in range(2 ** d):  # every keep mask, as the bits of an integer
            keep = np.array([(code >> j) & 1 for j in range(d)], dtype=bool)
            prob = (1 - p) ** keep.sum() * p ** (d - keep.sum())
            mean = mean + prob * (layer.forward(x, np.tile(keep, (n, 1)), p)[0] @ w + b)
        test = (x @ w + b) if inverted else (lib.ScaledDropout.forward(x, None, p, training=False)[0] @ w + b)
        return mean, test

    def mc(forward_fn, x, mask_shape, p, k, rng):
        return lib.mc_predict(lambda v, g: forward_fn(v, lib.sample_mask(g, mask_shape, p)), x, k, rng)

    def max_norm(w, c):
        ours = lib.max_norm(w, c)
        renorm = torch.renorm(torch.from_numpy(w.T.copy()), 2, 0, c).numpy().T  # torch's (out, in) layout
        np.testing.assert_allclose(ours, renorm, rtol=1e-6, atol=1e-12)
        return ours

    return {"dropout_forward": forward, "dropout_backward": backward, "scaled_dropout_linear": scaled,
            "dropout_expectation": expectation, "mc_dropout_predict": mc, "max_norm": max_norm}


def _evaluated(value):
    return eval(value.src, {"np": np, "math": __import__("math")}) if isinstance(value, Expr) else value  # noqa: S307


def test_hidden_cases_agree_with_the_library_and_torch():
    """Every value the grader expects is what course_lib.scratch.dropout and torch compute."""
    library = _library_answers()
    exercise = load_exercise_set(SET, SOLUTIONS)
    for prepared in exercise.questions:
        assert not prepared.error, prepared.error
        q = prepared.question
        for case, ready in zip(q.get_cases(), prepared.cases):
            args = [_evaluated(a) for a in case.args]
            kwargs = {key: _evaluated(v) for key, v in case.kwargs.items()}
            got = library[q.function](*args, **kwargs)
            assert_same(ready.expected["result"], got, f"{q.name}: {case.note}", rtol=1e-9, atol=1e-12)


def test_expectation_cases_show_the_equivalence():
    """On every hidden case of question 4 the expected training output equals the test output
    (the claim of the question), and a Monte-Carlo estimate over sampled masks lands near it."""
    from course_lib.scratch.dropout import sample_mask

    exercise = load_exercise_set(SET, SOLUTIONS)
    (prepared,) = [p for p in exercise.questions if p.question.function == "dropout_expectation"]
    rng = np.random.default_rng(0)
    for case, ready in zip(prepared.question.get_cases(), prepared.cases):
        mean_train, test_out = ready.expected["result"]
        np.testing.assert_allclose(mean_train, test_out, rtol=1e-9, atol=1e-10, err_msg=case.note)
        x, w, b, p = case.args[:4]
        inverted = case.kwargs.get("inverted", case.args[4] if len(case.args) > 4 else False)
        scale = 1.0 / (1.0 - p) if inverted else 1.0
        masks = sample_mask(rng, (20000,) + x.shape, p)
        estimate = ((scale * masks * x) @ w + b).mean(axis=0)
        spread = np.abs(scale * x) @ np.abs(w) + 1e-12  # a bound on the output's range
        assert np.all(np.abs(estimate - mean_train) <= 0.05 * spread), case.note


def test_notebooks_execute_top_to_bottom():
    """The solution runs without error; the blank exercise runs to the end and only its tagged
    cells raise, with NotImplementedError."""
    text = execute_solution_and_blank(SOLUTION, EXERCISE)
    assert text.count("all self-checks passed") == 6
    assert "k = 1000:" in text and "column norms before / after max-norm" in text  # the demo ran
