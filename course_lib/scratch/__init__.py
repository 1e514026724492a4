"""NumPy-only building blocks with explicit forward AND backward passes.

Every op is a class with two static methods::

    out, cache = Op.forward(*inputs, **hyper)
    grads      = Op.backward(dout, cache)   # a tuple: one gradient per differentiable input

* ``cache`` is a frozen dataclass with named, shape-commented fields: exactly what the
  backward pass needs (PyTorch keeps the same in ``ctx.save_for_backward``).
* ``grads`` is ALWAYS a tuple, in input order, even for a single input: ``(dx,)``.
* Everything is float64, so that :mod:`course_lib.gradcheck` can verify each backward pass
  to a relative error of about 1e-8.
* Randomness is injected (an ``np.random.Generator`` is passed in); there is no global RNG.
* State goes in and comes out as values (optimizer state: ``step(w, dw, state) -> (w, state)``).
* Bad input raises a ``ValueError`` that names the problem, or a ``TypeError`` for a wrong kind
  of data: lists and integer arrays are converted to float64 exactly; bool, complex, object and
  string arrays are refused (:func:`course_lib.checks.float_array`). NaN and inf in data propagate
  as in torch; in hyperparameters they are refused.

This package never imports torch (``tests/test_boundary.py`` checks it). Its twin built from
torch operations is :mod:`course_lib.torch_impl`, with the same module names.

Modules: ``linear``, ``activations``, ``losses``, ``init``, ``optim``, ``schedules`` (learning-rate
and momentum schedules as ``lr_at(t)`` callables), ``model`` (an MLP built
from the ops), ``solver`` (the training loop), ``classic`` (perceptron and Adaline), ``conv``
(convolution through im2col, and max pooling), ``cnn`` (a small conv net with the MLP's
interface, trained by the same solver), ``batchnorm`` (batch norm for features and maps,
its running statistics, folding into a Linear or conv layer; layer norm and group norm),
``dropout`` (masks, inverted and scaled dropout, Monte-Carlo prediction, max-norm).
"""
