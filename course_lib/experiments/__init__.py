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

Chapter 5 (convolutional networks):

* :mod:`~course_lib.experiments.conv_templates` -- An MLP's weights are templates tied to pixel positions: a one-pixel
  shift of the test digits, MLP vs CNN.
* :mod:`~course_lib.experiments.conv_sharing` -- A convolution is one small linear layer run at every location; its
  weight gradient is a sum over them; the slides' layer arithmetic; gradient checks of Conv2d and MaxPool2d.
* :mod:`~course_lib.experiments.mnist1d_baselines` -- Greydanus & Kobak (2024), MNIST-1D, Table 1: logistic < MLP <
  CNN, and a CNN on shuffled positions.

Chapter 6 (batch normalization):

* :mod:`~course_lib.experiments.readable_batchnorm` -- Not an experiment: batch norm written for reading, the staged
  computational graph and the compact backward formula, tested equal to the library's.
* :mod:`~course_lib.experiments.bn_identity` -- gamma = sqrt(var + eps) recovers the identity (the slides' gamma = Var
  does not); the backward pass against finite differences and autograd; folding into Linear and conv layers.
* :mod:`~course_lib.experiments.bn_modes` -- Running averages vs the population statistics (torch's momentum, the
  paper's m/(m-1)); forgetting eval mode: predictions that depend on the test batch.
* :mod:`~course_lib.experiments.bn_activation_regime` -- BN before tanh/sigmoid keeps their inputs in the near-linear
  regime, whatever the weights.
* :mod:`~course_lib.experiments.bn_failures` -- Tiny batches, single-class batches, the redundant bias, weight decay on
  gamma and beta; layer and group norm as the remedy.
* :mod:`~course_lib.experiments.bn_regularization` -- An example's output depends on its batch companions; the
  train/validation gap with and without BN.

Chapter 7 (what batch norm fixes):

* :mod:`~course_lib.experiments.bn_mnist` -- Ioffe & Szegedy (2015), Fig. 1 (a-c), scaled down: a sigmoid MLP with and
  without batch norm.
* :mod:`~course_lib.experiments.bn_rescue` -- Three failures of chapters 2 and 3, re-run with batch normalization
  (Ioffe & Szegedy 2015).
* :mod:`~course_lib.experiments.bn_lr_sweep` -- Batch norm allows higher learning rates (Ioffe & Szegedy 2015,
  Sec. 3.3): a learning-rate sweep.
* :mod:`~course_lib.experiments.bn_placement` -- Where to put batch norm in a CNN, and how much it helps as the net
  gets deeper: a simple CNN, a deeper one and a ResNet, without BN and with BN before or after the ReLU.

Chapter 8 (why batch norm works):

* :mod:`~course_lib.experiments.bn_noisy` -- Santurkar et al. (2018), Sec. 2: batch norm with noise injected after it
  still trains; the same noise without batch norm does not.
* :mod:`~course_lib.experiments.bn_ics` -- Santurkar et al. (2018), Sec. 2.2: internal covariate shift measured by the
  change of a layer's gradient when the layers below take their step.
* :mod:`~course_lib.experiments.bn_landscape` -- Santurkar et al. (2018), Sec. 3: loss range, gradient predictiveness
  and effective smoothness along the gradient.
* :mod:`~course_lib.experiments.bn_insights` -- The myrtle.ai insights (Page 2018): weight perturbations along
  channel-mean gradients, and the Hessian's leading eigenvectors by Hessian-vector products.
* ``_santurkar_net`` -- the 10-layer ReLU net (with or without BN, optional noise) these four share, as plain
  functions of its parameters.

Chapter 9 (overfitting and regularization):

* :mod:`~course_lib.experiments.bias_variance` -- The bias-variance decomposition of the squared error, measured
  (Geman, Bienenstock & Doursat 1992).
* :mod:`~course_lib.experiments.regularizers` -- Regularizers compared on a small training set: L2, activation L1,
  input noise, early stopping, dropout.
* :mod:`~course_lib.experiments.dropout_overfit` -- Srivastava et al. (2014), Figs. 9-10 scaled down: how much
  dropout, and for how much data.

Chapter 10 (dropout):

* :mod:`~course_lib.experiments.dropout_ensemble` -- Dropout as an ensemble: exact enumeration of every thinned
  sub-network of a tiny net (weight scaling exact for a linear unit, the geometric mean for a softmax layer).
* :mod:`~course_lib.experiments.dropout_mc` -- Srivastava et al. (2014), Fig. 11: weight scaling vs Monte-Carlo
  averaging over k thinned networks.
* :mod:`~course_lib.experiments.dropout_calibration` -- MC dropout as an uncertainty estimate (Gal & Ghahramani
  2016): reliability diagrams and the expected calibration error.
* :mod:`~course_lib.experiments.dropout_sparsity` -- Srivastava et al. (2014), Figs. 7-8: an autoencoder's code is
  sparser with dropout.
* :mod:`~course_lib.experiments.dropout_bn` -- Dropout before batch norm: the variance shift (Li et al. 2019).
* :mod:`~course_lib.experiments.dropout_cnn` -- The deck's dropout experiments in a simple and a deeper CNN (digits;
  CIFAR-10 from the command line).

Chapter 11 (optimization):

* :mod:`~course_lib.experiments.readable_optim` -- Not an experiment: the slides' gradient-descent loops with their
  stopping tests inside the loop, tested equal to the library's Momentum.
* :mod:`~course_lib.experiments.optimizer_paths` -- SGD, momentum, Nesterov, Adagrad, RMSProp, Adadelta and Adam on an
  ill-conditioned quadratic, Rosenbrock's valley and a saddle point.
* :mod:`~course_lib.experiments.optimizer_mlp` -- Kingma & Ba (2015), Fig. 2 scaled down: optimizers at their best
  learning rate on an MLP for digits.
* :mod:`~course_lib.experiments.adam_algebra` -- Adam's first step, its invariance to the gradient's scale, and what
  bias correction does (exact).
* :mod:`~course_lib.experiments.lr_curves` -- The slides' "which learning rate is best": four loss curves of one net.
* :mod:`~course_lib.experiments.schedules_demo` -- Learning-rate schedules: their shapes and their effect on one run.

Chapter 12 (training in practice):

* :mod:`~course_lib.experiments.babysitting` -- The slides' babysitting checks on a 40-50-10 net (initial loss ln 10,
  regularization raises it, overfit 20 examples, the range test, update/weight ratios); checkpoint, resume, early stop.
* :mod:`~course_lib.experiments.net_growth` -- Start with one hidden layer of 50 units, then grow: validation
  accuracy and the train/validation gap.
* :mod:`~course_lib.experiments.curve_diagnosis` -- One real run per row of the loss-curve diagnosis table, classified
  by ``babysit.diagnose_curves``.
* :mod:`~course_lib.experiments.hparam_search` -- Random vs grid (Bergstra & Bengio 2012), 1 - 0.95^n, log-uniform
  sampling, and a coarse-to-fine search on MNIST-1D scored on the validation split.
* :mod:`~course_lib.experiments.ensembles_demo` -- Independent-model ensembles, checkpoint averaging and Polyak/EMA
  parameter averages on MNIST-1D.

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
    "conv_templates",
    "conv_sharing",
    "mnist1d_baselines",
    "readable_batchnorm",
    "bn_identity",
    "bn_modes",
    "bn_activation_regime",
    "bn_failures",
    "bn_regularization",
    "bn_mnist",
    "bn_rescue",
    "bn_lr_sweep",
    "bn_placement",
    "bn_noisy",
    "bn_ics",
    "bn_landscape",
    "bn_insights",
    "bias_variance",
    "regularizers",
    "dropout_overfit",
    "dropout_ensemble",
    "dropout_mc",
    "dropout_calibration",
    "dropout_sparsity",
    "dropout_bn",
    "dropout_cnn",
    "readable_optim",
    "optimizer_paths",
    "optimizer_mlp",
    "adam_algebra",
    "lr_curves",
    "schedules_demo",
    "babysitting",
    "net_growth",
    "curve_diagnosis",
    "hparam_search",
    "ensembles_demo",
]
