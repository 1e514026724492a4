r"""The book's experiments as pure, seeded computations.

Every module here has a function ``run(..., seed=0)`` that returns a frozen dataclass of plain
numbers and arrays. A ``run`` never draws a figure (that is :mod:`course_lib.plotting`'s job),
never reads or writes a global random state (randomness comes from
``np.random.default_rng(seed)``), and accepts small sizes so that the ``tests/test_experiments*.py``
files can assert every claim the book makes in a few seconds.

Chapter 1 (from the perceptron to backpropagation):

* :mod:`~course_lib.experiments.comp_graph` -- The computational graph of :math:`f(x, y, z) = (x + y)\,z`, forward and
  backward by hand.
* :mod:`~course_lib.experiments.gradient_check` -- How the finite-difference step h decides whether a gradient check can
  be trusted.
* :mod:`~course_lib.experiments.xor_two_layer` -- The slides' "2-layer network in 11 lines" on XOR, written three ways
  with identical trajectories.
* :mod:`~course_lib.experiments.digits_two_layer` -- A two-layer network (64 - H - 10, ReLU, softmax) trained on
  scikit-learn's digits.
* :mod:`~course_lib.experiments.capacity` -- Capacity vs regularization: two-layer nets on three noisy spirals.
* :mod:`~course_lib.experiments.history_classic` -- Rosenblatt's perceptron and Widrow & Hoff's ADALINE on a separable
  set and on XOR.
* :mod:`~course_lib.experiments.parity` -- Parity of n bits with threshold units: one unit per pattern, counting units,
  a deep chain.
* :mod:`~course_lib.experiments.readable_ops` -- Not an experiment: the chapter's ops written for reading (no checks, no
  in-place tricks), tested equal to the library's.

Chapter 2 (activation functions):

* :mod:`~course_lib.experiments.activation_zoo` -- The activation zoo: every function and its derivative, computed by
  the library's own passes.
* :mod:`~course_lib.experiments.zigzag` -- Why non-zero-centred inputs make gradient descent zig-zag: a unit with two
  weights.
* :mod:`~course_lib.experiments.sigmoid_saturation` -- Saturation of the top hidden layer of a deep sigmoid net
  (Glorot & Bengio 2010, Fig. 2).
* :mod:`~course_lib.experiments.dead_relu` -- Dead ReLUs: units knocked out by one too-large step, counted, and what
  brings them back.
* :mod:`~course_lib.experiments.activation_race` -- The same small MLP trained on digits with each activation: how fast
  does it learn, at what cost?
* :mod:`~course_lib.experiments.readable_activations` -- Not an experiment: the chapter's activations written for
  reading (no checks, no speed tricks), tested equal to the library's.

Chapter 3 (weight initialization):

* :mod:`~course_lib.experiments.symmetry` -- Why a constant initialization fails: a layer's units move together and stay
  identical (the slides' 2-D example).
* :mod:`~course_lib.experiments.small_random_depth` -- Small random numbers, :math:`W = 0.01\,\mathcal{N}(0, 1)`: fine
  for a shallow net, fatal for a deep one.
* :mod:`~course_lib.experiments.init_depth` -- How the signal's scale travels through a deep net at initialization
  (He et al. 2015, Sec. 2.2).
* :mod:`~course_lib.experiments.glorot_tanh` -- Glorot & Bengio (2010), Sec. 4.2 and Figs. 6-8: standard vs normalized
  initialization of a deep tanh net.
* :mod:`~course_lib.experiments.init_training` -- He et al. (2015), Fig. 3, scaled down: a 30-layer ReLU net trains with
  He init and stalls with Xavier.
* :mod:`~course_lib.experiments.channel_collapse` -- Deep ReLU nets at He initialization map every input to nearly the
  same point (the myrtle.ai "How to train your ResNet 7" analysis cited in the slides, and Santurkar et al. 2018).

Chapter 4 (data preprocessing):

* :mod:`~course_lib.experiments.preprocess_cloud` -- The five pictures of input preprocessing, on one correlated 2-D
  Gaussian cloud.
* :mod:`~course_lib.experiments.all_positive` -- Why all-positive inputs hurt gradient descent, on real pixels:
  digits / 16, raw vs centred.
* :mod:`~course_lib.experiments.image_means` -- Centring images: the per-pixel mean image (AlexNet) vs the per-channel
  mean (VGG).
* :mod:`~course_lib.experiments.whitening_images` -- Whitening images, and why it is rarely done: sklearn digits through
  ZCA and PCA whitening.
* :mod:`~course_lib.experiments.leakage` -- The golden rule of preprocessing, measured: statistics come from the
  training set only.
* :mod:`~course_lib.experiments.ct_window` -- Dynamic range: a synthetic CT slice squashed to 8 bits vs windowed, and
  what 8 bits do to a model.

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
    "activation_zoo",
    "zigzag",
    "sigmoid_saturation",
    "dead_relu",
    "activation_race",
    "symmetry",
    "small_random_depth",
    "init_depth",
    "glorot_tanh",
    "init_training",
    "channel_collapse",
    "preprocess_cloud",
    "all_positive",
    "image_means",
    "whitening_images",
    "leakage",
    "ct_window",
]
