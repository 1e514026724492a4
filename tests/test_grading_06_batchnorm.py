"""Exercise set 06 (batch normalization): the reference solution scores full marks, the blank
exercise 0, and each planted bug costs exactly the question it is planted in.

Bugs in DIFFERENT questions are planted together in one submission (a question is graded on its
own function only) to keep the suite fast. The grader's expected values come from the reference
solution; tests here check that on every hidden case they agree with the course library
(``course_lib.scratch.batchnorm``), with torch, and for the backward pass with central
differences. The shared contract is in ``tests/exercise_contract.py``.
"""

from __future__ import annotations


import numpy as np

from course_lib.gradcheck import numerical_grad
from course_lib.grading.exercise_set import load_exercise_set
from exercise_contract import (
    EXERCISES,
    SOLUTIONS,
    assert_same,
    contract_tests,
    execute_solution_and_blank,
)

SET = "06_batchnorm"
SOLUTION = SOLUTIONS / f"{SET}.md"
EXERCISE = EXERCISES / f"{SET}.ipynb"
QUESTIONS = {
    "q1_batchnorm_forward": 2,
    "q2_batchnorm_backward": 3,
    "q3_update_running_stats": 2,
    "q4_batchnorm_inference": 1,
    "q5_spatial_batchnorm_forward": 2,
    "q6_fold_batchnorm": 2,
}

# bug -> (question, text in the solution, replacement)
BUGS = {
    "normalizes with the unbiased variance": (
        "q1_batchnorm_forward", "    var = x.var(axis=0)\n", "    var = x.var(axis=0, ddof=1)\n"),
    "eps added after the square root": (
        "q1_batchnorm_forward", "    inv_std = 1.0 / np.sqrt(var + eps)\n",
        "    inv_std = 1.0 / (np.sqrt(var) + eps)\n"),
    "cached mean keeps its batch axis": (
        "q1_batchnorm_forward", "    mean = x.mean(axis=0)\n", "    mean = x.mean(axis=0, keepdims=True)\n"),
    "dx through x_hat only (mean and variance treated as constants)": (
        "q2_batchnorm_backward", "    dx = (gamma * inv_std / n) * (n * dout - dbeta - x_hat * dgamma)\n",
        "    dx = gamma * inv_std * dout\n"),
    "dx without the path through the variance": (
        "q2_batchnorm_backward", "    dx = (gamma * inv_std / n) * (n * dout - dbeta - x_hat * dgamma)\n",
        "    dx = (gamma * inv_std / n) * (n * dout - dbeta)\n"),
    "dgamma keeps its batch axis": (
        "q2_batchnorm_backward", "    dgamma = (dout * x_hat).sum(axis=0)\n",
        "    dgamma = (dout * x_hat).sum(axis=0, keepdims=True)\n"),
    "dbeta as a mean over the batch": (
        "q2_batchnorm_backward", "    dbeta = dout.sum(axis=0)\n", "    dbeta = dout.mean(axis=0)\n"),
    "running variance from the biased batch variance": (
        "q3_update_running_stats", "    batch_var = x.var(axis=0, ddof=1)\n", "    batch_var = x.var(axis=0)\n"),
    "momentum weights the old estimate": (
        "q3_update_running_stats", "    new_mean = (1.0 - momentum) * running_mean + momentum * batch_mean\n",
        "    new_mean = momentum * running_mean + (1.0 - momentum) * batch_mean\n"),
    "inference without eps": (
        "q4_batchnorm_inference", "    out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta\n",
        "    out = gamma * (x - running_mean) / np.sqrt(running_var) + beta\n"),
    "inference with the test batch's own statistics": (
        "q4_batchnorm_inference", "    out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta\n",
        "    out = gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta\n"),
    "spatial output left as (N, H, W, C)": (
        "q5_spatial_batchnorm_forward", "    out = out_rows.reshape(n, h, w, c).transpose(0, 3, 1, 2)\n",
        "    out = out_rows.reshape(n, h, w, c)\n"),
    "spatial reshape without moving the channels last": (
        "q5_spatial_batchnorm_forward",
        "    rows = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)  # one row per pixel\n"
        "    mean = rows.mean(axis=0)\n    var = rows.var(axis=0)\n"
        "    out_rows = gamma * (rows - mean) / np.sqrt(var + eps) + beta\n"
        "    out = out_rows.reshape(n, h, w, c).transpose(0, 3, 1, 2)\n",
        "    rows = x.reshape(n * h * w, c)\n"
        "    mean = rows.mean(axis=0)\n    var = rows.var(axis=0)\n"
        "    out_rows = gamma * (rows - mean) / np.sqrt(var + eps) + beta\n"
        "    out = out_rows.reshape(n, c, h, w)\n"),
    "folded bias forgets the layer's bias": (
        "q6_fold_batchnorm", "    b_folded = (b - running_mean) * scale + beta\n",
        "    b_folded = -running_mean * scale + beta\n"),
    "rows of the weight scaled instead of columns": (
        "q6_fold_batchnorm", "    w_folded = w * scale\n", "    w_folded = w * scale[:, None]\n"),
}

# never two bugs of one question in the same submission
GROUPS = [
    ["normalizes with the unbiased variance", "dx through x_hat only (mean and variance treated as constants)",
     "running variance from the biased batch variance", "inference without eps", "spatial output left as (N, H, W, C)",
     "folded bias forgets the layer's bias"],
    ["eps added after the square root", "dx without the path through the variance", "momentum weights the old estimate",
     "inference with the test batch's own statistics", "spatial reshape without moving the channels last",
     "rows of the weight scaled instead of columns"],
    ["cached mean keeps its batch axis", "dgamma keeps its batch axis"],
    ["dbeta as a mean over the batch"],
]

# The right numbers in the wrong shape: the message must name both shapes.
SHAPE_BUGS = {
    "cached mean keeps its batch axis": "`cache['mean']` has shape (1, 4), expected (4,)",
    "dgamma keeps its batch axis": "`dgamma` has shape (1, 5), expected (5,)",
    "spatial output left as (N, H, W, C)": "`spatial_batchnorm_forward` has shape (2, 4, 5, 3), expected (2, 3, 4, 5)",
}


# the contract's tests; tagged: the cells tagged raises-exception (six self-checks and the demo);
# leaked: what the blank exercise must not show
globals().update(contract_tests(SET, QUESTIONS, BUGS, GROUPS, SHAPE_BUGS, tagged=7, leaked=(
    "n * dout - dbeta", "ddof=1)", "transpose(0, 2, 3, 1)", "(b - running_mean) * scale", "fold_into_linear",
    "SpatialBatchNorm",
)))


# -- the expected values are the library's, torch's and the finite differences' --------------------
def _library_answers():
    """The course library and torch, with the signatures of the exercise's functions."""
    import torch
    import torch.nn.functional as F

    from course_lib.scratch import batchnorm as bn

    def torch_train(x, gamma, beta, eps):
        t = F.batch_norm(torch.from_numpy(x), None, None, torch.from_numpy(gamma), torch.from_numpy(beta),
                         training=True, eps=eps)
        return t.numpy()

    def forward(x, gamma, beta, eps=1e-5):
        out, cache = bn.BatchNorm.forward(x, gamma, beta, eps)
        np.testing.assert_allclose(out, torch_train(x, gamma, beta, eps), rtol=1e-9, atol=1e-10)
        return out, {"x_hat": cache.xhat, "gamma": cache.gamma, "inv_std": cache.inv_std, "mean": cache.mean,
                     "var": cache.var}

    def backward(dout, cache):
        # the library's backward needs its own cache; rebuild it from the dict
        lib_cache = bn.BatchNormCache(xhat=cache["x_hat"], gamma=cache["gamma"], inv_std=cache["inv_std"],
                                      mean=cache["mean"], var=cache["var"])
        return bn.BatchNorm.backward(dout, lib_cache)

    def running(running_mean, running_var, x, momentum=0.1):
        ours = bn.update_running(running_mean, running_var, x.mean(axis=0), x.var(axis=0), x.shape[0], momentum)
        layer = torch.nn.BatchNorm1d(x.shape[1], momentum=momentum, dtype=torch.float64)
        layer.running_mean.copy_(torch.from_numpy(running_mean))
        layer.running_var.copy_(torch.from_numpy(running_var))
        layer.train()(torch.from_numpy(x))
        np.testing.assert_allclose(ours[0], layer.running_mean.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours[1], layer.running_var.numpy(), rtol=1e-12, atol=1e-12)
        return ours

    def inference(x, running_mean, running_var, gamma, beta, eps=1e-5):
        ours = bn.inference(x, running_mean, running_var, gamma, beta, eps)
        theirs = F.batch_norm(*(torch.from_numpy(a) for a in (x, running_mean, running_var, gamma, beta)),
                              training=False, eps=eps).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
        return ours

    def spatial(x, gamma, beta, eps=1e-5):
        ours = bn.SpatialBatchNorm.forward(x, gamma, beta, eps)[0]
        np.testing.assert_allclose(ours, torch_train(x, gamma, beta, eps), rtol=1e-9, atol=1e-10)
        return ours

    def fold(w, b, running_mean, running_var, gamma, beta, eps=1e-5):
        return bn.fold_into_linear(w, b, running_mean, running_var, gamma, beta, eps)

    return {"batchnorm_forward": forward, "batchnorm_backward": backward, "update_running_stats": running,
            "batchnorm_inference": inference, "spatial_batchnorm_forward": spatial, "fold_batchnorm": fold}


def test_hidden_cases_agree_with_the_library_and_torch():
    """Every value the grader expects is what course_lib.scratch.batchnorm and torch compute."""
    library = _library_answers()
    exercise = load_exercise_set(SET, SOLUTIONS)
    for prepared in exercise.questions:
        assert not prepared.error, prepared.error
        q = prepared.question
        for case, ready in zip(q.get_cases(), prepared.cases):
            got = library[q.function](*case.args, **case.kwargs)
            assert_same(ready.expected["result"], got, f"{q.name}: {case.note}", rtol=1e-9, atol=1e-11)


def _numerical_batchnorm_grads(x, gamma, eps, dout):
    """Central differences of sum(BatchNorm.forward(x, gamma, beta) * dout) in x, gamma and beta (= 0)."""
    from course_lib.scratch.batchnorm import BatchNorm

    beta = np.zeros_like(gamma)
    return (
        numerical_grad(lambda v: BatchNorm.forward(v, gamma, beta, eps)[0], x, dout),
        numerical_grad(lambda v: BatchNorm.forward(x, v, beta, eps)[0], gamma, dout),
        numerical_grad(lambda v: BatchNorm.forward(x, gamma, v, eps)[0], beta, dout),
    )


def test_hidden_backward_cases_agree_with_finite_differences():
    """The expected (dx, dgamma, dbeta) of every backward case are the numerical gradients of the
    training-mode forward pass, at the input the cache was built from (x = x_hat / inv_std + mean)."""
    exercise = load_exercise_set(SET, SOLUTIONS)
    (prepared,) = [p for p in exercise.questions if p.question.function == "batchnorm_backward"]
    for case, ready in zip(prepared.question.get_cases(), prepared.cases):
        dout, cache = case.args
        x = cache["x_hat"] / cache["inv_std"] + cache["mean"]
        eps = float(np.median(1.0 / cache["inv_std"] ** 2 - cache["var"]))
        numeric = _numerical_batchnorm_grads(x, cache["gamma"], eps, dout)
        for name, expected, estimate in zip(("dx", "dgamma", "dbeta"), ready.expected["result"], numeric):
            np.testing.assert_allclose(expected, estimate, rtol=1e-5, atol=1e-7, err_msg=f"{name}: {case.note}")


def test_notebooks_execute_top_to_bottom():
    """The solution runs without error; the blank exercise runs to the end and only its tagged
    cells raise, with NotImplementedError."""
    text = execute_solution_and_blank(SOLUTION, EXERCISE)
    assert text.count("all self-checks passed") == 6
    assert "linear + batch norm:" in text  # the demo ran
