"""The book's experiments as pure, seeded computations.

Every module here has a function ``run(..., seed=0)`` that returns a frozen dataclass of plain
numbers and arrays. A ``run`` never draws a figure (that is :mod:`course_lib.plotting`'s job),
never reads or writes a global random state (randomness comes from
``np.random.default_rng(seed)``), and accepts small sizes so that ``tests/test_experiments.py``
can assert every claim the book makes in a few seconds.

Chapter 1 (from the perceptron to backpropagation):

* :mod:`~course_lib.experiments.comp_graph` -- f = (x + y) z, forward and backward by hand;
* :mod:`~course_lib.experiments.gradient_check` -- relative error vs finite-difference step h;
* :mod:`~course_lib.experiments.xor_two_layer` -- the classic 2-layer sigmoid net on XOR, three ways;
* :mod:`~course_lib.experiments.digits_two_layer` -- a 64-H-10 ReLU net on sklearn digits;
* :mod:`~course_lib.experiments.capacity` -- hidden units vs L2 strength on spirals;
* :mod:`~course_lib.experiments.history_classic` -- perceptron and ADALINE, separable set vs XOR.

Modules are imported on demand (``from course_lib.experiments import capacity``) so that
importing this package stays cheap and never imports torch.
"""

__all__ = [
    "comp_graph",
    "gradient_check",
    "xor_two_layer",
    "digits_two_layer",
    "capacity",
    "history_classic",
]
