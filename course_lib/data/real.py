"""MNIST, Fashion-MNIST and CIFAR-10 from their official files, for readers with a network or the files.

Nothing in the book needs them (its chapters run on the embedded sets), and these machines are
offline. The first call downloads the official files into the cache directory (see
:mod:`course_lib.data.download`), checks their published SHA-256, and parses them with our own
readers (:mod:`course_lib.data.formats`); later calls read the cache. Each loader returns a
:class:`~course_lib.data.Splits` whose validation set is a stratified sample of the official
training set (``n_val`` examples, drawn with ``seed``); the test set is the official one.

Checksums: the SHA-256 values below are those published by TensorFlow Datasets
(``tensorflow_datasets/url_checksums/mnist.txt`` and ``fashion_mnist.txt``) and by Keras and
torchvision for CIFAR-10 (``keras/datasets/cifar10.py``; torchvision's prototype ``cifar.py``).
"""
from __future__ import annotations

import numpy as np

from course_lib import checks

from .download import RemoteDataset, RemoteFile, fetch_dataset
from .formats import read_cifar10_archive, read_idx
from .splits import Splits, _stratified_split

__all__ = ["MNIST", "FASHION_MNIST", "CIFAR10", "DATASETS", "load_mnist", "load_fashion_mnist", "load_cifar10"]

MNIST = RemoteDataset(
    name="mnist",
    title="MNIST",
    files=(
        RemoteFile(
            "train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422
        ),
        RemoteFile(
            "train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881
        ),
        RemoteFile(
            "t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877
        ),
        RemoteFile(
            "t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542
        ),
    ),
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    homepage="http://yann.lecun.com/exdb/mnist/",
)

FASHION_MNIST = RemoteDataset(
    name="fashion_mnist",
    title="Fashion-MNIST",
    files=(
        RemoteFile(
            "train-images-idx3-ubyte.gz", "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26421880
        ),
        RemoteFile(
            "train-labels-idx1-ubyte.gz", "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29515
        ),
        RemoteFile(
            "t10k-images-idx3-ubyte.gz", "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4422102
        ),
        RemoteFile(
            "t10k-labels-idx1-ubyte.gz", "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148
        ),
    ),
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    homepage="https://github.com/zalandoresearch/fashion-mnist",
)

CIFAR10 = RemoteDataset(
    name="cifar10",
    title="CIFAR-10 (python version)",
    files=(
        RemoteFile(
            "cifar-10-python.tar.gz", "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce", 170498071
        ),
    ),
    mirrors=("https://www.cs.toronto.edu/~kriz/",),
    homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
)

DATASETS = {d.name: d for d in (MNIST, FASHION_MNIST, CIFAR10)}
"""Every real data set by name (the name is also its sub-directory of the cache)."""

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def _check_options(n_val, seed, scale, layout, dtype):
    n_val = checks.integer(n_val, "n_val", minimum=0)
    seed = checks.integer(seed, "seed", minimum=0)
    if scale not in ("unit", "raw"):
        raise ValueError(f"scale must be 'unit' (x / 255, float) or 'raw' (the uint8 values), got {scale!r}")
    if layout not in ("flat", "nchw"):
        raise ValueError(f"layout must be 'flat' (N, D) or 'nchw' (N, C, H, W), got {layout!r}")
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        raise ValueError(f"dtype must be a float dtype (used with scale='unit'), got {dtype}")
    return n_val, seed, dtype


def _to_splits(x_train, y_train, x_test, y_test, *, classes, name, n_val, seed, scale, layout, dtype, info) -> Splits:
    """uint8 NCHW images + labels -> Splits (stratified validation carved out of train)."""
    if n_val >= len(y_train):
        raise ValueError(f"n_val must be smaller than the {len(y_train)} training images, got {n_val}")
    rng = np.random.default_rng(seed)
    train, val = _stratified_split(y_train, n_val, rng)

    def finish(x):
        if layout == "flat":
            x = x.reshape(len(x), int(np.prod(x.shape[1:])))
        return x if scale == "raw" else (x.astype(dtype) / dtype.type(255))

    return Splits(
        x_train=finish(x_train[train]), y_train=y_train[train], x_val=finish(x_train[val]), y_val=y_train[val],
        x_test=finish(x_test), y_test=y_test, classes=tuple(classes), name=name,
        info={**info, "seed": seed, "scale": scale, "layout": layout},
    )


def _load_idx_set(dataset: RemoteDataset, classes, root, n_val, seed, scale, layout, dtype, fetch_kwargs) -> Splits:
    n_val, seed, dtype = _check_options(n_val, seed, scale, layout, dtype)
    paths = fetch_dataset(dataset, root, **fetch_kwargs)
    arrays = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images_path = paths[f"{prefix}-images-idx3-ubyte.gz"]
        labels_path = paths[f"{prefix}-labels-idx1-ubyte.gz"]
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.dtype != np.uint8 or images.ndim != 3:
            raise ValueError(f"{images_path}: expected uint8 images (N, H, W), got {images.dtype} {images.shape}")
        if labels.dtype != np.uint8 or labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(f"{labels_path}: expected {len(images)} uint8 labels, got {labels.dtype} {labels.shape}")
        if labels.size and labels.max() >= len(classes):
            raise ValueError(f"{labels_path}: label {labels.max()} is out of range 0..{len(classes) - 1}")
        arrays[f"x_{split}"] = images[:, None, :, :]  # NCHW with one channel
        arrays[f"y_{split}"] = labels.astype(np.int64)
    directory = paths[dataset.files[0].filename].parent
    return _to_splits(**arrays, classes=classes, name=dataset.name, n_val=n_val, seed=seed, scale=scale,
                      layout=layout, dtype=dtype, info={"source": str(directory)})


def load_mnist(root=None, *, n_val: int = 5000, seed: int = 0, scale: str = "unit", layout: str = "flat",
               dtype=np.float32, **fetch_kwargs) -> Splits:
    """MNIST (LeCun et al. 1998): 60000 training and 10000 test digits, 28x28 grey, from the IDX files.

    Parameters
    ----------
    root : directory of the cache (default: ``$COURSE_DATA_DIR``, else ``~/.cache/course_lib``);
        the files live in ``root/mnist/``.
    n_val, seed : size of the stratified validation split carved out of the 60000 training
        images, and the seed of that split (a local Generator).
    scale : ``"unit"`` -- pixel / 255 as ``dtype`` in [0, 1]; ``"raw"`` -- the uint8 values.
    layout : ``"flat"`` -- ``(N, 784)``; ``"nchw"`` -- ``(N, 1, 28, 28)``, PyTorch's layout.
    dtype : float dtype of the ``"unit"`` arrays. float32 by default (MNIST in float64 is 440 MB);
        pass ``np.float64`` for the scratch ops and gradient checks.
    **fetch_kwargs : ``download`` (False: never touch the network), ``mirrors``, ``timeout``,
        ``retries``, ``retry_wait``, ``progress`` -- see :func:`course_lib.data.download.ensure_file`.

    Raises :class:`~course_lib.data.DownloadError` (offline and not in the cache) or
    :class:`~course_lib.data.ChecksumError`, with instructions for putting the files there by hand.
    """
    return _load_idx_set(MNIST, tuple(str(k) for k in range(10)), root, n_val, seed, scale, layout, dtype, fetch_kwargs)


def load_fashion_mnist(root=None, *, n_val: int = 5000, seed: int = 0, scale: str = "unit", layout: str = "flat",
                       dtype=np.float32, **fetch_kwargs) -> Splits:
    """Fashion-MNIST (Xiao et al. 2017): MNIST's format and sizes, ten kinds of clothing instead of digits.

    Same arguments and result as :func:`load_mnist`; the files live in ``root/fashion_mnist/``.
    """
    return _load_idx_set(FASHION_MNIST, FASHION_CLASSES, root, n_val, seed, scale, layout, dtype, fetch_kwargs)


def load_cifar10(root=None, *, n_val: int = 5000, seed: int = 0, scale: str = "unit", layout: str = "nchw",
                 dtype=np.float32, **fetch_kwargs) -> Splits:
    """CIFAR-10 (Krizhevsky 2009): 50000 training and 10000 test colour images, 32x32, ten classes.

    Read from the python version's archive ``cifar-10-python.tar.gz`` (in ``root/cifar10/``) without
    extracting it. ``layout="nchw"`` (the default) gives ``(N, 3, 32, 32)``, ``"flat"`` gives
    ``(N, 3072)`` (red, green, blue planes one after the other). Other arguments as in
    :func:`load_mnist`; in float32 the training images take 600 MB.
    """
    n_val, seed, dtype = _check_options(n_val, seed, scale, layout, dtype)
    paths = fetch_dataset(CIFAR10, root, **fetch_kwargs)
    path = paths[CIFAR10.files[0].filename]
    arrays = read_cifar10_archive(path)
    classes = arrays.pop("classes")
    return _to_splits(**arrays, classes=classes, name=CIFAR10.name, n_val=n_val, seed=seed, scale=scale,
                      layout=layout, dtype=dtype, info={"source": str(path)})
