"""Hidden checks of exercise set 05, "Convolutions" (``solutions/05_convolutions.md``).

Every case is seeded; expected values come from the reference solution in the solution
notebook, computed by the grader process (see :mod:`course_lib.grading.spec`). The reference
itself agrees with :mod:`course_lib.scratch.conv` (``im2col``, ``Conv2d``, ``MaxPool2d``) and with
``torch.nn.functional.conv2d`` / ``max_pool2d`` on every case below
(``tests/test_grading_05_convolutions.py``).

The cases are chosen so that the usual slips change the answer: F differs from C (an output
with C channels), N > 1 and C > 1 with non-square images and windows (a wrong row or column
order of im2col, height and width swapped), strides that do not divide the padded size (the
floor), and all-negative inputs for pooling (a maximum started at 0).
"""

import numpy as np

from course_lib.grading.spec import Case, Question


def _shape_cases():
    return [
        Case((1, 3, 32, 32), (10, 3, 5, 5), 1, 2, note="the lecture's 32x32x3 image, ten 5x5 filters, stride 1, pad 2"),
        Case((8, 16, 28, 20), (32, 16, 3, 3), note="defaults: stride 1, no padding"),
        Case((2, 3, 9, 7), (4, 3, 3, 2), stride=2, padding=0, note="stride 2 that does not divide: floored"),
        Case((5, 1, 11, 13), (6, 1, 4, 5), 3, 2, note="rectangular window, stride 3, padding 2"),
        Case((1, 64, 7, 7), (128, 64, 1, 1), stride=1, padding=0, note="a 1x1 convolution"),
        Case((3, 2, 6, 10), (7, 2, 7, 3), 2, 3, note="a window larger than the unpadded height"),
    ]


def _count_cases():
    return [
        Case(3, 10, 5, note="the lecture's ten 5x5 filters on 3 channels"),
        Case(3, 10, 5, bias=False, note="the same without biases"),
        Case(64, 128, (3, 5), note="a rectangular 3x5 window given as a pair"),
        Case(1, 1, (1, 7), note="one 1x7 filter on one channel"),
        Case(16, 32, 3, False, note="bias=False given positionally"),
        Case(256, 64, 1, note="a 1x1 convolution reducing 256 channels to 64"),
    ]


def _im2col_cases():
    rng = np.random.default_rng(5003)
    return [
        Case(rng.normal(size=(2, 3, 5, 4)), 3, 2, note="N=2, C=3, 3x2 windows, stride 1, no padding"),
        Case(rng.normal(size=(3, 2, 7, 6)), 3, 3, 2, 1, note="stride 2, padding 1"),
        Case(rng.normal(size=(1, 4, 6, 9)), 2, 4, stride=3, padding=2, note="stride 3 that does not divide: floored"),
        Case(rng.normal(size=(4, 1, 4, 4)), 1, 1, note="1x1 windows: one row per pixel"),
        Case(rng.normal(size=(2, 2, 3, 5)), 5, 3, padding=2, note="a window larger than the unpadded height"),
    ]


def _conv_cases():
    rng = np.random.default_rng(5004)
    cases = []
    for (n, c, h, w), (f, kh, kw), stride, padding, note in (
        ((2, 3, 6, 5), (4, 3, 3), 1, 1, "N=2, C=3, F=4, 3x3 filters, stride 1, padding 1 (same size)"),
        ((3, 2, 9, 7), (5, 3, 2), 2, 0, "rectangular 3x2 filters, stride 2 that does not divide"),
        ((1, 4, 8, 8), (2, 5, 5), 3, 2, "5x5 filters, stride 3, padding 2"),
        ((2, 6, 4, 5), (3, 1, 1), 1, 0, "a 1x1 convolution mixes channels only"),
    ):
        cases.append(Case(rng.normal(size=(n, c, h, w)), rng.normal(size=(f, c, kh, kw)), rng.normal(size=f),
                          stride, padding, note=note))
    x = rng.normal(size=(2, 3, 7, 7))
    cases.append(Case(x, rng.normal(size=(6, 3, 3, 3)), rng.normal(size=6), note="defaults: stride 1, no padding"))
    cases.append(Case(x, rng.normal(size=(2, 3, 2, 4)), rng.normal(size=2), stride=2, padding=3,
                      note="stride and padding given by keyword"))
    return cases


def _pool_cases():
    rng = np.random.default_rng(5005)
    return [
        Case(rng.normal(size=(2, 3, 6, 8)), note="the default 2x2 windows with stride 2"),
        Case(rng.normal(size=(3, 2, 7, 7)), 3, 2, note="overlapping 3x3 windows, stride 2"),
        Case(-np.abs(rng.normal(size=(2, 2, 4, 6))) - 1.0, 2, note="all values negative"),
        Case(rng.normal(size=(1, 4, 7, 5)), kernel=2, stride=1, note="stride 1 given by keyword"),
        Case(rng.normal(size=(2, 1, 9, 10)), 3, note="3x3 windows, stride defaults to 3; 10 columns floored"),
    ]


QUESTIONS = [
    Question(
        "q1_conv_output_shape",
        function="conv_output_shape",
        points=1,
        cases=_shape_cases,
        outputs=("N", "F", "H_out", "W_out"),
        rtol=0.0,
        atol=0.0,
        title="output shape of a convolution",
    ),
    Question(
        "q2_conv_param_count",
        function="conv_param_count",
        points=1,
        cases=_count_cases,
        outputs=(),
        rtol=0.0,
        atol=0.0,
        title="parameters of a convolution layer",
    ),
    Question(
        "q3_im2col",
        function="im2col",
        points=3,
        cases=_im2col_cases,
        outputs=(),
        rtol=1e-12,
        atol=1e-12,
        title="receptive fields as the rows of a matrix",
    ),
    Question(
        "q4_conv_forward",
        function="conv_forward",
        points=3,
        cases=_conv_cases,
        outputs=(),
        rtol=1e-7,
        atol=1e-10,
        title="convolution forward pass as one matrix product",
    ),
    Question(
        "q5_max_pool_forward",
        function="max_pool_forward",
        points=2,
        cases=_pool_cases,
        outputs=(),
        rtol=1e-12,
        atol=1e-12,
        title="max pooling forward pass",
    ),
]
