"""The torch twins of :mod:`course_lib.scratch`: same module names, built from torch operations.

Where the scratch side writes every backward pass by hand, here autograd does it; the
parity tests check that both agree to float64 precision. Names follow ``torch.nn.functional``
(``linear``, ``relu``, ``cross_entropy``...), ``torch.nn.init`` (in-place initializers) and
``torch.optim`` (``Optimizer`` subclasses). Layouts follow the scratch side: a Linear weight
is (in, out), the transpose of torch's ``nn.Linear.weight``.

Each twin's docstring starts "Twin of `course_lib.scratch.<module>.<Op>`." Functions that
create tensors take a ``device`` (default CPU; see :func:`course_lib.device.default_device`);
a GPU is never required.

One module has no scratch twin: :mod:`~course_lib.torch_impl.resnet`, the small residual network
of the batch-norm experiments, assembled from the twin ops (each of which has its scratch
counterpart and its parity test).
"""
