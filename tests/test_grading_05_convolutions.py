"""Exercise set 05 (convolutions): the reference solution scores full marks, the blank exercise 0,
and each planted bug costs exactly the question it is planted in.

Bugs in DIFFERENT questions are planted together in one submission (a question is graded on its
own function only) to keep the suite fast. The grader's expected values come from the reference
solution; a test here checks that on every hidden case they agree with the course library
(``course_lib.scratch.conv``) and with torch. The shared contract is in ``tests/exercise_contract.py``.
"""

from __future__ import annotations


import numpy as np

from course_lib.grading.exercise_set import load_exercise_set
from exercise_contract import (
    EXERCISES,
    SOLUTIONS,
    contract_tests,
    execute_solution_and_blank,
)

SET = "05_convolutions"
SOLUTION = SOLUTIONS / f"{SET}.md"
EXERCISE = EXERCISES / f"{SET}.ipynb"
QUESTIONS = {
    "q1_conv_output_shape": 1,
    "q2_conv_param_count": 1,
    "q3_im2col": 3,
    "q4_conv_forward": 3,
    "q5_max_pool_forward": 2,
}

# bug -> (question, text in the solution, replacement)
BUGS = {
    "padding added once, not on both sides": (
        "q1_conv_output_shape", "    h_out = (h + 2 * padding - kh) // stride + 1\n",
        "    h_out = (h + padding - kh) // stride + 1\n"),
    "true division instead of the floor": (
        "q1_conv_output_shape", "    w_out = (w + 2 * padding - kw) // stride + 1\n",
        "    w_out = (w + 2 * padding - kw) / stride + 1\n"),
    "the bias counted whatever the flag": (
        "q2_conv_param_count", "    per_filter = c_in * kh * kw + (1 if bias else 0)\n",
        "    per_filter = c_in * kh * kw + 1\n"),
    "one bias per input channel": (
        "q2_conv_param_count", "    per_filter = c_in * kh * kw + (1 if bias else 0)\n",
        "    per_filter = c_in * (kh * kw + (1 if bias else 0))\n"),
    "im2col columns ordered (i, j, c)": (
        "q3_im2col", "    cols = fields.reshape(n * h_out * w_out, c * kernel_h * kernel_w)\n",
        "    cols = fields.transpose(0, 1, 2, 4, 5, 3).reshape(n * h_out * w_out, c * kernel_h * kernel_w)\n"),
    "im2col returns one matrix per example": (
        "q3_im2col", "    cols = fields.reshape(n * h_out * w_out, c * kernel_h * kernel_w)\n",
        "    cols = fields.reshape(n, h_out * w_out, c * kernel_h * kernel_w)\n"),
    "im2col ignores the stride when slicing": (
        "q3_im2col",
        "            pixels = xp[:, :, i : i + stride * h_out : stride, j : j + stride * w_out : stride]\n",
        "            pixels = xp[:, :, i : i + h_out, j : j + w_out]\n"),
    "conv output left as (N, H', W', F)": (
        "q4_conv_forward", "    out = out.reshape(n, h_out, w_out, f).transpose(0, 3, 1, 2)\n",
        "    out = out.reshape(n, h_out, w_out, f)\n"),
    "conv output reshaped straight to (N, F, H', W')": (
        "q4_conv_forward", "    out = out.reshape(n, h_out, w_out, f).transpose(0, 3, 1, 2)\n",
        "    out = out.reshape(n, f, h_out, w_out)\n"),
    "filters flattened in (i, j, c) order": (
        "q4_conv_forward", "    out = cols @ w.reshape(f, -1).T + b  # (N H' W', F)\n",
        "    out = cols @ w.transpose(0, 2, 3, 1).reshape(f, -1).T + b\n"),
    "conv without the bias": (
        "q4_conv_forward", "    out = cols @ w.reshape(f, -1).T + b  # (N H' W', F)\n",
        "    out = cols @ w.reshape(f, -1).T\n"),
    "pooling stride defaults to 1": (
        "q5_max_pool_forward", "        stride = kernel\n", "        stride = 1\n"),
    "pooling maximum started at 0": (
        "q5_max_pool_forward", "    out = np.full((n, c, h_out, w_out), -np.inf)\n",
        "    out = np.zeros((n, c, h_out, w_out))\n"),
}

# never two bugs of one question in the same submission
GROUPS = [
    ["padding added once, not on both sides", "the bias counted whatever the flag", "im2col columns ordered (i, j, c)",
     "conv output left as (N, H', W', F)", "pooling stride defaults to 1"],
    ["true division instead of the floor", "one bias per input channel", "im2col returns one matrix per example",
     "conv output reshaped straight to (N, F, H', W')", "pooling maximum started at 0"],
    ["im2col ignores the stride when slicing", "filters flattened in (i, j, c) order"],
    ["conv without the bias"],
]

# The right numbers in the wrong shape: the message must name both shapes.
SHAPE_BUGS = {
    "conv output left as (N, H', W', F)": "`conv_forward` has shape (2, 6, 5, 4), expected (2, 4, 6, 5)",
    "im2col returns one matrix per example": "`im2col` has shape (2, 9, 18), expected (18, 18)",
}


# the contract's tests; tagged: the cells tagged raises-exception (five self-checks and the demo);
# leaked: what the blank exercise must not show
globals().update(contract_tests(SET, QUESTIONS, BUGS, GROUPS, SHAPE_BUGS, tagged=6, leaked=(
    "sliding_window_view(xp", "fields.reshape", "-np.inf)", "library_im2col", "F.conv2d",
)))


# -- the expected values are the library's and torch's ---------------------------------------------
def _library_answers():
    """The course library and torch, with the signatures of the exercise's functions."""
    import torch
    import torch.nn.functional as F

    from course_lib.scratch import conv

    def output_shape(x_shape, w_shape, stride=1, padding=0):
        sizes = [conv.conv_output_size(n, k, stride, padding, exact=False) for n, k in zip(x_shape[2:], w_shape[2:])]
        return (x_shape[0], w_shape[0], *sizes)

    def param_count(c_in, c_out, kernel, bias=True):
        return conv.conv_param_count(c_in, c_out, kernel, bias)

    def im2col(x, kernel_h, kernel_w, stride=1, padding=0):
        return conv.im2col(x, (kernel_h, kernel_w), stride, padding)

    def conv_forward(x, w, b, stride=1, padding=0):
        ours = conv.Conv2d.forward(x, w, b, stride, padding)[0]
        theirs = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=stride,
                          padding=padding).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
        return ours

    def max_pool(x, kernel=2, stride=None):
        ours = conv.MaxPool2d.forward(x, kernel, stride)[0]
        theirs = F.max_pool2d(torch.from_numpy(x), kernel, stride).numpy()
        np.testing.assert_array_equal(ours, theirs)
        return ours

    return {"conv_output_shape": output_shape, "conv_param_count": param_count, "im2col": im2col,
            "conv_forward": conv_forward, "max_pool_forward": max_pool}


def test_hidden_cases_agree_with_the_library_and_torch():
    """Every value the grader expects is what course_lib.scratch.conv and torch compute."""
    library = _library_answers()
    exercise = load_exercise_set(SET, SOLUTIONS)
    for prepared in exercise.questions:
        assert not prepared.error, prepared.error
        q = prepared.question
        for case, ready in zip(q.get_cases(), prepared.cases):
            expected = ready.expected["result"]
            got = library[q.function](*case.args, **case.kwargs)
            assert np.shape(expected) == np.shape(got), (q.name, case.note)
            np.testing.assert_allclose(np.asarray(expected, dtype=float), np.asarray(got, dtype=float),
                                       rtol=1e-10, atol=1e-12, err_msg=f"{q.name}: {case.note}")


def test_notebooks_execute_top_to_bottom():
    """The solution runs without error; the blank exercise runs to the end and only its tagged
    cells raise, with NotImplementedError."""
    text = execute_solution_and_blank(SOLUTION, EXERCISE)
    assert text.count("all self-checks passed") == 5
    assert "same result: True" in text  # the demo ran, and im2col agrees with the loops
